"""What a rule reports before suppressions and paths are applied, and the fixes it offers."""

from __future__ import annotations

import dataclasses
from typing import Literal

Fixable = Literal["safe", "unsafe", "no"]
Confidence = Literal["high", "medium", "low"]


@dataclasses.dataclass(frozen=True)
class ReplacePiece:
    """Replace source[start:end] (character offsets) inside one literal: `http` → `https`."""

    start: int
    end: int
    text: str


@dataclasses.dataclass(frozen=True)
class Remove:
    """Drop a keyword argument, a dict element or a small statement, found by where it starts
    (1-based line and column in the analyzed source)."""

    kind: Literal["arg", "dict-element", "statement"]
    line: int
    column: int
    offset: int  # the same place as a character offset


@dataclasses.dataclass(frozen=True)
class ReplaceWithEnv:
    """Replace the expression at source[start:end] by `os.environ["NAME"]`."""

    start: int
    end: int
    env_name: str
    is_bytes: bool


@dataclasses.dataclass(frozen=True)
class Hit:
    """One rule's report on one place. Never holds a secret value (masked form and hash only)."""

    code: str
    line: int
    column: int
    message: str
    fingerprint: str
    masked: str = ""
    end_line: int = 0
    end_column: int = 0
    confidence: Confidence = "high"
    fixable: Fixable = "no"
    fix: tuple[FixAction, ...] = ()
    #: lines of the string literal the hit sits in (for `# bkm: ignore` above a multi-line string)
    string_lines: tuple[int, int] | None = None


@dataclasses.dataclass(frozen=True)
class ReplacePieceText:
    """Replace text[start:end] of a non-Python file (offsets in the decoded text)."""

    start: int
    end: int
    text: str


FixAction = ReplacePiece | Remove | ReplaceWithEnv | ReplacePieceText
