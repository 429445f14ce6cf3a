"""The `ast` gate before libcst never says "nothing to do" where a Python rule reports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from rules_test import fill

from bkm_guard.analyze import DEFAULT_OPTIONS, _python_rules_could_fire
from bkm_guard.analyzer.engine import analyze_source
from bkm_guard.analyzer.gate import rules_could_fire
from bkm_guard.rules import ALL_RULES

ROOT = Path(__file__).resolve().parents[1]
PYTHON_INVALID = [(rule.CODE, case) for rule in ALL_RULES.values() for case in rule.INVALID
                  if case.path.endswith(".py")]


def gate(text: str) -> bool:
    return rules_could_fire(ast.parse(text))


def could_fire(text: str) -> bool:
    """What analyze() asks: the byte prefilter (64-char runs, PEMs, URLs), then the gate."""
    return _python_rules_could_fire(text.encode(), text, DEFAULT_OPTIONS)


@pytest.mark.parametrize(("code", "case"), PYTHON_INVALID,
                         ids=[f"{code}-{i}" for i, (code, _) in enumerate(PYTHON_INVALID)])
def test_every_invalid_example_passes_the_gate(code: str, case: object) -> None:
    text, _ = fill(case.code, case.path)  # type: ignore[attr-defined]
    assert could_fire(text), code


@pytest.mark.parametrize(
    "source",
    [
        'k = "' + "Ab3dE" * 7 + '" + "' + "xY9zQ" * 7 + '"\n',  # a key in two pieces
        'URL = "http" + "://api.binance.com"\n',  # bkm: ignore[BKM101]
        "requests.get(url, verify=False)\n",
        "session.verify = False\n",
        'ws.run_forever(sslopt={"cert_reqs": ssl.CERT_NONE})\n',
        'log.info("key %s", api_secret)\n',
        'k = os.environ["BINANCE_API_KEY"]\nprint(k)\n',
        'k = os.getenv("BINANCE_API_SECRET")\nk2 = k\nlogger.debug(f"{k2}")\n',
        'raise ValueError(f"bad {self.api_key}")\n',
        'print(config["apiKey"])\n',
    ],
)
def test_candidates_pass_the_gate(source: str) -> None:
    assert gate(source)


@pytest.mark.parametrize(
    "source",
    [
        'import os\nfrom binance.client import Client\n'
        'client = Client(os.environ["BINANCE_API_KEY"], os.environ["BINANCE_API_SECRET"])\n',
        'log.info("loaded the key from BINANCE_API_KEY")\n',
        "for key in table:\n    print(key, table[key])\n",
        'requests.get("https://api.binance.com/api/v3/time", timeout=5, verify=True)\n',
        'URL = "https://api.binance.com" + "/api/v3/ping"\n',
    ],
)
def test_clean_bot_code_skips_libcst(source: str) -> None:
    assert not could_fire(source)


def _python_files() -> list[Path]:
    corpus = ROOT.parent / "shared" / "corpus" / "cases"
    tracked = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True,
                             check=False).stdout.split()
    return sorted([*corpus.rglob("*.py"), *(ROOT / name for name in tracked)])


def test_gate_is_a_superset_on_the_corpus_and_this_repository() -> None:
    files = _python_files()
    assert len(files) > 50
    missed = []
    for path in files:
        text = path.read_text()
        result = analyze_source(text, parse=True)
        if result.hits and not could_fire(text):
            missed.append(f"{path}: {sorted({hit.code for hit in result.hits})}")
    assert missed == []


def test_gate_needs_no_libcst() -> None:
    probe = ("import sys, ast\nfrom bkm_guard.analyzer.gate import rules_could_fire\n"
             "rules_could_fire(ast.parse('print(api_key)'))\nprint('libcst' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
