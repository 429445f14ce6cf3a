"""The detect-secrets plugin, `bkm-detect-secrets`, and its pre-commit hook in a real commit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_hex, make_key, make_rsa_pem

ROOT = Path(__file__).resolve().parents[1]
HOOK = [sys.executable, "-m", "bkm_guard.cli.detect_secrets_hook"]


def run(args: list[str], cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, check=False,
                          **kwargs)  # type: ignore[call-overload]


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env,
                          check=True, timeout=120)
    return proc.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "bot"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    return path


# --- the plugin ---------------------------------------------------------------------------

def scan_with_plugin(path: Path) -> list[tuple[int, str]]:
    """Plain `detect-secrets scan --plugin plugins/binance.py`, only our plugin."""
    proc = run([sys.executable, "-m", "detect_secrets", "scan", "--plugin", str(ROOT / "plugins/binance.py"),
                *[f"--disable-plugin={name}" for name in _builtin_plugins()], str(path.name)],
               cwd=path.parent)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)["results"]
    return sorted((r["line_number"], r["type"]) for items in results.values() for r in items)


def _builtin_plugins() -> list[str]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    return sorted(cls.__name__ for cls in get_mapping_from_secret_type_to_class().values()
                  if cls.__module__.startswith("detect_secrets."))


def test_plugin_file_is_a_shim_over_the_package() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("shim", ROOT / "plugins/binance.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from bkm_guard.static.detect_secrets_plugin import BinanceDetector

    assert module.BinanceDetector is BinanceDetector
    assert BinanceDetector.secret_type == "Binance API Credential"


def test_plugin_finds_keys_secrets_and_private_keys(tmp_path: Path) -> None:
    key, secret, hex_key = make_key(), make_key(), make_hex()
    pem = make_rsa_pem()
    target = tmp_path / "settings.yaml"
    target.write_text(
        "binance:\n"
        f"  api_key: {key}\n"
        f"  api_secret: '{secret}'\n"
        f"  futures_key: {hex_key}\n"
        f"  checksum: {make_hex()}\n"
        "  private_key: |\n" + "".join(f"    {line}\n" for line in pem.splitlines())
    )
    found = scan_with_plugin(target)
    # detect-secrets' YAML transformer folds a block scalar onto its key's line (6)
    assert found == [(2, "Binance API Credential"), (3, "Binance API Credential"),
                     (4, "Binance API Credential"), (6, "Binance API Credential")]


def test_plugin_reports_nothing_on_the_negative_corpus(corpus: Path) -> None:
    negative = corpus / "cases" / "negative"
    assert scan_with_plugin(negative) == []


# --- bkm-detect-secrets as a hook -----------------------------------------------------------

def test_hook_sees_what_plain_detect_secrets_drops(tmp_path: Path) -> None:
    """`is_indirect_reference` drops these two exact lines in plain detect-secrets."""
    keys = [make_key() for _ in range(4)]
    bot = tmp_path / "bot.py"
    bot.write_text(
        "import ccxt\nfrom binance.client import Client\n\n"
        f'client = Client("{keys[0]}", "{keys[1]}")\n'
        f'exchange = ccxt.binance({{"apiKey": "{keys[2]}", "secret": "{keys[3]}"}})\n'
    )
    plain = run([sys.executable, "-m", "detect_secrets.pre_commit_hook", "bot.py"], cwd=tmp_path)
    assert plain.returncode == 0  # the blind spot we fix

    ours = run([*HOOK, "bot.py"], cwd=tmp_path)
    assert ours.returncode == 1
    assert ours.stdout.count("Binance API Credential") == 4
    assert "Location:    bot.py:4" in ours.stdout
    assert "Location:    bot.py:5" in ours.stdout
    for key in keys:
        assert key not in ours.stdout + ours.stderr


def test_hook_keeps_the_indirect_reference_filter_for_other_plugins(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text('password = get_secret("db")\nsecret = os.environ["X"]\n')
    proc = run([*HOOK, "app.py"], cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (0, "")


def test_hook_honours_allowlist_pragma(tmp_path: Path) -> None:
    (tmp_path / "t.py").write_text(f'API_KEY = "{make_key()}"  # pragma: allowlist secret\n')
    assert run([*HOOK, "t.py"], cwd=tmp_path).returncode == 0


def test_baseline_is_portable_and_only_new_secrets_fail(repo: Path, tmp_path: Path) -> None:
    old_key, new_key = make_key(), make_key()
    (repo / "config.py").write_text(f'API_KEY = "{old_key}"\n')
    scan = run([*HOOK, "scan", "config.py"], cwd=repo)
    assert scan.returncode == 0, scan.stderr
    baseline = json.loads(scan.stdout)
    ours = [p for p in baseline["plugins_used"] if p["name"] == "BinanceDetector"]
    assert ours == [{"name": "BinanceDetector"}]  # no absolute file:// path
    assert "file://" not in scan.stdout
    assert old_key not in scan.stdout
    filters = {f["path"] for f in baseline["filters_used"]}
    assert "bkm_guard.cli.detect_secrets_hook.is_indirect_reference_unless_binance" in filters
    assert "detect_secrets.filters.heuristic.is_indirect_reference" not in filters
    (repo / ".secrets.baseline").write_text(scan.stdout)
    git(repo, "add", ".")

    # another machine, another directory: the same baseline still works
    moved = tmp_path / "elsewhere" / "checkout"
    shutil.copytree(repo, moved)
    known = run([*HOOK, "--baseline", ".secrets.baseline", "config.py"], cwd=moved)
    assert known.returncode == 0, known.stdout + known.stderr

    (moved / "config.py").write_text(f'API_KEY = "{old_key}"\nAPI_SECRET = "{new_key}"\n')
    fresh = run([*HOOK, "--baseline", ".secrets.baseline", "config.py"], cwd=moved)
    assert fresh.returncode == 1
    assert "config.py:2" in fresh.stdout
    assert "config.py:1" not in fresh.stdout


def test_baseline_from_plain_detect_secrets_with_a_stale_plugin_path(repo: Path) -> None:
    (repo / "config.py").write_text(f'API_KEY = "{make_key()}"\n')
    plain = run([sys.executable, "-m", "detect_secrets", "scan", "--plugin",
                 str(ROOT / "plugins/binance.py"), "config.py"], cwd=repo)
    assert plain.returncode == 0, plain.stderr
    baseline = json.loads(plain.stdout)
    for plugin in baseline["plugins_used"]:
        if plugin["name"] == "BinanceDetector":
            assert plugin["path"].startswith("file://")
            plugin["path"] = "file:///nonexistent/other-machine/plugins/binance.py"
    (repo / ".secrets.baseline").write_text(json.dumps(baseline))
    git(repo, "add", ".")
    proc = run([*HOOK, "--baseline", ".secrets.baseline", "config.py"], cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- a real pre-commit run ------------------------------------------------------------------

def _checkout_rev() -> str:
    try:
        return git(ROOT, "rev-parse", "HEAD").strip()
    except (subprocess.CalledProcessError, FileNotFoundError):
        pytest.skip("this checkout is not a git repository: pre-commit needs a rev to clone")


@pytest.mark.slow
def test_pre_commit_blocks_a_commit_holding_a_key(repo: Path, tmp_path: Path) -> None:
    """This checkout as users get it: `repo:` + `rev:`, pre-commit builds its own environment
    (pip, from the package registry) and runs both hooks of .pre-commit-hooks.yaml."""
    rev = _checkout_rev()
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {ROOT}\n  rev: {rev}  # pragma: allowlist secret\n"
        "  hooks:\n  - id: bkm-guard\n  - id: bkm-detect-secrets\n"
    )
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    install = run([sys.executable, "-m", "pre_commit", "install", "--install-hooks"], cwd=repo, env=env)
    assert install.returncode == 0, install.stdout + install.stderr

    (repo / "README.md").write_text("# bot\n")
    git(repo, "add", ".")
    clean = run(["git", "commit", "-qm", "clean"], cwd=repo, env=env)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    key, secret = make_key(), make_key()
    (repo / "bot.py").write_text(
        "from binance.client import Client\n\n"
        f'client = Client("{key}", "{secret}")\n'
    )
    git(repo, "add", "bot.py")
    leak = run(["git", "commit", "-qm", "add bot"], cwd=repo, env=env)
    output = leak.stdout + leak.stderr
    assert leak.returncode != 0
    assert "bot.py:3:17: BKM001" in output  # bkm-guard
    assert "bot.py:3:85: BKM002" in output
    assert "Location:    bot.py:3" in output  # bkm-detect-secrets
    assert key not in output
    assert secret not in output
    assert git(repo, "log", "--format=%s").split() == ["clean"]
