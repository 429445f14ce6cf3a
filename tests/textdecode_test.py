"""Text is decoded before it is scanned: UTF-16/UTF-32 (BOM or NUL pattern), a late NUL byte."""

from __future__ import annotations

import codecs
import os
import struct
from pathlib import Path

import pytest

from bkm_guard.cli.scan import main
from bkm_guard.static import textdecode
from bkm_guard.static.pipeline import analyze
from tests.conftest import make_key

ENV_TEXT = "BINANCE_API_KEY={key}\r\nBINANCE_API_SECRET={secret}\r\n"


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-32-le", codecs.BOM_UTF32_LE),
        ("utf-32-be", codecs.BOM_UTF32_BE),
        ("utf-16-le", b""),  # PowerShell's `>` and Notepad without a BOM
        ("utf-16-be", b""),
        ("utf-32-le", b""),
    ],
)
def test_wide_text_is_decoded_and_scanned(encoding: str, bom: bytes) -> None:
    text = ENV_TEXT.format(key=make_key(), secret=make_key())
    data = bom + text.encode(encoding)
    assert not textdecode.is_binary(data)
    assert textdecode.wide_encoding(data) == encoding
    report = analyze("windows.env", data)
    assert [(f.line, f.column, f.code) for f in report.findings] == [(1, 17, "BKM004"), (2, 20, "BKM004")]


def test_binary_data_stays_binary() -> None:
    assert textdecode.is_binary(os.urandom(4096) + b"\x00")
    # small integers packed as 16-bit words have the NUL layout of UTF-16 but are not text
    assert textdecode.is_binary(struct.pack("<2000H", *range(2000)))
    assert not textdecode.is_binary(b"plain ascii\n" * 1000)


def test_nul_after_the_first_8_kib_does_not_drop_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = make_key()
    log = f"2026-11-30 08:00:01 INFO start BINANCE_API_KEY={key}\n"
    log += "2026-11-30 08:00:02 INFO tick ok\n" * 300
    log += "2026-11-30 08:10:00 INFO corrupted \x00 line\n" + "2026-11-30 08:10:01 INFO tick ok\n" * 5
    assert log.index("\x00") > textdecode.SNIFF
    (tmp_path / "bot.log").write_bytes(log.encode())
    code = main([str(tmp_path), "--format", "json"])
    out, _ = capsys.readouterr()
    assert code == 1
    assert '"line": 1' in out
    assert "BKM004" in out
    assert key not in out


def test_utf16_file_through_the_scan_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key, secret = make_key(), make_key()
    text = "# exported from the desk PC\r\n" + ENV_TEXT.format(key=key, secret=secret)
    (tmp_path / "windows.env").write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    code = main([str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 1
    assert [line.split(": ")[0] for line in out.splitlines()] == ["windows.env:2:17", "windows.env:3:20"]
    assert key not in out + err
    assert secret not in out + err


def test_utf16_fix_keeps_the_encoding(tmp_path: Path) -> None:
    from bkm_guard.static.pipeline import fix

    text = 'STREAM = "ws://stream.binance.com:9443/ws"\r\n'  # bkm: ignore[BKM101] (the fix's input)
    data = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    result = fix("notes.txt", data)
    assert result.data == codecs.BOM_UTF16_LE + text.replace("ws:", "wss:").encode("utf-16-le")
