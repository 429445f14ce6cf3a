"""Live verification of found Binance keys: is a leaked key live, and what can it do?

Opt-in only (`bkm-guard verify`, `bkm-guard scan --verify`), never in a hook. For each API key
paired with its secret or private key, one signed `GET /sapi/v1/account/apiRestrictions`
(on a testnet, the account endpoint) on the hosts of the key's kind, in a documented order,
within a request budget, a rate and a deadline. Results hold masked forms and fingerprints only.

* `pairing`: which key goes with which secret or private key in one text;
* `endpoints`: the hosts tried, in order, and the `BKM_GUARD_VERIFY_HOSTS` override;
* `transport`: the request budget, the rate and the host allow-list, below the runtime's client;
* `verifier`: one pair → one `Verification`; `remediation`: what to do next;
* `report`: text, JSON and SARIF; `scan`: `scan --verify`; `bkm_guard.cli.verify`: `bkm-guard verify`.

Nothing here is imported by `import bkm_guard` or by a scan without `--verify`.
"""

from __future__ import annotations
