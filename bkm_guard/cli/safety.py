"""No command-line path prints a value shaped like a credential, not even one typed by mistake.

argparse echoes what it refuses (`unrecognized arguments: --api-key <key>`, `invalid
choice: '<key>'`), and a key pasted where a NAME goes would reach an error message. Every
message our commands print about their arguments goes through `scrub`.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from bkm_guard.masking import looks_like_credential, scrub

__all__ = ["RaisingArgumentParser", "SafeArgumentParser", "looks_like_credential", "scrub"]


class SafeArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose error messages never echo a credential-shaped argument."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {scrub(message)}\n")


class RaisingArgumentParser(argparse.ArgumentParser):
    """Like SafeArgumentParser, but a usage error is raised as ConfigError (exit 2 from the
    command's main, after its own clean-up) instead of leaving through SystemExit."""

    def error(self, message: str) -> NoReturn:
        from bkm_guard.errors import ConfigError

        self.print_usage(sys.stderr)
        raise ConfigError(scrub(message))
