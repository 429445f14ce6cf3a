"""The records that flow from the analyzers to the reports: findings and notices."""

from __future__ import annotations

import dataclasses
from typing import Literal

Severity = Literal["error", "warning", "note"]


@dataclasses.dataclass(frozen=True, slots=True, order=True)
class Finding:
    """One problem at one place. No field ever holds a secret value.

    ``line``/``column`` are 1-based (column counts characters, not bytes).
    ``masked``/``fingerprint`` identify a credential without showing it; for rules that
    are not about a credential (BKM101, BKM102) the fingerprint is a hash of the offending
    snippet so a baseline can still recognize the finding after the lines around it move.
    """

    path: str
    line: int
    column: int
    code: str
    message: str
    fingerprint: str = ""
    masked: str = ""
    end_line: int = 0
    end_column: int = 0
    confidence: Literal["high", "medium", "low"] = "high"
    fixable: Literal["safe", "unsafe", "no"] = "no"

    def text(self) -> str:
        """`path:line:col: CODE message`, the line format of every text report."""
        return f"{self.path}:{self.line}:{self.column}: {self.code} {self.message}"


@dataclasses.dataclass(frozen=True, slots=True)
class Notice:
    """Something the scan could not do with one input (skipped, truncated) and why."""

    path: str
    reason: str
    kind: Literal["skipped", "truncated", "error"] = "skipped"

    def text(self) -> str:
        return f"{self.path}: {self.kind}: {self.reason}"
