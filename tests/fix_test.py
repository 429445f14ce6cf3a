"""fix(): safe and unsafe fixes over the corpus and small cases; a fixed file is clean and stable."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bkm_guard.static.pipeline import analyze, fix

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "cases"
_FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file()) if CORPUS.is_dir() else []


def _rel(path: Path) -> str:
    return path.relative_to(CORPUS).as_posix()


@pytest.mark.skipif(not _FILES, reason="the shared corpus is not there")
@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
def test_fix_over_the_corpus_leaves_nothing_fixable_and_is_stable(unsafe: bool) -> None:
    allowed = {"safe", "unsafe"} if unsafe else {"safe"}
    changed = 0
    for path in _FILES:
        rel = _rel(path)
        data = path.read_bytes()
        before = analyze(rel, data).findings
        result = fix(rel, data, unsafe=unsafe)
        if result.data is None:
            assert not [f for f in before if f.fixable in allowed], rel
            continue
        changed += 1
        after = analyze(rel, result.data).findings
        assert not [f for f in after if f.fixable in allowed], (rel, after)
        # fixing only removes findings, it never adds one
        assert {(f.code, f.fingerprint) for f in after} <= {(f.code, f.fingerprint) for f in before}, rel
        assert fix(rel, result.data, unsafe=unsafe).data is None, rel
        if rel.endswith(".py"):
            cst.parse_module(result.data.decode())
    assert changed >= (30 if unsafe else 15)


@pytest.mark.parametrize(("source", "expected"), [
    ('import requests\nrequests.get("https://api.binance.com/x", verify=False, timeout=5)\n',
     'import requests\nrequests.get("https://api.binance.com/x", timeout=5)\n'),
    ('import requests\nr = requests.get(\n    "https://api.binance.com/x",\n'
     '    timeout=5,\n    verify=False,\n)\n',
     'import requests\nr = requests.get(\n    "https://api.binance.com/x",\n    timeout=5,\n)\n'),
    ('from binance.client import Client\nc = Client(None, None)\nif True:\n    c.session.verify = False\n',
     'from binance.client import Client\nc = Client(None, None)\nif True:\n    pass\n'),
    ('URLS = ["{h}://api.binance.com", "{h}://api.binance.com/x"]\n',
     'URLS = ["https://api.binance.com", "https://api.binance.com/x"]\n'),
    ('U = "{h}://api.binance.com {h}://fapi.binance.com"\n',
     'U = "https://api.binance.com https://fapi.binance.com"\n'),
])
def test_safe_fixes(source: str, expected: str) -> None:
    data = source.replace("{h}", "http").encode()
    result = fix("bot.py", data)
    assert result.data is not None
    assert result.data.decode() == expected
    assert not result.warnings


def test_text_file_fix_rewrites_only_the_scheme() -> None:
    data = ("BASE=" + "http" + "://api.binance.com\n"  # bkm: ignore[BKM101]
            "WS=ws" + "://stream.binance.com:9443/ws\n")  # bkm: ignore[BKM101]
    result = fix(".env", data.encode())
    assert result.data == b"BASE=https://api.binance.com\nWS=wss://stream.binance.com:9443/ws\n"


def test_unsafe_fix_keeps_docstring_and_future_import_first(api_key: str, api_secret: str) -> None:
    source = (f'"""Bot."""\nfrom __future__ import annotations\n\n# keys\n'
              f'from binance.client import Client\n\n'
              f'client = Client("{api_key}", "{api_secret}")\n')
    assert fix("bot.py", source.encode()).data is None  # unsafe fixes only on request
    result = fix("bot.py", source.encode(), unsafe=True)
    assert result.data is not None
    assert result.data.decode() == (
        '"""Bot."""\nfrom __future__ import annotations\n\n# keys\nimport os\n'
        'from binance.client import Client\n\n'
        'client = Client(os.environ["BINANCE_API_KEY"], os.environ["BINANCE_API_SECRET"])\n')
    assert len(result.warnings) == 2
    assert all("git history" in w and "rotate" in w for w in result.warnings)
    assert not any(api_key[:8] in w or api_secret[:8] in w for w in result.warnings)


def test_unsafe_fix_names_from_context_and_distinct_values(api_key: str, api_secret: str) -> None:
    other = api_key[::-1]
    source = (f'import os\nTESTNET_API_KEY = "{api_key}"\nLIVE = dict(api_key="{other}")\n'
              f'S = os.getenv("MY_BINANCE_SECRET", "{api_secret}")\n')
    result = fix("cfg.py", source.encode(), unsafe=True)
    assert result.data is not None
    assert result.data.decode() == (
        'import os\nTESTNET_API_KEY = os.environ["BINANCE_TESTNET_API_KEY"]\n'
        'LIVE = dict(api_key=os.environ["BINANCE_API_KEY"])\nS = os.environ["MY_BINANCE_SECRET"]\n')


def test_fix_refuses_files_it_cannot_decode() -> None:
    assert fix("bot.py", b"\xff\xfe\x00bad").data is None


@settings(max_examples=40, deadline=None)
@given(scheme=st.sampled_from(["http", "ws"]),
       host=st.sampled_from(["api.binance.com", "fstream.binance.com", "testnet.binance.vision",
                             "api.binance.us"]),
       path=st.text(alphabet="abcdefghijklmnop/_?=&", max_size=20),
       form=st.sampled_from(["'{s}://{h}/{p}'", "f'{s}://{h}/{p}{{x}}'", "'{s}://' + '{h}/{p}'",
                             "'{s}://' '{h}/{p}'", "b'{s}://{h}/{p}'"]))
def test_fixed_url_forms_rescan_clean(scheme: str, host: str, path: str, form: str) -> None:
    source = f"x = 1\nURL = {form.format(s=scheme, h=host, p=path)}\n"
    cst.parse_module(source)
    assert [f for f in analyze("gen.py", source.encode()).findings if f.code == "BKM101"]
    result = fix("gen.py", source.encode())
    assert result.data is not None
    assert not [f for f in analyze("gen.py", result.data).findings if f.code == "BKM101"]
    assert fix("gen.py", result.data).data is None
