"""Bytes to text before anything is scanned: which files are text, and in which encoding.

A BOM decides the encoding (UTF-8, UTF-16 or UTF-32, either byte order). Without one, UTF-16
and UTF-32 text still has a plain pattern: ASCII characters with NUL bytes in fixed places
(Windows Notepad's "Unicode", PowerShell's `>` redirection, `reg export`). Only NUL bytes in
the first `SNIFF` bytes that are not that pattern make a file binary, so a log with one
corrupted line further down is still read as text.
"""

from __future__ import annotations

import codecs
import dataclasses
from typing import Final

#: Bytes looked at to tell text from binary (git looks at the first 8000).
SNIFF: Final = 8192

# UTF-32 first: its little-endian BOM starts with UTF-16's
_BOMS: Final = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_MIN_PATTERN_BYTES: Final = 8
_PRINTABLE_SHARE: Final = 0.95


@dataclasses.dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str
    bom: bytes
    exact: bool  # encoding the text again gives the same bytes (a fix may rewrite the file)


def bom_encoding(data: bytes) -> tuple[str, bytes] | None:
    """(encoding, BOM) when the data starts with a Unicode byte order mark."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding, bom
    return None


def _nul_pattern(head: bytes) -> str | None:
    """The wide encoding whose NUL layout the head has, without a BOM: mostly-ASCII UTF-16 has a
    NUL in every other byte, UTF-32 in three bytes of four; binary data has NULs anywhere."""
    size = len(head) - len(head) % 4
    if size < _MIN_PATTERN_BYTES:
        return None
    head = head[:size]
    by_lane = [head[lane::4].count(0) for lane in range(4)]
    quarter = size // 4
    # UTF-32: the two high bytes of a BMP character are NUL, the next one nearly always is
    for encoding, high, next_high, low in (("utf-32-le", (2, 3), 1, 0), ("utf-32-be", (0, 1), 2, 3)):
        if (
            all(by_lane[lane] == quarter for lane in high)
            and by_lane[next_high] >= quarter * 0.6
            and by_lane[low] <= quarter * 0.02
        ):
            return encoding
    even, odd = by_lane[0] + by_lane[2], by_lane[1] + by_lane[3]
    pairs = size // 2
    if odd >= pairs * 0.6 and even <= odd * 0.02:
        return "utf-16-le"
    if even >= pairs * 0.6 and odd <= even * 0.02:
        return "utf-16-be"
    return None


def _looks_like_text(text: str) -> bool:
    if not text:
        return True
    printable = sum(1 for char in text if char.isprintable() or char in "\t\n\r\f\v")
    return printable >= len(text) * _PRINTABLE_SHARE


def wide_encoding(data: bytes) -> str | None:
    """The encoding: "utf-16-le", "utf-16-be", "utf-32-le" or "utf-32-be" when the data is text in one of
    them (by BOM or by NUL pattern), None otherwise (UTF-8, another 8-bit encoding, or binary)."""
    found = bom_encoding(data)
    if found is not None:
        return None if found[0] == "utf-8" else found[0]
    head = data[:SNIFF]
    if b"\x00" not in head:
        return None
    encoding = _nul_pattern(head)
    if encoding is None:
        return None
    unit = 4 if encoding.startswith("utf-32") else 2
    sample = head[: len(head) - len(head) % unit].decode(encoding, "replace")
    return encoding if _looks_like_text(sample) else None


def is_binary(data: bytes) -> bool:
    """A NUL byte in the first `SNIFF` bytes, unless they are UTF-16 or UTF-32 text."""
    head = data[:SNIFF]
    return b"\x00" in head and wide_encoding(head) is None


def decode_wide(data: bytes, encoding: str) -> Decoded:
    """Wide text decoded; an odd trailing byte or a broken surrogate becomes U+FFFD (and then the
    file is not rewritten by a fix)."""
    found = bom_encoding(data)
    bom = found[1] if found is not None and found[0] == encoding else b""
    body = data[len(bom) :]
    try:
        return Decoded(body.decode(encoding), encoding, bom, True)
    except UnicodeDecodeError:
        return Decoded(body.decode(encoding, "replace"), encoding, bom, False)


def decode_unicode(data: bytes) -> Decoded | None:
    """Text in a Unicode encoding (BOM or UTF-16/32 pattern, else UTF-8), or None when the data
    is not valid UTF-8 and has no BOM or wide pattern (the caller picks a fallback)."""
    wide = wide_encoding(data)
    if wide is not None:
        return decode_wide(data, wide)
    bom = codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""
    try:
        return Decoded(data[len(bom) :].decode("utf-8"), "utf-8", bom, True)
    except UnicodeDecodeError:
        return None


def as_utf8(data: bytes) -> bytes:
    """The same text as UTF-8 bytes when the data is UTF-16/32 (for byte-level prefilters),
    the data itself otherwise."""
    wide = wide_encoding(data)
    if wide is None:
        return data
    return decode_wide(data, wide).text.encode("utf-8", "surrogatepass")
