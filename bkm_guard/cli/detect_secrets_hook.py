"""`bkm-detect-secrets`: detect-secrets' own flow with the Binance plugin, minus one blind spot.

* ``bkm-detect-secrets [FILES ...] [--baseline .secrets.baseline]`` is detect-secrets' pre-commit
  hook: new secrets fail the commit (exit 1), a baseline refresh asks for ``git add`` (exit 3).
* ``bkm-detect-secrets scan ...`` / ``audit ...`` are detect-secrets' console commands.

In all three the Binance plugin is loaded from the installed package, so a baseline records
``{"name": "BinanceDetector"}`` without the absolute ``file://`` path that ``--plugin`` writes,
and keeps working on another machine and from another directory. A baseline written by plain
detect-secrets with ``--plugin /some/path/binance.py`` is accepted too: its stale path is ignored.

The blind spot: detect-secrets' default filter ``is_indirect_reference`` drops every line shaped
``x = f(...)`` before any plugin sees it, so ``client = Client("<key>", "<secret>")`` and
``exchange = ccxt.binance({"apiKey": ...})`` would never be reported. It is replaced by
:func:`is_indirect_reference_unless_binance`, which keeps it for every other plugin.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

_INDIRECT_FILTER = "detect_secrets.filters.heuristic.is_indirect_reference"
# by import path, not __name__ (which is "__main__" under `python -m`): baselines record it
_OUR_FILTER = "bkm_guard.cli.detect_secrets_hook.is_indirect_reference_unless_binance"
_PLUGIN_NAME = "BinanceDetector"


def is_indirect_reference_unless_binance(secret: str, line: str, plugin: Any = None) -> bool:
    """detect-secrets' `is_indirect_reference` for every plugin but the Binance one.

    Run per secret (it takes `secret`), not per line, so the Binance plugin still sees the line.
    """
    from detect_secrets.filters.heuristic import is_indirect_reference

    from bkm_guard.static.detect_secrets_plugin import BinanceDetector

    return not isinstance(plugin, BinanceDetector) and bool(is_indirect_reference(line))


def register_plugin() -> None:
    """Make detect-secrets know BinanceDetector by class name, with no file path.

    Must run before any baseline is parsed: the plugin table is computed once and cached, so
    a stale `file://` path in a baseline from another machine is then never opened.
    """
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    from bkm_guard.static.detect_secrets_plugin import BinanceDetector

    mapping: dict[str, type[Any]] = get_mapping_from_secret_type_to_class()
    mapping[BinanceDetector.secret_type] = BinanceDetector


def configure_settings() -> None:
    """Enable the plugin (pathless) and swap the indirect-reference filter, after parsing."""
    from detect_secrets.settings import get_filters, get_plugins, get_settings

    settings = get_settings()
    settings.plugins[_PLUGIN_NAME] = {}
    get_plugins.cache_clear()
    settings.filters.pop(_INDIRECT_FILTER, None)
    settings.filters[_OUR_FILTER] = {}
    get_filters.cache_clear()


def _run_hook(argv: list[str]) -> int:
    import json

    from detect_secrets.__version__ import VERSION
    from detect_secrets.core import baseline
    from detect_secrets.core.secrets_collection import SecretsCollection
    from detect_secrets.pre_commit_hook import (
        parse_args,
        pretty_print_diagnostics,
        should_update_baseline,
    )

    try:
        args = parse_args(argv)
    except ValueError:  # the baseline file is unstaged: detect-secrets already said so
        return 1
    configure_settings()

    found = SecretsCollection()
    for filename in args.filenames:
        found.scan_file(filename)
    new = found - args.baseline if args.baseline else found
    if new:
        if args.json:
            print(json.dumps(baseline.format_for_output(new), indent=2))
        else:
            pretty_print_diagnostics(new)
        return 1
    if not args.baseline:
        return 0
    if not should_update_baseline(args.baseline, scanned_results=found,
                                  filelist=args.filenames, baseline_version=args.baseline_version):
        return 0
    baseline.save_to_file(args.baseline, filename=args.baseline_filename)
    print(f"The baseline file was updated (detect-secrets {VERSION}).\n"
          f"Please `git add {args.baseline_filename}` and commit again.")
    return 3


def _run_console(argv: list[str]) -> int:
    from detect_secrets import main as console

    args = console.parse_args(argv)
    configure_settings()
    if args.action == "scan":
        console.handle_scan_action(args)
    else:
        console.handle_audit_action(args)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    register_plugin()
    if args and args[0] in ("scan", "audit"):
        return _run_console(args)
    return _run_hook(args)


if __name__ == "__main__":
    raise SystemExit(main())
