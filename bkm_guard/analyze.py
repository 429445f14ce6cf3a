"""The analysis of one file: bytes in, findings (and fixed bytes) out.

`analyze(path, data)` is what the scan command, the hooks and the tests call, in worker processes
(a top-level, picklable function). The display `path` decides the file kind:

* Python (`.py`, `.pyi`, `.pyw`, or a python shebang): the libcst rules, plus the recognizer for
  key-shaped text in comments and long strings;
* notebooks (`.ipynb`): the JSON text as a text file, and each code cell through the Python rules,
  with findings mapped back to the JSON line;
* every other text file, private-key files included: the recognizer (BKM003, BKM004, BKM101).

A cheap byte prefilter runs first: a file with no candidate is never decoded nor parsed, and libcst
is imported only when a Python file mentions Binance. Bad input never raises: it becomes a Notice.
"""

from __future__ import annotations

import codecs
import dataclasses
import json
import re
from typing import TYPE_CHECKING, Final

from bkm_guard import recognizer
from bkm_guard.findings import Finding, Notice
from bkm_guard.suppression import Suppressions

if TYPE_CHECKING:
    from bkm_guard.analyzer.model import Hit

#: Files above this size are skipped (generated data, dumps); a key file is a few kB.
MAX_FILE_BYTES: Final = 20 * 1024 * 1024
#: Python files above this size get the text rules only (the libcst pass would take seconds).
MAX_PARSE_BYTES: Final = 2 * 1024 * 1024
_PYTHON_SUFFIXES: Final = (".py", ".pyi", ".pyw")
_BINANCE_WORDS: Final = (b"binance", b"ccxt", b"x-mbx-apikey")
_SHEBANG_RE: Final = re.compile(rb"^#![^\n]*python")
_CODING_RE: Final = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


@dataclasses.dataclass(frozen=True)
class AnalyzeOptions:
    select: frozenset[str] | None = None  # codes or prefixes; None = all
    ignore: frozenset[str] = frozenset()
    extra_client_names: tuple[str, ...] = ()  # more callables taking (api_key, api_secret)
    extra_key_names: tuple[str, ...] = ()  # more names that hold a key (a secret if "secret" in it)


@dataclasses.dataclass(frozen=True)
class FileReport:
    findings: tuple[Finding, ...]
    notices: tuple[Notice, ...]


@dataclasses.dataclass(frozen=True)
class FixResult:
    data: bytes | None  # None: unchanged
    applied: tuple[Finding, ...]
    warnings: tuple[str, ...]


DEFAULT_OPTIONS: Final = AnalyzeOptions()


# --- file kinds and decoding ----------------------------------------------------------------

def file_kind(path: str, data: bytes) -> str:
    """"python", "notebook" or "text"."""
    lowered = path.lower()
    if lowered.endswith(_PYTHON_SUFFIXES):
        return "python"
    if lowered.endswith(".ipynb"):
        return "notebook"
    if data.startswith(b"#!") and _SHEBANG_RE.match(data[:200]):
        return "python"
    return "text"


def _mentions_binance(data: bytes, options: AnalyzeOptions) -> bool:
    lowered = data.lower()
    if any(word in lowered for word in _BINANCE_WORDS):
        return True
    return any(name.rsplit(".", 1)[-1].lower().encode() in lowered for name in options.extra_client_names)


@dataclasses.dataclass(frozen=True)
class _Decoded:
    text: str
    encoding: str
    bom: bytes
    exact: bool  # re-encoding gives the same bytes back (fixes are allowed)


def _decode(data: bytes, kind: str) -> _Decoded | None:
    from bkm_guard.textdecode import decode_unicode

    decoded = decode_unicode(data)  # a BOM, the NUL pattern of UTF-16/32, else UTF-8
    if decoded is not None:
        return _Decoded(decoded.text, decoded.encoding, decoded.bom, decoded.exact)
    if data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    if kind == "python":
        for line in data.split(b"\n", 2)[:2]:
            match = _CODING_RE.match(line)
            if match:
                try:
                    encoding = codecs.lookup(match.group(1).decode("ascii")).name
                    return _Decoded(data.decode(encoding), encoding, b"", True)
                except (LookupError, UnicodeDecodeError, UnicodeEncodeError):
                    return None
        return None
    # other text: Latin-1 never fails and keeps ASCII keys and URLs where they are
    return _Decoded(data.decode("latin-1"), "latin-1", b"", False)


# --- analysis ---------------------------------------------------------------------------------

def analyze(path: str, data: bytes, options: AnalyzeOptions = DEFAULT_OPTIONS) -> FileReport:
    """Findings and notices of one file. Never raises on any input."""
    try:
        hits, notices, _ = _hits(path, data, options)
    except Exception as error:
        # only the error's type: its text could quote the file
        reason = f"internal error while analyzing ({type(error).__name__})"
        return FileReport((), (Notice(path, reason, "error"),))
    return FileReport(tuple(_to_findings(path, hits)), tuple(notices))


def _to_findings(path: str, hits: list[Hit]) -> list[Finding]:
    findings = {
        (hit.line, hit.column, hit.code, hit.fingerprint): Finding(
            path, hit.line, hit.column, hit.code, hit.message, hit.fingerprint, hit.masked,
            hit.end_line or hit.line, hit.end_column or hit.column, hit.confidence, hit.fixable)
        for hit in hits
    }
    return sorted(findings.values())


@dataclasses.dataclass
class _State:
    """What fix() needs beyond the hits: the decoded text and, for Python, the parsed module."""

    kind: str
    decoded: _Decoded | None = None
    python: object | None = None  # analyzer.engine.PythonResult


def _hits(path: str, data: bytes, options: AnalyzeOptions,
          *, for_fix: bool = False) -> tuple[list[Hit], list[Notice], _State]:
    kind = file_kind(path, data)
    state = _State(kind)
    if len(data) > MAX_FILE_BYTES:
        return [], [Notice(path, f"file too large ({len(data)} bytes > {MAX_FILE_BYTES})")], state
    from bkm_guard import textdecode

    probe = textdecode.as_utf8(data)  # UTF-16/32 text: the byte checks below see it as UTF-8
    mentions = kind != "text" and _mentions_binance(probe, options)
    if not mentions and not recognizer.prefilter(probe):
        return [], [], state
    if textdecode.is_binary(data):  # NUL bytes in the first 8 KiB that are not UTF-16/32 text
        return [], [Notice(path, "binary file (NUL bytes)")], state
    decoded = _decode(data, kind)
    if decoded is None:
        return [], [Notice(path, "undecodable bytes (not UTF-8 and no valid coding declaration)")], state
    state.decoded = decoded
    text = decoded.text
    notices: list[Notice] = []
    if kind == "python":
        wanted = for_fix or (mentions and _python_rules_could_fire(probe, text, options))
        hits = _python_hits(path, text, options, mentions=wanted, notices=notices, state=state)
    elif kind == "notebook":
        hits = _notebook_hits(path, text, options, notices)
    else:
        from bkm_guard.textscan import scan_text

        hits = [hit for hit in scan_text(text) if _selected(hit.code, options)]
    suppressions = Suppressions(text)
    hits = [hit for hit in hits if not suppressions.suppressed(hit.code, hit.line, hit.string_lines)]
    return hits, notices, state


def _python_rules_could_fire(data: bytes, text: str, options: AnalyzeOptions) -> bool:
    """Is there anything for the libcst rules to decide? Importing libcst costs about 140 ms and
    parsing with name resolution 10-20 µs per byte, so a Binance file in which the standard
    library's `ast` finds no candidate for any rule is not parsed (bkm_guard.analyzer.gate)."""
    if recognizer.prefilter(data):  # a 64-char run, a PEM, an insecure Binance URL
        return True
    import ast
    import warnings

    from bkm_guard.analyzer.gate import rules_could_fire

    try:
        with warnings.catch_warnings():  # invalid escape sequences and the like are not ours to report
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return True  # the full path reports why it cannot parse, and still runs the text rules
    return rules_could_fire(tree, options.extra_key_names)


def _selected(code: str, options: AnalyzeOptions) -> bool:
    if options.select is not None and not any(code.startswith(s) for s in options.select):
        return False
    return not any(code.startswith(i) for i in options.ignore)


def _python_hits(path: str, text: str, options: AnalyzeOptions, *, mentions: bool,
                 notices: list[Notice], state: _State) -> list[Hit]:
    from bkm_guard.analyzer.engine import analyze_source

    # a file that never names Binance is still parsed when it holds a key-shaped value: only
    # the syntax tree knows whether it goes to a key or a secret (hmac.new, api_secret=)
    wanted = mentions or bool(recognizer.find_credentials(text))
    parse = wanted and len(text) <= MAX_PARSE_BYTES
    if wanted and not parse:
        reason = f"too large for the Python rules ({len(text)} characters); scanned as text"
        notices.append(Notice(path, reason, "truncated"))
    result = analyze_source(text, parse=parse, select=options.select, ignore=options.ignore,
                            extra_clients=options.extra_client_names, extra_key_names=options.extra_key_names)
    if result.problem:
        notices.append(Notice(path, result.problem, "skipped"))
    state.python = result
    return result.hits


# --- notebooks --------------------------------------------------------------------------------

_CELL_CODES: Final = {"BKM101", "BKM102", "BKM201"}


def _notebook_hits(path: str, text: str, options: AnalyzeOptions, notices: list[Notice]) -> list[Hit]:
    from bkm_guard.textscan import scan_text

    hits = [hit for hit in scan_text(text) if _selected(hit.code, options)]
    try:
        notebook = json.loads(text)
    except (ValueError, RecursionError):
        notices.append(Notice(path, "not valid notebook JSON; scanned as text", "truncated"))
        return hits
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list) or not _mentions_binance(text.encode("utf-8", "replace"), options):
        return hits
    from bkm_guard.analyzer.engine import analyze_source

    seen = {(hit.line, hit.code) for hit in hits}
    cursor = 0
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", [])
        lines = [source] if isinstance(source, str) else [s for s in source if isinstance(s, str)]
        json_lines, cursor = _locate(text, lines, cursor)
        code = "".join(line if not line.lstrip().startswith(("%", "!")) else "#" + line for line in lines)
        if isinstance(source, str):
            json_lines = [json_lines[0]] * (code.count("\n") + 1) if json_lines else []
        if not json_lines:
            continue
        result = analyze_source(code, parse=True, select=options.select, ignore=options.ignore,
                                extra_clients=options.extra_client_names,
                                extra_key_names=options.extra_key_names)
        cell_suppressions = Suppressions(code)
        for hit in result.hits:
            if cell_suppressions.suppressed(hit.code, hit.line, hit.string_lines):
                continue
            # a cell's key or secret is a credential in a text file (BKM004), as the JSON scan says
            code_name = "BKM004" if hit.code in ("BKM001", "BKM002") else hit.code
            if code_name not in _CELL_CODES and code_name != "BKM004":
                continue
            line = json_lines[min(hit.line, len(json_lines)) - 1]
            if (line, code_name) in seen:
                continue
            seen.add((line, code_name))
            hits.append(dataclasses.replace(hit, code=code_name, line=line, column=1, end_line=line,
                                            end_column=1, fixable="no", fix=(), string_lines=None))
    return hits


def _locate(text: str, lines: list[str], cursor: int) -> tuple[list[int], int]:
    """The JSON line of each source line of a cell, searching forward from `cursor`."""
    found: list[int] = []
    for line in lines:
        position = -1
        for encoded in (json.dumps(line, ensure_ascii=False), json.dumps(line)):
            position = text.find(encoded, cursor)
            if position >= 0:
                cursor = position + len(encoded)
                break
        if position < 0:
            found.append(found[-1] if found else text.count("\n", 0, cursor) + 1)
        else:
            found.append(text.count("\n", 0, position) + 1)
    return found, cursor


# --- fixes ------------------------------------------------------------------------------------

def fix(path: str, data: bytes, *, unsafe: bool = False,
        options: AnalyzeOptions = DEFAULT_OPTIONS) -> FixResult:
    """Apply the safe fixes (and the unsafe ones with unsafe=True) to one file's bytes."""
    try:
        return _fix(path, data, unsafe, options)
    except Exception as error:
        return FixResult(None, (), (f"{path}: not fixed: internal error ({type(error).__name__})",))


def _fix(path: str, data: bytes, unsafe: bool, options: AnalyzeOptions) -> FixResult:
    allowed = {"safe", "unsafe"} if unsafe else {"safe"}
    applied: list[Finding] = []
    warnings: list[str] = []
    current = data
    for _ in range(3):  # one round fixes everything; the loop is a guard for nested cases
        hits, _, state = _hits(path, current, options, for_fix=True)
        chosen = [hit for hit in hits if hit.fixable in allowed and hit.fix]
        if not chosen or state.decoded is None:
            break
        if not state.decoded.exact:
            warnings.append(f"{path}: not fixed: the file is not UTF-8 and its encoding is unknown")
            break
        new_text = _apply(state, chosen)
        if new_text is None or new_text == state.decoded.text:
            break
        current = state.decoded.bom + new_text.encode(state.decoded.encoding)
        applied.extend(_to_findings(path, chosen))
        for hit in chosen:
            if hit.code in ("BKM001", "BKM002"):
                what = "API key" if hit.code == "BKM001" else "API secret"
                env = next((a.env_name for a in hit.fix if hasattr(a, "env_name")), "")
                warnings.append(
                    f"{path}:{hit.line}: the {what} {hit.masked} now comes from ${env}, but it is still in "
                    f"git history: delete and recreate the key on Binance (rotate it), then set {env}")
    if current == data:
        return FixResult(None, (), tuple(warnings))
    return FixResult(current, tuple(applied), tuple(warnings))


def _apply(state: _State, hits: list[Hit]) -> str | None:
    from bkm_guard.analyzer.model import ReplacePieceText

    if state.decoded is None:
        return None
    actions = [action for hit in hits for action in hit.fix]
    if state.kind == "python":
        from bkm_guard.analyzer.engine import PythonResult
        from bkm_guard.analyzer.fixer import apply_fixes

        result = state.python
        if not isinstance(result, PythonResult) or result.module is None:
            return None
        fixed = apply_fixes(result.module, [a for a in actions if not isinstance(a, ReplacePieceText)],
                            imports_os=result.imports_os)
        import libcst as cst

        try:
            cst.parse_module(fixed)
        except cst.ParserSyntaxError:
            return None  # never write a file the fix broke
        return fixed
    text = state.decoded.text
    edits = sorted({(a.start, a.end, a.text) for a in actions if isinstance(a, ReplacePieceText)},
                   reverse=True)
    for start, end, replacement in edits:
        text = text[:start] + replacement + text[end:]
    return text
