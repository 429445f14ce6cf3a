"""One file, straight down: its bytes → prefilter → analyze (python | notebook | text) → suppress.

`analyze(path, data)` is what the scan command, the hooks and the tests call, in worker processes
(a top-level, picklable function). The display `path` decides the file kind:

* Python (`.py`, `.pyi`, `.pyw`, or a python shebang): the rules over the standard library's `ast`
  (bkm_guard.static.python), plus the recognizer for key-shaped text in comments and long strings;
* notebooks (`.ipynb`): the JSON text as a text file, and each code cell through the Python rules,
  with findings mapped back to the JSON line (bkm_guard.static.notebook);
* every other text file, private-key files included: the recognizer (bkm_guard.static.text).

The byte prefilters run first (bkm_guard.static.prefilter): a file with no candidate for any rule
is never decoded nor parsed, and only the rules with a candidate run. Bad input never raises: it
becomes a Notice. `fix()` applies the rules' fixes (bkm_guard.static.python.fixer).
"""

from __future__ import annotations

import codecs
import dataclasses
import re
from typing import TYPE_CHECKING, Final

from bkm_guard import recognizer
from bkm_guard.static import prefilter
from bkm_guard.static.findings import Finding, Notice
from bkm_guard.static.options import DEFAULT_OPTIONS, Options
from bkm_guard.static.suppression import Suppressions

if TYPE_CHECKING:
    from bkm_guard.static.model import Hit
    from bkm_guard.static.python.analyze import PythonResult

#: Files above this size are skipped (generated data, dumps); a key file is a few kB.
MAX_FILE_BYTES: Final = 20 * 1024 * 1024
#: Python files above this size get the text rules only (the libcst pass would take seconds).
MAX_PARSE_BYTES: Final = 2 * 1024 * 1024
_PYTHON_SUFFIXES: Final = (".py", ".pyi", ".pyw")
_SHEBANG_RE: Final = re.compile(rb"^#![^\n]*python")
_CODING_RE: Final = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


@dataclasses.dataclass(frozen=True)
class FileReport:
    findings: tuple[Finding, ...]
    notices: tuple[Notice, ...]


@dataclasses.dataclass(frozen=True)
class FixResult:
    data: bytes | None  # None: unchanged
    applied: tuple[Finding, ...]
    warnings: tuple[str, ...]


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


@dataclasses.dataclass(frozen=True)
class _Decoded:
    text: str
    encoding: str
    bom: bytes
    exact: bool  # re-encoding gives the same bytes back (fixes are allowed)


def _decode(data: bytes, kind: str) -> _Decoded | None:
    from bkm_guard.static.textdecode import decode_unicode

    decoded = decode_unicode(data)  # a BOM, the NUL pattern of UTF-16/32, else UTF-8
    if decoded is not None:
        return _Decoded(decoded.text, decoded.encoding, decoded.bom, decoded.exact)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    bom = codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""
    if kind == "python" and not bom:
        for line in data[:400].split(b"\n", 2)[:2]:
            match = _CODING_RE.match(line)
            if match:
                try:
                    encoding = codecs.lookup(match.group(1).decode("ascii")).name
                    return _Decoded(data.decode(encoding), encoding, b"", True)
                except (LookupError, UnicodeDecodeError, UnicodeEncodeError):
                    break
    # a stray byte (a `café` comment in cp1252, a BOM then bad UTF-8): Latin-1 never fails and
    # keeps ASCII keys and URLs where they are; not exact, so no fix rewrites the file
    return _Decoded(data[len(bom):].decode("latin-1"), "latin-1", bom, False)


# --- analysis ---------------------------------------------------------------------------------

def analyze(path: str, data: bytes, options: Options = DEFAULT_OPTIONS) -> FileReport:
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
    """What fix() needs beyond the hits: the decoded text and, for Python, the analysis result."""

    kind: str
    decoded: _Decoded | None = None
    python: PythonResult | None = None


def _hits(path: str, data: bytes, options: Options) -> tuple[list[Hit], list[Notice], _State]:
    kind = file_kind(path, data)
    state = _State(kind)
    if len(data) > MAX_FILE_BYTES:
        return [], [Notice(path, f"file too large ({len(data)} bytes > {MAX_FILE_BYTES})")], state
    codes, binance = prefilter.candidates(data, python=kind == "python",
                                          extra_key_names=options.extra_key_names,
                                          extra_client_names=options.extra_client_names)
    codes = frozenset(code for code in codes if options.wanted(code))
    if kind == "notebook":
        binance = prefilter.mentions_binance(data, options.extra_client_names)
    if not codes and not (kind == "notebook" and binance):
        return [], [], state
    from bkm_guard.static import textdecode

    if textdecode.is_binary(data):  # NUL bytes in the first 8 KiB that are not UTF-16/32 text
        return [], [Notice(path, "binary file (NUL bytes)")], state
    decoded = _decode(data, kind)
    if decoded is None:
        return [], [Notice(path, "undecodable bytes (not UTF-8 and no valid coding declaration)")], state
    state.decoded = decoded
    text = decoded.text
    notices: list[Notice] = []
    if kind == "python":
        hits = _python_hits(path, text, options, codes, binance=binance, notices=notices, state=state)
    elif kind == "notebook":
        from bkm_guard.static.notebook import notebook_hits

        hits = notebook_hits(path, text, options, notices)
    else:
        from bkm_guard.static.text import scan_text

        hits = [hit for hit in scan_text(text) if options.wanted(hit.code)]
    suppressions = Suppressions(text)
    hits = [hit for hit in hits if not suppressions.suppressed(hit.code, hit.line, hit.string_lines)]
    return hits, notices, state


def _python_hits(path: str, text: str, options: Options, codes: frozenset[str], *, binance: bool,
                 notices: list[Notice], state: _State) -> list[Hit]:
    from bkm_guard.static.python.analyze import analyze_source

    # a file that never names Binance is still parsed when it holds a key-shaped value: only
    # the syntax tree knows whether it goes to a key or a secret (hmac.new, api_secret=)
    wanted = binance or bool(recognizer.find_credentials(text))
    parse = wanted and len(text) <= MAX_PARSE_BYTES
    if wanted and not parse:
        reason = f"too large for the Python rules ({len(text)} characters); scanned as text"
        notices.append(Notice(path, reason, "truncated"))
    result = analyze_source(text, parse=parse, select=options.select, ignore=options.ignore,
                            extra_clients=options.extra_client_names, extra_key_names=options.extra_key_names,
                            codes=codes)
    if result.problem:
        notices.append(Notice(path, result.problem, "skipped"))
    state.python = result
    return result.hits


# --- fixes ------------------------------------------------------------------------------------

def fix(path: str, data: bytes, *, unsafe: bool = False, options: Options = DEFAULT_OPTIONS) -> FixResult:
    """Apply the safe fixes (and the unsafe ones with unsafe=True) to one file's bytes."""
    try:
        return _fix(path, data, unsafe, options)
    except Exception as error:
        return FixResult(None, (), (f"{path}: not fixed: internal error ({type(error).__name__})",))


def _fix(path: str, data: bytes, unsafe: bool, options: Options) -> FixResult:
    allowed = {"safe", "unsafe"} if unsafe else {"safe"}
    applied: list[Finding] = []
    warnings: list[str] = []
    current = data
    for _ in range(3):  # one round fixes everything; the loop is a guard for nested cases
        hits, _, state = _hits(path, current, options)
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
    from bkm_guard.static.model import ReplacePieceText

    if state.decoded is None:
        return None
    actions = [action for hit in hits for action in hit.fix]
    text = state.decoded.text
    if state.kind == "python":
        import ast
        import warnings

        from bkm_guard.static.python.fixer import apply_fixes

        if state.python is None or state.python.problem:
            return None
        fixed = apply_fixes(text, [a for a in actions if not isinstance(a, ReplacePieceText)],
                            imports_os=state.python.imports_os)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ast.parse(fixed)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None  # never write a file the fix broke
        return fixed
    edits = sorted({(a.start, a.end, a.text) for a in actions if isinstance(a, ReplacePieceText)},
                   reverse=True)
    for start, end, replacement in edits:
        text = text[:start] + replacement + text[end:]
    return text


def preload() -> None:
    """Import what analysis needs before worker processes fork, so each does not import it again."""
    import ast  # noqa: F401

    from bkm_guard.static import text  # noqa: F401
    from bkm_guard.static.python import analyze, context, facts  # noqa: F401
    from bkm_guard.static.rules import ALL_RULES  # noqa: F401
