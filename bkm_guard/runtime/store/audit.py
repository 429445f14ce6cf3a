"""The audit log: append-only JSON lines, one per add, rotate, remove, passwd, load and check.

Each line is written by a single O_APPEND write while holding the log's lock, so lines from
concurrent processes never interleave. Lines carry fingerprints and masked forms, never a secret.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
import json
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from filelock import FileLock

from bkm_guard.errors import StoreError
from bkm_guard.masking import mask
from bkm_guard.runtime.store.paths import AUDIT_LOCK, AUDIT_LOG
from bkm_guard.runtime.store.permissions import FILE_MODE, check_owner, open_private

ExtraValue = str | int | float | bool | None
LOCK_TIMEOUT: Final = 30.0
_BASE_FIELDS: Final = ("time", "action", "name", "fingerprint", "host", "pid", "user",
                       "outcome", "reason")
# Defense in depth: a value shaped like a credential or a PEM never reaches the log as is.
_SECRET_SHAPE: Final = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{64}(?![A-Za-z0-9])|-----BEGIN")


def _scrub(value: ExtraValue) -> ExtraValue:
    if isinstance(value, str) and _SECRET_SHAPE.search(value):
        return mask(value)
    return value


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return str(os.getuid()) if hasattr(os, "getuid") else "?"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def format_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclasses.dataclass(frozen=True)
class AuditEntry:
    """One line of the log, read back."""

    time: dt.datetime
    action: str
    name: str | None
    fingerprint: str | None
    outcome: str
    reason: str
    host: str
    pid: int
    user: str
    extra: dict[str, Any]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AuditEntry:
        return cls(
            time=parse_time(str(data["time"])),
            action=str(data["action"]),
            name=data.get("name"),
            fingerprint=data.get("fingerprint"),
            outcome=str(data.get("outcome", "")),
            reason=str(data.get("reason", "")),
            host=str(data.get("host", "")),
            pid=int(data.get("pid", 0)),
            user=str(data.get("user", "")),
            extra={k: v for k, v in data.items() if k not in _BASE_FIELDS},
        )


class AuditLog:
    """The store's audit log file; `append` is safe from any number of processes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = FileLock(self.path.with_name(AUDIT_LOCK), timeout=LOCK_TIMEOUT,
                              mode=FILE_MODE)

    def __repr__(self) -> str:
        return f"AuditLog({str(self.path)!r})"

    @classmethod
    def in_store(cls, store_dir: Path) -> AuditLog:
        return cls(Path(store_dir) / AUDIT_LOG)

    def append(self, action: str, name: str | None, *, fingerprint: str | None = None,
               outcome: str, reason: str = "", **extra: ExtraValue) -> None:
        """Append one line: UTC time, action, key name, fingerprint, host, pid, user, outcome."""
        record: dict[str, Any] = {
            "time": format_time(utc_now()),
            "action": action,
            "name": name,
            "fingerprint": fingerprint,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "user": _user(),
            "outcome": outcome,
            "reason": _scrub(reason),
        }
        for key, value in extra.items():
            if key not in record:
                record[key] = _scrub(value)
        line = (json.dumps(record, ensure_ascii=True, separators=(",", ":")) + "\n").encode()
        if not self.path.parent.is_dir():
            raise StoreError(f"no key store at {self.path.parent}: run `bkm-guard keys init`")
        with self._lock:
            fd = open_private(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            try:
                # the log is a control: one another user owns could be rewritten by them
                check_owner(self.path, os.fstat(fd), "audit log")
                written = os.write(fd, line)
                if written != len(line):  # a full disk: never leave half a line silently
                    raise StoreError(f"audit log {self.path}: short write (disk full?)")
                os.fsync(fd)
            finally:
                os.close(fd)

    def entries(self) -> Iterator[AuditEntry]:
        """Every readable line, oldest first; a damaged line is skipped, not fatal."""
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return
        with handle:
            for raw in handle:
                try:
                    data = json.loads(raw)
                    if isinstance(data, dict):
                        yield AuditEntry.from_json(data)
                except (ValueError, KeyError, TypeError):
                    continue

    def last_by_name(self, action: str, *, outcome: str | None = "ok") -> dict[str, AuditEntry]:
        """The latest line of `action` for every key name, in one pass over the log."""
        latest: dict[str, AuditEntry] = {}
        for entry in self.entries():
            if entry.action == action and entry.name is not None and (
                    outcome is None or entry.outcome == outcome):
                latest[entry.name] = entry
        return latest

    def last(self, action: str, name: str, *, outcome: str | None = "ok") -> AuditEntry | None:
        """The latest `action` line of key `name` (e.g. "load": last used; "check": last check)."""
        return self.last_by_name(action, outcome=outcome).get(name)
