"""`bkm-guard COMMAND ...`: dispatches to one module per command, imported only when used."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

# command -> (module with `main(argv) -> int`, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "scan": ("bkm_guard.cli.scan", "find hardcoded Binance credentials and insecure endpoints"),
    "keys": ("bkm_guard.cli.keys",
             "manage the encrypted key store (init, add, generate, attach, list, rotate, ...)"),
    "run": ("bkm_guard.cli.run", "check a key, then run a bot with it in its environment"),
    "rule": ("bkm_guard.cli.rule", "explain a rule code, with examples"),
}

USAGE = "usage: bkm-guard {" + ",".join(COMMANDS) + "} [--help] ..."


def _help() -> str:
    lines = [USAGE, "", "commands:"]
    lines += [f"  {name:<6} {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "Run `bkm-guard COMMAND --help` for the options of one command."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(_help())
        return 0 if args else 2
    if args[0] in ("-V", "--version"):
        from bkm_guard import __version__

        print(f"bkm-guard {__version__}")
        return 0
    command = COMMANDS.get(args[0])
    if command is None:
        from bkm_guard.cli.safety import scrub

        print(f"{USAGE}\nbkm-guard: error: unknown command {scrub(repr(args[0]))}", file=sys.stderr)
        return 2
    module = importlib.import_module(command[0])
    result: int = module.main(args[1:])
    return result


if __name__ == "__main__":
    raise SystemExit(main())
