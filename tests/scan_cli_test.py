"""`bkm-guard scan` on files: formats, exit codes, selection, configuration, discovery."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_key

from bkm_guard.cli.scan import main

HTTP = "http" + "://"  # built here so this file holds no insecure URL


def plant(root: Path) -> list[str]:
    """A small project with two keys in text files and one insecure endpoint; returns the keys."""
    key, secret = make_key(), make_key()
    (root / "config").mkdir(parents=True, exist_ok=True)
    (root / "config" / ".env").write_text(f"# bot\nBINANCE_API_KEY={key}\nBINANCE_API_SECRET={secret}\n")
    (root / "settings.yaml").write_text(f"exchange:\n  rest: {HTTP}api.binance.com/api/v3\n")
    (root / "README.md").write_text("nothing to see\n")
    return [key, secret]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_text_format_lines_exit_code_and_no_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secrets = plant(tmp_path)
    code, out, err = run(capsys, str(tmp_path), "--jobs", "1")
    assert code == 1
    lines = out.splitlines()
    assert any(line.startswith("config/.env:2:17: BKM004 ") for line in lines), out
    assert any(line.startswith("config/.env:3:20: BKM004 ") for line in lines), out
    assert any(line.startswith("settings.yaml:2:9: BKM101 ") for line in lines), out
    assert "scanned 3 files" in err
    assert "BKM004 2" in err
    for secret in secrets:
        assert secret not in out + err
        assert secret[:12] not in out + err


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_no_format_ever_holds_a_planted_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, jobs: str
) -> None:
    secrets = plant(tmp_path / "src")
    out_file = tmp_path / f"report.{fmt}"
    code, out, err = run(
        capsys, str(tmp_path / "src"), "--format", fmt, "--output", str(out_file), "-j", jobs
    )
    assert code == 1
    report = out_file.read_text()
    assert report.strip()
    for secret in secrets:
        for text in (report, out, err):
            assert secret not in text
            assert secret[4:20] not in text


def test_json_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plant(tmp_path)
    code, out, _ = run(capsys, str(tmp_path), "--format", "json")
    assert code == 1
    doc = json.loads(out)
    rows = {(f["path"], f["line"], f["code"]) for f in doc["findings"]}
    assert {
        ("config/.env", 2, "BKM004"),
        ("config/.env", 3, "BKM004"),
        ("settings.yaml", 2, "BKM101"),
    } <= rows
    assert all(
        f["fingerprint"].startswith("bkm:") and f["masked"] for f in doc["findings"] if f["code"] == "BKM004"
    )
    assert doc["summary"]["scanned"] == 3


def test_sarif_is_what_github_code_scanning_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plant(tmp_path)
    code, out, _ = run(capsys, str(tmp_path), "--format", "sarif")
    assert code == 1
    sarif = json.loads(out)
    assert sarif["version"] == "2.1.0"
    assert "sarif-2.1.0" in sarif["$schema"]
    assert len(sarif["runs"]) == 1
    run_ = sarif["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    ids = [rule["id"] for rule in rules]
    assert {"BKM001", "BKM002", "BKM003", "BKM004", "BKM101", "BKM102", "BKM201"} <= set(ids)
    for rule in rules:
        assert rule["help"]["text"]
        assert rule["shortDescription"]["text"]
    assert run_["results"]
    for result in run_["results"]:
        assert ids[result["ruleIndex"]] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        uri = location["artifactLocation"]["uri"]
        assert not uri.startswith(("/", "file:"))
        assert ".." not in uri
        assert location["region"]["startLine"] >= 1
        assert location["region"]["startColumn"] >= 1
        assert result["partialFingerprints"]["bkmFingerprint/v1"].startswith("bkm:")
        assert result["message"]["text"]
    assert run_["invocations"][0]["executionSuccessful"] is True


def test_clean_tree_exits_zero_and_exit_zero_overrides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.py").write_text("print('hello')\n")
    assert run(capsys, str(tmp_path))[0] == 0
    plant(tmp_path)
    assert run(capsys, str(tmp_path))[0] == 1
    assert run(capsys, str(tmp_path), "--exit-zero")[0] == 0


@pytest.mark.parametrize(
    ("argv", "expected_codes"),
    [
        (["--select", "BKM101"], {"BKM101"}),
        (["--ignore", "BKM101"], {"BKM004"}),
        (["--select", "BKM0"], {"BKM004"}),
        (["--select", "BKM004,BKM101"], {"BKM004", "BKM101"}),
        (["--ignore", "BKM004", "--ignore", "BKM101"], set()),
    ],
)
def test_select_and_ignore(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], expected_codes: set[str]
) -> None:
    plant(tmp_path)
    code, out, _ = run(capsys, str(tmp_path), "--format", "json", *argv)
    codes = {f["code"] for f in json.loads(out)["findings"]}
    assert codes == expected_codes
    assert code == (1 if expected_codes else 0)


@pytest.mark.parametrize(
    "argv",
    [
        ["--select", "BKM999"],
        ["--ignore", "E501"],
        ["--jobs", "0"],
        ["--since", "HEAD"],
        ["--format", "xml"],
        ["--update-baseline"],
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    plant(tmp_path)
    code, _, err = run(capsys, str(tmp_path), *argv)
    assert code == 2
    assert "bkm-guard" in err


def test_missing_path_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, str(tmp_path / "nope"))
    assert code == 2
    assert "no such file" in err


def write_config(root: Path, body: str) -> None:
    (root / "pyproject.toml").write_text(f"[project]\nname = 'bot'\n\n[tool.bkm-guard]\n{body}\n")


def test_config_exclude_and_per_file_ignores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plant(tmp_path)
    write_config(
        tmp_path, 'exclude = ["config/**"]\n[tool.bkm-guard.per-file-ignores]\n"*.yaml" = ["BKM101"]'
    )
    code, out, _ = run(capsys, str(tmp_path), "--format", "json")
    assert json.loads(out)["findings"] == []
    assert code == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("selct = ['BKM001']", "unknown key 'selct'"),
        ("select = 'BKM001'", "select must be a list"),
        ("ignore = ['BKM777']", "unknown rule code"),
        ("exclude = [1]", "exclude must be a list"),
        ("extra-client-names = ['not a name']", "not a valid name"),
        ("baseline = 3", "baseline must be a file path"),
        ("[tool.bkm-guard.per-file-ignores]\n'x' = 'BKM001'", "per-file-ignores"),
        ("select = [", "not valid TOML"),
    ],
)
def test_bad_config_is_exit_2_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, message: str
) -> None:
    plant(tmp_path)
    write_config(tmp_path, body)
    code, _, err = run(capsys, str(tmp_path))
    assert code == 2
    assert message in err


def test_show_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_config(
        tmp_path, 'ignore = ["BKM201"]\nextra-client-names = ["MyBinance"]\nbaseline = ".bkm-baseline.json"'
    )
    code, out, _ = run(capsys, str(tmp_path), "--show-config", "--ignore", "BKM102")
    assert code == 0
    assert "[tool.bkm-guard]" in out
    assert str(tmp_path / "pyproject.toml") in out
    assert 'ignore = ["BKM201", "BKM102"]' in out
    assert 'extra-client-names = ["MyBinance"]' in out
    assert "BKM102" not in out.split("rules in effect:")[1]


def test_walk_finds_dotfiles_and_skips_default_excludes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = make_key()
    for rel in [
        "deploy/id_key",
        ".env",
        "node_modules/pkg/x.env",
        ".venv/pyvenv.cfg",
        ".venv/lib/a.env",
        "build/out.env",
        "dist/deploy.env",
        "build/lib/bot/settings.env",
        "venv/__init__.env",
        "__pycache__/m.env",
        "myenv/pyvenv.cfg",
    ]:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"API_KEY={key}\n")
    (tmp_path / "myenv" / "lib.env").write_text(f"API_KEY={key}\n")
    code, out, _ = run(capsys, str(tmp_path), "--format", "json")
    paths = {f["path"] for f in json.loads(out)["findings"]}
    # a venv is known by pyvenv.cfg; build/ and dist/ hold the project's own files and are scanned
    assert paths == {"deploy/id_key", ".env", "venv/__init__.env", "build/out.env", "dist/deploy.env",
                     "build/lib/bot/settings.env"}
    assert code == 1


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout


def test_in_git_tracked_and_untracked_but_not_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    git(tmp_path, "init", "-q")
    key = make_key()
    (tmp_path / ".gitignore").write_text("local.env\n")
    for name in ("tracked.env", "untracked.env", "local.env"):
        (tmp_path / name).write_text(f"BINANCE_API_KEY={key}\n")
    git(tmp_path, "add", "tracked.env", ".gitignore")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "tracked-anyway.env").write_text(f"BINANCE_API_KEY={key}\n")
    code, out, _ = run(capsys, str(tmp_path), "--format", "json")
    paths = {f["path"] for f in json.loads(out)["findings"]}
    # in git, .gitignore decides: an unignored node_modules is scanned
    assert paths == {"tracked.env", "untracked.env", "node_modules/tracked-anyway.env"}
    assert code == 1


def test_symlink_out_of_root_is_not_followed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keys.env").write_text(f"BINANCE_API_KEY={make_key()}\n")
    root = tmp_path / "root"
    root.mkdir()
    (root / "link.env").symlink_to(outside / "keys.env")
    (root / "linkdir").symlink_to(outside, target_is_directory=True)
    code, out, err = run(capsys, str(root))
    assert code == 0
    assert out == ""
    assert "link.env: skipped: symlink out of the scan root" in err


def test_pre_commit_mode_scans_only_given_files_concisely(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    plant(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "--pre-commit", "settings.yaml", "README.md")
    assert code == 1
    assert out.splitlines() == [
        line for line in out.splitlines() if line.startswith("settings.yaml:2:9: BKM101")
    ]
    assert "scanned" not in err  # no summary line in hook output


def test_real_subprocess(tmp_path: Path) -> None:
    secrets = plant(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "bkm_guard", "scan", str(tmp_path), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert len(json.loads(proc.stdout)["findings"]) == 3
    assert not any(s in proc.stdout + proc.stderr for s in secrets)


def test_cli_import_is_light() -> None:
    code = (
        "import sys, bkm_guard.cli.scan; "
        "heavy = ('libcst', 'cryptography', 'requests', 'rich'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"
