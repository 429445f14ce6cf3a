"""The byte prefilters never say "nothing here" where a rule reports, and say it for clean code."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from rules_test import fill

from bkm_guard.static import prefilter
from bkm_guard.static.pipeline import analyze, file_kind
from bkm_guard.static.rules import ALL_RULES
from bkm_guard.testing.keys import new_api_key

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "cases"
CORPUS2 = ROOT.parent / "shared" / "corpus2" / "cases"  # UTF-16, Secrets, templates, comments
KEY = new_api_key()
DIGEST = hashlib.sha256(b"a transaction").hexdigest()
INVALID = [(rule.CODE, case) for rule in ALL_RULES.values() for case in rule.INVALID]


def codes_of(text: str, path: str = "x.py") -> frozenset[str]:
    data = text.encode()
    return prefilter.candidates(data, python=file_kind(path, data) == "python")[0]


@pytest.mark.parametrize(("code", "case"), INVALID,
                         ids=[f"{code}-{i}" for i, (code, _) in enumerate(INVALID)])
def test_every_invalid_example_is_a_candidate_of_its_rule(code: str, case: object) -> None:
    text, _ = fill(case.code, case.path)  # type: ignore[attr-defined]
    assert code in codes_of(text, case.path)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ('import binance\nk = "' + "Ab3dE" * 7 + '" + "' + "xY9zQ" * 7 + '"\n', "BKM001"),  # two pieces
        ('import binance\nk = ("' + "Ab3dE" * 7 + '"  # one\n     "' + "xY9zQ" * 7 + '")\n', "BKM001"),
        ('import binance\nk = "' + KEY[:30] + '\\\n' + KEY[30:] + '"\n', "BKM001"),  # continued
        ('import binance\nURL = "http" + "://api.binance.com"\n', "BKM101"),  # bkm: ignore[BKM101]
        ("import binance\nrequests.get(url, verify=False)\n", "BKM102"),
        ("import binance\nsession.verify = False\n", "BKM102"),
        ('import binance\nws.run_forever(sslopt={"cert_reqs": ssl.CERT_NONE})\n', "BKM102"),
        ('import binance\nlog.info("key %s", api_secret)\n', "BKM201"),
        ('import binance\nk = os.environ["BINANCE_API_KEY"]\nprint(k)\n', "BKM201"),
        ('import binance\nk = os.getenv(\n    "BINANCE_API_SECRET")\nlogger.debug(f"{k}")\n', "BKM201"),
        ('import binance\nraise ValueError(f"bad {self.api_key}")\n', "BKM201"),
        ('import binance\nprint(config["apiKey"])\n', "BKM201"),
        ('import binance\nlogger.info(\n    "starting: %s",\n    settings.api_secret,\n)\n', "BKM201"),
    ],
    ids=lambda value: value if value.startswith("BKM") else "",  # never a generated key in an id
)
def test_split_and_indirect_candidates(source: str, code: str) -> None:
    assert code in codes_of(source)


@pytest.mark.parametrize(
    "source",
    [
        'import os\nfrom binance.client import Client\n'
        'client = Client(os.environ["BINANCE_API_KEY"], os.environ["BINANCE_API_SECRET"])\n',
        'import binance\nlog.info("loaded the key from BINANCE_API_KEY")\n',
        "import binance\nfor key in table:\n    print(key, table[key])\n",
        'import binance\nrequests.get("https://api.binance.com/api/v3/time", timeout=5, verify=True)\n',
        'import binance\nURL = "https://api.binance.com" + "/api/v3/ping"\n',
        # a 64-hex value, not in a key position
        'import binance\nDOC = """\n    "txId": "' + DIGEST + '",\n"""\n',
        'import binance\nBLOB = "' + "Ab3dE" * 20 + '"\n',  # longer than a key
    ],
)
def test_clean_bot_code_is_never_parsed(source: str) -> None:
    assert not codes_of(source)


def _corpus_files() -> list[tuple[Path, Path]]:
    return [(root, p) for root in (CORPUS, CORPUS2) if root.is_dir()
            for p in sorted(root.rglob("*")) if p.is_file()]


@pytest.mark.skipif(not _corpus_files(), reason="the shared corpus is not there")
def test_every_corpus_finding_is_a_candidate() -> None:
    for root, path in _corpus_files():
        rel = path.relative_to(root).as_posix()
        data = path.read_bytes()
        found = {f.code for f in analyze(rel, data).findings}
        python = file_kind(rel, data) == "python"
        candidates = prefilter.candidates(data, python=python)[0]
        if rel.endswith(".ipynb"):
            continue  # a notebook's cells are prefiltered one by one
        assert found <= candidates, (rel, found - candidates)


def test_this_repository_files_pass_their_rules_prefilters() -> None:
    """Over every tracked file: whatever a rule reports, its prefilter let through."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=False).stdout.split()
    for name in tracked:
        path = ROOT / name
        if not path.is_file() or name.endswith(".ipynb"):
            continue
        data = path.read_bytes()
        found = {f.code for f in analyze(name, data).findings}
        assert found <= prefilter.candidates(data, python=file_kind(name, data) == "python")[0], name


def test_files_without_candidates_never_load_the_parser_modules(tmp_path: Path) -> None:
    target = tmp_path / "bot.py"
    target.write_text('import binance\nclient = binance.Client()\nprint(client.ping())\n')
    probe = ("import sys\nfrom bkm_guard.static.pipeline import analyze\n"
             f"analyze('bot.py', open({str(target)!r}, 'rb').read())\n"
             "print('bkm_guard.static.python.facts' in sys.modules, 'libcst' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_a_line_of_hashes_after_a_literal_is_no_chain() -> None:
    """A comment of 60 `#` after a literal made the chain regex backtrack exponentially."""
    source = 'import binance\nx = "abc"  ' + "#" * 60 + "\ny = 1\n"
    assert not codes_of(source)
