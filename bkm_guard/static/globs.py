"""Path globs of the configuration (`exclude`, `per-file-ignores`), matched like .gitignore.

A pattern without `/` matches a file or directory name at any depth (`*.min.js`, `fixtures`);
a pattern with `/` matches the path from the scan root (`tests/data/**`); `**` crosses
directories, `*` and `?` do not.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable


@functools.lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    anchored = "/" in pattern.rstrip("/")
    body = pattern.strip("/")
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if body.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = body.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                inner = body[i + 1 : end].replace("\\", "\\\\")
                if inner.startswith("!"):
                    inner = "^" + inner[1:]
                out.append(f"[{inner}]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    prefix = "" if anchored else "(?:.*/)?"
    # a match on a directory covers everything below it
    return re.compile(f"{prefix}{''.join(out)}(?:/.*)?", re.DOTALL)


def matches(path: str, pattern: str) -> bool:
    """True when the '/'-separated relative `path` (or one of its directories) matches."""
    return _compile(pattern).fullmatch(path) is not None


def matches_any(path: str, patterns: Iterable[str]) -> bool:
    return any(matches(path, pattern) for pattern in patterns)
