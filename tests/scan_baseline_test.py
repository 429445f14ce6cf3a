"""Baselines: only new findings fail; stable across line moves, machines and directories."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import make_key

from bkm_guard.cli.scan import main


def project(root: Path) -> list[str]:
    keys = [make_key(), make_key()]
    (root / "deploy").mkdir(parents=True)
    (root / "deploy" / "prod.env").write_text(f"BINANCE_API_KEY={keys[0]}\nBINANCE_API_SECRET={keys[1]}\n")
    return keys


def scan(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_baseline_round_trip_and_line_moves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = project(tmp_path)
    baseline = tmp_path / ".bkm-baseline.json"
    code, _, err = scan(capsys, str(tmp_path), "--baseline", str(baseline), "--update-baseline")
    assert code == 0
    assert "wrote 2 findings" in err
    text = baseline.read_text()
    for key in keys:
        assert key not in text
        assert key[4:16] not in text
    entries = json.loads(text)["findings"]
    assert {(e["code"], e["path"]) for e in entries} == {("BKM004", "deploy/prod.env")}
    assert all(e["fingerprint"].startswith("bkm:") and "…" in e["masked"] for e in entries)
    assert all("line" not in e for e in entries)

    assert scan(capsys, str(tmp_path), "--baseline", str(baseline))[0] == 0
    # lines move: still nothing new
    env = tmp_path / "deploy" / "prod.env"
    env.write_text("# production\n\n" + env.read_text())
    code, out, err = scan(capsys, str(tmp_path), "--baseline", str(baseline))
    assert (code, out) == (0, "")
    assert "2 in the baseline" in err
    # a new key is new, and only it is reported
    new_key = make_key()
    env.write_text(env.read_text() + f"BACKUP_API_KEY={new_key}\n")
    code, out, _ = scan(capsys, str(tmp_path), "--baseline", str(baseline))
    assert code == 1
    assert out.count("BKM004") == 1
    assert out.startswith("deploy/prod.env:5:")


def test_baseline_from_another_directory_and_machine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = tmp_path / "alice" / "bot"
    project(first)
    monkeypatch.chdir(first)
    assert scan(capsys, ".", "--baseline", ".bkm-baseline.json", "--update-baseline")[0] == 0
    # the same checkout elsewhere, scanned from another working directory
    second = tmp_path / "ci" / "work" / "bot"
    shutil.copytree(first, second)
    monkeypatch.chdir(tmp_path)
    assert scan(capsys, str(second), "--baseline", str(second / ".bkm-baseline.json"))[0] == 0
    monkeypatch.chdir(second / "deploy")
    assert scan(capsys, "prod.env", "--baseline", "../.bkm-baseline.json")[0] == 0


def test_baseline_from_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.bkm-guard]\nbaseline = "ci/bkm-baseline.json"\n')
    assert scan(capsys, str(tmp_path), "--update-baseline")[0] == 0
    assert (tmp_path / "ci" / "bkm-baseline.json").is_file()
    assert scan(capsys, str(tmp_path))[0] == 0


def test_a_duplicate_of_an_accepted_key_is_new(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = project(tmp_path)
    baseline = tmp_path / "b.json"
    scan(capsys, str(tmp_path), "--baseline", str(baseline), "--update-baseline")
    env = tmp_path / "deploy" / "prod.env"
    env.write_text(env.read_text() + f"COPY_API_KEY={keys[0]}\n")
    code, out, _ = scan(capsys, str(tmp_path), "--baseline", str(baseline))
    assert code == 1
    assert out.count("BKM004") == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"findings": []}', "not a bkm-guard baseline"),
        ('{"format": "bkm-guard-baseline", "version": 99, "findings": []}', "version 99"),
        ('{"format": "bkm-guard-baseline", "version": 1, "findings": [{"code": 1}]}', "entry 0"),
    ],
)
def test_broken_baseline_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    project(tmp_path)
    baseline = tmp_path / "b.json"
    baseline.write_text(content)
    code, _, err = scan(capsys, str(tmp_path), "--baseline", str(baseline))
    assert code == 2
    assert message in err
    assert "b.json" in err
    # regenerating it works
    assert scan(capsys, str(tmp_path), "--baseline", str(baseline), "--update-baseline")[0] == 0


def test_missing_baseline_reports_everything_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path)
    code, out, err = scan(capsys, str(tmp_path), "--baseline", str(tmp_path / "none.json"))
    assert code == 1
    assert out.count("BKM004") == 2
    assert "does not exist yet" in err
