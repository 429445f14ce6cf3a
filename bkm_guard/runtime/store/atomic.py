"""Crash-safe replacement of a file: the old content or the new one, never a mix."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from bkm_guard.runtime.store.paths import TEMP_PREFIX
from bkm_guard.runtime.store.permissions import open_private


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink durable; a no-op where directories cannot be opened (Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a fresh temp file in the same directory, fsync, rename over `path`, fsync the dir.

    The temp name is random, so a temp file left by a killed writer never collides with the
    next one; callers hold the store's write lock and call `remove_stray_temps` first.
    """
    temp = path.with_name(f"{TEMP_PREFIX}{path.name}.{secrets.token_hex(6)}")
    fd = open_private(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    fsync_dir(path.parent)


def unlink_durable(path: Path) -> None:
    path.unlink()
    fsync_dir(path.parent)


def stray_temps(directory: Path) -> list[Path]:
    try:
        return sorted(p for p in directory.iterdir() if p.name.startswith(TEMP_PREFIX))
    except FileNotFoundError:
        return []


def remove_stray_temps(directory: Path) -> int:
    """Delete temp files a crashed writer left; only call while holding the write lock."""
    removed = 0
    for temp in stray_temps(directory):
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
            removed += 1
    return removed
