"""Find any piece of a secret in text: every 16-character window of each secret is indexed.

A log line or a server message that quotes 20 or 32 characters of a secret leaks most of
it; exact matching of the whole value misses that. `WindowMasker` keeps a set of every
16-character window of every value it is given, scans only runs of the values' own
alphabet (a cheap regex finds them), and masks each stretch of text covered by windows.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Final

from bkm_guard.masking import mask

#: a piece of a secret this long or longer is masked wherever it appears
WINDOW: Final = 16
_PEM_ARMOUR: Final = re.compile(r"-----(BEGIN|END)[^-]*-----")


def pieces_of(value: str) -> list[str]:
    """The stretches of `value` whose windows are indexed: a PEM's body lines and its body
    joined (the armour lines are public), else the value itself."""
    value = value.strip()
    if "-----BEGIN" in value:
        lines = [line.strip() for line in _PEM_ARMOUR.sub("\n", value).splitlines()]
        body = [line for line in lines if line and ":" not in line]  # not Proc-Type: headers
        return [*body, "".join(body)]
    return [value]


class WindowMasker:
    """Masks every run of 16+ characters of text that lies inside one of the given secrets."""

    def __init__(self, values: Iterable[str | None] = ()) -> None:
        self._lock = threading.Lock()
        self._windows: set[str] = set()
        self._alphabet: set[str] = set()
        self._runs: re.Pattern[str] | None = None
        self.add(values)

    def __repr__(self) -> str:
        return f"WindowMasker({len(self._windows)} window(s))"

    def __bool__(self) -> bool:
        return bool(self._windows)

    def add(self, values: Iterable[str | None]) -> None:
        with self._lock:
            for value in values:
                if not value:
                    continue
                for piece in pieces_of(value):
                    if len(piece) < WINDOW:
                        continue
                    self._alphabet.update(piece)
                    self._windows.update(piece[i:i + WINDOW] for i in range(len(piece) - WINDOW + 1))
            if self._alphabet:
                chars = "".join(sorted(self._alphabet))
                self._runs = re.compile(f"[{re.escape(chars)}]{{{WINDOW},}}")

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()
            self._alphabet.clear()
            self._runs = None

    def mask(self, text: str) -> str:
        """`text` with every stretch covered by a secret's windows replaced by its masked form."""
        runs = self._runs
        if runs is None or len(text) < WINDOW:
            return text
        windows = self._windows
        spans: list[tuple[int, int]] = []
        for run in runs.finditer(text):
            start, end = run.span()
            covered_to = -1
            span_start = -1
            for i in range(start, end - WINDOW + 1):
                if text[i:i + WINDOW] in windows:
                    if i > covered_to:  # a new stretch begins
                        if span_start >= 0:
                            spans.append((span_start, covered_to))
                        span_start = i
                    covered_to = i + WINDOW
            if span_start >= 0:
                spans.append((span_start, covered_to))
        if not spans:
            return text
        out: list[str] = []
        last = 0
        for start, end in spans:
            out += [text[last:start], mask(text[start:end])]
            last = end
        out.append(text[last:])
        return "".join(out)
