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
from typing import TYPE_CHECKING

from bkm_guard import recognizer
from bkm_guard.findings import Finding
from bkm_guard.suppression import Suppressions

if TYPE_CHECKING:
    from bkm_guard.analyzer.model import Hit

CORE = 1 << 20  # bytes each window owns
_CONTEXT = 16 << 10  # bytes of context on each side (longer than any PEM private key)
_CONTINUATION = bytes(range(0x80, 0xC0))

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


def _window_hits(text: str, *, python: bool) -> list[Hit]:
    """The same rules, messages and codes as a file under the cap gets without a parse."""
    from bkm_guard.textscan import scan_text

    if not python:
        return scan_text(text)
    from bkm_guard.analyzer.engine import text_only

    return [*text_only(text).hits, *(hit for hit in scan_text(text) if hit.code == "BKM101")]


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
            suppressions = Suppressions(text)
            line_starts: list[int] | None = None
            for hit in _window_hits(text, python=python):
                if line_starts is None:
                    line_starts = [0, *(newline.end() for newline in re.finditer("\n", text))]
                offset = line_starts[min(hit.line, len(line_starts)) - 1] + hit.column - 1
                if not keep_from <= offset < keep_to:
                    continue
                if not wanted(hit.code) or suppressions.suppressed(hit.code, hit.line, hit.string_lines):
                    continue
                abs_line = line + hit.line - 1
                abs_col = hit.column + column_chars if hit.line == 1 else hit.column
                findings.setdefault(
                    (abs_line, abs_col, hit.code),
                    Finding(path, abs_line, abs_col, hit.code, hit.message, hit.fingerprint, hit.masked,
                            confidence=hit.confidence, fixable=hit.fixable),
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
