"""What a string-valued expression holds: its literal pieces, in order, with gaps for the parts
only known at run time (f-string placeholders, names in a concatenation)."""

from __future__ import annotations

import ast
import dataclasses

import libcst as cst

#: Stands for a run-time part of a string: no host, key or URL can run across it.
GAP = "\x00"

LiteralPiece = cst.SimpleString | cst.FormattedStringText


@dataclasses.dataclass(frozen=True)
class Piece:
    node: LiteralPiece
    text: str  # evaluated text of this piece
    raw: str  # the piece's source text between the quotes (escapes as written)


@dataclasses.dataclass(frozen=True)
class StrValue:
    """A string expression: `"a"`, `b"a"`, `"a" "b"`, `"a" + "b"`, `f"a{x}b"`."""

    node: cst.BaseExpression
    pieces: tuple[Piece | None, ...]  # None = a gap
    is_bytes: bool

    @property
    def first_piece(self) -> Piece | None:
        return next((p for p in self.pieces if p is not None), None)

    @property
    def complete(self) -> bool:
        """True when every part is literal (an f-string without placeholders counts)."""
        return all(p is not None for p in self.pieces)

    @property
    def joined(self) -> str:
        return "".join(GAP if p is None else p.text for p in self.pieces)

    @property
    def value(self) -> str | None:
        return self.joined if self.complete else None


def _unescape(raw: str, prefix: str) -> str:
    """Evaluate the escapes of an f-string's text part (keys and URLs rarely have any)."""
    text = raw.replace("{{", "{").replace("}}", "}")
    if "\\" not in text or "r" in prefix.lower():
        return text
    for quote in ('"""', "'''"):
        if quote not in text and not text.endswith(quote[0]):
            try:
                value = ast.literal_eval(f"{quote}{text}{quote}")
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                return text
            return value if isinstance(value, str) else text
    return text


def _simple(node: cst.SimpleString) -> tuple[Piece, bool] | None:
    try:
        value = node.evaluated_value
    except Exception:
        return None
    prefix = node.prefix
    quote = node.quote
    raw = node.value[len(prefix) + len(quote) : len(node.value) - len(quote)]
    if isinstance(value, bytes):
        return Piece(node, value.decode("latin-1"), raw), True
    return Piece(node, value, raw), False


def _pieces(node: cst.BaseExpression, depth: int = 0) -> tuple[list[Piece | None], bool] | None:
    if depth > 50:
        return None
    if isinstance(node, cst.SimpleString):
        simple = _simple(node)
        return None if simple is None else ([simple[0]], simple[1])
    if isinstance(node, cst.FormattedString):
        out: list[Piece | None] = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                out.append(Piece(part, _unescape(part.value, node.prefix), part.value))
            else:
                out.append(None)
        return out, "b" in node.prefix.lower()
    if isinstance(node, cst.ConcatenatedString):
        left = _pieces(node.left, depth + 1)
        right = _pieces(node.right, depth + 1)
        if left is None or right is None:
            return None
        return left[0] + right[0], left[1] or right[1]
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        left = _pieces(node.left, depth + 1)
        right = _pieces(node.right, depth + 1)
        if left is None and right is None:
            return None
        is_bytes = bool((left and left[1]) or (right and right[1]))
        gap: list[Piece | None] = [None]
        return (left[0] if left else gap) + (right[0] if right else gap), is_bytes
    return None


def string_value(node: cst.BaseExpression) -> StrValue | None:
    """The string this expression builds, or None when it is not a string expression."""
    found = _pieces(node)
    if found is None or not any(p is not None for p in found[0]):
        return None
    return StrValue(node, tuple(found[0]), found[1])


def literal_text(node: cst.BaseExpression) -> str | None:
    """The whole value of a fully literal string expression (f-strings without placeholders too)."""
    value = string_value(node)
    return None if value is None else value.value
