"""pytest plugin registered by bkm-guard (entry point `pytest11`): the `fake_binance` fixture.

Loaded into every pytest run of every project that has bkm-guard installed, so it imports
nothing heavy: the server (and trustme, cryptography) load only when a test asks for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from bkm_guard.testing.fake_binance import FakeBinance


@pytest.fixture
def fake_binance() -> Iterator[FakeBinance]:
    """A started local fake Binance over HTTPS; `.base_url` and `.ca_path` point a client at it."""
    from bkm_guard.testing.fake_binance import FakeBinance

    with FakeBinance() as server:
        yield server
