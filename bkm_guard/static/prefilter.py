"""Byte-level prefilters: which rules could fire on a file, before it is decoded or parsed.

Each rule names its prefilter (`Rule.PREFILTER`); `candidates()` runs the ones a file kind needs
and returns the codes that could fire. A file with no candidate is never decoded nor parsed. The
tests hold every prefilter to be complete (every INVALID example and every corpus case passes
it): it may say yes too often, never no where its rule reports. What each one looks for:

* credential (BKM001, BKM002, BKM004): a 64-character alphanumeric run (a key, a 64-hex value
  that a key position could make a testnet key), also across a backslash-newline inside a
  literal, or a chain of literals that joins into one (`"Gwwo…" + "x8eA…"`, `("Gwwo…"\\n "x8eA…")`);
* private-key (BKM003): a PEM `PRIVATE KEY` marker;
* insecure-url (BKM101): `http://` or `ws://` (maybe split: `"http" + "://…"`) followed closely by
  the word binance;
* tls-off (BKM102): `verify=False`, `"verify": False`, `x.verify = False`, `CERT_NONE`;
* output (BKM201): a credential-ish name (or a name assigned from one) inside a print(), a
  logger call or a `raise`: only the lines around each credential-ish name are looked at.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import Final

from bkm_guard import recognizer

_ALNUM_TABLE: Final = bytes(
    0x61 if (0x30 <= b <= 0x39 or 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A) else 0x20 for b in range(256)
)
_RUN_OF_KEY: Final = b"a" * recognizer.KEY_LENGTH
_LITERAL: Final = rb"""[bBrRuUfF]{0,2}(?:"[A-Za-z0-9 \t]*"|'[A-Za-z0-9 \t]*')"""
_CHAIN_RE: Final = re.compile(_LITERAL + rb"(?:(?:[\s+\\()]|#[^\n]*)*" + _LITERAL + rb")+")
_PIECE_RE: Final = re.compile(rb"""["']([A-Za-z0-9 \t]*)["']""")
_SCHEME_RE: Final = re.compile(rb"""(?:http|ws)(?:["'\s+]{0,8})://""")
_TLS_RE: Final = re.compile(rb"""verify\\?["']?\s*(?::[^=\n]*)?[:=]\s*False|CERT_NONE""")
_BINANCE_WORDS: Final = (b"binance", b"ccxt", b"x-mbx-apikey")
# every credential-ish name (recognizer.role_of_name) holds one of these, in any case
_NAME_MARKS: Final = (b"key", b"sec", b"private", b"hmac")
_WORD_BYTES: Final = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_OUTPUT_START_RE: Final = re.compile(
    rb"\bprint\s*\(|\braise\b|\.\s*(?:debug|info|warning|warn|error|exception|critical|fatal|log|success"
    rb"|trace)\s*\("
)
_QUOTED_RE: Final = re.compile(rb""""(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'""")
_ASSIGN_RE: Final = re.compile(rb"(?<![=!<>:])=(?!=)")
_IDENT_RE: Final = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
_LOOKBACK_LINES: Final = 30


class Data:
    """One file's bytes and what the prefilters compute from them once."""

    __slots__ = ("__dict__", "data", "extra_names")

    def __init__(self, data: bytes, extra_key_names: Iterable[str] = ()) -> None:
        self.data = data
        self.extra_names = tuple(name.lower().encode() for name in extra_key_names)

    @functools.cached_property
    def lowered(self) -> bytes:
        return self.data.lower()

    def mentions(self, words: Iterable[bytes]) -> bool:
        lowered = self.lowered
        return any(word in lowered for word in words)


# --- the prefilters -----------------------------------------------------------------------------


def credential(d: Data) -> bool:
    if _RUN_OF_KEY in d.data.translate(_ALNUM_TABLE):
        return True
    if b"\\\n" in d.data or b"\\\r\n" in d.data:  # a literal continued on the next line
        joined = d.data.replace(b"\\\r\n", b"").replace(b"\\\n", b"")
        if _RUN_OF_KEY in joined.translate(_ALNUM_TABLE):
            return True
    for chain in _CHAIN_RE.finditer(d.data):
        pieces = _PIECE_RE.findall(chain.group())
        if sum(len(p.strip()) for p in pieces) >= recognizer.KEY_LENGTH:
            return True
    return False


def private_key(d: Data) -> bool:
    return b"PRIVATE KEY" in d.data


def insecure_url(d: Data) -> bool:
    lowered = d.lowered
    if b"binance" not in lowered or b"://" not in lowered:
        return False
    return any(b"binance" in lowered[m.end() : m.end() + 300] for m in _SCHEME_RE.finditer(lowered))


def tls_off(d: Data) -> bool:
    return (b"verify" in d.data or b"CERT_NONE" in d.data) and _TLS_RE.search(d.data) is not None


def output(d: Data) -> bool:
    """A credential-ish name shown by print/log/raise, directly or through one assignment."""
    names = _credential_names(d)
    if not names:
        return False
    data = d.data
    tainted: set[bytes] = set()
    for start, end in names:
        if _in_output(data, start):
            return True
        tainted.update(_assigned_names(data, start))
    tainted -= {b"self", b"cls", b"def", b"return"}
    for name in tainted:
        pattern = re.compile(rb"(?<![A-Za-z0-9_.])" + re.escape(name) + rb"(?![A-Za-z0-9_])")
        if any(_in_output(data, m.start()) for m in pattern.finditer(data)):
            return True
    return False


#: The prefilters by name, as rules refer to them.
PREFILTERS: Final[dict[str, Callable[[Data], bool]]] = {
    "credential": credential,
    "private-key": private_key,
    "insecure-url": insecure_url,
    "tls-off": tls_off,
    "output": output,
}


@functools.lru_cache(maxsize=8)
def _rules_by_prefilter(python: bool) -> tuple[tuple[str, tuple[str, ...]], ...]:
    from bkm_guard.rules import ALL_RULES

    grouped: dict[str, list[str]] = {}
    for code, rule in ALL_RULES.items():
        if rule.APPLIES != ("text" if python else "python"):
            grouped.setdefault(rule.PREFILTER, []).append(code)
    return tuple((name, tuple(codes)) for name, codes in grouped.items())


def candidates(data: bytes, *, python: bool, extra_key_names: Iterable[str] = (),
               extra_client_names: Iterable[str] = (),
               binance: bool | None = None) -> tuple[frozenset[str], bool]:
    """The codes of the rules that could fire on these bytes (as a Python source, or as any
    other text), and whether the bytes name Binance. In a Python file that neither names Binance
    nor holds a credential-shaped value, only the private-key check is worth running: the rules
    about code talking to Binance are not even asked. `binance` given: what the caller knows
    (a notebook's cell is Binance code when the notebook names Binance)."""
    d = Data(data, extra_key_names)
    if binance is None:
        binance = mentions_binance(d, extra_client_names)
    found: set[str] = set()
    groups = _rules_by_prefilter(python)
    for name, codes in groups:
        if name in ("credential", "private-key") and PREFILTERS[name](d):
            found.update(codes)
    if python and not binance and not found & {"BKM001", "BKM002"}:
        return frozenset(found), binance
    for name, codes in groups:
        if name not in ("credential", "private-key") and PREFILTERS[name](d):
            found.update(codes)
    return frozenset(found), binance


def mentions_binance(data: bytes | Data, extra_client_names: Iterable[str] = ()) -> bool:
    """Does the text name Binance, a client library of it, or one of the configured clients?"""
    d = data if isinstance(data, Data) else Data(data)
    words = (*_BINANCE_WORDS, *(n.rsplit(".", 1)[-1].lower().encode() for n in extra_client_names))
    return d.mentions(words)


# --- BKM201's regions ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _is_credential_word(word: bytes) -> bool:
    text = word.decode("ascii", "replace")
    for name in {text, *text.split(".")}:
        if recognizer.role_of_name(name) is not None and recognizer.name_parts(name) != ["key"]:
            return True
    return False


def _credential_names(d: Data) -> list[tuple[int, int]]:
    """Spans of the credential-ish words (identifiers, dotted names, dict keys) in the file."""
    lowered = d.lowered
    data = d.data
    spans: set[tuple[int, int]] = set()
    for mark in (*_NAME_MARKS, *d.extra_names):
        if not mark:
            continue
        at = lowered.find(mark)
        while at >= 0:
            start, end = at, at + len(mark)
            while start > 0 and data[start - 1] in _WORD_BYTES:
                start -= 1
            while end < len(data) and data[end] in _WORD_BYTES:
                end += 1
            word = data[start:end].strip(b".-")
            if word.lower() in d.extra_names or _is_credential_word(word):
                spans.add((start, end))
            at = lowered.find(mark, end)
    return sorted(spans)


def _line_start(data: bytes, offset: int) -> int:
    return data.rfind(b"\n", 0, offset) + 1


def _in_output(data: bytes, offset: int) -> bool:
    """Is this offset inside the arguments of a print/log call or a raise statement (found
    within the lines above it)?"""
    window_start = _line_start(data, offset)
    for _ in range(_LOOKBACK_LINES):
        if window_start == 0:
            break
        window_start = _line_start(data, window_start - 1)
    window = data[window_start:offset]
    starts = [m.start() for m in _OUTPUT_START_RE.finditer(window)]
    return any(_region_end(data, window_start + start) > offset for start in reversed(starts))


def _region_end(data: bytes, start: int) -> int:
    """Where the statement starting at `start` ends: the end of the line on which its brackets
    close (strings on a line do not count)."""
    depth = 0
    position = start
    for _ in range(200):
        end = data.find(b"\n", position)
        end = len(data) if end < 0 else end
        line = _QUOTED_RE.sub(b'""', data[position:end])
        hash_at = line.find(b"#")
        if hash_at >= 0:
            line = line[:hash_at]
        depth += (line.count(b"(") + line.count(b"[") + line.count(b"{")
                  - line.count(b")") - line.count(b"]") - line.count(b"}"))
        if depth <= 0 and not line.rstrip().endswith(b"\\") or end >= len(data):
            return end + 1
        position = end + 1
    return position


def _assigned_names(data: bytes, offset: int) -> set[bytes]:
    """The names assigned on the line of `offset` (or one of the few lines above it, for a value
    spread over lines) when the credential-ish word there is on the right of the `=`."""
    line_start = _line_start(data, offset)
    for _ in range(4):
        head = data[line_start:offset]
        equals = [m.start() for m in _ASSIGN_RE.finditer(_QUOTED_RE.sub(b'""', head))]
        if equals:
            stripped = _QUOTED_RE.sub(b'""', head)
            return set(_IDENT_RE.findall(stripped[: equals[-1]]))
        if line_start == 0:
            break
        line_start = _line_start(data, line_start - 1)
    return set()
