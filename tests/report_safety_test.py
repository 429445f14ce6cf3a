"""What a report shows is safe: no piece of a key in any format, no control character from a file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bkm_guard.cli.scan import main
from tests.conftest import make_key

# Each case writes a key where the text before a value (the "name" a message quotes) is itself
# a credential.
CASES = {
    "accounts.yaml": "binance_accounts:\n  {k}: {s}\n",
    "pair.env": "BINANCE_CREDENTIALS={k}:{s}\n",
    "notes.txt": "binance user stream via wss://{k}:{s}@ws-proxy.internal.example/stream\n",
    "replay.sh": "# binance\ncurl -u {k}:{s} https://api.binance.com/api/v3/account\n",
    "keys.ini": "[binance]\n{k} = {s}\n",
    "accounts.json": '{{"binance": {{"{k}": "{s}"}}}}\n',
    "subaccounts.py": 'import ccxt\n\nACCOUNTS = {{\n    "{k}": "{s}",\n}}\n',
}


def windows(value: str) -> set[str]:
    return {value[i : i + 16] for i in range(len(value) - 15)}


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_no_piece_of_a_key_in_any_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    planted: list[str] = []
    for name, template in CASES.items():
        key, secret = make_key(), make_key()
        planted += [key, secret]
        (tmp_path / name).write_text(template.format(k=key, s=secret))
    code = main([str(tmp_path), "--format", fmt])
    out, err = capsys.readouterr()
    assert code == 1
    shown = out + err
    if fmt != "text":
        shown += json.dumps(json.loads(out), ensure_ascii=False)
    leaked = [value[:4] for value in planted if any(piece in shown for piece in windows(value))]
    assert leaked == []
    reported = {line.split(":")[0] for line in out.splitlines()} if fmt == "text" else set()
    if fmt == "text":
        assert reported == set(CASES)


def test_control_characters_in_file_names_are_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = make_key()
    forged = "x.env\napp.py:1:1: BKM001 forged"
    (tmp_path / forged).write_text(f"BINANCE_API_KEY={key}\n")
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    os.symlink(outside, tmp_path / "link\x1b[2Jclear")  # a notice names it
    code = main([str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 1
    assert out.splitlines() == [line for line in out.splitlines() if line.startswith("x.env\\napp.py")]
    assert len(out.splitlines()) == 1
    assert "\x1b" not in err
    assert "link\\033[2Jclear" in err


def test_json_keeps_the_exact_file_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = "tab\there.env"
    (tmp_path / name).write_text(f"BINANCE_API_KEY={make_key()}\n")
    main([str(tmp_path), "--format", "json"])
    out, _ = capsys.readouterr()
    assert [f["path"] for f in json.loads(out)["findings"]] == [name]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\nb", "a\\nb"),
        ("a\rb\tc", "a\\rb\\tc"),
        ("x\x1b[31mred", "x\\033[31mred"),
        ("\x9bC1", "\\233C1"),
        ("evil\u202etxt.py", "evil\\u202etxt.py"),  # a bidi override reorders what a terminal shows
        ("plain/ü.py", "plain/ü.py"),
    ],
)
def test_printable_escapes_like_quotepath(raw: str, shown: str) -> None:
    from bkm_guard.static.result import printable

    assert printable(raw) == shown


def test_names_that_could_be_keys_are_masked() -> None:
    from bkm_guard.masking import shown_name

    key = make_key()
    assert shown_name(key) == f"{key[:4]}…(64 chars)"
    for name in ("BINANCE_API_SECRET", "binanceApiSecretKeyProduction", "0024_api_key_verification.sql"):
        assert shown_name(name) == name


def test_comment_urls_in_a_file_that_does_not_tokenize() -> None:
    from bkm_guard.static.python.comments import insecure_urls_in_comments

    scheme = "".join(("http", "://"))  # so that this file holds no insecure URL itself
    source = "def broken(:\n    # see " + scheme + 'api.binance.com/api/v3/time\n    x = "unterminated\n'
    assert [m.line for m in insecure_urls_in_comments(source)] == [2]
