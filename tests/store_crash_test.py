"""Crash safety and concurrency: SIGKILLed writers, interrupted passwd, 8 writers at once."""

from __future__ import annotations

import collections
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import make_key

from bkm_guard.errors import DecryptionError, StoreError
from bkm_guard.runtime.store import KdfParams, KeyStore
from bkm_guard.runtime.store.paths import TEMP_PREFIX

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and fork")
P1, P2 = "first passphrase one", "second passphrase two"
KILLS = 120

# A writer that loops over add, rotate and passwd for ever; it prints "ready" once working.
WRITER = textwrap.dedent("""
    import random, secrets, string, sys
    from bkm_guard.errors import DecryptionError
    from bkm_guard.runtime.store import KdfParams, KeyStore
    path, p1, p2, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    rng = random.Random(seed)
    A = string.ascii_letters + string.digits
    def key():
        return "".join(secrets.choice(A) for _ in range(64))
    def opened(passphrase):
        return KeyStore(path, passphrase_source=passphrase, kdf_params=KdfParams.cheap())
    def current():
        # finish an interrupted passwd first; then whichever passphrase opens the store
        for old, new in ((p1, p2), (p2, p1)):
            store = opened(old)
            if store.passwd_status() is None:
                break
            try:
                store.passwd(new)
                return opened(new), new
            except DecryptionError:
                continue
        for passphrase in (p1, p2):
            store = opened(passphrase)
            try:
                store.get("base")
                return store, passphrase
            except DecryptionError:
                continue
        raise SystemExit("no passphrase opens the store")
    store, passphrase = current()
    print("ready", flush=True)
    while True:
        op = rng.choice(["add", "rotate", "rotate", "passwd"])
        if op == "add" and len(store.names()) < 12:
            store.add("k" + secrets.token_hex(4), purpose="market-data", api_key=key(), api_secret=key())
        elif op == "passwd":
            new = p2 if passphrase == p1 else p1
            store.passwd(new)
            store, passphrase = opened(new), new
        else:
            store.rotate("base", api_key=key(), api_secret=key())
""")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("BKM_GUARD_PASSPHRASE", None)
    return env


def _opens_with(store_path: Path, name: str) -> str:
    from bkm_guard.runtime.store import fileformat

    for passphrase in (P1, P2):
        store = KeyStore(store_path, passphrase_source=passphrase, kdf_params=KdfParams.cheap())
        try:
            store.get(name)
            return passphrase
        except DecryptionError:
            # mid-passwd, .store (rewritten first) may be under the other passphrase: get()
            # refuses then, as the index cannot be authenticated; the key file itself is intact
            if store.passwd_status() is not None:
                try:
                    fileformat.decrypt(fileformat.parse(store.key_path(name).read_bytes()), passphrase)
                    return passphrase
                except fileformat.FormatError:
                    pass
    raise AssertionError(f"{name} opens under neither passphrase")


@pytest.mark.slow
def test_sigkill_at_random_points_never_breaks_a_key(tmp_path: Path) -> None:
    path = tmp_path / "store"
    store = KeyStore(path, passphrase_source=P1, kdf_params=KdfParams.cheap())
    store.init()
    store.add("base", purpose="spot-trading", api_key=make_key(), api_secret=make_key())
    rng = random.Random(os.environ.get("BKM_CRASH_SEED", "bkm"))
    seen: collections.Counter[str] = collections.Counter()
    for kill in range(KILLS):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), P1, P2, str(kill)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
        assert writer.stdout is not None
        line = writer.stdout.readline()
        if line != b"ready\n":
            writer.kill()
            _, err = writer.communicate()
            pytest.fail(f"writer did not start after kill {kill}: {line!r} {err.decode()[-2000:]}")
        time.sleep(rng.uniform(0, 0.06))
        os.kill(writer.pid, signal.SIGKILL)
        writer.communicate()
        assert writer.returncode == -signal.SIGKILL

        # every key readable under one of the two passphrases, as the journal says
        fresh = KeyStore(path, passphrase_source=P1, kdf_params=KdfParams.cheap())
        status = fresh.passwd_status()
        by_passphrase = {name: _opens_with(path, name) for name in fresh.names()}
        assert "base" in by_passphrase
        if status is not None:
            seen["passwd interrupted"] += 1
            assert set(status.under_new) | set(status.under_old) == set(by_passphrase)
            assert len({by_passphrase[n] for n in status.under_new}) <= 1
            assert len({by_passphrase[n] for n in status.under_old}) <= 1
            if status.under_new and status.under_old:
                seen["passwd half done"] += 1
                assert by_passphrase[status.under_new[0]] != by_passphrase[status.under_old[0]]
        else:
            assert len(set(by_passphrase.values())) == 1  # no passwd pending: one passphrase
        if any(p.name.startswith(TEMP_PREFIX) for p in path.iterdir()):
            seen["stray temp file"] += 1
        assert [m.name for m in fresh.list()] == sorted(by_passphrase)
    # the next normal run cleans up and works
    final = KeyStore(path, passphrase_source=_opens_with(path, "base"), kdf_params=KdfParams.cheap())
    if final.passwd_status() is not None:
        final = KeyStore(path, passphrase_source=P1, kdf_params=KdfParams.cheap())
        try:
            final.passwd(P2)
            final = KeyStore(path, passphrase_source=P2, kdf_params=KdfParams.cheap())
        except DecryptionError:
            final = KeyStore(path, passphrase_source=P2, kdf_params=KdfParams.cheap())
            final.passwd(P1)
    final.rotate("base", api_key=make_key(), api_secret=make_key())
    assert not [p for p in path.iterdir() if p.name.startswith(TEMP_PREFIX)]
    assert final.passwd_status() is None
    for name in final.names():
        final.get(name)
    print(f"{KILLS} kills: {dict(seen)}")
    assert seen["passwd interrupted"] > 0  # the kills did land inside passwd


def test_interrupted_passwd_says_which_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "store"
    store = KeyStore(path, passphrase_source=P1, kdf_params=KdfParams.cheap())
    store.init()
    for name in "abcde":
        store.add(name, purpose="market-data", api_key=make_key(), api_secret=make_key())
    done: list[str] = []

    def crash_after_two(name: str) -> None:
        done.append(name)
        if len(done) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.passwd(P2, progress=crash_after_two)
    status = KeyStore(path).passwd_status()
    assert status is not None
    assert status.under_new == ("a", "b")
    assert status.under_old == ("c", "d", "e")
    assert "2 key(s) under the NEW passphrase (a, b)" in status.describe()
    assert "3 under the OLD one (c, d, e)" in status.describe()
    assert {_opens_with(path, n) for n in "ab"} == {P2}
    assert {_opens_with(path, n) for n in "cde"} == {P1}
    # the old passphrase on a key already moved: the error says what happened
    with pytest.raises(DecryptionError, match="interrupted `bkm-guard keys passwd`"):
        KeyStore(path, passphrase_source=P1, kdf_params=KdfParams.cheap()).get("a")
    # writes wait for passwd to finish
    with pytest.raises(StoreError, match="interrupted"):
        store.add("f", purpose="market-data", api_key=make_key(), api_secret=make_key())
    # resuming with another "new" passphrase would split the store three ways: refused
    with pytest.raises(DecryptionError, match="same new passphrase"):
        KeyStore(path, passphrase_source=P1, kdf_params=KdfParams.cheap()).passwd("a third one!")
    assert KeyStore(path, passphrase_source=P1, kdf_params=KdfParams.cheap()).passwd(P2) == 3
    assert KeyStore(path).passwd_status() is None
    assert {_opens_with(path, n) for n in "abcde"} == {P2}
    assert [e.action for e in store.audit_log.entries()].count("passwd") >= 1


def test_passwd_with_wrong_current_passphrase_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "store"
    store = KeyStore(path, passphrase_source=P1, kdf_params=KdfParams.cheap())
    store.init()
    store.add("a", purpose="market-data", api_key=make_key(), api_secret=make_key())
    before = {p.name: p.read_bytes() for p in path.iterdir() if p.suffix == ".bkm"}
    with pytest.raises(DecryptionError, match="nothing was changed"):
        KeyStore(path, passphrase_source="wrong one!", kdf_params=KdfParams.cheap()).passwd(P2)
    assert {p.name: p.read_bytes() for p in path.iterdir() if p.suffix == ".bkm"} == before
    assert KeyStore(path).passwd_status() is None


CONCURRENT = textwrap.dedent("""
    import os, secrets, string, sys, time
    from bkm_guard.runtime.store import KdfParams, KeyStore
    path, worker, go = sys.argv[1], sys.argv[2], sys.argv[3]
    A = string.ascii_letters + string.digits
    def key():
        return "".join(secrets.choice(A) for _ in range(64))
    store = KeyStore(path, passphrase_source=sys.argv[4], kdf_params=KdfParams.cheap())
    while not os.path.exists(go):
        time.sleep(0.005)
    for i in range(10):
        store.add(f"w{worker}-{i}", purpose="market-data", api_key=key(), api_secret=key())
        store.rotate("shared", api_key=key(), api_secret=key())
        store.audit_log.append("load", f"w{worker}-{i}", outcome="ok")
""")


@pytest.mark.slow
def test_eight_processes_lose_no_key_and_no_audit_line(tmp_path: Path) -> None:
    path = tmp_path / "store"
    store = KeyStore(path, passphrase_source=P1, kdf_params=KdfParams.cheap())
    store.init()
    store.add("shared", purpose="spot-trading", api_key=make_key(), api_secret=make_key())
    go = tmp_path / "go"
    workers = [subprocess.Popen([sys.executable, "-c", CONCURRENT, str(path), str(n), str(go), P1],
                                stderr=subprocess.PIPE, env=_env()) for n in range(8)]
    time.sleep(0.5)
    go.touch()
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err.decode()[-2000:]
    names = store.names()
    assert len(names) == 81
    assert "shared" in names
    for name in names:
        store.get(name)
    shared = store.metadata("shared")
    assert len(shared.previous_fingerprints) == 80
    assert len(set(shared.previous_fingerprints)) == 80
    lines = store.audit_log.path.read_bytes().splitlines()
    records = [json.loads(line) for line in lines]  # every line whole: none interleaved
    count = collections.Counter((r["action"], r["outcome"]) for r in records)
    assert count == {("init", "ok"): 1, ("add", "ok"): 81, ("rotate", "ok"): 80, ("load", "ok"): 80}
    assert len({r["pid"] for r in records if r["action"] == "rotate"}) == 8
