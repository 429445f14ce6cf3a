"""The encrypted key store: one file per Binance key, unlocked by a passphrase."""

from __future__ import annotations

from bkm_guard.runtime.store.audit import AuditEntry, AuditLog
from bkm_guard.runtime.store.credentials import Credentials
from bkm_guard.runtime.store.kdf import KdfParams
from bkm_guard.runtime.store.keystore import AuditIssue, KeyStore, PasswdStatus
from bkm_guard.runtime.store.metadata import KEY_TYPES, KeyMetadata, KeyType
from bkm_guard.runtime.store.passphrase import (
    EnvironmentPassphrase,
    PassphraseSource,
    StaticPassphrase,
)
from bkm_guard.runtime.store.paths import default_store_dir, validate_name

__all__ = [
    "KEY_TYPES",
    "AuditEntry",
    "AuditIssue",
    "AuditLog",
    "Credentials",
    "EnvironmentPassphrase",
    "KdfParams",
    "KeyMetadata",
    "KeyStore",
    "KeyType",
    "PassphraseSource",
    "PasswdStatus",
    "StaticPassphrase",
    "default_store_dir",
    "validate_name",
]
