"""analyze() on every kind of input: file kinds, bad bytes, suppressions, options, no leaks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import make_ed25519_pem, make_hex, make_key
from hypothesis import given, settings
from hypothesis import strategies as st

from bkm_guard.static.options import Options as AnalyzeOptions
from bkm_guard.static.pipeline import FileReport, analyze, file_kind


def _codes(report: FileReport) -> set[tuple[int, str]]:
    return {(f.line, f.code) for f in report.findings}


def _shown(report: FileReport) -> str:
    parts = [" ".join(str(getattr(f, name)) for name in f.__slots__) for f in report.findings]
    parts += [f"{n.path} {n.reason} {n.kind}" for n in report.notices]
    return "\n".join(parts)


@pytest.mark.parametrize(("path", "head", "kind"), [
    ("bot.py", b"", "python"), ("stubs/x.pyi", b"", "python"), ("gui.pyw", b"", "python"),
    ("bin/run", b"#!/usr/bin/env python3\n", "python"), ("bin/run", b"#!/bin/sh\n", "text"),
    ("nb/research.ipynb", b"{}", "notebook"), (".env", b"", "text"), ("keys/id_ed25519", b"", "text"),
])
def test_file_kind(path: str, head: bytes, kind: str) -> None:
    assert file_kind(path, head) == kind


@pytest.mark.parametrize(("name", "data", "reason"), [
    ("nul.py", b"API_KEY = '{key}'\x00\x00", "binary"),
    ("py2.py", b"import binance\nprint 'key', '{key}'\n", "syntax error at line 2"),
    ("broken.py", b"from binance.client import Client\ndef f(:\n  k = '{key}'\n", "syntax error"),
])
def test_bad_input_gives_a_notice_never_an_exception(name: str, data: bytes, reason: str,
                                                     api_key: str) -> None:
    report = analyze(name, data.replace(b"{key}", api_key.encode()))
    assert any(reason in notice.reason for notice in report.notices), report.notices
    assert api_key[4:12] not in _shown(report)


@pytest.mark.parametrize(("name", "data"), [
    ("latin.py", b"# caf\xe9 (cp1252, no coding line)\nfrom binance.client import Client\n"
                 b"API_KEY = '{key}'\n"),
    ("bom.py", b"\xef\xbb\xbf# caf\xe9\nfrom binance.client import Client\nAPI_KEY = '{key}'\n"),
    ("bom.env", b"\xef\xbb\xbf# caf\xe9\nnothing here\nBINANCE_API_KEY={key}\n"),
])
def test_a_stray_non_utf8_byte_does_not_hide_a_key(name: str, data: bytes, api_key: str) -> None:
    report = analyze(name, data.replace(b"{key}", api_key.encode()))
    assert 3 in {line for line, _ in _codes(report)}, report.notices
    assert api_key[4:12] not in _shown(report)


def test_python_that_does_not_parse_still_gets_the_text_rules(api_key: str) -> None:
    report = analyze("legacy.py", f"import binance\nprint 'x'\nAPI_KEY = '{api_key}'\n".encode())
    assert (3, "BKM001") in _codes(report)
    assert report.notices[0].kind == "skipped"


def test_huge_file_is_skipped_with_a_notice() -> None:
    report = analyze("dump.json", b"binance " * (3 * 1024 * 1024))
    assert report.notices
    assert "too large" in report.notices[0].reason


def test_long_lines_and_deep_nesting_do_not_crash(api_key: str) -> None:
    deep = "import binance\nx = " + "(" * 2000 + "1" + ")" * 2000 + f"\nAPI_KEY = '{api_key}'\n"
    report = analyze("deep.py", deep.encode())
    assert (3, "BKM001") in _codes(report) or report.notices
    minified = ("var a=1;" * 200_000 + f"var apiKey='{api_key}';").encode()
    assert (1, "BKM004") in _codes(analyze("app.min.js", minified))


def test_suppressions(api_key: str, api_secret: str) -> None:
    source = (f"from binance.client import Client\n"
              f"A = '{api_key}'  # bkm: ignore[BKM001]\n"
              f"B_SECRET = '{api_secret}'  # bkm: ignore[BKM001]\n"
              f"c = Client('{api_key[::-1]}', '{api_secret[::-1]}')  # bkm: ignore[BKM001, BKM002]\n"
              f"KEY2 = '{api_key[1:] + 'Q'}'  # pragma: allowlist secret\n"
              f"URL = 'http://api.binance.com'  # bkm: ignore\n"
              f"# bkm: ignore[BKM003]\nPEM = '''{make_ed25519_pem()}'''\n")
    assert _codes(analyze("s.py", source.encode())) == {(3, "BKM002")}


def test_comment_above_a_one_line_string_does_not_suppress(api_key: str) -> None:
    source = f"import binance\n# bkm: ignore[BKM001]\nAPI_KEY = '{api_key}'\n"
    assert _codes(analyze("s.py", source.encode())) == {(3, "BKM001")}


def test_text_file_suppression(api_key: str) -> None:
    data = f"BINANCE_API_KEY={api_key}  # bkm: ignore[BKM004]\nOTHER_KEY={api_key[::-1]}\n"
    assert _codes(analyze(".env", data.encode())) == {(2, "BKM004")}
    assert _codes(analyze("a.js", f"const apiKey = '{api_key}' // bkm: ignore\n".encode())) == set()


def test_select_and_ignore(api_key: str) -> None:
    source = (f"import requests\nAPI_KEY = '{api_key}'\n"
              "BASE = 'http://api.binance.com'\n").encode()  # bkm: ignore[BKM101]
    assert _codes(analyze("x.py", source)) == {(2, "BKM001"), (3, "BKM101")}
    assert _codes(analyze("x.py", source, AnalyzeOptions(select=frozenset({"BKM1"})))) == {(3, "BKM101")}
    assert _codes(analyze("x.py", source, AnalyzeOptions(ignore=frozenset({"BKM101"})))) == {(2, "BKM001")}


def test_extra_client_and_key_names(api_key: str) -> None:
    source = f"from mybot.exchange import Broker\nb = Broker('{make_hex()}', None)\nTOKEN = '{make_hex()}'\n"
    assert _codes(analyze("x.py", source.encode())) == set()
    options = AnalyzeOptions(extra_client_names=("mybot.exchange.Broker",), extra_key_names=("TOKEN",))
    assert _codes(analyze("x.py", source.encode(), options)) == {(2, "BKM001"), (3, "BKM001")}
    del api_key


def test_notebook_maps_cell_findings_to_json_lines(api_key: str) -> None:
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# notes\n"]},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": [
            "%pip install python-binance\n", "import os\n", "from binance.client import Client\n",
            "api_secret = os.environ['BINANCE_API_SECRET']\n", f"client = Client('{api_key}', api_secret)\n",
            "print(api_secret)\n", "import requests\n",
            "requests.get('https://api.binance.com/api/v3/time', verify=False)",
        ]},
    ]
    text = json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)
    lines = text.splitlines()
    line_of = {needle: next(i for i, line in enumerate(lines, 1) if needle in line)
               for needle in ("client = Client", "print(api_secret)", "verify=False")}
    report = analyze("nb/x.ipynb", text.encode())
    assert _codes(report) == {(line_of["client = Client"], "BKM004"),
                              (line_of["print(api_secret)"], "BKM201"),
                              (line_of["verify=False"], "BKM102")}


def test_files_without_candidates_never_load_libcst(tmp_path: object) -> None:
    code = ("import sys\nfrom bkm_guard.static.pipeline import analyze\n"
            "r = analyze('a.py', b'import os\\nprint(os.getcwd())\\n' * 1000)\n"
            "r2 = analyze('README.md', b'# hello\\n' * 1000)\n"
            "assert not r.findings and not r2.findings\n"
            "print('libcst' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"


def test_planted_secrets_never_appear_in_any_field() -> None:
    key, secret, pem = make_key(), make_key(), make_ed25519_pem()
    body = "".join(pem.splitlines()[1:-1])
    source = (f"import logging, os\nfrom binance.client import Client\nlog = logging.getLogger('x')\n"
              f"API_KEY = '{key}'\nAPI_SECRET = os.getenv('BINANCE_API_SECRET', '{secret}')\n"
              f"client = Client(API_KEY, API_SECRET)\nlog.info('k %s', API_KEY)\n"
              f"# old: {secret}\nPEM = '''{pem}'''\n")
    for path, data in (("bot.py", source), (".env", f"K={key}\nS={secret}\n{pem}"), ("n.ipynb", source)):
        shown = _shown(analyze(path, data.encode()))
        assert shown
        for value in (key, secret, body):
            assert not any(value[i:i + 8] in shown for i in range(len(value) - 7)), path


_PY_FRAGMENTS = st.sampled_from([
    "import binance\n", "from binance.client import Client as C\n", "C(", ")", "'", '"', '"""', "f'{",
    "}'", "api_key = ", "verify=False", "print(api_key)\n", "# bkm: ignore\n", "\\", "\n", "    ",
    "lambda x: x", "'http://api.binance.com'",  # bkm: ignore[BKM101]
    "b'", "(", "[", "{", "raise ValueError(api_secret)\n",
    "hmac.new(", "os.getenv('BINANCE_API_KEY', ", ":=", "async def f():\n", "\t", "\x0c", "\r\n",
])


@settings(max_examples=150, deadline=None)
@given(st.lists(_PY_FRAGMENTS, max_size=30), st.text(max_size=40))
def test_arbitrary_python_never_crashes(fragments: list[str], noise: str) -> None:
    source = "".join(fragments) + noise
    report = analyze("fuzz.py", source.encode("utf-8", "surrogatepass"))
    assert not [n for n in report.notices if n.kind == "error"], report.notices


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    for path in ("x.py", "x.ipynb", "x.json", "id_rsa"):
        report = analyze(path, b"binance " + data)
        assert not [n for n in report.notices if n.kind == "error"], report.notices


def test_a_malformed_notebook_cell_keeps_the_notebooks_findings(api_key: str) -> None:
    notebook = json.dumps({"cells": [
        {"cell_type": "markdown", "source": [f"binance key {api_key}"]},
        {"cell_type": "code", "source": None},
        {"cell_type": "code", "source": 5},
    ]})
    report = analyze("nb.ipynb", notebook.encode())
    assert report.findings
    assert not [n for n in report.notices if n.kind == "error"]


def test_a_minified_line_of_many_digests_is_prefiltered_in_linear_time() -> None:
    # thousands of sha256 digests on one line (a lockfile, a manifest): each used to re-read the
    # whole line before it, so 10,000 of them took minutes
    import hashlib

    from bkm_guard.static import prefilter

    line = json.dumps({f"t{i}": "x " + hashlib.sha256(str(i).encode()).hexdigest() for i in range(10_000)})
    assert prefilter.candidates(line.encode(), python=False)[0] == frozenset()
    flood = b'import binance\nprint("' + b"api_secret " * 20_000 + b'")\n'
    assert "BKM201" not in prefilter.candidates(flood, python=True)[0]
