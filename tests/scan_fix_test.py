"""`--fix`, `--unsafe-fixes` and `--diff` through the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_key

from bkm_guard.cli.scan import main

HTTP, WS = "http" + "://", "ws" + "://"  # built here so this file holds no insecure URL


def scan(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write_bot(root: Path) -> Path:
    bot = root / "bot.py"
    bot.write_text(
        "from binance.client import Client\n\n"
        f'BASE_URL = "{HTTP}api.binance.com"\n'
        f'STREAM = "{WS}stream.binance.com:9443/ws"\n'
    )
    return bot


def test_fix_rewrites_then_a_rescan_is_clean_and_a_second_fix_is_a_no_op(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = write_bot(tmp_path)
    code, _, err = scan(capsys, str(tmp_path), "--fix")
    assert code == 1  # files changed: a pre-commit hook must fail so the user re-stages
    assert "fixed bot.py" in err
    assert "; fixed 1 file in" in err
    text = bot.read_text()
    assert "https://api.binance.com" in text
    assert "wss://stream.binance.com" in text
    assert scan(capsys, str(tmp_path))[0] == 0
    before = bot.read_bytes()
    assert scan(capsys, str(tmp_path), "--fix")[0] == 0
    assert bot.read_bytes() == before


def test_diff_shows_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bot = write_bot(tmp_path)
    before = bot.read_bytes()
    code, out, err = scan(capsys, str(tmp_path), "--diff")
    assert code == 1
    assert "; fixes shown for 1 file in" in err  # not "fixed": nothing was written
    assert f'-BASE_URL = "{HTTP}api.binance.com"' in out
    assert '+BASE_URL = "https://api.binance.com"' in out
    assert bot.read_bytes() == before


def test_unsafe_fixes_move_keys_to_the_environment_and_never_print_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, secret = make_key(), make_key()
    bot = tmp_path / "bot.py"
    bot.write_text(f'from binance.client import Client\n\nclient = Client("{key}", "{secret}")\n')
    code, out, err = scan(capsys, str(tmp_path), "--unsafe-fixes", "--diff")
    assert code == 1
    assert key not in out + err
    assert secret not in out + err
    assert key in bot.read_text()  # --diff wrote nothing
    code, out, err = scan(capsys, str(tmp_path), "--unsafe-fixes")
    assert code == 1
    assert key not in out + err
    assert secret not in out + err
    assert "rotate" in err.lower()
    text = bot.read_text()
    assert key not in text
    assert secret not in text
    assert "os.environ" in text
    assert scan(capsys, str(tmp_path))[0] == 0


def test_safe_fix_leaves_keys_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = make_key()
    bot = tmp_path / "bot.py"
    bot.write_text(f'from binance.client import Client\n\nclient = Client("{key}", "x")\n')
    code, out, err = scan(capsys, str(tmp_path), "--fix")
    assert code == 1  # the key is still there
    assert "BKM001" in out
    assert key in bot.read_text()
    assert key not in out + err
