"""Where a found key is tried, in which order, and how to point verification elsewhere (tests).

The order (documented in the README, "Is a found key live?"):

* a base62 API key (HMAC, Ed25519 or RSA): Binance.com mainnet `api.binance.com`, then
  Binance.US `api.binance.us`, then the spot testnet `testnet.binance.vision`;
* a 64-hex API key (the futures testnet issues those): the futures testnet
  `testnet.binancefuture.com`.

Mainnet and Binance.US answer `GET /sapi/v1/account/apiRestrictions` (every permission flag).
The testnets serve no `/sapi` endpoint, so there the probe is the signed account endpoint
(`GET /api/v3/account` on the spot testnet, `GET /fapi/v2/account` on the futures testnet):
it proves the key live and says whether it can trade. A key the first host rejects with
-2015, -2014 or -2008 (no such key here) goes to the next; a live answer stops.

`BKM_GUARD_VERIFY_HOSTS="mainnet=https://127.0.0.1:8443,binance-us=https://127.0.0.1:9443"`
replaces the whole list (only the named environments are tried, in that order): for tests
against `bkm_guard.testing.FakeBinance` and for a proxy on loopback. A URL must still be
HTTPS and a Binance or loopback host.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import Final, Literal

from bkm_guard.errors import ConfigError

Probe = Literal["restrictions", "spot-account", "futures-account"]
HOSTS_ENV: Final = "BKM_GUARD_VERIFY_HOSTS"
CA_BUNDLE_ENV: Final = "BKM_GUARD_VERIFY_CA_BUNDLE"


@dataclasses.dataclass(frozen=True)
class Environment:
    name: str
    label: str
    base_url: str
    probe: Probe
    real_money: bool
    #: which API keys this environment issues: "base62" or "hex"
    key_kind: Literal["base62", "hex"] = "base62"

    @property
    def path(self) -> str:
        return PROBE_PATHS[self.probe]


PROBE_PATHS: Final[Mapping[Probe, str]] = {
    "restrictions": "/sapi/v1/account/apiRestrictions",
    "spot-account": "/api/v3/account",
    "futures-account": "/fapi/v2/account",
}

MAINNET: Final = Environment("mainnet", "Binance.com", "https://api.binance.com", "restrictions", True)
BINANCE_US: Final = Environment("binance-us", "Binance.US", "https://api.binance.us", "restrictions", True)
SPOT_TESTNET: Final = Environment(
    "spot-testnet", "Binance spot testnet", "https://testnet.binance.vision", "spot-account", False
)
FUTURES_TESTNET: Final = Environment(
    "futures-testnet",
    "Binance futures testnet",
    "https://testnet.binancefuture.com",
    "futures-account",
    False,
    "hex",
)
DEFAULT_ORDER: Final = (MAINNET, BINANCE_US, SPOT_TESTNET, FUTURES_TESTNET)
BY_NAME: Final = {env.name: env for env in DEFAULT_ORDER}


def plan(environments: Sequence[Environment], *, hex_key: bool) -> list[Environment]:
    """The environments to try for one key, in order: those that issue keys of its kind."""
    kind = "hex" if hex_key else "base62"
    return [env for env in environments if env.key_kind == kind]


def from_env(environ: Mapping[str, str] | None = None) -> tuple[Environment, ...]:
    """The environments to use: `BKM_GUARD_VERIFY_HOSTS` when set, else the default order."""
    raw = (os.environ if environ is None else environ).get(HOSTS_ENV, "").strip()
    return parse_override(raw) if raw else DEFAULT_ORDER


def parse_override(raw: str) -> tuple[Environment, ...]:
    from bkm_guard.runtime.binance_api import check_base_url

    chosen: list[Environment] = []
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        name, sep, url = entry.partition("=")
        env = BY_NAME.get(name.strip())
        if not sep or env is None:
            raise ConfigError(
                f"{HOSTS_ENV}: {entry!r} is not NAME=https://host[:port] with NAME one of "
                f"{', '.join(BY_NAME)}"
            )
        try:
            base_url = check_base_url(url.strip())
        except Exception as exc:  # InsecureEndpointError: say which variable
            raise ConfigError(f"{HOSTS_ENV}: {exc}") from None
        chosen.append(dataclasses.replace(env, base_url=base_url))
    if not chosen:
        raise ConfigError(f"{HOSTS_ENV} is set but names no host")
    return tuple(chosen)


def ca_bundle_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    value = (os.environ if environ is None else environ).get(CA_BUNDLE_ENV, "").strip()
    return value or None
