"""Loaded first by every client-test subprocess (PYTHONPATH): no connection leaves 127.0.0.1."""

from __future__ import annotations

import atexit
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loopback_only

loopback_only.install()


@atexit.register
def _report() -> None:
    if loopback_only.ATTEMPTS:
        sys.stderr.write(f"LEFT-LOOPBACK {loopback_only.ATTEMPTS}\n")
        sys.stderr.flush()
        os._exit(3)
