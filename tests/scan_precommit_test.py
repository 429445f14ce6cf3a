"""A real `pre-commit` run of the `bkm-guard` hook on a temporary repository.

The hook definition (entry, types, name) is read from this checkout's .pre-commit-hooks.yaml and
installed as a `repo: local` hook with `language: system`, running the bkm-guard of this
environment: `language: python` would make pre-commit pip-install the package into a fresh
environment, which needs the network. No network is used here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_key

ROOT = Path(__file__).resolve().parents[1]
ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


def hook(hook_id: str) -> dict[str, object]:
    import yaml

    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    return next(h for h in hooks if h["id"] == hook_id)


def pre_commit_exe() -> str:
    exe = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which("pre-commit")
    if exe is None:
        pytest.skip("pre-commit is not installed")
    return exe


@pytest.mark.slow
@pytest.mark.parametrize("hook_id", ["bkm-guard"])
def test_pre_commit_blocks_a_key_and_passes_a_clean_commit(tmp_path: Path, hook_id: str) -> None:
    import yaml

    spec = hook(hook_id)
    assert "--pre-commit" in str(spec["entry"])
    bindir = Path(sys.executable).parent
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {
        **os.environ,
        **ENV,
        "PRE_COMMIT_HOME": str(tmp_path / "pc-home"),
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True, check=False)

    run("git", "init", "-q")
    config = {
        "repos": [
            {
                "repo": "local",
                "hooks": [
                    {
                        "id": spec["id"],
                        "name": spec["name"],
                        "entry": spec["entry"],
                        "language": "system",
                        "types": spec.get("types", ["text"]),
                    }
                ],
            }
        ]
    }
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    run("git", "add", ".pre-commit-config.yaml")
    assert run(pre_commit_exe(), "install").returncode == 0

    key = make_key()
    (repo / "bot.py").write_text("import os\n\nAPI_KEY = os.environ['BINANCE_API_KEY']\n")
    (repo / "prod.env").write_text(f"# deploy\nBINANCE_API_KEY={key}\n")
    run("git", "add", "bot.py", "prod.env")
    blocked = run("git", "commit", "-m", "with a key")
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, output
    assert "prod.env:2:17: BKM004" in output
    assert key not in output
    assert key[4:20] not in output
    assert "rotate" in output

    (repo / "prod.env").write_text("# deploy\nBINANCE_API_KEY=${BINANCE_API_KEY}\n")
    run("git", "add", "prod.env")
    clean = run("git", "commit", "-m", "clean")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Passed" in clean.stdout + clean.stderr
