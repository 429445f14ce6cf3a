"""What a string-valued expression holds: its literal pieces, in order, with gaps for the parts
only known at run time (f-string placeholders, names in a concatenation).

The `ast` gives a string's value but folds `"a" "b"` into one constant and (before Python 3.12)
gives f-string parts no positions of their own. Where a rule needs the pieces themselves (where
a URL starts, which piece a fix edits), `pieces` lexes the literal's own source text, lazily:
most strings never need it.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import re
from typing import Final

#: Stands for a run-time part of a string: no host, key or URL can run across it.
GAP = "\x00"

_PREFIX_RE: Final = re.compile(r"[rRbBuUfF]{0,2}(?='|\")")
_BETWEEN_RE: Final = re.compile(r"(?:\s|\\\n|\\\r\n|#[^\n]*)*")


@dataclasses.dataclass(frozen=True)
class Piece:
    """One literal part: a whole plain literal, or the text between an f-string's placeholders."""

    text: str  # evaluated text of this piece
    raw: str  # the piece's source text between the quotes (escapes as written)
    start: int  # offset in the source of the piece's token (its prefix), or of an f-string text part
    raw_start: int  # offset in the source of `raw`


@dataclasses.dataclass(frozen=True, eq=False)
class StrValue:
    """A string expression: `"a"`, `b"a"`, `"a" "b"`, `"a" + "b"`, `f"a{x}b"`."""

    node: ast.expr
    joined: str  # the text, with GAP for every run-time part
    is_bytes: bool
    index: LineIndex | None  # the module's source and positions (pieces are lexed from it on demand)
    span: tuple[int, int]  # offsets of the expression in the source

    @property
    def complete(self) -> bool:
        """True when every part is literal (an f-string without placeholders counts)."""
        return GAP not in self.joined

    @property
    def value(self) -> str | None:
        return self.joined if self.complete else None

    @functools.cached_property
    def pieces(self) -> tuple[Piece | None, ...]:
        """Each literal piece in source order, None for each run-time part."""
        if self.index is None:
            return ()
        return tuple(_pieces(self.node, self.index, self.span))

    @property
    def first_piece(self) -> Piece | None:
        return next((p for p in self.pieces if p is not None), None)


# --- values -------------------------------------------------------------------------------------


def _joined(node: ast.expr, depth: int = 0) -> tuple[str, bool] | None:
    """(text with gaps, is_bytes), or None when the expression is no string expression."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str):
            return node.value, False
        if isinstance(node.value, bytes):
            return node.value.decode("latin-1"), True
        return None
    if isinstance(node, ast.JoinedStr):
        parts = [v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else GAP
                 for v in node.values]
        if not any(isinstance(v, ast.Constant) for v in node.values):
            return None
        return "".join(parts), False
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and depth < 50:
        left = _joined(node.left, depth + 1)
        right = _joined(node.right, depth + 1)
        if left is None and right is None:
            return None
        return ((left[0] if left else GAP) + (right[0] if right else GAP),
                bool((left and left[1]) or (right and right[1])))
    return None


def string_value(node: ast.AST | None, lines: LineIndex | None = None) -> StrValue | None:
    """The string this expression builds, or None when it is not a string expression."""
    if not isinstance(node, ast.Constant | ast.JoinedStr | ast.BinOp):
        return None
    found = _joined(node)
    if found is None:
        return None
    return StrValue(node, found[0], found[1], lines, lines.span(node) if lines is not None else (0, 0))


def literal_text(node: ast.AST | None) -> str | None:
    """The whole value of a fully literal string expression (f-strings without placeholders too)."""
    value = string_value(node)
    return None if value is None else value.value


# --- positions ----------------------------------------------------------------------------------


class LineIndex:
    """Character offsets and 1-based character columns of a source's `ast` positions (which
    count UTF-8 bytes within a line)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.starts = [0, *(m.end() for m in re.finditer("\n", source))]
        self._ascii = source.isascii()

    def char_column(self, line: int, byte_column: int) -> int:
        """0-based character column of a 0-based byte column."""
        if self._ascii or not 0 < line <= len(self.starts):
            return byte_column
        start = self.starts[line - 1]
        end = self.starts[line] if line < len(self.starts) else len(self.source)
        text = self.source[start:end]
        if text.isascii():
            return byte_column
        return len(text.encode("utf-8")[:byte_column].decode("utf-8", "ignore"))

    def offset(self, line: int, byte_column: int) -> int:
        if not 0 < line <= len(self.starts):
            return 0
        return self.starts[line - 1] + self.char_column(line, byte_column)

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end_line = getattr(node, "end_lineno", None) or node.lineno  # type: ignore[attr-defined]
        end_col = getattr(node, "end_col_offset", None)
        return start, (self.offset(end_line, end_col) if end_col is not None else start)

    def start(self, node: ast.AST) -> tuple[int, int]:
        """1-based line and column of a node."""
        line: int = node.lineno  # type: ignore[attr-defined]
        return line, self.char_column(line, node.col_offset) + 1  # type: ignore[attr-defined]

    def end(self, node: ast.AST) -> tuple[int, int]:
        """1-based line and (exclusive) column of a node's end."""
        line: int = getattr(node, "end_lineno", None) or node.lineno  # type: ignore[attr-defined]
        column = getattr(node, "end_col_offset", None)
        return line, self.char_column(line, column if column is not None else 0) + 1

    def position(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset."""
        import bisect

        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1

    def lines(self, node: ast.AST) -> tuple[int, int]:
        return node.lineno, getattr(node, "end_lineno", None) or node.lineno  # type: ignore[attr-defined]


# --- pieces -------------------------------------------------------------------------------------


def _pieces(node: ast.expr, index: LineIndex, span: tuple[int, int]) -> list[Piece | None]:
    if isinstance(node, ast.BinOp):
        out: list[Piece | None] = []
        for side in (node.left, node.right):
            if _joined(side) is None:
                out.append(None)
            else:
                out.extend(_pieces(side, index, index.span(side)))
        return out
    return _lex_literals(index.source, span[0], span[1])


def _lex_literals(source: str, start: int, end: int) -> list[Piece | None]:
    """The pieces of the string literal tokens in source[start:end] (one or more, implicitly
    concatenated, maybe parenthesized)."""
    out: list[Piece | None] = []
    position = start
    while position < end:
        position = _BETWEEN_RE.match(source, position).end()  # type: ignore[union-attr]
        while position < end and source[position] in "()":
            position += 1
            position = _BETWEEN_RE.match(source, position).end()  # type: ignore[union-attr]
        prefix_match = _PREFIX_RE.match(source, position)
        if prefix_match is None or position >= end:
            break
        prefix = prefix_match.group()
        quote_at = prefix_match.end()
        quote = source[quote_at : quote_at + 3]
        if quote not in ('"""', "'''"):
            quote = source[quote_at]
        body_start = quote_at + len(quote)
        body_end = _body_end(source, body_start, quote, "f" in prefix.lower(), "r" in prefix.lower())
        if "f" in prefix.lower():
            out.extend(_fstring_parts(source, prefix, body_start, body_end))
        else:
            raw = source[body_start:body_end]
            out.append(Piece(_evaluate(prefix, quote, raw), raw, position, body_start))
        position = body_end + len(quote)
    return out


def _body_end(source: str, position: int, quote: str, fstring: bool, raw: bool) -> int:
    """Where the literal's closing quote starts."""
    depth = 0
    length = len(source)
    while position < length:
        char = source[position]
        if char == "\\":  # an escaped quote ends no literal, raw or not
            position += 2
            continue
        if fstring and char == "{":
            if depth == 0 and source.startswith("{{", position):
                position += 2
                continue
            depth += 1
        elif fstring and char == "}" and depth:
            depth -= 1
        elif depth and char in "'\"":
            # a string inside a placeholder: skip it whole
            inner = source[position : position + 3]
            inner_quote = inner if inner in ('"""', "'''") else char
            if inner_quote != quote:
                position = _body_end(source, position + len(inner_quote), inner_quote, False, False)
                position += len(inner_quote)
                continue
        if depth == 0 and source.startswith(quote, position):
            return position
        position += 1
    return length


def _fstring_parts(source: str, prefix: str, start: int, end: int) -> list[Piece | None]:
    out: list[Piece | None] = []
    text_start = start
    position = start
    raw_prefix = "r" in prefix.lower()

    def flush(until: int) -> None:
        if until > text_start:
            raw = source[text_start:until]
            out.append(Piece(_unescape(raw, raw_prefix), raw, text_start, text_start))

    while position < end:
        char = source[position]
        if char == "\\":
            position += 2
            continue
        if char in "{}" and source.startswith(char * 2, position):
            position += 2
            continue
        if char == "{":
            flush(position)
            depth = 0
            while position < end:
                c = source[position]
                if c in "([{":
                    depth += 1
                elif c in ")]}":
                    depth -= 1
                    if depth == 0:
                        position += 1
                        break
                elif c in "'\"":
                    q = source[position : position + 3]
                    q = q if q in ('"""', "'''") else c
                    position = _body_end(source, position + len(q), q, False, False) + len(q)
                    continue
                position += 1
            out.append(None)
            text_start = position
            continue
        position += 1
    flush(end)
    return out


def _evaluate(prefix: str, quote: str, raw: str) -> str:
    try:
        value = ast.literal_eval(f"{prefix}{quote}{raw}{quote}")
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return raw
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value if isinstance(value, str) else raw


def _unescape(raw: str, raw_prefix: bool) -> str:
    """Evaluate the escapes of an f-string's text part (keys and URLs rarely have any)."""
    text = raw.replace("{{", "{").replace("}}", "}")
    if "\\" not in text or raw_prefix:
        return text
    for quote in ('"""', "'''"):
        if quote not in text and not text.endswith(quote[0]):
            try:
                value = ast.literal_eval(f"{quote}{text}{quote}")
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                return text
            return value if isinstance(value, str) else text
    return text
