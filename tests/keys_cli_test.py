"""`bkm-guard keys ...`: every command through main([...]), and once as a real subprocess.

Secrets are planted in every input; every output (stdout, stderr, logs, the audit log, key
file headers) is searched for them.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
from conftest import make_ed25519_pem, make_key, make_rsa_pem

from bkm_guard.cli import keys as keys_cli
from bkm_guard.runtime.store import KdfParams, KeyStore
from bkm_guard.runtime.store import passphrase as passphrase_module

PASS = "correct horse battery staple"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "store"
    monkeypatch.setenv("BKM_GUARD_HOME", str(path))
    monkeypatch.setenv("BKM_GUARD_PASSPHRASE", PASS)
    monkeypatch.delenv("BKM_GUARD_PASSPHRASE_FILE", raising=False)
    monkeypatch.delenv("BKM_GUARD_NEW_PASSPHRASE", raising=False)
    return path


def _factory(path: Path | None) -> KeyStore:
    return KeyStore(path, kdf_params=KdfParams.cheap())


class Run:
    def __init__(self, capsys: pytest.CaptureFixture[str], home: Path) -> None:
        self.capsys, self.home = capsys, home
        self.seen: list[str] = []

    def __call__(self, *argv: str, stdin: str = "") -> tuple[int, str, str]:
        code = keys_cli.main(list(argv), store_factory=_factory, stdin=io.StringIO(stdin))
        out, err = self.capsys.readouterr()
        self.seen += [out, err]
        return code, out, err

    def everything(self) -> str:
        files = [p.read_bytes().decode("latin-1") for p in self.home.iterdir() if p.is_file()] \
            if self.home.is_dir() else []
        return "\n".join(self.seen + files)


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], home: Path) -> Run:
    return Run(capsys, home)


def test_full_session_never_shows_a_secret(run: Run, caplog: pytest.LogCaptureFixture) -> None:
    key, secret, key2, secret2, key3, secret3 = (make_key() for _ in range(6))
    assert run("init")[0] == 0
    code, out, _ = run("add", "spot-bot", "--purpose", "spot-trading", "--from-stdin",
                       stdin=f"{key}\n{secret}\n")
    assert code == 0
    assert "Added spot-bot: spot-trading, hmac" in out
    assert "IP restriction: required" in out
    assert run("add", "data", "--purpose", "market-data", "--from-stdin",
               stdin=f"  {key3}  \n\n{secret3}\n")[0] == 0

    code, out, _ = run("list")
    assert code == 0
    assert out.splitlines()[0].split() == ["NAME", "PURPOSE", "TYPE", "API", "KEY", "AGE",
                                           "ROTATION", "LAST", "USED", "LAST", "CHECK"]
    assert "spot-bot  spot-trading  hmac" in out
    listed = json.loads(run("list", "--format", "json")[1])
    assert [item["name"] for item in listed] == ["data", "spot-bot"]
    assert listed[1]["last_used"] is None
    assert listed[1]["rotation_due"]

    code, out, _ = run("show", "spot-bot")
    assert code == 0
    assert "fingerprint:  bkm:" in out
    assert json.loads(run("show", "spot-bot", "--format", "json")[1])["purpose"] == "spot-trading"

    code, out, _ = run("rotate", "spot-bot", "--from-stdin", stdin=f"{key2}\n{secret2}\n")
    assert code == 0
    assert "DELETE THE OLD KEY ON BINANCE" in out
    assert run("audit")[0] == 0
    code, out, _ = run("remove", "data")
    assert code == 0
    assert "Removed data" in out

    os.environ["BKM_GUARD_NEW_PASSPHRASE"] = "zebra quartz nine lamps"
    try:
        code, out, _ = run("passwd")
    finally:
        del os.environ["BKM_GUARD_NEW_PASSPHRASE"]
    assert code == 0
    assert "Re-encrypted 1 key(s)" in out
    code, _, err = run("rotate", "spot-bot", "--from-stdin", stdin=f"{make_key()}\n{make_key()}\n")
    assert code == 2
    assert "wrong passphrase" in err

    seen = run.everything() + caplog.text
    for value in (key, secret, key2, secret2, key3, secret3, PASS, "zebra quartz nine lamps"):
        assert value not in seen
    actions = [json.loads(line)["action"] for line in
               (run.home / "audit.log").read_text().splitlines()]
    assert actions == ["init", "add", "add", "rotate", "remove", "passwd", "rotate"]


@pytest.mark.parametrize(("stdin", "message"), [
    ("", "standard input is empty"),
    ("KEY\n", "has no secret"),
    ("short\nKEY\n", "is not a Binance API key"),
    ("KEY\nnot-a-secret-SECRET\n", "not a Binance HMAC secret"),
    ("KEY\n-----BEGIN PRIVATE KEY-----\nSECRET\n", "no END line"),
])
def test_bad_input_is_refused_without_echoing_it(run: Run, stdin: str, message: str) -> None:
    run("init")
    planted = make_key()
    text = stdin.replace("SECRET", planted).replace("KEY", make_key())
    code, out, err = run("add", "bot", "--purpose", "spot-trading", "--from-stdin", stdin=text)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert planted not in run.everything()
    for line in text.splitlines():
        if len(line) >= 16:
            assert line not in out + err


@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
def test_private_keys_from_stdin_and_file(run: Run, tmp_path: Path, kind: str) -> None:
    run("init")
    pem = make_ed25519_pem() if kind == "ed25519" else make_rsa_pem()
    code, out, _ = run("add", "a", "--purpose", "market-data", "--from-stdin",
                       stdin=f"{make_key()}\n{pem}")
    assert code == 0
    assert f"market-data, {kind}" in out
    pem_file = tmp_path / "key.pem"
    pem_file.write_text(make_ed25519_pem() if kind == "ed25519" else make_rsa_pem())
    code, out, err = run("rotate", "a", "--from-stdin", "--private-key-file", str(pem_file),
                         stdin=f"{make_key()}\n")
    assert code == 0, err
    body = [line for line in pem.splitlines() if not line.startswith("-----")]
    assert not any(line in run.everything() for line in body)


def test_encrypted_pem_password_follows_the_pem(run: Run) -> None:
    run("init")
    password = "pem-pass-" + make_key()[:10]
    pem = make_rsa_pem(password=password.encode())
    code, _, err = run("add", "a", "--purpose", "market-data", "--from-stdin",
                       stdin=f"{make_key()}\n{pem}")
    assert code == 2
    assert "password on the line after the PEM" in err
    code, _out, _ = run("add", "a", "--purpose", "market-data", "--from-stdin",
                       stdin=f"{make_key()}\n{pem}{password}\n")
    assert code == 0
    assert password not in run.everything()


def test_custom_policy_file(run: Run, tmp_path: Path) -> None:
    policy = tmp_path / "grid.toml"
    policy.write_text('[policy]\npurpose = "grid-bot"\nbase = "spot-trading"\n'
                      'max_age_days = 30\nip_restriction = "always"\n')
    run("init")
    code, out, err = run("add", "grid", "--policy", str(policy), "--from-stdin",
                         stdin=f"{make_key()}\n{make_key()}\n")
    assert code == 0, err
    assert "Added grid: grid-bot" in out
    shown = json.loads(run("show", "grid", "--format", "json")[1])
    assert shown["policy"]["max_age_days"] == 30
    assert shown["policy"]["ip_restriction_always"] is True
    policy.write_text('[policy]\nbase = "spot-trading"\nallow = ["teleport"]\n')
    code, _, err = run("add", "x", "--policy", str(policy), "--from-stdin",
                       stdin=f"{make_key()}\n{make_key()}\n")
    assert code == 2
    assert "teleport" in err


def test_audit_exit_code(run: Run, home: Path) -> None:
    run("init")
    store = _factory(home)
    store.add("old", purpose="market-data", api_key=make_key(), api_secret=make_key(),
              now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=100))
    code, out, _ = run("audit")
    assert code == 1
    assert "rotation-overdue: old: rotation overdue by 10 day(s)" in out
    issues = json.loads(run("audit", "--format", "json")[1])
    # never checked live in its 100 days: the review flags that too
    assert {i["kind"] for i in issues} == {"rotation-overdue", "unused", "stale-check"}
    assert "OVERDUE 10d" in run("list")[1]


def test_errors_say_what_to_do(run: Run, home: Path) -> None:
    code, _, err = run("list")
    assert code == 2
    assert "run `bkm-guard keys init`" in err
    run("init")
    code, _, err = run("show", "nope")
    assert code == 2
    assert "no key 'nope'" in err
    code, _, err = run("add", "../etc", "--purpose", "market-data", "--from-stdin",
                       stdin=f"{make_key()}\n{make_key()}\n")
    assert code == 2
    assert "invalid key name" in err
    assert run("add", "x", "--purpose", "no-such")[0] == 2  # argparse: unknown purpose
    home.chmod(0o755)
    try:
        code, _, err = run("show", "x")
    finally:
        home.chmod(0o700)
    assert code == 2
    assert f"chmod 700 {home}" in err


def test_no_secret_option_exists(run: Run) -> None:
    for command in ("add", "rotate", "init", "passwd"):
        with pytest.raises(SystemExit):
            keys_cli._parser().parse_args([command, "--help"])
        help_text = run.capsys.readouterr().out
        for forbidden in ("--api-key", "--secret", "--passphrase", "--password"):
            assert forbidden not in help_text


def test_interactive_prompts(run: Run, monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    monkeypatch.delenv("BKM_GUARD_PASSPHRASE")
    monkeypatch.setattr(passphrase_module, "_has_terminal", lambda: True)
    answers: list[str] = []
    monkeypatch.setattr("getpass.getpass", lambda prompt="": answers.pop(0))
    answers[:] = ["one passphrase", "another passphrase"]
    code, _, err = run("init")
    assert code == 2
    assert "differ" in err
    answers[:] = [PASS, PASS]
    assert run("init")[0] == 0
    key, secret = make_key(), make_key()
    answers[:] = [key, secret, PASS]  # API key, secret, then the store passphrase
    code, out, err = run("add", "bot", "--purpose", "spot-trading")
    assert code == 0, err
    assert key not in run.everything()
    assert _factory(home).metadata("bot").fingerprint in out


def test_interrupted_passwd_is_reported_and_resumed(run: Run, home: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    run("init")
    for name in ("a", "b", "c"):
        run("add", name, "--purpose", "market-data", "--from-stdin",
            stdin=f"{make_key()}\n{make_key()}\n")
    store = _factory(home)

    def stop(name: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.passwd("zebra quartz nine lamps", progress=stop)
    code, _, err = run("list")
    assert code == 0
    assert "1 key(s) under the NEW passphrase (a) and 2 under the OLD one (b, c)" in err
    monkeypatch.setenv("BKM_GUARD_NEW_PASSPHRASE", "zebra quartz nine lamps")
    code, out, err = run("passwd")
    assert code == 0, err
    assert "Resuming" in err
    assert "Re-encrypted 2 key(s)" in out
    assert run("list")[2] == ""


def test_check_is_delegated(monkeypatch: pytest.MonkeyPatch) -> None:
    received: list[list[str]] = []
    fake = types.ModuleType("bkm_guard.cli.keys_check")
    fake.main = lambda argv: received.append(list(argv)) or 7  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bkm_guard.cli.keys_check", fake)
    assert keys_cli.main(["check", "spot-bot", "--all"]) == 7
    assert received == [["spot-bot", "--all"]]


@pytest.mark.slow
def test_real_subprocess(tmp_path: Path) -> None:
    """The installed command with the default (production) KDF, secrets planted everywhere."""
    env = dict(os.environ, BKM_GUARD_HOME=str(tmp_path / "store"), BKM_GUARD_PASSPHRASE=PASS)
    env.pop("BKM_GUARD_PASSPHRASE_FILE", None)
    key, secret = make_key(), make_key()

    def bkm(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bkm_guard", "keys", *args], input=stdin,
                              capture_output=True, text=True, env=env, timeout=60, check=False)

    results = [bkm("init"),
               bkm("add", "spot-bot", "--purpose", "spot-trading", "--from-stdin",
                   stdin=f"{key}\n{secret}\n"),
               bkm("list"), bkm("audit")]
    assert [r.returncode for r in results] == [0, 0, 0, 0], [r.stderr for r in results]
    assert "spot-bot" in results[2].stdout
    env["BKM_GUARD_PASSPHRASE"] = "wrong passphrase"
    results.append(bkm("rotate", "spot-bot", "--from-stdin", stdin=f"{make_key()}\n{secret}\n"))
    assert results[-1].returncode == 2
    assert "Traceback" not in results[-1].stderr
    everything = "".join(r.stdout + r.stderr for r in results)
    everything += "".join(p.read_bytes().decode("latin-1") for p in (tmp_path / "store").iterdir()
                          if p.is_file())
    assert key not in everything
    assert secret not in everything
    assert PASS not in everything


def test_an_asymmetric_key_from_stdin_without_its_pem_is_a_clear_error(run: Run) -> None:
    run("init")
    key, secret = make_key(), make_key()  # an HMAC secret where an Ed25519 PEM belongs
    code, out, err = run("add", "bot", "--purpose", "spot-trading", "--type", "ed25519", "--from-stdin",
                         stdin=f"{key}\n{secret}\n")
    assert code == 2
    assert "needs its private key" in err
    assert "Traceback" not in err
    assert key not in out + err
    assert secret not in out + err
