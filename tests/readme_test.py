"""README.md stays true: its test command is CI's, and it documents every hook and rule."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci_lines = (ROOT / ".ci/run").read_text().splitlines()
    command = ci_lines[ci_lines.index("# the README's test command:") + 1]
    assert command in README.splitlines() or f"$ {command}" in README.splitlines()


def test_readme_shows_the_install_and_scan_command() -> None:
    assert "pip install . && bkm-guard scan" in README


def test_every_hook_is_documented() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hooks
    for hook in hooks:
        assert f"id: {hook['id']}" in README, hook["id"]


def test_every_rule_code_is_documented() -> None:
    from bkm_guard.static.rules import ALL_RULES

    codes = set(ALL_RULES)
    assert codes >= {"BKM001", "BKM002", "BKM003", "BKM004", "BKM101", "BKM102", "BKM201"}
    for code in codes:
        assert re.search(rf"\b{code}\b", README), code


def test_every_console_script_is_documented() -> None:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for name in scripts:
        assert name in README
