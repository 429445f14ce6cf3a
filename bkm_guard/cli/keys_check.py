"""`bkm-guard keys check [NAME ... | --all]`: each key's live permissions on Binance against its policy.

Exit codes: 0 every key passes, 1 a key breaks its policy, 2 a key could not be checked
(store, passphrase, network, Binance errors) and none broke its policy. Output never holds
a secret: masked keys and fingerprints only.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bkm_guard.cli.safety import SafeArgumentParser, looks_like_credential, scrub
from bkm_guard.errors import GuardError
from bkm_guard.runtime.guard import CheckReport, check_key

if TYPE_CHECKING:
    from bkm_guard.runtime.store import KeyStore

PROG = "bkm-guard keys check"
_ON_OFF = {True: "on", False: "off", None: "-"}


def _parser() -> argparse.ArgumentParser:
    parser = SafeArgumentParser(
        prog=PROG,
        description="Check keys against their purpose's policy: store permissions, decryption, "
                    "age, and (unless --offline) the key's permissions on Binance "
                    "(GET /sapi/v1/account/apiRestrictions over HTTPS). "
                    "Exit 0 pass, 1 policy violation, 2 could not check.")
    parser.add_argument("names", nargs="*", metavar="NAME", help="key name(s) to check")
    parser.add_argument("--all", action="store_true", help="check every key in the store")
    parser.add_argument("--store", metavar="DIR", type=Path,
                        help="the key store directory (default: $BKM_GUARD_HOME, else the user "
                             "config directory)")
    parser.add_argument("--base-url", metavar="URL",
                        help="Binance REST base URL (default https://api.binance.com; e.g. "
                             "https://api.binance.us); HTTPS only")
    parser.add_argument("--ca-bundle", metavar="FILE",
                        help="CA certificates to trust (default: REQUESTS_CA_BUNDLE, else the system's)")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="time budget of each key's live check (default 10)")
    parser.add_argument("--offline", action="store_true",
                        help="skip the live check: permissions, decryption and age only")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    return parser


def render_text(report: CheckReport) -> str:
    """The human-readable table of one report."""
    where = f"checked live on {report.endpoint}" if report.check == "live" else "offline check"
    head = report.name
    if report.purpose:
        head += (f": {report.purpose} key, {report.key_type}, {report.masked_api_key}, "
                 f"{report.fingerprint}, {where}")
    lines = [head]
    if report.permissions and (report.outcome != "error" or report.check == "offline"):
        lines.append(f"  {'PERMISSION':<40} {'BINANCE':<8} {'POLICY':<10} RESULT")
        for row in report.permissions:
            result = "ok" if row.ok else "VIOLATION"
            if row.actual is None and report.check == "offline":
                result = "not checked"
            lines.append(f"  {row.label:<40} {_ON_OFF[row.actual]:<8} {row.expected:<10} {result}")
    if report.age_days is not None:
        too_old = any("rotation limit" in v for v in report.violations)
        age_result = "VIOLATION" if too_old else (
            "warning" if any("days old" in w for w in report.warnings) else "ok")
        lines.append(f"  {'key age':<40} {f'{report.age_days:.0f} d':<8} "
                     f"{f'max {report.max_age_days}':<10} {age_result}")
    if report.trading_authority_expiration:
        lines.append(f"  trading authority expires {report.trading_authority_expiration}")
    lines += [f"  warning: {message}" for message in report.warnings]
    if report.outcome == "error":
        lines.append(f"  COULD NOT CHECK: {report.error}")
    elif report.violations:
        count = len(report.violations)
        lines.append(f"  FAIL: {count} violation{'s' if count > 1 else ''}")
        lines += [f"    - {violation}" for violation in report.violations]
    else:
        lines.append("  PASS" + (" (offline: live permissions not checked)"
                                 if report.check == "offline" else ""))
    return "\n".join(lines)


def exit_code(reports: Sequence[CheckReport]) -> int:
    """1 if any key breaks its policy, else 2 if any could not be checked, else 0."""
    codes = {report.exit_code for report in reports}
    return 1 if 1 in codes else (2 if 2 in codes or not reports else 0)


def main(argv: Sequence[str] | None = None, *, store: KeyStore | None = None,
         stdout: TextIO | None = None) -> int:
    """`store` and `stdout` are seams for tests."""
    out = stdout or sys.stdout
    try:
        args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else 2
    if any(looks_like_credential(name) for name in args.names):
        print(f"{PROG}: error: {scrub(' '.join(args.names))}: that looks like an API key or secret, "
              "not a key name: give the name it is stored under", file=sys.stderr)
        return 2
    if bool(args.names) == bool(args.all):
        print(f"{PROG}: error: give key name(s) or --all (not both)", file=sys.stderr)
        return 2
    try:
        if store is None:
            from bkm_guard.runtime.store import KeyStore

            store = KeyStore(args.store)
        names = list(args.names) if args.names else store.names()
    except GuardError as exc:
        print(scrub(f"{PROG}: error: {exc}"), file=sys.stderr)
        return 2
    if not names and args.all and not store.exists():
        print(f"{PROG}: error: no key store at {store.path}: run `bkm-guard keys init` "
              "(or set BKM_GUARD_HOME)", file=sys.stderr)
        return 2
    if not names:
        print(f"{PROG}: no keys in {store.path}: add one with `bkm-guard keys add`", file=sys.stderr)
        return 2
    reports = [check_key(name, check="offline" if args.offline else "live", base_url=args.base_url,
                         ca_bundle=args.ca_bundle, timeout=args.timeout, store=store)
               for name in names]
    code = exit_code(reports)
    if args.format == "json":
        json.dump({"keys": [report.to_dict() for report in reports], "exit_code": code}, out,
                  indent=2, ensure_ascii=False)
        out.write("\n")
        return code
    out.write("\n\n".join(render_text(report) for report in reports) + "\n")
    passed = sum(report.outcome == "pass" for report in reports)
    failed = sum(report.outcome == "violation" for report in reports)
    errors = len(reports) - passed - failed
    out.write(f"\n{len(reports)} key(s) checked: {passed} passed, {failed} broke their policy, "
              f"{errors} could not be checked.\n")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
