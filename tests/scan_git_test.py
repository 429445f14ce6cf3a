"""`--staged` (the index, not the work tree) and `--history` (every blob ever committed)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import make_key

from bkm_guard.cli.scan import main

ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


def git(cwd: Path, *args: str, date: str | None = None) -> str:
    env = {**os.environ, **ENV}
    if date:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout


def commit(repo: Path, files: dict[str, str | None], message: str, date: str | None = None) -> str:
    for rel, content in files.items():
        path = repo / rel
        if content is None:
            git(repo, "rm", "-q", rel)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        git(repo, "add", rel)
    git(repo, "commit", "-q", "--allow-empty", "-m", message, date=date)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    return path


def scan(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, cwd: Path, *argv: str
) -> tuple[int, dict[str, object], str]:
    monkeypatch.chdir(cwd)
    code = main([*argv, "--format", "json"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else {}, err


def test_staged_reads_the_index_not_the_work_tree(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = make_key()
    commit(repo, {"README.md": "bot\n"}, "init")
    (repo / "bot.env").write_text(f"BINANCE_API_KEY={key}\n")
    git(repo, "add", "bot.env")
    (repo / "bot.env").write_text("BINANCE_API_KEY=${BINANCE_API_KEY}\n")  # cleaned, but not staged
    code, doc, err = scan(capsys, monkeypatch, repo, "--staged")
    assert code == 1
    assert [(f["path"], f["line"], f["code"]) for f in doc["findings"]] == [("bot.env", 1, "BKM004")]
    assert key not in json.dumps(doc) + err
    # and the other way round: a key only in the work tree is not in the next commit
    git(repo, "add", "bot.env")
    (repo / "bot.env").write_text(f"BINANCE_API_KEY={key}\n")
    code, doc, _ = scan(capsys, monkeypatch, repo, "--staged")
    assert code == 0
    assert doc["findings"] == []


def test_pre_commit_without_files_scans_the_index(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "a.env").write_text(f"API_SECRET={make_key()}\n")
    git(repo, "add", "a.env")
    code, doc, _ = scan(capsys, monkeypatch, repo, "--pre-commit")
    assert code == 1
    assert doc["mode"] == "staged"


def test_history_finds_a_removed_key_once_with_its_first_commit(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = make_key()
    commit(repo, {"README.md": "bot\n"}, "init", date="2024-01-01T10:00:00+00:00")
    first = commit(
        repo, {"conf/prod.env": f"BINANCE_API_KEY={key}\n"}, "add key", date="2024-02-03T10:00:00+00:00"
    )
    commit(repo, {"other.txt": "x\n"}, "unrelated", date="2024-02-04T10:00:00+00:00")
    git(repo, "mv", "conf/prod.env", "conf/moved.env")  # same blob at another path
    commit(repo, {}, "move", date="2024-02-05T10:00:00+00:00")
    commit(repo, {"conf/moved.env": None}, "remove key", date="2024-02-06T10:00:00+00:00")
    code, doc, err = scan(capsys, monkeypatch, repo, "--history")
    assert code == 1
    findings = doc["findings"]
    assert len(findings) == 1, findings  # the blob is scanned once
    finding = findings[0]
    assert (finding["path"], finding["line"], finding["code"]) == ("conf/prod.env", 1, "BKM004")
    assert finding["history"]["commit"] == first
    assert finding["history"]["author_date"].startswith("2024-02-03")
    assert finding["history"]["in_head"] is False
    assert "removed from HEAD" in finding["message"]
    assert "rotate" in finding["message"]
    assert key not in json.dumps(doc) + err
    assert "blobs" in err


def test_history_key_still_in_head(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    commit(repo, {"k.env": f"API_KEY={make_key()}\n"}, "key")
    code, doc, _ = scan(capsys, monkeypatch, repo, "--history")
    assert code == 1
    assert doc["findings"][0]["history"]["in_head"] is True
    assert "still in HEAD" in doc["findings"][0]["message"]


def test_history_since_and_branch(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    commit(repo, {"old.env": f"API_KEY={make_key()}\n"}, "old key")
    base = git(repo, "rev-parse", "HEAD").strip()
    commit(repo, {"new.env": f"API_KEY={make_key()}\n"}, "new key")
    git(repo, "checkout", "-q", "-b", "side", base)
    commit(repo, {"side.env": f"API_KEY={make_key()}\n"}, "side key")
    git(repo, "checkout", "-q", "main")
    _, doc, _ = scan(capsys, monkeypatch, repo, "--history")
    assert {f["path"] for f in doc["findings"]} == {"old.env", "new.env", "side.env"}
    _, doc, _ = scan(capsys, monkeypatch, repo, "--history", "--since", base)
    assert {f["path"] for f in doc["findings"]} == {"new.env", "side.env"}
    _, doc, _ = scan(capsys, monkeypatch, repo, "--history", "--branch", "main")
    assert {f["path"] for f in doc["findings"]} == {"old.env", "new.env"}
    code, _, err = scan(capsys, monkeypatch, repo, "--history", "--since", "no-such-rev")
    assert code == 2
    assert "unknown revision" in err


@pytest.mark.slow
def test_history_of_a_shallow_clone(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    commit(repo, {"old.env": f"API_KEY={make_key()}\n"}, "old")
    commit(repo, {"old.env": None}, "rm")
    commit(repo, {"new.env": f"API_KEY={make_key()}\n"}, "new")
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(clone)], check=True)
    code, doc, err = scan(capsys, monkeypatch, clone, "--history")
    assert code == 1
    assert [f["path"] for f in doc["findings"]] == ["new.env"]
    assert any("shallow clone" in n["reason"] for n in doc["notices"])
    assert "shallow clone" in err


def test_history_of_an_empty_repository(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, doc, err = scan(capsys, monkeypatch, repo, "--history")
    assert code == 0
    assert doc["findings"] == []
    assert "no commits" in err
    code, doc, _ = scan(capsys, monkeypatch, repo, "--staged")
    assert code == 0
    assert doc["findings"] == []


def test_git_modes_outside_a_repository_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for flag in ("--staged", "--history"):
        code, _, err = scan(capsys, monkeypatch, tmp_path, flag)
        assert code == 2
        assert "not inside a git repository" in err


def test_fix_refuses_git_sources(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = scan(capsys, monkeypatch, repo, "--staged", "--fix")
    assert code == 2
    assert "--fix" in err


def test_history_sarif_has_provenance_and_no_secret(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = make_key()
    sha = commit(repo, {"a.env": f"API_KEY={key}\n"}, "k")
    monkeypatch.chdir(repo)
    assert main(["--history", "--format", "sarif"]) == 1
    out = capsys.readouterr().out
    assert key not in out
    result = json.loads(out)["runs"][0]["results"][0]
    assert result["properties"]["history"]["commit"] == sha


def test_nested_repositories_and_submodules_are_scanned(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """git lists a nested repository or a submodule as one directory entry: its files are
    scanned all the same, and what its .gitignore ignores stays out."""
    commit(repo, {"README.md": "# bot\n"}, "init")
    vendored = repo / "vendor" / "old-bot"
    vendored.mkdir(parents=True)
    git(vendored, "init", "-q", "-b", "main")
    commit(vendored, {"cfg.env": f"BINANCE_API_KEY={make_key()}\n", ".gitignore": "local.env\n"}, "init")
    (vendored / "local.env").write_text(f"BINANCE_API_SECRET={make_key()}\n")

    upstream = tmp_path / "upstream"
    upstream.mkdir()
    git(upstream, "init", "-q", "-b", "main")
    commit(upstream, {"settings.toml": f'api_secret = "{make_key()}"\n'}, "init")
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(upstream), "libs/upstream")

    code, doc, _ = scan(capsys, monkeypatch, repo)
    assert code == 1
    found = sorted((f["path"], f["code"]) for f in doc["findings"])  # type: ignore[attr-defined]
    assert found == [("libs/upstream/settings.toml", "BKM004"), ("vendor/old-bot/cfg.env", "BKM004")]
