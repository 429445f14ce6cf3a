"""`bkm-guard run`: a real `bkm-guard run` process, its real child, the fake Binance over TLS.

The child is a small Python script that reports what it got: its credential variables, its
argv and /proc/self/cmdline, the key file's mode. Signals are sent to the `run` process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import PASSPHRASE

from bkm_guard.runtime import exec_env
from bkm_guard.runtime.rotation import bots_using
from bkm_guard.runtime.store import KeyStore
from bkm_guard.testing import FakeBinance
from bkm_guard.testing.keys import new_api_key, new_ed25519_key, new_hmac_secret

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc, POSIX signals")

CHILD = textwrap.dedent("""
    import json, os, signal, stat, sys, time
    out = sys.argv[1]
    names = json.loads(os.environ.get("WATCHED", "[]"))
    report = {
        "env": {k: v for k, v in os.environ.items() if k in names or k.startswith("BKM_GUARD_")},
        "argv": sys.argv,
        "cmdline": open("/proc/self/cmdline", "rb").read().decode(),
        "pid": os.getpid(),
    }
    path = os.environ.get("BINANCE_PRIVATE_KEY_FILE")
    if path:
        report["key_mode"] = stat.S_IMODE(os.stat(path).st_mode)
        report["dir_mode"] = stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode)
        report["key_pem"] = open(path).read()
    got = []
    for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT"):
        signal.signal(getattr(signal, name), lambda s, f: got.append(s))
    with open(out + ".tmp", "w") as f:
        json.dump(report, f)
    os.replace(out + ".tmp", out)
    mode = sys.argv[2] if len(sys.argv) > 2 else "exit0"
    if mode.startswith("exit"):
        sys.exit(int(mode[4:]))
    if mode == "killself":
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
    if mode == "wait":  # until a signal, then report it and exit 3
        deadline = time.time() + 20
        while not got and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # a second copy of the signal would arrive meanwhile
        with open(out + ".signals", "w") as f:
            json.dump(got, f)
        sys.exit(3)
""")


@pytest.fixture
def child(tmp_path: Path) -> Path:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    return script


def plant(store: KeyStore, fb: FakeBinance, key_type: str = "hmac", name: str = "bot",
          **permissions: bool) -> tuple[str, str]:
    """(API key, secret or private PEM) stored as `name` and registered on the fake."""
    api_key = new_api_key()
    perms = {"enableSpotAndMarginTrading": True, **permissions}
    if key_type == "hmac":
        secret = new_hmac_secret()
        store.add(name, purpose="spot-trading", api_key=api_key, api_secret=secret)
        fb.add_key(api_key, secret, permissions=perms, ip_restrict=True)
    else:
        secret, public = new_ed25519_key()
        store.add(name, purpose="spot-trading", api_key=api_key, private_key_pem=secret, key_type=None)
        fb.add_key(api_key, public_key_pem=public, permissions=perms, ip_restrict=True)
    return api_key, secret


def run_args(store: KeyStore, fb: FakeBinance, *options: str, name: str = "bot") -> list[str]:
    return [sys.executable, "-m", "bkm_guard", "run", name, "--store", str(store.path),
            "--base-url", fb.base_url, "--ca-bundle", fb.ca_path, *options]


def run_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BKM_GUARD_")}
    env.update({"BKM_GUARD_PASSPHRASE": PASSPHRASE,
                "WATCHED": json.dumps(sorted(exec_env.CREDENTIAL_VARIABLES)),
                # stale credentials in the parent's environment must not reach the child
                "BINANCE_API_KEY": "stale-from-the-shell", "FREQTRADE__EXCHANGE__SECRET": "stale"})
    env.update(extra)
    return env


def run(store: KeyStore, fb: FakeBinance, command: list[str], *options: str,
        name: str = "bot") -> subprocess.CompletedProcess[str]:
    return subprocess.run([*run_args(store, fb, *options, name=name), "--", *command],
                          env=run_env(), capture_output=True, text=True, timeout=60, check=False)


def report(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def audit(store: KeyStore) -> list[dict[str, Any]]:
    return [json.loads(line) for line in store.audit_log.path.read_text().splitlines()]


EXPECTED = {
    ("generic", "hmac"): {"BINANCE_API_KEY": "key", "BINANCE_API_SECRET": "secret"},
    ("generic", "ed25519"): {"BINANCE_API_KEY": "key", "BINANCE_PRIVATE_KEY_FILE": "file"},
    ("freqtrade", "hmac"): {"FREQTRADE__EXCHANGE__KEY": "key", "FREQTRADE__EXCHANGE__SECRET": "secret"},
    ("freqtrade", "ed25519"): {"FREQTRADE__EXCHANGE__KEY": "key",
                               "FREQTRADE__EXCHANGE__SECRET": "pem"},
    ("ccxt", "hmac"): {"BINANCE_APIKEY": "key", "BINANCE_SECRET": "secret"},
    ("ccxt", "ed25519"): {"BINANCE_APIKEY": "key", "BINANCE_SECRET": "pem"},
    ("chrisleekr", "hmac"): {"BINANCE_LIVE_API_KEY": "key", "BINANCE_LIVE_SECRET_KEY": "secret"},
    ("chrisleekr-test", "hmac"): {"BINANCE_TEST_API_KEY": "key", "BINANCE_TEST_SECRET_KEY": "secret"},
    ("none", "hmac"): {},
}


@pytest.mark.parametrize(("style", "key_type"), sorted(EXPECTED))
def test_child_gets_exactly_its_styles_variables_and_nothing_on_argv(
        store: KeyStore, fb: FakeBinance, *, child: Path, tmp_path: Path, style: str,
        key_type: str) -> None:
    api_key, secret = plant(store, fb, key_type)
    out = tmp_path / "report.json"
    done = run(store, fb, [sys.executable, str(child), str(out)], "--env", style)
    assert done.returncode == 0, done.stderr
    got = report(out)
    values = {"key": api_key, "secret": secret, "pem": secret}
    expected = {var: values.get(kind) for var, kind in EXPECTED[(style, key_type)].items()}
    if "BINANCE_PRIVATE_KEY_FILE" in expected:
        expected["BINANCE_PRIVATE_KEY_FILE"] = got["env"].get("BINANCE_PRIVATE_KEY_FILE")
        assert got["key_pem"] == secret
        assert (got["key_mode"], got["dir_mode"]) == (0o600, 0o700)
        assert not Path(got["env"]["BINANCE_PRIVATE_KEY_FILE"]).exists()  # removed at the end
    assert got["env"] == expected  # no other credential variable, no BKM_GUARD_PASSPHRASE
    secret_lines = [line for line in secret.splitlines() if line and not line.startswith("-----")]
    for text in (got["cmdline"], " ".join(got["argv"]), done.stdout, done.stderr):
        assert api_key not in text
        for line in secret_lines:
            assert line not in text
    assert got["argv"][1:] == [str(out)]


def test_a_refused_key_never_starts_the_command(store: KeyStore, fb: FakeBinance, child: Path,
                                               tmp_path: Path) -> None:
    plant(store, fb, enableWithdrawals=True)  # a spot-trading key must not withdraw
    marker = tmp_path / "started"
    done = run(store, fb, [sys.executable, str(child), str(marker)])
    assert done.returncode == 125
    assert "withdrawals" in done.stderr
    assert "was not started" in done.stderr
    assert not marker.exists()
    lines = audit(store)
    assert [(line["action"], line["outcome"]) for line in lines[-2:]] == [("load", "refused"),
                                                                         ("run", "refused")]


def test_a_key_binance_rejects_never_starts_the_command(store: KeyStore, fb: FakeBinance,
                                                       child: Path, tmp_path: Path) -> None:
    api_key, _ = plant(store, fb)
    fb.remove_key(api_key)  # revoked on Binance
    marker = tmp_path / "started"
    done = run(store, fb, [sys.executable, str(child), str(marker)])
    assert done.returncode == 125
    assert "-2015" in done.stderr
    assert not marker.exists()


def test_a_pending_generated_key_never_starts_the_command(store: KeyStore, fb: FakeBinance,
                                                         child: Path, tmp_path: Path) -> None:
    from bkm_guard.runtime import keygen

    keygen.generate(store, "bot", purpose="spot-trading")
    marker = tmp_path / "started"
    done = run(store, fb, [sys.executable, str(child), str(marker)])
    assert done.returncode == 125
    assert "keys attach bot" in done.stderr
    assert not marker.exists()


def test_an_hmac_only_style_refuses_an_ed25519_key(store: KeyStore, fb: FakeBinance, child: Path,
                                                  tmp_path: Path) -> None:
    plant(store, fb, "ed25519")
    marker = tmp_path / "started"
    done = run(store, fb, [sys.executable, str(child), str(marker)], "--env", "chrisleekr")
    assert done.returncode == 125
    assert "HMAC secret only" in done.stderr
    assert not marker.exists()


@pytest.mark.parametrize(("mode", "status"), [("exit0", 0), ("exit7", 7), ("killself", 128 + 15)])
def test_exit_status_is_passed_through(store: KeyStore, fb: FakeBinance, *, child: Path,
                                       tmp_path: Path, mode: str, status: int) -> None:
    plant(store, fb)
    done = run(store, fb, [sys.executable, str(child), str(tmp_path / "r.json"), mode])
    assert done.returncode == status, done.stderr
    start, end = audit(store)[-2:]
    assert (start["action"], end["action"]) == ("run", "run-end")
    assert start["child_pid"] == end["child_pid"] == report(tmp_path / "r.json")["pid"]
    assert end["exit_status"] == status
    assert end["outcome"] == ("ok" if status == 0 else "failed")
    assert start["command"] == os.path.basename(sys.executable)


def test_a_missing_command_is_127_and_no_key_file_is_left(store: KeyStore, fb: FakeBinance,
                                                         tmp_path: Path) -> None:
    plant(store, fb, "ed25519")
    done = run(store, fb, [str(tmp_path / "no-such-bot")])
    assert done.returncode == 127
    assert "command not found" in done.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT])
def test_signals_are_forwarded_once_and_the_key_file_is_removed(
        store: KeyStore, fb: FakeBinance, *, child: Path, tmp_path: Path, sig: signal.Signals) -> None:
    plant(store, fb, "ed25519")
    out = tmp_path / "r.json"
    proc = subprocess.Popen([*run_args(store, fb), "--", sys.executable, str(child), str(out), "wait"],
                            env=run_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        key_file = Path(report(out)["env"]["BINANCE_PRIVATE_KEY_FILE"])
        assert key_file.exists()
        # a running bot is seen by `keys rotate` as a user of this key
        assert [bot.pid for bot in bots_using(store, "bot")] == [report(out)["pid"]]
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == 3  # the child's own status after it handled the signal
    finally:
        proc.kill()
        proc.wait()
    assert json.loads((tmp_path / "r.json.signals").read_text()) == [int(sig)]
    assert not key_file.exists()
    assert not key_file.parent.exists()
    end = audit(store)[-1]
    assert (end["action"], end["exit_status"], end["signals"]) == ("run-end", 3, sig.name)
    assert bots_using(store, "bot") == []


def test_a_directory_left_by_a_killed_run_is_swept(tmp_path: Path) -> None:
    from bkm_guard.cli.run import TEMP_PREFIX, sweep_stale_dirs

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"{TEMP_PREFIX}{dead.pid}-abc"
    stale.mkdir(mode=0o700)
    (stale / "private-key.pem").write_text("x")
    alive = tmp_path / f"{TEMP_PREFIX}{os.getpid()}-def"
    alive.mkdir(mode=0o700)
    assert sweep_stale_dirs(str(tmp_path)) == 1
    assert not stale.exists()
    assert alive.exists()


def test_child_environment_scrubs_the_guard_passphrase(store: KeyStore) -> None:
    from bkm_guard.runtime.store import Credentials

    store.add("bot", purpose="spot-trading", api_key=new_api_key(), api_secret=new_hmac_secret())
    creds = store.get("bot")
    assert isinstance(creds, Credentials)
    base = {"PATH": "/bin", "BKM_GUARD_PASSPHRASE": "x", "BKM_GUARD_PASSPHRASE_FILE": "/p",
            "BKM_GUARD_NEW_PASSPHRASE": "y", "BKM_GUARD_HOME": "/store", "BINANCE_SECRET": "old"}
    env = exec_env.child_environment(base, exec_env.style("generic"), creds, None)
    assert env == {"PATH": "/bin", "BKM_GUARD_HOME": "/store", "BINANCE_API_KEY": creds.api_key,
                   "BINANCE_API_SECRET": creds.api_secret}


def test_usage_errors(store: KeyStore, fb: FakeBinance) -> None:
    no_command = subprocess.run(run_args(store, fb), env=run_env(), capture_output=True, text=True,
                                timeout=60, check=False)
    assert no_command.returncode == 125
    assert "put it after `--`" in no_command.stderr
    bad_style = subprocess.run([*run_args(store, fb, "--env", "nope"), "--", "true"], env=run_env(),
                               capture_output=True, text=True, timeout=60, check=False)
    assert bad_style.returncode == 125
    assert "invalid choice" in bad_style.stderr


def test_offline_run_makes_no_request(store: KeyStore, fb: FakeBinance, child: Path,
                                      tmp_path: Path) -> None:
    plant(store, fb)
    out = tmp_path / "r.json"
    done = run(store, fb, [sys.executable, str(child), str(out)], "--offline")
    assert done.returncode == 0, done.stderr
    assert fb.requests == []
    assert out.exists()  # the child ran


def test_the_portable_wait_forwards_signals_too(tmp_path: Path) -> None:
    """The path for systems without sigtimedwait (macOS): handlers forward every signal."""
    import threading

    from bkm_guard.cli.run import _spawn, _wait_forwarding, exit_status

    ready = tmp_path / "ready"
    script = ("import signal, sys, time, pathlib\n"
              "signal.signal(signal.SIGTERM, lambda s, f: sys.exit(3))\n"
              f"pathlib.Path({str(ready)!r}).touch()\n"
              "time.sleep(20)\n")
    pid = _spawn([sys.executable, "-c", script], dict(os.environ))

    def send() -> None:
        deadline = time.monotonic() + 20
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGTERM)  # to "bkm-guard run", i.e. this process

    threading.Thread(target=send, daemon=True).start()
    forwarded: list[int] = []
    status = _wait_forwarding(pid, precise=False, on_forward=forwarded.append)
    assert exit_status(status) == 3
    assert forwarded == [signal.SIGTERM]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers put back


@pytest.mark.parametrize("key_type", ["ed25519", "rsa"])
def test_a_pem_secret_is_what_ccxt_tells_apart(store: KeyStore, key_type: str) -> None:
    """freqtrade and ccxt read the PEM from the secret: ccxt signs with RSA when the PEM text is
    longer than 120 characters, with Ed25519 otherwise, so the text must stay as compact."""
    from bkm_guard.testing.keys import new_rsa_key

    pem = new_ed25519_key(b"pw")[0] if key_type == "ed25519" else new_rsa_key(password=b"pw")[0]
    store.add("bot", purpose="spot-trading", api_key=new_api_key(), private_key_pem=pem,
              private_key_password="pw", key_type=None)
    secret = exec_env.child_environment({}, exec_env.style("ccxt"), store.get("bot"), None)[
        "BINANCE_SECRET"]
    assert "PRIVATE KEY" in secret
    assert "ENCRYPTED" not in secret  # the child gets no password to open it with
    assert (len(secret) > 120) == (key_type == "rsa")
