"""bkm-guard: keeps Binance API keys out of source code, and keeps the keys in use safe.

`import bkm_guard` must stay cheap (a bot imports it at start-up, the pre-commit hook on
every commit): heavy modules (requests, cryptography, libcst) load on first use only.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from bkm_guard.errors import (
    BinanceAPIError,
    BinanceAuthError,
    BinanceClockError,
    BinanceMalformedAnswerError,
    BinanceRateLimitError,
    BinanceUnavailableError,
    ConfigError,
    DecryptionError,
    GuardError,
    InsecureEndpointError,
    InsecurePermissionsError,
    InvalidKeyMaterialError,
    InvalidKeyNameError,
    KeyExistsError,
    KeyExpiredError,
    KeyNotFoundError,
    KeyPendingError,
    PassphraseError,
    PermissionViolationError,
    PolicyViolationError,
    RollbackError,
    StoreError,
)

__version__ = "0.1.0"

# name -> module that defines it, imported on first attribute access (PEP 562)
_LAZY: dict[str, str] = {
    "load": "bkm_guard.runtime.guard",
    "watch": "bkm_guard.runtime.rotation",
    "KeyHandle": "bkm_guard.runtime.rotation",
    "KeyStore": "bkm_guard.runtime.store",
    "Credentials": "bkm_guard.runtime.store",
    "Policy": "bkm_guard.runtime.policy",
    "redact": "bkm_guard.runtime.redact",
    "testing": "bkm_guard.testing",
}

if TYPE_CHECKING:
    from bkm_guard import testing
    from bkm_guard.runtime import redact
    from bkm_guard.runtime.guard import load
    from bkm_guard.runtime.policy import Policy
    from bkm_guard.runtime.rotation import KeyHandle, watch
    from bkm_guard.runtime.store import Credentials, KeyStore

__all__ = [
    "BinanceAPIError",
    "BinanceAuthError",
    "BinanceClockError",
    "BinanceMalformedAnswerError",
    "BinanceRateLimitError",
    "BinanceUnavailableError",
    "ConfigError",
    "Credentials",
    "DecryptionError",
    "GuardError",
    "InsecureEndpointError",
    "InsecurePermissionsError",
    "InvalidKeyMaterialError",
    "InvalidKeyNameError",
    "KeyExistsError",
    "KeyExpiredError",
    "KeyHandle",
    "KeyNotFoundError",
    "KeyPendingError",
    "KeyStore",
    "PassphraseError",
    "PermissionViolationError",
    "Policy",
    "PolicyViolationError",
    "RollbackError",
    "StoreError",
    "__version__",
    "load",
    "redact",
    "testing",
    "watch",
]


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'bkm_guard' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if module_name.endswith("." + name) else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
