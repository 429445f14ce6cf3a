"""Python sites the analysis must follow: URLs through constants, comments, keys as dict keys,
literals continued by a backslash. Run through the scan command, as users run it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bkm_guard.cli.scan import main
from tests.conftest import make_key

HTTP, WS = "http" + "://", "ws" + "://"  # so that this file holds no insecure URL itself


def scan(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, source: str) -> list[tuple[int, str]]:
    (tmp_path / name).write_text(source)
    main([str(tmp_path / name), "--format", "json"])
    out, _ = capsys.readouterr()
    return sorted((f["line"], f["code"]) for f in json.loads(out)["findings"])


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (  # module constants joined with +
            'import requests\nURL = "https://api.binance.com"\nMETHOD = "/api/v3/depth"\n\n'
            "def depth():\n    return requests.get(URL + METHOD, timeout=10, verify=False)\n",
            [(6, "BKM102")],
        ),
        (  # a bare host in an f-string, inside a function
            'import requests\nHOST = "fapi.binance.com"\n\ndef get(path):\n    base = f"https://{HOST}"\n'
            "    return requests.get(base + path, timeout=10, verify=False)\n",
            [(6, "BKM102")],
        ),
        (  # a class attribute
            'import requests\n\nclass Api:\n    BASE = "https://api.binance.com"\n\n'
            "    def get(self, path):\n"
            "        return requests.get(self.BASE + path, timeout=10, verify=False)\n",
            [(7, "BKM102")],
        ),
        (  # not Binance: verify=False to another host is not ours to report
            'import requests\nURL = "https://intranet.example"\n\n'
            'def ping():\n    return requests.get(URL + "/ping", timeout=10, verify=False)\n',
            [],
        ),
    ],
)
def test_tls_off_on_a_url_built_from_constants(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, expected: list[tuple[int, str]]
) -> None:
    assert scan(tmp_path, capsys, "bot.py", source) == expected


def test_insecure_urls_in_comments_templates_and_docstrings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = (
        "import requests\n\n"
        'API_URL = "HTTP:api.binance.{}/api"\n'
        'FSTREAM_URL = "WS:fstream.binance.{}/"\n'
        'OPTIONS_TESTNET_URL = "https://testnet.binanceops.{}/eapi"\n\n'
        "def depth(tld):\n"
        "    # in a browser: HTTP:api.binance.com/api/v3/depth?symbol=BTCUSDT\n"
        '    r = requests.get("https://api.binance.com/api/v3/depth", timeout=10)  # WS:stream.binance.com\n'
        '    """Stream: WS:stream.binance.com:9443/ws"""\n'
        '    return f"WS:fstream.binance.{tld}/ws"\n'
    ).replace("HTTP:", HTTP).replace("WS:", WS)
    assert scan(tmp_path, capsys, "client.py", source) == [
        (3, "BKM101"),
        (4, "BKM101"),
        (8, "BKM101"),
        (9, "BKM101"),
        (10, "BKM101"),
        (11, "BKM101"),
    ]


def test_a_dict_from_key_to_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pairs = [(make_key(), make_key()) for _ in range(2)]
    body = "".join(f'    "{k}": "{s}",\n' for k, s in pairs)
    source = f"import ccxt\n\nACCOUNTS = {{\n{body}}}\n"
    found = scan(tmp_path, capsys, "accounts.py", source)
    assert found == [(4, "BKM001"), (4, "BKM002"), (5, "BKM001"), (5, "BKM002")]


@pytest.mark.parametrize("name", ["settings.py", "settings.js", "settings.sh"])
def test_a_key_continued_by_a_backslash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    secret = make_key()
    comment = "#" if name != "settings.js" else "//"
    source = f'{comment} binance\nAPI_SECRET="{secret[:30]}\\\n{secret[30:]}"\n'
    code = "BKM002" if name.endswith(".py") else "BKM004"
    assert scan(tmp_path, capsys, name, source) == [(2, code)]


def test_a_comment_url_is_fixed_like_a_string() -> None:
    from bkm_guard.static.pipeline import fix

    source = (f"import requests\n\n# docs: {HTTP}api.binance.com/api/v3/time"
              f"  (and {WS}stream.binance.com:9443)\nx = 1\n")
    result = fix("bot.py", source.encode())
    assert result.data == source.replace(HTTP, "https://").replace(WS, "wss://").encode()


def test_insecure_scheme_with_a_host_from_a_constant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    filler = "".join(f"# note {i}: nothing about the exchange here\n" for i in range(20))
    source = (
        'import requests\nHOST = "api.binance.com"\nSTREAM = "stream.binance.com:9443"\n' + filler
        + 'def get(path):\n    return requests.get(f"HTTP:{HOST}/api/v3/" + path, timeout=10)\n'
        + 'WS_URL = "WS:" + STREAM + "/ws"\n'
        + 'LOCAL = "HTTP:" + "localhost:8080"\n'
    ).replace("HTTP:", HTTP).replace("WS:", WS)
    assert scan(tmp_path, capsys, "bot.py", source) == [(25, "BKM101"), (26, "BKM101")]
