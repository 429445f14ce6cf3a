"""Python sources through the rules: one `ast.parse`, one traversal collecting facts, every
selected rule over them; the recognizer alone where a source cannot or need not be parsed."""

from __future__ import annotations

import ast
import dataclasses
import io
import tokenize
import warnings

from bkm_guard import recognizer
from bkm_guard.static.model import Hit


@dataclasses.dataclass
class PythonResult:
    hits: list[Hit]
    problem: str | None = None  # why the Python rules could not run (the text rules still did)
    imports_os: bool = False


def _selected(code: str, select: frozenset[str] | None, ignore: frozenset[str]) -> bool:
    if select is not None and not any(code.startswith(s) for s in select):
        return False
    return not any(code.startswith(i) for i in ignore)


def analyze_source(source: str, *, parse: bool, select: frozenset[str] | None = None,
                   ignore: frozenset[str] = frozenset(), extra_clients: tuple[str, ...] = (),
                   extra_key_names: tuple[str, ...] = (),
                   codes: frozenset[str] | None = None) -> PythonResult:
    """Every rule's hits in one Python source. With parse=False (no Binance name in the file, or
    too big to parse), only the recognizer runs: credentials and private keys by shape and name.
    `codes` (the prefilter's candidates) limits which rules run; None runs them all."""
    from bkm_guard.static.rules import ALL_RULES

    if not parse:
        return _filter(text_only(source), select, ignore)
    try:
        with warnings.catch_warnings():  # invalid escape sequences and the like are not ours to report
            warnings.simplefilter("ignore")
            tree = ast.parse(source)
    except SyntaxError as error:
        # never the error's text: it quotes the source line, which may hold a secret
        return _unparsed(source, f"not valid Python 3 (syntax error at line {error.lineno})", select, ignore)
    except (RecursionError, MemoryError, ValueError, OverflowError):
        return _unparsed(source, "too deeply nested for the Python rules", select, ignore)
    from bkm_guard.static.python.context import Context
    from bkm_guard.static.python.facts import collect
    from bkm_guard.static.python.strings import LineIndex

    try:
        facts = collect(tree, LineIndex(source), extra_clients, extra_key_names)
        context = Context(source, facts)
        hits: list[Hit] = []
        for code, rule in ALL_RULES.items():
            if rule.APPLIES == "text" or not _selected(code, select, ignore):
                continue
            if codes is not None and code not in codes:
                continue
            hits.extend(rule().check(context))
    except RecursionError:
        return _unparsed(source, "nested too deeply for the Python rules", select, ignore)
    return PythonResult(hits, None, facts.imports_os)


def _unparsed(source: str, why: str, select: frozenset[str] | None,
              ignore: frozenset[str]) -> PythonResult:
    """The text rules only, and why the Python rules could not run."""
    result = text_only(source)
    result.problem = f"{why}; scanned as text"
    return _filter(result, select, ignore)


def _filter(result: PythonResult, select: frozenset[str] | None, ignore: frozenset[str]) -> PythonResult:
    result.hits = [hit for hit in result.hits if _selected(hit.code, select, ignore)]
    return result


def text_only(source: str) -> PythonResult:
    """Credentials (key or secret by the name before them) and private keys, by the recognizer:
    the Python rules of a file that cannot or need not be parsed."""
    hits: list[Hit] = []
    spans: list[tuple[int, int]] | None = None
    for match in recognizer.find_credentials(source):
        if spans is None:
            spans = multiline_strings(source) if "bkm:" in source else []
        code = "BKM002" if match.kind is recognizer.Kind.API_SECRET else "BKM001"
        what = {recognizer.Kind.API_KEY: "API key", recognizer.Kind.API_SECRET: "API secret"}.get(
            match.kind, "credential (key or secret)")
        hits.append(Hit(code, match.line, match.column,
                        f"hardcoded Binance {what} (masked {match.masked}); load it from the environment "
                        f"or bkm_guard.load()", match.fingerprint, match.masked, match.line,
                        match.column + match.end - match.start, match.confidence, "no", (),
                        _enclosing(spans, match.line)))
    if "PRIVATE KEY" in source:
        if spans is None:
            spans = multiline_strings(source) if "bkm:" in source else []
        for match in recognizer.find_private_keys(source):
            hits.append(Hit("BKM003", match.line, match.column,
                            f"hardcoded private key ({match.label} PEM, masked {match.masked}); keep it in a "
                            f"file outside the repository or in the bkm-guard key store",
                            match.fingerprint, match.masked, match.line, match.column, "high", "no", (),
                            _enclosing(spans, match.line)))
    return PythonResult(hits)


def _enclosing(spans: list[tuple[int, int]] | None, line: int) -> tuple[int, int] | None:
    for start, end in spans or ():
        if start <= line <= end:
            return start, end
    return None


def multiline_strings(source: str) -> list[tuple[int, int]]:
    """(first, last) line of every string token spanning lines; [] when the source does not tokenize."""
    spans: list[tuple[int, int]] = []
    fstring_start: int | None = None
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            name = tokenize.tok_name.get(token.type, "")
            if name == "FSTRING_START":
                fstring_start = token.start[0]
            elif name == "FSTRING_END" and fstring_start is not None:
                if token.end[0] > fstring_start:
                    spans.append((fstring_start, token.end[0]))
                fstring_start = None
            elif token.type == tokenize.STRING and token.end[0] > token.start[0]:
                spans.append((token.start[0], token.end[0]))
    except (tokenize.TokenError, SyntaxError, ValueError, RecursionError):
        return spans
    return spans
