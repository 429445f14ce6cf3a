"""Insecure Binance URLs in Python comments: they are copied into code (and into browsers).

String literals, docstrings included, are the rules' business; comments are not in the syntax
tree, so they are found with `tokenize` (or, for a file that does not tokenize, as lines that
start with `#`). Only sources with a match pay for tokenizing.
"""

from __future__ import annotations

import io
import tokenize

from bkm_guard import recognizer


def comment_spans(source: str) -> list[tuple[int, int]]:
    """(start, end) offsets of every comment in a Python source."""
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    spans: list[tuple[int, int]] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                (row, col), (end_row, end_col) = token.start, token.end
                spans.append((starts[row - 1] + col, starts[end_row - 1] + end_col))
    except (tokenize.TokenError, SyntaxError, ValueError):
        spans = []
        for index, line in enumerate(source.splitlines(keepends=True)):
            stripped = line.lstrip()
            if stripped.startswith("#"):
                start = starts[index] + len(line) - len(stripped)
                spans.append((start, starts[index] + len(line.rstrip("\r\n"))))
    return spans


def insecure_urls_in_comments(source: str) -> list[recognizer.Match]:
    """`http://` / `ws://` Binance URLs that stand in comments."""
    if "#" not in source:
        return []
    found = recognizer.find_insecure_urls(source)
    if not found:
        return []
    spans = comment_spans(source)
    return [m for m in found if any(start <= m.start < end for start, end in spans)]
