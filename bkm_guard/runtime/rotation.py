"""Rotation without downtime: a key handle for a running bot, and who still uses an old key.

    handle = bkm_guard.watch("spot-bot")          # load() now, live check included
    while True:
        creds = handle.current                    # the checked key; switches after a rotation
        client = make_client(creds)  ...

`handle.current` looks at the key file at most once per `interval` seconds (a `stat`, no
decryption while nothing changed). When `keys rotate` (or `keys attach`) wrote a new key,
the handle runs the full `load()` on it, live check included (on a short-lived thread: the
caller never waits for Binance), and switches only when that passes: until the new key is
registered and valid on Binance the bot keeps signing with the old one, so it never signs
with a key that is not yet valid. `watch(..., background=True)` looks on a thread of its own
every interval instead (stop it with `handle.close()` or a `with` block).

`bots_using(store, name, fingerprint)` reads the audit log for `keys rotate`: processes on
this host whose last `load`/`run` of the key used that fingerprint, and that are still alive.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from bkm_guard.errors import GuardError

if TYPE_CHECKING:
    from bkm_guard.runtime.store import AuditEntry, Credentials, KeyStore

log = logging.getLogger("bkm_guard")

DEFAULT_INTERVAL_S: Final = 30.0


def _file_stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


class KeyHandle:
    """The current checked credentials of one key, switched to a rotated key once it passed.

    Thread-safe: any number of threads may read `current`; one of them (or the background
    thread) does the check, the others keep the key they have meanwhile.
    """

    def __init__(self, name: str, *, store: KeyStore, interval: float = DEFAULT_INTERVAL_S,
                 load_kwargs: dict[str, Any] | None = None,
                 on_rotate: Callable[[Credentials, Credentials], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        from bkm_guard.runtime.guard import load

        if interval <= 0:
            raise ValueError("interval must be positive")
        self.name = name
        self.interval = float(interval)
        self._store = store
        self._load_kwargs = dict(load_kwargs or {})
        self._on_rotate = on_rotate
        self._clock = clock
        self._path = store.key_path(name)
        self._lock = threading.Lock()  # guards _creds and the bookkeeping below
        self._checking = threading.Lock()  # one check at a time; others do not wait for it
        stamp = _file_stamp(self._path)
        self._creds: Credentials = load(name, store=store, **self._load_kwargs)
        self._stamp = stamp
        self._next_check = clock() + self.interval
        self.generation = 0  # switches so far
        self.last_error: str = ""  # why the newest key was not taken yet (or "")
        # set when the key was removed from the store or its file rolled back: from then on
        # `current` raises it instead of signing with a key the user took away
        self._refused: GuardError | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return (f"KeyHandle({self.name!r}, fingerprint={self.fingerprint!r}, "
                f"generation={self.generation})")

    # -- reading -----------------------------------------------------------------------------
    @property
    def current(self) -> Credentials:
        """The credentials to sign with now; looks for a rotation at most once per interval.

        The look is a `stat` of the key file; a changed file is checked (live, up to load()'s
        timeout) on a short-lived thread, so the caller never waits for Binance here.
        """
        if self._thread is None and self._clock() >= self._next_check:
            self._check_soon()
        if self._refused is not None:
            raise self._refused
        return self._creds

    @property
    def fingerprint(self) -> str:
        return self._creds.fingerprint

    # -- checking ----------------------------------------------------------------------------
    def refresh(self, *, force: bool = False) -> bool:
        """Look for a new key now; True if the handle switched to it."""
        if not self._checking.acquire(blocking=False):
            return False  # another thread is checking: keep the current key meanwhile
        try:
            self._next_check = self._clock() + self.interval
            stamp = _file_stamp(self._path)
            if stamp == self._stamp and not force:
                return False
            return self._try_switch(stamp)
        finally:
            self._checking.release()

    def _check_soon(self) -> None:
        if not self._checking.acquire(blocking=False):
            return
        self._next_check = self._clock() + self.interval
        stamp = _file_stamp(self._path)
        if stamp == self._stamp:
            self._checking.release()
            return

        def check() -> None:
            try:
                self._try_switch(stamp)
            except Exception:  # the bot keeps its key whatever happens here
                log.exception("bkm-guard: key %r: rotation check failed", self.name)
            finally:
                self._checking.release()

        threading.Thread(target=check, name=f"bkm-guard-check-{self.name}", daemon=True).start()

    def _try_switch(self, stamp: tuple[int, int, int] | None) -> bool:
        from bkm_guard.errors import KeyNotFoundError, RollbackError
        from bkm_guard.runtime.guard import load

        try:
            meta = self._store.metadata(self.name)
        except KeyNotFoundError as exc:  # `keys remove`: writes are renames, never a gap
            self._refuse(exc)
            return False
        except GuardError as exc:  # damaged, or a passphrase problem: keep what works
            self.last_error = str(exc)
            return False
        if meta.fingerprint == self._creds.fingerprint:
            self._stamp = stamp
            return False
        try:
            new = load(self.name, store=self._store, **self._load_kwargs)
        except (KeyNotFoundError, RollbackError) as exc:
            self._refuse(exc)
            return False
        except GuardError as exc:
            # most often: rotated in the store, not registered (or not yet valid) on Binance;
            # the stamp stays old, so the next check (an interval on) tries again
            self.last_error = str(exc)
            log.warning("bkm-guard: key %r: the rotated key %s is not used yet: %s", self.name,
                        meta.fingerprint, exc)
            return False
        with self._lock:
            old, self._creds = self._creds, new
            self._stamp = stamp
            self.last_error = ""
            self.generation += 1
        log.info("bkm-guard: key %r switched from %s to %s", self.name, old.fingerprint,
                 new.fingerprint)
        if self._on_rotate is not None:
            self._on_rotate(old, new)
        return True

    def _refuse(self, exc: GuardError) -> None:
        with self._lock:
            self._refused = exc
            self.last_error = str(exc)
        log.error("bkm-guard: key %r is no longer served: %s", self.name, exc)

    # -- background thread -------------------------------------------------------------------
    def start(self) -> KeyHandle:
        """Check on a daemon thread every `interval` seconds instead of on access."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name=f"bkm-guard-watch-{self.name}",
                                            daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.refresh()
            except Exception:  # the thread must not die: the bot keeps its key
                log.exception("bkm-guard: key %r: rotation check failed", self.name)

    def close(self) -> None:
        """Stop the background thread (if any); the current key stays usable."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=self.interval + 5)

    def __enter__(self) -> KeyHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def watch(name: str, *, store: KeyStore | str | os.PathLike[str] | None = None,
          interval: float = DEFAULT_INTERVAL_S, background: bool = False,
          on_rotate: Callable[[Credentials, Credentials], None] | None = None,
          **load_kwargs: Any) -> KeyHandle:
    """A `KeyHandle` for key `name`: `load(name, **load_kwargs)` now, and after each rotation.

    `load_kwargs` are load()'s (check, base_url, ca_bundle, timeout, ...). `interval` bounds how
    often the store's file is looked at; `background=True` looks on a thread. `on_rotate(old,
    new)` runs after a switch (rebuild a client there if it caches the key).
    """
    from bkm_guard.runtime.store import KeyStore

    key_store = store if isinstance(store, KeyStore) else KeyStore(store)
    handle = KeyHandle(name, store=key_store, interval=interval, load_kwargs=load_kwargs,
                       on_rotate=on_rotate)
    return handle.start() if background else handle


# -- who still uses a key ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RunningBot:
    """A process that loaded (or was started by `run` with) a key and has not ended."""

    pid: int
    fingerprint: str
    since: dt.datetime
    how: str  # "load" (a Python bot) or "run <program>"

    def describe(self) -> str:
        when = self.since.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        return f"pid {self.pid} ({self.how}, since {when})"


def _process_start(pid: int) -> dt.datetime | None:
    """When process `pid` started (Linux /proc), to tell a reused pid from the bot's."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[1].split()[19])
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return dt.datetime.fromtimestamp(boot + ticks / os.sysconf("SC_CLK_TCK"), dt.timezone.utc)


def _alive_since(pid: int, since: dt.datetime) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: alive
    started = _process_start(pid)
    # a process that started after the log line is another program with a reused pid
    return started is None or started <= since + dt.timedelta(seconds=2)


def bots_using(store: KeyStore, name: str, fingerprint: str | None = None) -> list[RunningBot]:
    """Live processes on this host whose latest load/run of `name` used `fingerprint`.

    With `fingerprint=None`, every live user of the key, whatever its fingerprint.
    """
    host = socket.gethostname()
    latest: dict[int, AuditEntry] = {}
    for entry in store.audit_log.entries():
        if entry.name != name or entry.host != host:
            continue
        if entry.action == "load" and entry.outcome == "ok":
            latest[entry.pid] = entry
        elif entry.action == "run" and entry.outcome == "ok":
            latest.pop(entry.pid, None)  # the guard process: its child is the bot
            with contextlib.suppress(TypeError, ValueError):
                latest[int(entry.extra["child_pid"])] = entry
        elif entry.action == "run-end":
            with contextlib.suppress(KeyError, TypeError, ValueError):
                latest.pop(int(entry.extra["child_pid"]), None)
    bots = []
    for pid, entry in sorted(latest.items()):
        if entry.fingerprint is None or (fingerprint is not None and entry.fingerprint != fingerprint):
            continue
        if not _alive_since(pid, entry.time):
            continue
        how = "load" if entry.action == "load" else f"run {entry.extra.get('command', '?')}"
        bots.append(RunningBot(pid, entry.fingerprint, entry.time, how))
    return bots
