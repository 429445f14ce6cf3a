"""Inline suppressions: `# bkm: ignore[BKM001,BKM101]`, bare `# bkm: ignore`, and detect-secrets'
`pragma: allowlist secret` (credential codes only).

A pragma works on the reported line. For a finding inside a string that spans several lines, it
also works on the comment line just above the string and on the string's last line (where a
trailing comment can go). In non-Python text files `//` comments work like `#` ones.
"""

from __future__ import annotations

import re
from typing import Final

_PRAGMA_RE: Final = re.compile(r"(?:#|//)\s*bkm:\s*ignore(?:\[([A-Za-z0-9_,\s]*)\])?", re.IGNORECASE)
_ALLOWLIST_RE: Final = re.compile(r"pragma:\s*allowlist[ -]secret", re.IGNORECASE)
#: codes about a credential value: the ones detect-secrets' pragma silences
CREDENTIAL_CODES: Final = frozenset({"BKM001", "BKM002", "BKM003", "BKM004"})


class Suppressions:
    """The pragmas of one file, read once."""

    def __init__(self, text: str) -> None:
        self._active = "bkm:" in text or "allowlist" in text
        self._lines = text.splitlines() if self._active else []

    def _line(self, number: int) -> str:
        return self._lines[number - 1] if 0 < number <= len(self._lines) else ""

    def _pragma_covers(self, number: int, code: str) -> bool:
        for match in _PRAGMA_RE.finditer(self._line(number)):
            listed = match.group(1)
            if listed is None:
                return True
            codes = {part.strip().upper() for part in listed.split(",") if part.strip()}
            if code in codes:
                return True
        return False

    def _is_comment_line(self, number: int) -> bool:
        stripped = self._line(number).lstrip()
        return stripped.startswith(("#", "//"))

    def suppressed(self, code: str, line: int, string_lines: tuple[int, int] | None = None) -> bool:
        if not self._active:
            return False
        if self._pragma_covers(line, code):
            return True
        if code in CREDENTIAL_CODES and _ALLOWLIST_RE.search(self._line(line)):
            return True
        if string_lines is not None and string_lines[1] > string_lines[0]:
            first, last = string_lines
            if self._pragma_covers(last, code):
                return True
            if self._is_comment_line(first - 1) and self._pragma_covers(first - 1, code):
                return True
        return False
