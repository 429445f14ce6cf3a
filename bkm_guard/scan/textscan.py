"""The recognizer alone, over bytes of any size in bounded memory: the path for huge inputs.

Files over the analysis size cap (generated code, minified bundles, a 50 MB single-line
dump) are not parsed; they are read in overlapping windows and every window the byte
prefilter lets through goes to the recognizer. Each match is kept by exactly one window,
the one where it has at least `_CONTEXT` bytes of context on both sides, so boundaries
neither cut a key in two nor make a longer run look like a 64-character one.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bkm_guard import recognizer
from bkm_guard.findings import Finding

CORE = 1 << 20  # bytes each window owns
_CONTEXT = 16 << 10  # bytes of context on each side (longer than any PEM private key)
_CONTINUATION = bytes(range(0x80, 0xC0))
_SUPPRESS_RE = re.compile(r"#\s*bkm:\s*ignore(?:\[(?P<codes>[A-Z0-9,\s]*)\])?|pragma:\s*allowlist[ -]secret")

_MESSAGES = {
    "BKM001": "hardcoded Binance API key {masked}",
    "BKM002": "hardcoded Binance API secret {masked}",
    "BKM003": "private key ({label}) in the source",
    "BKM004": "Binance-shaped credential {masked} in a text file",
    "BKM101": "insecure Binance endpoint {label}: use https:// or wss://",
}

ReadAt = Callable[[int, int], bytes]


def _align(read_at: ReadAt, offset: int, size: int) -> int:
    """Move `offset` forward to a UTF-8 character start so no window splits a character."""
    if offset <= 0 or offset >= size:
        return max(0, min(offset, size))
    head = read_at(offset, 4)
    step = 0
    while step < len(head) and head[step] in _CONTINUATION:
        step += 1
    return offset + step


def _chars(data: bytes) -> int:
    return len(data.translate(None, _CONTINUATION))


def _code_for(kind: recognizer.Kind, *, python: bool) -> str:
    if kind is recognizer.Kind.PRIVATE_KEY:
        return "BKM003"
    if kind is recognizer.Kind.INSECURE_URL:
        return "BKM101"
    if python and kind is recognizer.Kind.API_KEY:
        return "BKM001"
    if python and kind is recognizer.Kind.API_SECRET:
        return "BKM002"
    return "BKM004"


def _suppressed(text: str, start: int, code: str) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    for match in _SUPPRESS_RE.finditer(line):
        codes = match.group("codes")
        if match.group(0).startswith("pragma"):
            if code in ("BKM001", "BKM002", "BKM004"):
                return True
        elif codes is None or code in {c.strip() for c in codes.split(",")}:
            return True
    return False


def scan_windows(
    read_at: ReadAt, size: int, path: str, *, python: bool, wanted: Callable[[str], bool]
) -> list[Finding]:
    """Findings of the recognizer over `size` bytes read through `read_at(offset, n)`."""
    findings: dict[tuple[int, int, str], Finding] = {}
    line, column_chars = 1, 0  # position of `base` (the first byte of the current window)
    base = 0
    core_start = 0
    while core_start < size:
        core_end = _align(read_at, min(size, core_start + CORE), size)
        window_end = _align(read_at, min(size, core_end + _CONTEXT), size)
        window = read_at(base, window_end - base)
        if recognizer.prefilter(window):
            pre = window[: core_start - base].decode("utf-8", "replace")
            core = window[core_start - base : core_end - base].decode("utf-8", "replace")
            post = window[core_end - base :].decode("utf-8", "replace")
            text = pre + core + post
            keep_from, keep_to = len(pre), len(pre) + len(core)
            for match in recognizer.find_all(text):
                if not keep_from <= match.start < keep_to:
                    continue
                code = _code_for(match.kind, python=python)
                if not wanted(code) or _suppressed(text, match.start, code):
                    continue
                abs_line = line + match.line - 1
                abs_col = match.column + column_chars if match.line == 1 else match.column
                message = _MESSAGES[code].format(masked=match.masked, label=match.label or "PEM")
                findings.setdefault(
                    (abs_line, abs_col, code),
                    Finding(
                        path,
                        abs_line,
                        abs_col,
                        code,
                        message,
                        match.fingerprint,
                        match.masked,
                        confidence=match.confidence,
                        fixable="safe" if code == "BKM101" else "no",
                    ),
                )
        # the next window starts `_CONTEXT` bytes before its core: advance `base` to there
        next_core = core_end
        next_base = _align(read_at, max(0, next_core - _CONTEXT), size)
        passed = window[: next_base - base]
        newlines = passed.count(b"\n")
        if newlines:
            line += newlines
            column_chars = _chars(passed[passed.rfind(b"\n") + 1 :])
        else:
            column_chars += _chars(passed)
        base, core_start = next_base, next_core
    return sorted(findings.values())


def scan_bytes(data: bytes, path: str, *, python: bool, wanted: Callable[[str], bool]) -> list[Finding]:
    return scan_windows(
        lambda offset, n: data[offset : offset + n], len(data), path, python=python, wanted=wanted
    )


def scan_fd(fd: int, size: int, path: str, *, python: bool, wanted: Callable[[str], bool]) -> list[Finding]:
    import os

    return scan_windows(lambda offset, n: os.pread(fd, n, offset), size, path, python=python, wanted=wanted)
