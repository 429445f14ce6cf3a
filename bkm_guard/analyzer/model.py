"""What a rule reports before suppressions and paths are applied, and the fixes it offers."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import libcst as cst

Fixable = Literal["safe", "unsafe", "no"]
Confidence = Literal["high", "medium", "low"]


@dataclasses.dataclass(frozen=True)
class ReplacePiece:
    """Rewrite part of one literal piece (a SimpleString, or the text part of an f-string):
    `start`/`end` index the piece's source text between its quotes."""

    node: cst.SimpleString | cst.FormattedStringText
    start: int
    end: int
    text: str


@dataclasses.dataclass(frozen=True)
class Remove:
    """Drop an argument, a dict element or a small statement."""

    node: cst.CSTNode


@dataclasses.dataclass(frozen=True)
class ReplaceWithEnv:
    """Replace a hardcoded credential expression by `os.environ["NAME"]`."""

    node: cst.BaseExpression
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
