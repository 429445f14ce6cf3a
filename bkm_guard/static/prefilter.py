"""Byte-level prefilters: which rules could fire on a file, before it is decoded or parsed.

Each rule names its prefilter (`Rule.PREFILTER`); `candidates()` runs the ones a file kind needs
and returns the codes that could fire. A file with no candidate is never decoded nor parsed. The
tests hold every prefilter to be complete (every INVALID example and every corpus case passes
it): it may say yes too often, never no where its rule reports. UTF-16 and UTF-32 text is
transcoded to UTF-8 first. What each one looks for:

* credential (BKM001, BKM002, BKM004): a run of exactly 64 alphanumerics that the recognizer
  calls key-shaped (or a 64-hex value, which a key position makes a testnet key), also across a
  backslash-newline inside a literal, or a chain of literals that joins into 64 or more
  (`"Gwwo…" + "x8eA…"`, `("Gwwo…"\\n "x8eA…")`), or a Kubernetes Secret (its values are base64);
* private-key (BKM003): a PEM `PRIVATE KEY` marker;
* insecure-url (BKM101): `http://` or `ws://` (maybe split: `"http" + "://…"`) followed closely by
  the word binance, or by a run-time host (`f"http://{HOST}"`, `"ws://" + HOST`) in a file that
  names Binance;
* tls-off (BKM102): `verify=False`, `"verify": False`, `x.verify = False`, `CERT_NONE`;
* output (BKM201): a credential-ish name as code (not words of a message) inside a print(), a
  logger call or a `raise`, or a name assigned from an environment lookup of one shown there.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable, Iterable
from typing import Final

from bkm_guard import recognizer
from bkm_guard.static.python.apis import LOG_METHODS

_RUN_OF_KEY: Final = b"a" * recognizer.KEY_LENGTH

# Literal chains are looked for in a translation of the bytes to a few classes: a = alphanumeric,
# q = quote, s = what may stand between two literals of a chain (space, +, \, brackets), n = newline,
# b = backslash, h = comment start, x = anything else. A regex over it starts with one literal and runs fast.
def _chain_class(byte: int) -> int:
    char = chr(byte)
    if char.isascii() and char.isalnum():
        return ord("a")
    return ord({"'": "q", '"': "q", " ": "s", "\t": "s", "\r": "s", "+": "s", "\\": "b", "(": "s",
                ")": "s", "\n": "n", "#": "h"}.get(char, "x"))


_CHAIN_TABLE: Final = bytes(_chain_class(b) for b in range(256))
# (unambiguous: a comment runs to its newline, so the regex never backtracks exponentially)
_CHAIN_RE: Final = re.compile(rb"qa+q(?:(?:[sbn]|h[^n]*(?=n))*a{0,2}qa+q)+")
_PIECE_RE: Final = re.compile(rb"q(a+)q")
# the opening of a literal that holds nothing but a value (and blanks or escapes around it)
_OPENING_RE: Final = re.compile(r"""(?:\b[bBrRuUfF]{1,2})?(?P<quote>["'])(?:[ \t]|\\[nrt])*$""")
_VALUE_PLACES: Final = ("=", "(", ",", "[", "{", "+")
_VALUE_WORDS: Final = frozenset({"or", "else", "return", "yield", "if", "and", "lambda", "in", "await"})
_TLS_RE: Final = re.compile(rb"""verify\\?["']?\s*(?::[^=\n]*)?[:=]\s*False|CERT_NONE""")
_BINANCE_WORDS: Final = (b"binance", b"ccxt", b"x-mbx-apikey")
# every credential-ish name (recognizer.role_of_name) holds one of these, in any case
_NAME_MARKS: Final = (b"key", b"sec", b"private", b"hmac")
_WORD_BYTES: Final = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
# (word, must be called): print(...), raise ..., and <logger>.<method>(...)
_OUTPUT_WORDS: Final = ((b"print", True), (b"raise", False),
                        *((b"." + method.encode(), True) for method in sorted(LOG_METHODS)))
_IDENT_BYTES: Final = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_QUOTED_RE: Final = re.compile(rb""""(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'""")
_ASSIGN_RE: Final = re.compile(rb"(?<![=!<>:])=(?!=)")
_IDENT_RE: Final = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
# the text just before the name in `os.environ["…`, `os.getenv("…`, `environ.get(\n  "…`
_ENV_LOOKUP_RE: Final = re.compile(
    rb"""(?:environ\s*\[|environ\s*\.\s*(?:get|setdefault)\s*\(|(?:getenv|putenv)\s*\()\s*[bBrRuUfF]{0,2}["']$"""
)
_SHOWN_NAME_RE: Final = re.compile(rb"(?<![A-Za-z0-9_.])[A-Za-z_][A-Za-z0-9_]*")


class Data:
    """One file's bytes and what the prefilters compute from them once."""

    __slots__ = ("__dict__", "data", "extra_names")

    def __init__(self, data: bytes, extra_key_names: Iterable[str] = ()) -> None:
        self.data = data
        self.extra_names = tuple(name.lower().encode() for name in extra_key_names)

    @functools.cached_property
    def lowered(self) -> bytes:
        return self.data.lower()

    @functools.cached_property
    def classes(self) -> bytes:
        """The bytes translated to the classes of _CHAIN_TABLE."""
        return self.data.translate(_CHAIN_TABLE)

    def mentions(self, words: Iterable[bytes]) -> bool:
        lowered = self.lowered
        return any(word in lowered for word in words)


# --- the prefilters -----------------------------------------------------------------------------


def credential(d: Data) -> bool:
    if _key_shaped_run(d.data, d.classes):
        return True
    if recognizer.may_hold_k8s_secret(d.data):  # its `data:` values are base64 of the keys
        return True
    if _continued_literal(d):  # a literal continued on the next line: "abc\<newline>def"
        joined = d.data.replace(b"\\\r\n", b"").replace(b"\\\n", b"")
        if _key_shaped_run(joined):
            return True
    if b"'" not in d.data and b'"' not in d.data:
        return False
    for chain in _CHAIN_RE.finditer(d.classes):
        pieces = _PIECE_RE.findall(chain.group())
        if sum(len(p) for p in pieces) >= recognizer.KEY_LENGTH:
            return True
    return False


def _continued_literal(d: Data) -> bool:
    """A backslash-newline between two alphanumerics (code continues lines after a blank)."""
    classes = d.classes
    at = classes.find(b"bn")
    while at >= 0:
        after = at + 2
        if at > 0 and classes[at - 1] == 0x61 and after < len(classes) and classes[after] == 0x61:
            return True
        at = classes.find(b"bn", after)
    return b"bsn" in classes and re.search(rb"abs?na", classes) is not None


def _key_shaped_run(data: bytes, translated: bytes | None = None) -> bool:
    """A run of exactly 64 alphanumerics (maybe just after a `\\n`-style escape) that the
    recognizer calls a key, or a random-looking 64-hex value: a longer run is no key, nor is a
    sequence, a digest-free placeholder or one of Binance's documented example keys."""
    if translated is None:
        translated = data.translate(_CHAIN_TABLE)  # alphanumerics are "a" there
    at = translated.find(_RUN_OF_KEY)
    while at >= 0:
        end = at + recognizer.KEY_LENGTH
        while end < len(translated) and translated[end] == 0x61:
            end += 1
        start = at
        if end - at == recognizer.KEY_LENGTH + 1 and at > 0 and data[at - 1] == 0x5C and data[at] in b"nrt":
            start = at + 1  # "\nKEY": the escape's letter is not part of the value
        if end - start == recognizer.KEY_LENGTH:
            shape = recognizer.classify_value(data[start:end].decode("ascii"))
            if shape is recognizer.Shape.KEY:
                return True
            if shape is recognizer.Shape.HEX64 and _hex_in_key_position(data, start, end):
                return True
        at = translated.find(_RUN_OF_KEY, end)
    return False


def _hex_in_key_position(data: bytes, start: int, end: int) -> bool:
    """Could this 64-hex value be in a key position? Under a key-ish name on its line (as the
    recognizer asks), or as a whole literal where a value goes (`= "…"`, `("…"`, `, "…"`, a line
    of its own): not inside a longer text, nor as the value of an unrelated key (`"txId": "…"`)."""
    # the 200 characters before the value, as name_before reads them: a minified line of
    # thousands of digests would otherwise be re-read for each one (quadratic)
    line_start = max(data.rfind(b"\n", 0, start) + 1, start - 200)
    prefix = data[line_start:start].decode("latin-1")
    name = recognizer.name_before(prefix)
    if (name and recognizer.role_of_name(name) is not None) or "x-mbx-apikey" in prefix.lower():
        return True
    opening = _OPENING_RE.search(prefix)
    if opening is None or not data.startswith(opening.group("quote").encode(), end):
        return False
    before = prefix[: opening.start()].rstrip()
    return not before or before.endswith(_VALUE_PLACES) or before.rsplit(None, 1)[-1] in _VALUE_WORDS


def private_key(d: Data) -> bool:
    return b"PRIVATE KEY" in d.data


def insecure_url(d: Data) -> bool:
    lowered = d.lowered
    if b"binance" not in lowered:
        return False
    at = lowered.find(b"://")
    while at >= 0:
        head = lowered[max(0, at - 12) : at].rstrip(b"\"' \t+")
        if head.endswith((b"http", b"ws")):
            if b"binance" in lowered[at : at + 300]:
                return True
            # the host is a run-time part (`f"http://{HOST}"`, `"ws://" + HOST`): a constant of
            # this Binance file may hold it
            if lowered[at + 3 : at + 4] in (b"{", b"\"", b"'"):
                return True
        at = lowered.find(b"://", at + 3)
    return False


def tls_off(d: Data) -> bool:
    return (b"verify" in d.data or b"CERT_NONE" in d.data) and _TLS_RE.search(d.data) is not None


def output(d: Data) -> bool:
    """A credential-ish name shown by print/log/raise, directly or through one assignment."""
    names = _credential_names(d)
    if not names:
        return False
    data = d.data
    regions = _output_regions(data)
    if not regions:
        return False
    starts = [start for start, _ in regions]
    tainted: set[bytes] = set()
    for start, end in names:
        if _covered(regions, starts, start):
            if _shown_as_code(data, start, end):
                return True
        elif _ENV_LOOKUP_RE.search(data, max(0, start - 80), start):
            tainted.update(_assigned_names(data, start))
    if not tainted:
        return False
    shown = {m.group() for start, end in regions for m in _SHOWN_NAME_RE.finditer(data, start, end)}
    return bool(tainted & shown)


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
    from bkm_guard.static.rules import ALL_RULES

    grouped: dict[str, list[str]] = {}
    for code, rule in ALL_RULES.items():
        if ("text" if python else "python") != rule.APPLIES:
            grouped.setdefault(rule.PREFILTER, []).append(code)
    return tuple((name, tuple(codes)) for name, codes in grouped.items())


def candidates(data: bytes, *, python: bool, extra_key_names: Iterable[str] = (),
               extra_client_names: Iterable[str] = (),
               binance: bool | None = None) -> tuple[frozenset[str], bool]:
    """The codes of the rules that could fire on these bytes (as a Python source, or as any
    other text), and whether the bytes (of a Python file) name Binance. In a Python file that
    neither names Binance nor holds a credential-shaped value, only the private-key check is worth
    running: the rules about code talking to Binance are not even asked. `binance` given: what
    the caller knows (a notebook's cell is Binance code when the notebook names Binance)."""
    from bkm_guard.static.textdecode import as_utf8

    d = Data(as_utf8(data), extra_key_names)  # UTF-16/32 text is looked at as UTF-8
    if binance is None:
        binance = python and mentions_binance(d, extra_client_names)
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


def _output_regions(data: bytes) -> list[tuple[int, int]]:
    """The merged spans of every print/log call and raise statement (to the end of the line on
    which its brackets close)."""
    merged: list[tuple[int, int]] = []
    for start in _output_starts(data):
        if merged and start < merged[-1][1]:
            continue  # inside the region before (a raise of a formatted message ...)
        merged.append((start, _region_end(data, start)))
    return merged


def _output_starts(data: bytes) -> list[int]:
    """Where `print(`, `raise` and `.<log method>(` stand (bytes.find: far faster than a regex
    with alternatives over the whole file)."""
    found: list[int] = []
    size = len(data)
    for word, call in _OUTPUT_WORDS:
        at = data.find(word)
        while at >= 0:
            end = at + len(word)
            before_ok = word[0] == 0x2E or at == 0 or data[at - 1] not in _IDENT_BYTES
            if before_ok and (end >= size or data[end] not in _IDENT_BYTES):
                if not call:
                    found.append(at)
                else:
                    after = end
                    while after < size and data[after] in b" \t":
                        after += 1
                    if after < size and data[after] == 0x28:  # (
                        found.append(at)
            at = data.find(word, end)
    found.sort()
    return found


def _covered(regions: list[tuple[int, int]], starts: list[int], offset: int) -> bool:
    index = bisect.bisect_right(starts, offset) - 1
    return index >= 0 and regions[index][0] <= offset < regions[index][1]


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
        if (depth <= 0 and not line.rstrip().endswith(b"\\")) or end >= len(data):
            return end + 1
        position = end + 1
    return position


@functools.lru_cache(maxsize=4)
def _literal_spans(data: bytes, line_start: int, line_end: int) -> list[tuple[int, int]]:
    """The string literals of one line (offsets in `data`), found once per line: a long print()
    with thousands of credential-ish words asks about each of them. `data` is the same object
    for every call on a file, and bytes cache their hash, so the cache key costs nothing."""
    return [m.span() for m in _QUOTED_RE.finditer(data, line_start, line_end)]  # offsets in data


def _shown_as_code(data: bytes, start: int, end: int) -> bool:
    """Is a name inside an output call code (a variable, an attribute, an f-string placeholder,
    a subscript key `["API_KEY"]`, an environment lookup), rather than words of a message?"""
    line_start = data.rfind(b"\n", 0, start) + 1
    line_end = data.find(b"\n", end)
    spans = _literal_spans(data, line_start, len(data) if line_end < 0 else line_end)
    at = bisect.bisect_right(spans, (start, len(data))) - 1
    if at < 0:
        return True
    lit_start, lit_end = spans[at]
    if not lit_start < start < lit_end:
        return True
    head = data[max(line_start, lit_start - 200) : lit_start]
    prefix = head[len(head.rstrip(b"bBrRuUfF")) :]
    if b"f" in prefix.lower():
        return b"{" in data[lit_start:start]
    before = head[: len(head) - len(prefix)].rstrip()
    return before.endswith((b"[", b"(")) and data[lit_start + 1 : lit_end - 1] == data[start:end]


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
