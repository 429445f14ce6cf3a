"""Where the key store lives and what its files are called: no path tricks in key names."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Final

from bkm_guard.errors import InvalidKeyNameError
from bkm_guard.masking import looks_like_credential, mask

#: Environment variable naming the store directory; else the platform's user config dir.
HOME_ENV: Final = "BKM_GUARD_HOME"
KEY_SUFFIX: Final = ".bkm"
#: A key pair made by `keys generate` whose API key Binance has not given yet (`keys attach`).
PENDING_SUFFIX: Final = ".pending"
AUDIT_LOG: Final = "audit.log"
#: Encrypted with the store's passphrase: lets `add` refuse a mistyped passphrase.
STORE_CHECK: Final = ".store"
#: Present only while `keys passwd` runs, or after it was interrupted.
PASSWD_JOURNAL: Final = ".passwd-journal"  # noqa: S105 (a file name)
WRITE_LOCK: Final = ".lock"
AUDIT_LOCK: Final = ".audit.lock"
#: Prefix of the temporary files of atomic writes; any left over is debris of a crash.
TEMP_PREFIX: Final = ".tmp-"

NAME_RE: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
KNOWN_FILES: Final = frozenset({AUDIT_LOG, STORE_CHECK, PASSWD_JOURNAL, WRITE_LOCK, AUDIT_LOCK})


def default_store_dir() -> Path:
    """`BKM_GUARD_HOME` if set, else e.g. ~/.config/bkm-guard on Linux."""
    home = os.environ.get(HOME_ENV, "").strip()
    if home:
        return Path(home).expanduser()
    import platformdirs  # only when the default is needed

    return Path(platformdirs.user_config_dir("bkm-guard", appauthor=False))


def validate_name(name: str) -> str:
    """The name itself if it is a valid key name; a name can never leave the store directory."""
    if isinstance(name, str) and looks_like_credential(name):
        # a key pasted where the name goes: never echo it, and never store it as a name
        raise InvalidKeyNameError(
            f"invalid key name {mask(name)}: that looks like an API key or secret, not a name; "
            "give a name such as spot-bot, and the key where it is asked for")
    if not isinstance(name, str) or NAME_RE.fullmatch(name) is None:
        shown = name if isinstance(name, str) and len(name) <= 80 else "<invalid>"
        raise InvalidKeyNameError(
            f"invalid key name {shown!r}: use 1-64 of a-z 0-9 . _ - starting with a letter or digit"
        )
    return name


def key_file_name(name: str) -> str:
    return validate_name(name) + KEY_SUFFIX


def pending_file_name(name: str) -> str:
    return validate_name(name) + PENDING_SUFFIX


def name_of_pending_file(file_name: str) -> str | None:
    """The key name of a pending entry's file, or None if it is none."""
    if not file_name.endswith(PENDING_SUFFIX):
        return None
    stem = file_name[: -len(PENDING_SUFFIX)]
    return stem if NAME_RE.fullmatch(stem) else None


def name_of_key_file(file_name: str) -> str | None:
    """The key name a directory entry stores, or None if it is no key file."""
    if not file_name.endswith(KEY_SUFFIX):
        return None
    stem = file_name[: -len(KEY_SUFFIX)]
    return stem if NAME_RE.fullmatch(stem) else None
