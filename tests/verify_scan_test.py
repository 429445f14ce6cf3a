"""`bkm-guard scan --verify`: found keys verified against the local fake Binance, and only then.

The fake counts every request it answers: without `--verify` it must see none.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import make_key

from bkm_guard.cli.scan import main
from bkm_guard.masking import mask
from bkm_guard.testing import FakeBinance
from bkm_guard.verify import endpoints

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else str(address)
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise OSError(f"test tried to reach {host}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def hosts(fb: FakeBinance, monkeypatch: pytest.MonkeyPatch) -> FakeBinance:
    monkeypatch.setenv(endpoints.HOSTS_ENV, f"mainnet={fb.base_url}")
    monkeypatch.setenv(endpoints.CA_BUNDLE_ENV, fb.ca_path)
    return fb


def plant(root: Path, fb: FakeBinance) -> dict[str, str]:
    """A bot with a live withdrawal-enabled pair in code and a dead pair in a .env."""
    live_key, live_secret, dead_key, dead_secret = make_key(), make_key(), make_key(), make_key()
    fb.add_key(
        live_key, live_secret, permissions={"enableWithdrawals": True, "enableSpotAndMarginTrading": True}
    )
    root.mkdir(parents=True, exist_ok=True)
    (root / "bot.py").write_text(
        f'from binance.client import Client\n\nclient = Client("{live_key}", "{live_secret}")\n'
    )
    (root / ".env").write_text(f"BINANCE_API_KEY={dead_key}\nBINANCE_API_SECRET={dead_secret}\n")
    return {
        "live_key": live_key,
        "live_secret": live_secret,
        "dead_key": dead_key,
        "dead_secret": dead_secret,
    }


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def asked(fb: FakeBinance) -> set[str]:
    """The (masked) keys the fake was asked about: on a loaded machine a request of an earlier
    test that timed out may be answered late, so tests check their own keys, not a count."""
    return {request.api_key for request in fb.requests}


def no_value(values: dict[str, str], text: str) -> None:
    for value in values.values():
        assert value not in text
        assert value[:12] not in text


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_nothing_is_sent_without_verify(
    hosts: FakeBinance, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    plant(tmp_path / "src", hosts)
    code, out, _ = run(capsys, str(tmp_path / "src"), "--jobs", "1", "--format", fmt)
    assert code == 1
    assert hosts.requests == []
    assert '"verification"' not in out
    assert "verified:" not in out


def test_a_scan_without_verify_loads_no_network_code(hosts: FakeBinance, tmp_path: Path) -> None:
    plant(tmp_path / "src", hosts)
    probe = (
        "import sys\nfrom bkm_guard.cli.scan import main\n"
        f"main([{str(tmp_path / 'src')!r}, '--jobs', '1', '-q'])\n"
        "names = ('requests', 'urllib3', 'bkm_guard.verify.')\n"
        "print(sorted(m for m in sys.modules if m.startswith(names)))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert done.stdout.strip().splitlines()[-1] == "['bkm_guard.verify.options']", done.stdout + done.stderr
    assert hosts.requests == []


def test_scan_verify_text(hosts: FakeBinance, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    values = plant(tmp_path / "src", hosts)
    code, out, err = run(capsys, str(tmp_path / "src"), "--jobs", "1", "--verify")
    assert code == 1
    lines = out.splitlines()
    key_line = next(i for i, line in enumerate(lines) if line.startswith("bot.py:3:") and " BKM001 " in line)
    assert lines[key_line + 1].startswith("  verified: ")
    assert "LIVE on Binance.com" in lines[key_line + 1]
    assert "[critical]" in lines[key_line + 1]
    assert lines[key_line + 2].startswith("  next: Delete it now")
    assert "rejected" in out
    assert "verified 2 key(s): 1 live, 1 rejected; " in err
    assert {mask(values["live_key"]), mask(values["dead_key"])} <= asked(hosts)
    no_value(values, out + err)


def test_scan_verify_json_and_sarif(
    hosts: FakeBinance, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    values = plant(tmp_path / "src", hosts)
    _, out, _ = run(capsys, str(tmp_path / "src"), "--jobs", "1", "--verify", "--format", "json")
    findings = json.loads(out)["findings"]
    by_code = {(f["path"], f["code"]): f["verification"] for f in findings}
    assert by_code["bot.py", "BKM001"]["status"] == "live"
    assert by_code["bot.py", "BKM002"]["status"] == "live"  # the secret's finding shows it too
    assert by_code["bot.py", "BKM001"]["permissions"]["enableWithdrawals"] is True
    assert by_code[".env", "BKM004"]["status"] == "rejected"
    no_value(values, out)

    _, out, _ = run(capsys, str(tmp_path / "src"), "--jobs", "1", "--verify", "--format", "sarif")
    results = json.loads(out)["runs"][0]["results"]
    live = next(r for r in results if r["ruleId"] == "BKM001")
    assert live["level"] == "error"
    assert live["rank"] == 100
    assert live["properties"]["security-severity"] == "10.0"
    assert live["properties"]["verification"]["severity"] == "critical"
    assert "[verified: " in live["message"]["text"]
    assert "API Management" in live["message"]["text"]
    no_value(values, out)


def test_budget_option(hosts: FakeBinance, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plant(tmp_path / "src", hosts)
    _, out, err = run(capsys, str(tmp_path / "src"), "-j", "1", "--verify", "--verify-max-requests", "0")
    assert hosts.requests == []
    assert "budget of 0 is used up" in out
    assert "2 not-verified" in err


def test_a_key_without_its_secret_is_not_verified(
    hosts: FakeBinance, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "settings.toml").write_text(f'api_key = "{make_key()}"\n')
    _, out, _ = run(capsys, str(tmp_path), "-j", "1", "--verify")
    assert "not verified: no secret or private key was found with this key in the same file" in out
    assert hosts.requests == []


@pytest.mark.parametrize("mode", [["--pre-commit"], ["--staged"], ["--fix"], ["--update-baseline"]])
def test_verify_is_refused_in_hook_modes(
    hosts: FakeBinance, tmp_path: Path, capsys: pytest.CaptureFixture[str], mode: list[str]
) -> None:
    plant(tmp_path / "src", hosts)
    code, _, err = run(capsys, str(tmp_path / "src" / "bot.py"), *mode, "--verify")
    assert code == 2
    assert "--verify" in err
    assert hosts.requests == []


def test_budget_options_need_verify(
    hosts: FakeBinance, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, str(tmp_path), "--verify-max-requests", "5")
    assert code == 2
    assert "go with --verify" in err


def test_no_hook_verifies() -> None:
    for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text()):
        assert "verify" not in hook["entry"]


def test_scan_history_verify(hosts: FakeBinance, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    values = plant(repo, hosts)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["commit", "-qm", "leak"],
        ["rm", "-q", "bot.py"],
        ["commit", "-qm", "remove it"],
    ):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=env)
    _, out, _ = run(capsys, str(repo), "--history", "-j", "1", "--verify", "--format", "json")
    findings = json.loads(out)["findings"]
    live = [f for f in findings if f.get("verification", {}).get("status") == "live"]
    assert {f["code"] for f in live} == {"BKM001", "BKM002"}
    assert all(not f["history"]["in_head"] for f in live)
    no_value(values, out)


def test_scan_history_verify_each_version_of_a_file(
    hosts: FakeBinance, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True, env=env)
    keys = []
    for version in range(2):
        key, secret = make_key(), make_key()
        hosts.add_key(key, secret)
        keys.append(key)
        (repo / "bot.py").write_text(
            f'from binance.client import Client\nclient = Client("{key}", "{secret}")\n'
        )
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
        subprocess.run(["git", "commit", "-qm", f"v{version}"], cwd=repo, check=True, env=env)
    _, out, _ = run(capsys, str(repo), "--history", "-j", "1", "--verify", "--format", "json")
    statuses = [f["verification"]["status"] for f in json.loads(out)["findings"] if f["code"] == "BKM001"]
    assert statuses == ["live", "live"]
    assert {mask(key) for key in keys} <= asked(hosts)
