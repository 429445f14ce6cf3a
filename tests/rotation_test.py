"""Rotation without downtime: a bot loop signs against the fake Binance while its key is rotated."""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Callable

import pytest
from conftest import PASSPHRASE

import bkm_guard
from bkm_guard.cli import keys as keys_cli
from bkm_guard.errors import GuardError, KeyNotFoundError, RollbackError
from bkm_guard.runtime.binance_api import BinanceClient
from bkm_guard.runtime.rotation import KeyHandle, bots_using, watch
from bkm_guard.runtime.signing import Signer
from bkm_guard.runtime.store import Credentials, KdfParams, KeyStore, StaticPassphrase
from bkm_guard.testing import FakeBinance
from bkm_guard.testing.keys import new_api_key, new_ed25519_key, new_hmac_secret

PERMS = {"enableSpotAndMarginTrading": True}


def signer(creds: Credentials) -> Signer:
    if creds.api_secret is not None:
        return Signer("hmac", secret=creds.api_secret)
    return Signer(creds.key_type, private_key=creds.private_key)


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


class BotLoop:
    """A bot's main loop on a thread: one signed GET /api/v3/account after another."""

    def __init__(self, handle: KeyHandle, fb: FakeBinance) -> None:
        self.handle, self.fb = handle, fb
        self.results: list[tuple[str, bool, str]] = []  # (fingerprint, ok, error)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            creds = self.handle.current
            try:
                with BinanceClient(creds.api_key, signer(creds), base_url=self.fb.base_url,
                                   ca_bundle=self.fb.ca_path, timeout=5) as client:
                    client.account()
                self.results.append((creds.fingerprint, True, ""))
            except GuardError as exc:
                self.results.append((creds.fingerprint, False, str(exc)))

    def requests_with(self, fingerprint: str) -> int:
        return sum(1 for fp, _, _ in self.results if fp == fingerprint)

    def __enter__(self) -> BotLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def live_kwargs(fb: FakeBinance) -> dict[str, object]:
    return {"base_url": fb.base_url, "ca_bundle": fb.ca_path, "timeout": 5.0}


@pytest.mark.parametrize("background", [False, True])
def test_rotation_while_a_bot_loop_runs_switches_keys_without_a_failed_request(
        store: KeyStore, fb: FakeBinance, background: bool) -> None:
    old_key, old_secret = new_api_key(), new_hmac_secret()
    store.add("bot", purpose="spot-trading", api_key=old_key, api_secret=old_secret)
    fb.add_key(old_key, old_secret, permissions=PERMS, ip_restrict=True)
    handle = watch("bot", store=store, interval=0.05, background=background, **live_kwargs(fb))
    old_fp = handle.fingerprint
    with handle, BotLoop(handle, fb) as bot:
        wait_for(lambda: bot.requests_with(old_fp) >= 3)
        assert [b.pid for b in bots_using(store, "bot", old_fp)] == [os.getpid()]

        # 1. the store gets the new key first; Binance does not know it yet
        new_key = new_api_key()
        private_pem, public_pem = new_ed25519_key()
        store.rotate("bot", api_key=new_key, private_key_pem=private_pem)
        new_fp = store.metadata("bot").fingerprint
        wait_for(lambda: "-2015" in handle.last_error)  # it was checked, and refused
        count = bot.requests_with(old_fp)
        wait_for(lambda: bot.requests_with(old_fp) >= count + 3)
        assert handle.fingerprint == old_fp  # never signs with a key that is not valid yet

        # 2. the new key is registered on Binance: the handle switches after its live check
        fb.add_key(new_key, public_key_pem=public_pem, permissions=PERMS, ip_restrict=True)
        wait_for(lambda: handle.fingerprint == new_fp)
        assert handle.generation == 1
        assert bots_using(store, "bot", old_fp) == []  # the switch was logged as a load
        wait_for(lambda: bot.requests_with(new_fp) >= 3)

        # 3. the old key is revoked on Binance: the bot does not notice
        fb.remove_key(old_key)
        count = bot.requests_with(new_fp)
        wait_for(lambda: bot.requests_with(new_fp) >= count + 3)
    failed = [error for _, ok, error in bot.results if not ok]
    assert failed == []
    fingerprints = [fp for fp, _, _ in bot.results]
    switch = fingerprints.index(new_fp)
    assert set(fingerprints[:switch]) == {old_fp}
    assert set(fingerprints[switch:]) == {new_fp}  # never back to the old key


def test_current_reads_the_key_file_at_most_once_per_interval(store: KeyStore, fb: FakeBinance,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    api_key, secret = new_api_key(), new_hmac_secret()
    store.add("bot", purpose="spot-trading", api_key=api_key, api_secret=secret)
    clock = [0.0]
    handle = KeyHandle("bot", store=store, interval=10, load_kwargs={"check": "offline"},
                       clock=lambda: clock[0])
    stats: list[str] = []
    real_stat = os.stat

    def counting_stat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        stats.append(str(path))
        return real_stat(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "stat", counting_stat)
    for _ in range(1000):
        handle.current  # noqa: B018
    assert stats == []
    clock[0] = 10.0
    for _ in range(1000):
        handle.current  # noqa: B018
    assert len([s for s in stats if s.endswith("bot.bkm")]) == 1


def test_a_damaged_rotation_keeps_the_working_key(store: KeyStore, fb: FakeBinance) -> None:
    api_key, secret = new_api_key(), new_hmac_secret()
    store.add("bot", purpose="spot-trading", api_key=api_key, api_secret=secret)
    fb.add_key(api_key, secret, permissions=PERMS, ip_restrict=True)
    handle = watch("bot", store=store, interval=60, **live_kwargs(fb))
    store.rotate("bot", api_key=new_api_key(), api_secret=new_hmac_secret())
    path = store.key_path("bot")
    path.write_bytes(path.read_bytes()[:-5])  # the new file, truncated
    assert handle.refresh() is False
    assert "cannot open key 'bot'" in handle.last_error
    assert handle.current.api_key == api_key
    assert fb.requests[-1].status == 200  # nothing was sent with a key that did not open


def test_on_rotate_gets_old_and_new_credentials(store: KeyStore, fb: FakeBinance) -> None:
    store.add("bot", purpose="spot-trading", api_key=new_api_key(), api_secret=new_hmac_secret())
    seen: list[tuple[str, str]] = []
    handle = watch("bot", store=store, check="offline", interval=60,
                   on_rotate=lambda old, new: seen.append((old.fingerprint, new.fingerprint)))
    old_fp = handle.fingerprint
    store.rotate("bot", api_key=new_api_key(), api_secret=new_hmac_secret())
    assert handle.refresh() is True
    assert seen == [(old_fp, handle.fingerprint)]
    assert bkm_guard.watch is watch


def test_keys_rotate_names_the_running_bots_on_the_old_key(store: KeyStore, fb: FakeBinance,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    store.add("bot", purpose="spot-trading", api_key=new_api_key(), api_secret=new_hmac_secret())
    handle = watch("bot", store=store, check="offline", interval=60)  # this process "is" the bot
    old_fp = handle.fingerprint

    def factory(_: object) -> KeyStore:
        return KeyStore(store.path, passphrase_source=StaticPassphrase(PASSPHRASE),
                        kdf_params=KdfParams.cheap())

    stdin = io.StringIO(f"{new_api_key()}\n{new_hmac_secret()}\n")
    assert keys_cli.main(["rotate", "bot", "--from-stdin"], store_factory=factory, stdin=stdin) == 0
    out = capsys.readouterr().out
    assert f"1 running bot(s) on this host still use the old key ({old_fp})" in out
    assert f"pid {os.getpid()} (load, since " in out
    assert "BEFORE you revoke the old key on Binance" in out
    assert handle.refresh() is True  # the bot switches: nobody uses the old key any more
    assert bots_using(store, "bot", old_fp) == []
    # a key no bot loaded: nothing to wait for
    store.add("idle", purpose="spot-trading", api_key=new_api_key(), api_secret=new_hmac_secret())
    stdin = io.StringIO(f"{new_api_key()}\n{new_hmac_secret()}\n")
    assert keys_cli.main(["rotate", "idle", "--from-stdin"], store_factory=factory, stdin=stdin) == 0
    assert "No running bot on this host uses the old key" in capsys.readouterr().out


def test_a_dead_or_reused_pid_is_not_a_running_bot(store: KeyStore) -> None:
    import subprocess
    import sys

    store.add("bot", purpose="spot-trading", api_key=new_api_key(), api_secret=new_hmac_secret())
    fp = store.metadata("bot").fingerprint
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store.audit_log.append("load", "bot", fingerprint=fp, outcome="ok", check="live")
    lines = store.audit_log.path.read_text().splitlines()
    # the same line, as written by the dead process, and by a pid that started after it (pid 1
    # is older, so use our own pid with a time before we started)
    import json

    dead_line = json.loads(lines[-1]) | {"pid": dead.pid}
    reused = json.loads(lines[-1]) | {"time": "2001-01-01T00:00:00.000Z"}
    with store.audit_log.path.open("a") as log:
        log.write(json.dumps(dead_line) + "\n" + json.dumps(reused) + "\n")
    assert bots_using(store, "bot", fp) == []


def test_current_never_waits_for_the_live_check(store: KeyStore, fb: FakeBinance) -> None:
    from bkm_guard.runtime.binance_api import API_RESTRICTIONS_PATH

    old_key, old_secret = new_api_key(), new_hmac_secret()
    store.add("bot", purpose="spot-trading", api_key=old_key, api_secret=old_secret)
    fb.add_key(old_key, old_secret, permissions=PERMS, ip_restrict=True)
    clock = [0.0]
    handle = KeyHandle("bot", store=store, interval=1, load_kwargs=live_kwargs(fb),
                       clock=lambda: clock[0])
    new_key, new_secret = new_api_key(), new_hmac_secret()
    fb.add_key(new_key, new_secret, permissions=PERMS, ip_restrict=True)
    store.rotate("bot", api_key=new_key, api_secret=new_secret)
    fb.fail_next("slow", path=API_RESTRICTIONS_PATH, delay=1.5)  # Binance takes its time
    clock[0] = 1.0
    started = time.monotonic()
    assert handle.current.api_key == old_key
    assert time.monotonic() - started < 0.5
    wait_for(lambda: handle.current.api_key == new_key)


def test_an_old_key_file_put_back_is_not_switched_to(store: KeyStore, fb: FakeBinance) -> None:
    store.add("bot", purpose="spot-trading", api_key=new_api_key(), api_secret=new_hmac_secret())
    first = store.key_path("bot").read_bytes()
    store.rotate("bot", api_key=new_api_key(), api_secret=new_hmac_secret())
    handle = watch("bot", store=store, check="offline", interval=60)
    current = handle.fingerprint
    store.key_path("bot").write_bytes(first)  # a backup of the first key restored over the second
    assert handle.refresh() is False
    assert "rollback" in handle.last_error
    assert handle.fingerprint == current


def test_a_removed_key_is_no_longer_served(store: KeyStore) -> None:
    store.add("bot", purpose="spot-trading", api_key=new_api_key(), api_secret=new_hmac_secret())
    handle = watch("bot", store=store, check="offline", interval=60)
    assert handle.current.fingerprint == handle.fingerprint
    store.remove("bot")
    assert handle.refresh() is False
    with pytest.raises(KeyNotFoundError):
        handle.current  # noqa: B018
    assert "no key 'bot'" in handle.last_error


def test_a_key_file_rolled_back_after_rotation_is_no_longer_served(store: KeyStore) -> None:
    store.add("bot", purpose="spot-trading", api_key=new_api_key(), api_secret=new_hmac_secret())
    path = store.key_path("bot")
    before = path.read_bytes()
    handle = watch("bot", store=store, check="offline", interval=60)
    store.rotate("bot", api_key=new_api_key(), api_secret=new_hmac_secret())
    assert handle.refresh() is True
    path.write_bytes(before)  # the rotated-out key put back
    os.utime(path, ns=(time.time_ns() + 10**9,) * 2)  # a new stamp, whatever the clock's grain
    handle.refresh()
    with pytest.raises(RollbackError):
        handle.current  # noqa: B018
