"""The one text scanner: the recognizer's findings in a text (BKM003, BKM004, BKM101), and the
same over bytes of any size in bounded memory, the path for huge inputs.

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
from bkm_guard.masking import shown_name
from bkm_guard.static.findings import Finding
from bkm_guard.static.model import Hit, ReplacePieceText
from bkm_guard.static.suppression import Suppressions

_WHAT = {recognizer.Kind.API_KEY: "API key", recognizer.Kind.API_SECRET: "API secret"}


def scan_text(text: str) -> list[Hit]:
    """Every BKM003/BKM004/BKM101 hit in a text. BKM101 hits carry their text fix."""
    hits: list[Hit] = []
    lines: list[str] | None = None
    for match in recognizer.find_all(text):
        if match.kind is recognizer.Kind.INSECURE_URL:
            scheme = match.label.partition("://")[0]
            secure = {"http": "https", "ws": "wss"}[scheme]
            hits.append(Hit("BKM101", match.line, match.column,
                            f"plaintext Binance endpoint `{match.label}`; use {secure}://",
                            match.fingerprint, "", match.line, match.column + match.end - match.start,
                            "high", "safe",
                            (ReplacePieceText(match.start, match.start + len(scheme), secure),)))
        elif match.kind is recognizer.Kind.PRIVATE_KEY:
            last = match.line + text.count("\n", match.start, match.end)
            hits.append(Hit("BKM003", match.line, match.column,
                            f"private key ({match.label} PEM, masked {match.masked}) in a committed file; "
                            f"remove it from the repository and rotate the key on Binance",
                            match.fingerprint, match.masked, last, 1, "high", "no", (), (match.line, last)))
        else:
            if lines is None:
                lines = text.splitlines()
            prefix = lines[match.line - 1][: match.column - 1] if match.line <= len(lines) else ""
            name = recognizer.name_before(prefix)
            what = _WHAT.get(match.kind, "credential (key or secret)")
            # the text before a value may itself be a key (`<key>: <secret>`): shown masked then
            where = f" in `{shown_name(name)}`" if name else ""
            hits.append(Hit("BKM004", match.line, match.column,
                            f"Binance {what}{where} in a text file (masked {match.masked}); move it to a "
                            f"secret store or an untracked file",
                            match.fingerprint, match.masked, match.line,
                            match.column + match.end - match.start, match.confidence, "no"))
    if "Secret" in text:
        from bkm_guard.static.k8s_secret import find_in_secrets

        for entry in find_in_secrets(text):
            what = _WHAT.get(entry.kind, "credential (key or secret)")
            hits.append(Hit("BKM004", entry.line, entry.column,
                            f"Binance {what} in `{shown_name(entry.name)}` (base64 in a Kubernetes Secret) "
                            f"in a text file (masked {entry.masked}); keep the Secret out of the repository "
                            f"(sealed-secrets, an external secret store)",
                            entry.fingerprint, entry.masked, entry.line, entry.column + entry.length,
                            "high", "no"))
    return hits


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
    if not python:
        return scan_text(text)
    from bkm_guard.static.python.analyze import text_only

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
