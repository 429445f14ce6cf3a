"""`bkm-guard verify`: is this Binance key live, and what can it do? Reads the key from stdin.

    printf '%s\\n%s\\n' "$KEY" "$SECRET" | bkm-guard verify      # API key, then secret
    cat api_key.txt private_key.pem | bkm-guard verify           # API key, then a PEM
    bkm-guard verify < .env                                       # every pair in a file

Never from argv (any user on the machine can read another's command line). Exit status:
1 when a key is live, 0 when none is, 2 for a usage error or when nothing could be read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bkm_guard.errors import ConfigError, GuardError
from bkm_guard.verify.model import KeyPair, Unpaired, Verification
from bkm_guard.verify.options import add_budget_options, make_verifier

if TYPE_CHECKING:
    from bkm_guard.verify.verifier import Verifier

PROG = "bkm-guard verify"


def build_parser() -> argparse.ArgumentParser:
    from bkm_guard.cli.safety import RaisingArgumentParser  # argparse echoes what it refuses

    p = RaisingArgumentParser(
        prog=PROG,
        description="Check whether a Binance API key is live and what it may do, with one signed "
        "GET /sapi/v1/account/apiRestrictions per host. The key and its secret (or private key "
        "PEM) are read from stdin, never from the command line.",
    )
    p.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    p.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    p.add_argument("--ca-bundle", metavar="FILE", help="CA bundle for the TLS check (default: the system's)")
    add_budget_options(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        return _main(args_list)
    except GuardError as exc:
        print(f"bkm-guard: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bkm-guard: interrupted", file=sys.stderr)
        return 2


def _main(argv: list[str]) -> int:
    args, extra = build_parser().parse_known_args(argv)
    if extra:  # not echoed: it may be a key someone typed on the command line
        raise ConfigError(
            f"{len(extra)} unexpected argument(s): keys are read from stdin, never from the command line "
            "(other users can read a process's arguments); pipe the API key and its secret or private "
            "key into `bkm-guard verify`"
        )
    verifier = make_verifier(args.max_requests, args.rate, args.timeout, args.ca_bundle)
    pairs, unpaired = read_pairs(sys.stdin)
    if not pairs and not unpaired:
        raise ConfigError(
            "no Binance API key on stdin: give the API key on the first line, then its secret "
            "(or a private key PEM)"
        )
    results = run(verifier, pairs, unpaired)
    sent = verifier.budget.used
    from bkm_guard.verify import report

    if args.format == "json":
        text = report.render_json(results, requests_sent=sent)
    elif args.format == "sarif":
        text = report.render_sarif(results, requests_sent=sent)
    else:
        text = report.render_text(results, requests_sent=sent)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 1 if any(result.status == "live" for result in results) else 0


def run(verifier: Verifier, pairs: Sequence[KeyPair], unpaired: Sequence[Unpaired]) -> list[Verification]:
    from bkm_guard.verify.verifier import unpaired_result

    return [*verifier.verify_all(pairs), *(unpaired_result(item) for item in unpaired)]


def read_pairs(stream: object) -> tuple[list[KeyPair], list[Unpaired]]:
    """Pairs from stdin: `KEY\\nSECRET`, `KEY\\nPEM`, or any text (a .env, a config) to pair."""
    import io

    from bkm_guard.verify import pairing

    if isinstance(stream, io.TextIOBase) and stream.isatty():
        import getpass

        key = getpass.getpass("Binance API key: ").strip()
        secret = getpass.getpass("API secret (for an Ed25519/RSA key, pipe the PEM instead): ").strip()
        return ([pairing.pair_values(key, secret)] if key and secret else []), []
    text = stream.read() if hasattr(stream, "read") else ""
    if not isinstance(text, str):
        return [], []
    return parse_text(text)


def parse_text(text: str) -> tuple[list[KeyPair], list[Unpaired]]:
    from bkm_guard.verify import pairing

    if "-----BEGIN" in text:
        head = text[: text.index("-----BEGIN")]
        tokens = [_value(line) for line in head.splitlines() if line.strip()]
        pem = text[text.index("-----BEGIN") :]
        if len(tokens) == 1 and tokens[0]:
            try:
                return [pairing.pair_values(tokens[0], private_key=pem)], []
            except ValueError as exc:
                raise ConfigError(f"the private key on stdin cannot be used: {exc}") from None
        return pairing.pair_text(text)
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) == 2:
        key, secret = _value(lines[0]), _value(lines[1])
        if key and secret:
            return [pairing.pair_values(key, secret)], []
    return pairing.pair_text(text)


def _value(line: str) -> str:
    """A bare token, or the value of `NAME=value` / `NAME: value`; '' for anything else."""
    text = line.strip()
    for sep in ("=", ":"):
        name, found, rest = text.partition(sep)
        if found and name.strip() and " " not in name.strip():
            text = rest.strip()
            break
    text = text.strip("'\"` ,")
    return text if text and text.isalnum() and text.isascii() else ""
