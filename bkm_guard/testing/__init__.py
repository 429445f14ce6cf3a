"""Test helpers for bots that use bkm-guard: a local fake Binance over real TLS.

    from bkm_guard.testing import FakeBinance

    with FakeBinance() as fb:
        fb.add_key(api_key, secret=secret, permissions={"enableSpotAndMarginTrading": True},
                   ip_restrict=True)
        creds = bkm_guard.load("spot-bot", base_url=fb.base_url, ca_bundle=fb.ca_path)

With pytest, the `fake_binance` fixture (installed with bkm-guard) gives a started server.
The server needs `trustme` (`pip install bkm-guard[testing]`); nothing heavy is imported
until a name below is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bkm_guard.testing.fake_binance import FakeBinance, FakeKey, Request
    from bkm_guard.testing.keys import new_api_key, new_ed25519_key, new_hmac_secret, new_rsa_key

_LAZY: dict[str, str] = {
    "FakeBinance": "bkm_guard.testing.fake_binance",
    "FakeKey": "bkm_guard.testing.fake_binance",
    "Request": "bkm_guard.testing.fake_binance",
    "new_api_key": "bkm_guard.testing.keys",
    "new_hmac_secret": "bkm_guard.testing.keys",
    "new_ed25519_key": "bkm_guard.testing.keys",
    "new_rsa_key": "bkm_guard.testing.keys",
}

__all__ = ["FakeBinance", "FakeKey", "Request", "new_api_key", "new_ed25519_key",
           "new_hmac_secret", "new_rsa_key"]


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'bkm_guard.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
