"""The bounds of a verification run and their command-line options (light: imported by `scan`).

Defaults: at most 20 HTTP requests a run, 2 a second, and 10 s for all the hosts of one key,
the same total deadline as `bkm_guard.load()` gives its live check.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Final

from bkm_guard.errors import ConfigError

if TYPE_CHECKING:
    from bkm_guard.verify.verifier import Verifier

DEFAULT_MAX_REQUESTS: Final = 20
DEFAULT_RATE: Final = 2.0  # requests per second, for the whole run
DEFAULT_TIMEOUT_S: Final = 10.0  # as bkm_guard.load(timeout=10.0)
DEFAULTS: Final = (DEFAULT_MAX_REQUESTS, DEFAULT_RATE, DEFAULT_TIMEOUT_S)


def add_budget_options(p: argparse.ArgumentParser, prefix: str = "") -> None:
    """--max-requests, --rate, --timeout (for `scan`, with the prefix `verify-`)."""
    p.add_argument(
        f"--{prefix}max-requests",
        type=int,
        default=DEFAULT_MAX_REQUESTS,
        metavar="N",
        help=f"at most N HTTP requests to Binance in the whole run (default {DEFAULT_MAX_REQUESTS})",
    )
    p.add_argument(
        f"--{prefix}rate",
        type=float,
        default=DEFAULT_RATE,
        metavar="PER_SECOND",
        help=f"at most this many requests per second (default {DEFAULT_RATE:g})",
    )
    p.add_argument(
        f"--{prefix}timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help=f"time budget of one key, every host tried included (default {DEFAULT_TIMEOUT_S:g}, as load())",
    )


def check_budget(max_requests: int, rate: float, timeout: float, *, prefix: str = "") -> None:
    if max_requests < 0:
        raise ConfigError(f"--{prefix}max-requests must be 0 or more")
    if not rate > 0:
        raise ConfigError(f"--{prefix}rate must be more than 0")
    if not timeout > 0:
        raise ConfigError(f"--{prefix}timeout must be more than 0")


def make_verifier(max_requests: int, rate: float, timeout: float, ca_bundle: str | None = None) -> Verifier:
    from bkm_guard.verify.transport import Budget
    from bkm_guard.verify.verifier import Verifier

    check_budget(max_requests, rate, timeout)
    return Verifier(budget=Budget(max_requests, rate), timeout=timeout, ca_bundle=ca_bundle)


def check_scan_args(args: argparse.Namespace) -> None:
    """`scan --verify` runs by hand only, and its options go with it."""
    if not args.verify:
        if (args.verify_max_requests, args.verify_rate, args.verify_timeout) != DEFAULTS:
            raise ConfigError("--verify-max-requests, --verify-rate and --verify-timeout go with --verify")
        return
    if args.pre_commit or args.staged:
        raise ConfigError(
            "--verify sends the keys it finds to Binance: it never runs in a hook or on the index "
            "(--pre-commit, --staged); run `bkm-guard scan --verify PATH` by hand"
        )
    if args.fix or args.update_baseline:
        raise ConfigError("--verify goes with a report: not with --fix, --diff or --update-baseline")
    check_budget(args.verify_max_requests, args.verify_rate, args.verify_timeout, prefix="verify-")
