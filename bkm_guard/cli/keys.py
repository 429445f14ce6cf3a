"""`bkm-guard keys init|add|generate|attach|pending|list|show|rotate|remove|passwd|audit|check`.

Secrets come from hidden prompts or standard input, never from the command line; output
shows masked keys and fingerprints only. Exit codes: 0 done, 1 `audit` found something that
needs action, 2 error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bkm_guard.cli.safety import SafeArgumentParser, scrub
from bkm_guard.errors import ConfigError, GuardError, InvalidKeyMaterialError
from bkm_guard.runtime.policy import PERMISSIONS, PURPOSES, Policy, builtin_policy
from bkm_guard.runtime.store import KEY_TYPES, KeyMetadata, KeyStore
from bkm_guard.runtime.store.audit import format_time, utc_now
from bkm_guard.runtime.store.passphrase import (
    NEW_PASSPHRASE_ENV,
    NEW_PASSPHRASE_FILE_ENV,
    EnvironmentPassphrase,
)

if TYPE_CHECKING:
    from bkm_guard.runtime.keygen import PendingKey

StoreFactory = Callable[[Path | None], KeyStore]
PROG = "bkm-guard keys"


def _parser() -> argparse.ArgumentParser:
    common = SafeArgumentParser(add_help=False)
    common.add_argument("--store", metavar="DIR", type=Path,
                        help="the key store directory (default: $BKM_GUARD_HOME, else the "
                             "user config directory)")
    parser = SafeArgumentParser(
        prog=PROG, description="Manage the encrypted Binance key store. The passphrase comes "
        "from BKM_GUARD_PASSPHRASE, a 0600 file named by BKM_GUARD_PASSPHRASE_FILE, or a prompt.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    weak = SafeArgumentParser(add_help=False)
    weak.add_argument("--allow-weak-passphrase", action="store_true",
                      help="accept a passphrase zxcvbn rates weak (not recommended)")
    sub.add_parser("init", parents=[common, weak], help="create the key store")

    def material(p: argparse.ArgumentParser) -> None:
        p.add_argument("--type", dest="key_type", choices=KEY_TYPES,
                       help="key type (default: hmac, or what a given PEM is)")
        p.add_argument("--from-stdin", action="store_true",
                       help="read the API key (first line), then the secret (second line) or a "
                            "private key PEM (and, on the line after it, its password) from stdin")
        p.add_argument("--private-key-file", metavar="PEM", type=Path,
                       help="read the Ed25519/RSA private key from this file")

    add = sub.add_parser("add", parents=[common], help="store a new key")
    add.add_argument("name")
    add.add_argument("--purpose", choices=PURPOSES,
                     help="what the key is for; decides the policy (required unless --policy "
                          "names one)")
    add.add_argument("--policy", metavar="TOML", type=Path, help="a custom policy file")
    material(add)
    for command, text in (("list", "list the keys (no passphrase needed)"),
                          ("audit", "report what needs action; exit 1 if anything does")):
        p = sub.add_parser(command, parents=[common], help=text)
        p.add_argument("--format", choices=("text", "json"), default="text")
        if command == "audit":
            p.add_argument("--unused-days", type=int, default=30, metavar="N",
                           help="flag keys not loaded or run for N days (default 30)")
            p.add_argument("--check-days", type=int, default=30, metavar="N",
                           help="flag keys whose last live check is N days old (default 30)")
    show = sub.add_parser("show", parents=[common], help="the metadata of one key")
    show.add_argument("name")
    show.add_argument("--format", choices=("text", "json"), default="text")
    rotate = sub.add_parser("rotate", parents=[common], help="replace a key's material")
    rotate.add_argument("name")
    material(rotate)
    _generate_parsers(sub, common)
    remove = sub.add_parser("remove", parents=[common], help="delete a key from the store")
    remove.add_argument("name")
    sub.add_parser("passwd", parents=[common, weak],
                   help="re-encrypt every key under a new passphrase")
    sub.add_parser("check", help="check keys live against Binance (see `keys check --help`)",
                   add_help=False)
    return parser


# ---------------------------------------------------------------------- input of key material
class _Material:
    def __init__(self, api_key: str, api_secret: str | None, pem: str | None,
                 password: str | None) -> None:
        self.api_key, self.api_secret, self.pem, self.password = api_key, api_secret, pem, password


def _split_stdin(text: str, need_pem: bool) -> _Material:
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise InvalidKeyMaterialError("standard input is empty: give the API key on the first line")
    api_key, rest = lines[0].strip(), lines[1:]
    body = "\n".join(rest).strip()
    if body.startswith("-----BEGIN"):
        end = next((i for i, line in enumerate(rest) if line.strip().startswith("-----END")), None)
        if end is None:
            raise InvalidKeyMaterialError("the private key PEM on standard input has no END line")
        pem = "\n".join(line.strip() for line in rest[: end + 1]).strip() + "\n"
        after = [line for line in rest[end + 1:] if line.strip()]
        return _Material(api_key, None, pem, after[0].strip() if after else None)
    if need_pem:
        password = rest[0].strip() if rest and rest[0].strip() else None
        return _Material(api_key, None, None, password)
    secret = next((line.strip() for line in rest if line.strip()), None)
    if secret is None:
        raise InvalidKeyMaterialError(
            "standard input has no secret: the API key on line 1, the secret (or a PEM) after it")
    return _Material(api_key, secret, None, None)


def _hidden(prompt: str) -> str:
    value = getpass.getpass(prompt).strip()
    if not value:
        raise InvalidKeyMaterialError(f"nothing entered for {prompt.rstrip(': ')}")
    return value


def _read_material(args: argparse.Namespace, stdin: TextIO) -> _Material:
    pem_file: Path | None = args.private_key_file
    wants_pem = pem_file is not None or args.key_type in ("ed25519", "rsa")
    if args.from_stdin:
        got = _split_stdin(stdin.read(), need_pem=pem_file is not None)
    else:
        if not (sys.stdin.isatty() or os.path.exists("/dev/tty")):
            raise InvalidKeyMaterialError("no terminal to ask on: use --from-stdin")
        api_key = _hidden("API key: ")
        if wants_pem:
            got = _Material(api_key, None, None, None)
        else:
            got = _Material(api_key, _hidden("API secret: "), None, None)
    if wants_pem and got.pem is None:
        if pem_file is None:
            if args.from_stdin:  # stdin held the key (and no PEM): nothing left to ask on
                raise InvalidKeyMaterialError(
                    "an Ed25519/RSA key needs its private key: put the PEM after the API key on "
                    "stdin, or pass --private-key-file")
            pem_file = Path(input("Private key PEM file: ").strip())
        try:
            got.pem = pem_file.expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidKeyMaterialError(f"cannot read {pem_file}: {exc.strerror}") from None
    if got.pem is not None and "ENCRYPTED" in got.pem.split("\n", 1)[0] and not got.password:
        if args.from_stdin:
            raise InvalidKeyMaterialError(
                "the private key is encrypted: put its password on the line after the PEM")
        got.password = _hidden("Private key password: ")
    return got


# ---------------------------------------------------------------------- formatting
def _days(value: float) -> str:
    return f"{int(value)}d"


def _ago(moment: dt.datetime | None, now: dt.datetime) -> str:
    if moment is None:
        return "never"
    days = (now - moment).total_seconds() / 86400
    return "today" if days < 1 else f"{int(days)}d ago"


def _rotation(meta: KeyMetadata, now: dt.datetime) -> str:
    left = meta.days_until_rotation(now)
    if left <= 0:
        return f"OVERDUE {int(-left)}d"
    return f"in {math.ceil(left)}d" + (" (soon)" if meta.rotation_soon(now) else "")


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                     for row in rows)


def _policy_lines(policy: Policy) -> list[str]:
    allowed = [PERMISSIONS[p] for p in PERMISSIONS if p in policy.allowed]
    ip = "always" if policy.ip_restriction_always else "whenever trading or transfers are on"
    return [f"  may be on:      {', '.join(allowed)}",
            f"  must be off:    {', '.join(PERMISSIONS[p] for p in PERMISSIONS if p in policy.forbidden)}",
            f"  IP restriction: required {ip}",
            f"  max age:        {policy.max_age_days} days ({policy.age_enforcement} when older)"]


# ---------------------------------------------------------------------- commands
def _cmd_init(store: KeyStore, args: argparse.Namespace) -> int:
    if store.init(allow_weak_passphrase=args.allow_weak_passphrase):
        print(f"Created the key store at {store.path} (mode 700).")
        print("Add a key: bkm-guard keys add NAME --purpose PURPOSE")
    else:
        print(f"A key store already exists at {store.path}: nothing changed.")
    return 0


def _load_policy(path: Path, purpose: str | None) -> Policy:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the policy file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"policy file {path}: invalid TOML ({exc})") from None
    table = data.get("policy", data)
    if not isinstance(table, dict):
        raise ConfigError(f"policy file {path}: [policy] must be a table")
    if purpose is not None and "base" not in table and "allow" not in table \
            and "allowed" not in table:
        table = {"base": purpose, **table}
    return Policy.from_dict(table, purpose=purpose)


def _cmd_add(store: KeyStore, args: argparse.Namespace, stdin: TextIO) -> int:
    if args.purpose is None and args.policy is None:
        raise ConfigError(f"give --purpose ({', '.join(PURPOSES)}) or a --policy file")
    policy = (_load_policy(args.policy, args.purpose) if args.policy
              else builtin_policy(args.purpose))
    got = _read_material(args, stdin)
    meta = store.add(args.name, purpose=policy.purpose, api_key=got.api_key,
                     api_secret=got.api_secret, private_key_pem=got.pem,
                     private_key_password=got.password,
                     key_type=args.key_type if got.pem else "hmac", policy=policy)
    print(f"Added {meta.name}: {meta.purpose}, {meta.key_type}, key {meta.masked_api_key}, "
          f"fingerprint {meta.fingerprint}")
    print(f"On Binance, this key's settings should be ({meta.purpose}):")
    print("\n".join(_policy_lines(meta.policy)))
    print(f"Rotate it by {meta.rotation_due_at.date().isoformat()}. "
          f"Check it live: bkm-guard keys check {meta.name}")
    return 0


def _cmd_rotate(store: KeyStore, args: argparse.Namespace, stdin: TextIO) -> int:
    old = store.metadata(args.name)
    got = _read_material(args, stdin)
    meta = store.rotate(args.name, api_key=got.api_key, api_secret=got.api_secret,
                        private_key_pem=got.pem, private_key_password=got.password,
                        key_type=args.key_type)
    print(f"Rotated {meta.name}: new key {meta.masked_api_key} ({meta.fingerprint}); "
          f"the old one ({old.fingerprint}) is kept in its history.")
    print("Now DELETE THE OLD KEY ON BINANCE (API Management, key "
          f"{old.masked_api_key}): Binance has no API to delete a key, and a rotated key that "
          "still works is a leaked key waiting to happen.")
    print(f"Bots using {meta.name} get the new key at their next start. Next rotation by "
          f"{meta.rotation_due_at.date().isoformat()}.")
    _print_old_key_users(store, meta.name, old.fingerprint)
    return 0


def _print_old_key_users(store: KeyStore, name: str, old_fingerprint: str) -> None:
    from bkm_guard.runtime.rotation import bots_using

    bots = bots_using(store, name, old_fingerprint)
    if not bots:
        print(f"No running bot on this host uses the old key ({old_fingerprint}) by the audit "
              "log: revoke it on Binance now.")
        return
    print(f"{len(bots)} running bot(s) on this host still use the old key ({old_fingerprint}); "
          "restart them (a bkm_guard.watch() handle switches by itself once the new key passes "
          "its live check) BEFORE you revoke the old key on Binance:")
    for bot in bots:
        print(f"  {bot.describe()}")


def _generate_parsers(sub: argparse._SubParsersAction[SafeArgumentParser],
                      common: SafeArgumentParser) -> None:
    from bkm_guard.runtime.keygen import GENERATED_TYPES

    gen = sub.add_parser("generate", parents=[common],
                         help="make an Ed25519/RSA key pair here; Binance gets the public key")
    gen.add_argument("name")
    gen.add_argument("--purpose", choices=PURPOSES,
                     help="what the key is for (required for a new name; a rotation keeps it)")
    gen.add_argument("--policy", metavar="TOML", type=Path, help="a custom policy file")
    gen.add_argument("--type", dest="spec", choices=GENERATED_TYPES, default="ed25519",
                     help="key type (default ed25519, Binance's recommendation)")
    pending = sub.add_parser("pending", parents=[common],
                             help="show a generated key's public key again")
    pending.add_argument("name")
    attach = sub.add_parser("attach", parents=[common],
                            help="give a generated key the API key Binance shows for it")
    attach.add_argument("name")
    attach.add_argument("--from-stdin", action="store_true",
                        help="read the API key from the first line of stdin (else a hidden prompt)")


def _print_pending(pending: PendingKey) -> None:
    from bkm_guard.runtime.keygen import WHERE_TO_PASTE

    print(f"Public key of {pending.name} ({pending.spec}, {pending.public_fingerprint}):")
    print()
    print(pending.public_key_pem.rstrip("\n"))
    print()
    print(f"Paste it on Binance: {WHERE_TO_PASTE}.")
    print(f"On Binance, this key's settings should be ({pending.purpose}):")
    print("\n".join(_policy_lines(pending.policy)))
    print(f"Then give bkm-guard the API key Binance shows: bkm-guard keys attach {pending.name}")


def _cmd_generate(store: KeyStore, args: argparse.Namespace) -> int:
    from bkm_guard.runtime import keygen

    policy = _load_policy(args.policy, args.purpose) if args.policy else None
    pending = keygen.generate(store, args.name, spec=args.spec, purpose=args.purpose,
                              policy=policy)
    what = "a new key pair for the rotation of" if pending.rotates else "a new key"
    print(f"Generated {what} {pending.name}: {pending.spec}, {pending.purpose}. The private key is "
          f"in the encrypted store only ({pending.path}); it never leaves this machine.")
    _print_pending(pending)
    return 0


def _cmd_pending(store: KeyStore, args: argparse.Namespace) -> int:
    from bkm_guard.runtime import keygen

    _print_pending(keygen.read_pending(store, args.name))
    return 0


def _cmd_attach(store: KeyStore, args: argparse.Namespace, stdin: TextIO) -> int:
    from bkm_guard.runtime import keygen

    keygen.read_pending(store, args.name)  # a clear error before any prompt
    if args.from_stdin:
        lines = [line.strip() for line in stdin.read().splitlines() if line.strip()]
        if not lines:
            raise InvalidKeyMaterialError("standard input is empty: give the API key on line 1")
        api_key = lines[0]
    else:
        if not (sys.stdin.isatty() or os.path.exists("/dev/tty")):
            raise InvalidKeyMaterialError("no terminal to ask on: use --from-stdin")
        api_key = _hidden("API key Binance shows: ")
    old = store.metadata(args.name) if store.key_path(args.name).exists() else None
    meta, _ = keygen.attach(store, args.name, api_key)
    print(f"Attached {meta.name}: {meta.purpose}, {meta.key_type}, key {meta.masked_api_key}, "
          f"fingerprint {meta.fingerprint}.")
    if old is not None:
        print(f"This rotated {meta.name}: the old key {old.masked_api_key} ({old.fingerprint}) "
              "is kept in its history.")
        _print_old_key_users(store, meta.name, old.fingerprint)
    print(f"Rotate it by {meta.rotation_due_at.date().isoformat()}. "
          f"Check it live: bkm-guard keys check {meta.name}")
    return 0


def _cmd_list(store: KeyStore, args: argparse.Namespace) -> int:
    metas = store.list()
    now = utc_now()
    used = store.audit_log.last_by_name("load")
    checked = store.audit_log.last_by_name("check", outcome=None)
    if args.format == "json":
        out = []
        for meta in metas:
            item = meta.to_json(now)
            item["last_used"] = format_time(used[meta.name].time) if meta.name in used else None
            check = checked.get(meta.name)
            item["last_check"] = ({"time": format_time(check.time), "outcome": check.outcome}
                                  if check else None)
            out.append(item)
        print(json.dumps(out, indent=2))
        return 0
    if not metas:
        print(f"No keys in {store.path}. Add one: bkm-guard keys add NAME --purpose PURPOSE")
    else:
        rows = [["NAME", "PURPOSE", "TYPE", "API KEY", "AGE", "ROTATION", "LAST USED",
                 "LAST CHECK"]]
        for meta in metas:
            check = checked.get(meta.name)
            rows.append([meta.name, meta.purpose, meta.key_type, meta.masked_api_key,
                         _days(meta.age_days(now)), _rotation(meta, now),
                         _ago(used[meta.name].time if meta.name in used else None, now),
                         f"{_ago(check.time, now)} {check.outcome}" if check else "never"])
        print(_table(rows))
    from bkm_guard.runtime import keygen

    for name in keygen.pending_names(store):
        print(f"{name}: generated key waiting for its API key: `bkm-guard keys attach {name}`")
    damaged = sorted(set(store.names()) - {m.name for m in metas})
    for name in damaged:
        print(f"{PROG}: warning: {name}: unreadable key file (see `bkm-guard keys audit`)",
              file=sys.stderr)
    status = store.passwd_status()
    if status is not None:
        print(f"{PROG}: warning: {status.describe()}", file=sys.stderr)
    return 0


def _cmd_show(store: KeyStore, args: argparse.Namespace) -> int:
    meta = store.metadata(args.name)
    now = utc_now()
    if args.format == "json":
        print(json.dumps(meta.to_json(now), indent=2))
        return 0
    used = store.audit_log.last("load", meta.name)
    check = store.audit_log.last("check", meta.name, outcome=None)
    rows = [
        ("name", meta.name), ("purpose", meta.purpose), ("type", meta.key_type),
        ("API key", meta.masked_api_key), ("fingerprint", meta.fingerprint),
        ("created", format_time(meta.created)),
        ("rotated", format_time(meta.rotated) if meta.rotated else "never"),
        ("age", f"{meta.age_days(now):.1f} days"),
        ("rotation due", f"{meta.rotation_due_at.date().isoformat()} ({_rotation(meta, now)})"),
        ("earlier keys", ", ".join(meta.previous_fingerprints) or "none"),
        ("last used", _ago(used.time if used else None, now)),
        ("last check", f"{_ago(check.time, now)} {check.outcome}" if check else "never"),
        ("file", f"{meta.path} (format {meta.format_version})"),
    ]
    print("\n".join(f"{label + ':':<14}{value}" for label, value in rows))
    print(f"policy ({meta.policy.purpose}):")
    print("\n".join(_policy_lines(meta.policy)))
    return 0


def _cmd_remove(store: KeyStore, args: argparse.Namespace) -> int:
    from bkm_guard.runtime import keygen

    if keygen.pending_path(store, args.name).exists():
        # one thing at a time: a pending rotation goes, the working key stays
        pending = keygen.remove_pending(store, args.name)
        print(f"Removed the generated {pending.spec} key {args.name} that waited for its API key "
              f"(public key {pending.public_fingerprint}).")
        if store.key_path(args.name).exists():
            print(f"The key {args.name} itself stays: `bkm-guard keys remove {args.name}` again "
                  "deletes it.")
        return 0
    meta = store.remove(args.name)
    shown = f" (key {meta.masked_api_key}, {meta.fingerprint})" if meta else ""
    print(f"Removed {args.name}{shown} from the store.")
    print("If no bot uses this key any more, delete it on Binance too (API Management).")
    return 0


def _cmd_passwd(store: KeyStore, args: argparse.Namespace) -> int:
    status = store.passwd_status()
    if status is not None:
        print(f"Resuming: {status.describe()}", file=sys.stderr)
    new = EnvironmentPassphrase(NEW_PASSPHRASE_ENV, NEW_PASSPHRASE_FILE_ENV,
                                prompt="New passphrase: ").get(confirm=True)
    try:
        count = store.passwd(new, progress=lambda name: print(f"re-encrypted {name}"),
                             allow_weak_passphrase=args.allow_weak_passphrase)
    except BaseException:
        after = store.passwd_status()
        if after is not None:
            print(f"{PROG}: {after.describe()}", file=sys.stderr)
        raise
    print(f"Re-encrypted {count} key(s) under the new passphrase. Update "
          "BKM_GUARD_PASSPHRASE (or its file) wherever your bots start.")
    return 0


def _cmd_audit(store: KeyStore, args: argparse.Namespace) -> int:
    from bkm_guard.runtime.review import review

    if args.unused_days < 1 or args.check_days < 1:
        raise ConfigError("--unused-days and --check-days must be 1 or more")
    issues = review(store, unused_days=args.unused_days, check_days=args.check_days)
    if args.format == "json":
        print(json.dumps([{"kind": i.kind, "name": i.name, "message": i.message}
                          for i in issues], indent=2))
    elif issues:
        print("\n".join(f"{i.kind}: {i.message}" for i in issues))
        print(f"{len(issues)} thing(s) need action.")
    else:
        print(f"OK: {len(store.names())} key(s) in {store.path}, nothing needs action.")
    return 1 if issues else 0


def _default_factory(path: Path | None) -> KeyStore:
    return KeyStore(path)


def main(argv: Sequence[str] | None = None, *, store_factory: StoreFactory | None = None,
         stdin: TextIO | None = None) -> int:
    """`store_factory` and `stdin` are seams for tests (cheap KDF, planted input)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] == "check":
        from bkm_guard.cli.keys_check import main as check_main

        result: int = check_main(args_list[1:])
        return result
    try:
        args = _parser().parse_args(args_list)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else 2
    factory = store_factory or _default_factory
    handlers: dict[str, Callable[[KeyStore, argparse.Namespace], int]] = {
        "init": _cmd_init, "list": _cmd_list, "show": _cmd_show, "remove": _cmd_remove,
        "passwd": _cmd_passwd, "audit": _cmd_audit,
        "add": lambda s, a: _cmd_add(s, a, stdin or sys.stdin),
        "generate": _cmd_generate, "pending": _cmd_pending,
        "attach": lambda s, a: _cmd_attach(s, a, stdin or sys.stdin),
        "rotate": lambda s, a: _cmd_rotate(s, a, stdin or sys.stdin),
    }
    try:
        return handlers[args.command](factory(args.store), args)
    except GuardError as exc:
        print(scrub(f"{PROG} {args.command}: error: {exc}"), file=sys.stderr)
        return 2
    except OSError as exc:  # the file name and the OS's reason; never file contents
        where = f" {exc.filename}" if exc.filename else ""
        print(scrub(f"{PROG} {args.command}: error:{where}: {exc.strerror or exc}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\n{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130




if __name__ == "__main__":
    raise SystemExit(main())
