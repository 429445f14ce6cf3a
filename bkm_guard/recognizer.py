"""The Binance credential recognizer: the one place that knows what a Binance secret looks like.

The detect-secrets plugin, the Python analyzer, the text scanner and the log redactor all ask
this module. It finds, in any text:

* HMAC API keys and secrets: 64 characters of ``[A-Za-z0-9]`` with exact boundaries. Binance
  publishes no format, so the shape alone is weak evidence and a candidate must look random:
  upper case, lower case and digits mixed, high entropy, no sequence, no repeat, no camelCase
  identifier. Pure hex (digests, signatures) is a key only where a key name points at it.
* PEM private keys (PKCS#8 plain or encrypted, PKCS#1 RSA, EC, OpenSSH), also written on one
  line with ``\\n`` escapes. Bodies of all PEM blocks, private or public, are never keys.
* ``http://`` and ``ws://`` URLs on Binance hosts (see :mod:`bkm_guard.hosts`).

A :class:`Match` carries a position, a masked form and a fingerprint; never the value.

Binance's own published example keys (the ``vmPUZE6m…`` API key and ``NhqPtmdS…`` secret of the
API docs) are classified :attr:`Shape.EXAMPLE` and not reported: they are public, not leaks.
"""

from __future__ import annotations

import bisect
import dataclasses
import enum
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Final, Literal

from bkm_guard.hosts import INSECURE_URL_RE, is_binance_host
from bkm_guard.masking import fingerprint, mask

Confidence = Literal["high", "medium", "low"]

KEY_LENGTH: Final = 64


class Kind(enum.Enum):
    API_KEY = "api-key"
    API_SECRET = "api-secret"  # noqa: S105 (a label, not a secret)
    CREDENTIAL = "credential"  # key or secret: nothing says which
    PRIVATE_KEY = "private-key"
    INSECURE_URL = "insecure-url"


class Shape(enum.Enum):
    KEY = "key"  # 64 random-looking base62 characters
    HEX64 = "hex64"  # 64 hex digits: a futures-testnet key in a key position, a digest elsewhere
    EXAMPLE = "example"  # a key Binance published in its docs
    PLACEHOLDER = "placeholder"  # your-api-key, x*64, sequences, repeats, ${VAR}, env var names
    NONE = "none"


class Role(enum.Enum):
    KEY = "key"
    SECRET = "secret"  # noqa: S105 (a label, not a secret)


@dataclasses.dataclass(frozen=True, slots=True)
class Match:
    """One recognized thing in a text. Offsets index the text given; no field holds a secret."""

    kind: Kind
    start: int
    end: int
    line: int
    column: int
    confidence: Confidence
    masked: str
    fingerprint: str
    label: str = ""


# --- value shapes -------------------------------------------------------------------------

# Fingerprints (bkm_guard.masking.fingerprint) of the example keys and secrets Binance publishes
# in its API docs, stored hashed so this file holds no key-shaped literal. The client libraries'
# tests copy them (binance-connector's margin tests hold the special-key examples).
_EXAMPLE_FINGERPRINTS: Final = frozenset({
    "bkm:0ca8b50588a78760a914", "bkm:9e09507470336474a7a5",  # spot "SIGNED Endpoint Examples"
    "bkm:b3bbddca485ca55f1fe5", "bkm:fdd4549792ea767cfce7",  # futures and options signed examples (hex)
    "bkm:ba00840f669ab256a1ef",  # the HMAC key of the FAQ "API Key Types"
    "bkm:73d2bbad321fb3bae625", "bkm:4f9b34e26ffcafc69e8e",  # margin "Create Special Key" answer
    "bkm:0610b77ab52c6a92b4c3",  # margin "Query Special Key List" answer
})

_BASE62: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_HEX64_RE: Final = re.compile(r"[0-9a-fA-F]{64}")
_PLACEHOLDER_WORDS_RE: Final = re.compile(
    r"(?i)(your|my|insert|replace|change|fill|put|paste|enter|example|sample|dummy|fake|test|"
    r"placeholder|redacted|xxx|todo|secret_here|key_here|here|none|null|undefined|changeme)"
)
_ENV_NAME_RE: Final = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
# ${VAR}, ${{ secrets.X }}, $VAR, %(name)s, {{ template }}, <api_key>
_REFERENCE_RE: Final = re.compile(
    r"^\s*(\$\{\{?.*\}\}?|\$[A-Za-z_]\w*|%\(?\w+\)?s?%?|\{\{.*\}\}|<[^<>]*>)\s*$"
)


def _char_class(char: str) -> int:
    return 0 if char.isupper() else 1 if char.islower() else 2


def _is_fake_pattern(value: str) -> bool:
    """Sequences ("0123…xyz"), repeats ("Ab12Cd34" * 8) and too few distinct characters."""
    if len(Counter(value)) < 20:  # random: 29 distinct at the very least
        return True
    ascending = sum(1 for a, b in itertools.pairwise(value) if ord(b) - ord(a) == 1)
    return ascending > 10  # random: at most 8


def _looks_random(value: str) -> bool:
    """A 64-char base62 run that a random generator could plausibly have made.

    Thresholds come from 200,000 random keys: each test rejects fewer than 1 in 100,000 real
    keys, while camelCase identifiers (`calculateRollingVolume…For2024Q3`) fail at least one.
    """
    classes = [_char_class(c) for c in value]
    if len(set(classes)) < 3:  # no upper, no lower or no digit: P(random) < 2e-5
        return False
    counts = Counter(value)
    entropy = -sum(n / KEY_LENGTH * math.log2(n / KEY_LENGTH) for n in counts.values())
    if entropy < 4.4:  # random: above 4.6
        return False
    transitions = sum(1 for a, b in itertools.pairwise(classes) if a != b)
    upper_pairs = sum(1 for a, b in itertools.pairwise(classes) if a == b == 0)
    # camelCase never puts two capitals together and changes class only at word starts
    return not (upper_pairs <= 1 and transitions < 28)


def _hex_looks_random(value: str) -> bool:
    text = value.lower()
    if len(Counter(text)) < 8:
        return False
    if any(text[i : i + 8] * 2 in text for i in range(0, KEY_LENGTH - 16, 4)):
        return False
    if any(text == (text[:period] * (KEY_LENGTH // period + 1))[:KEY_LENGTH] for period in range(1, 33)):
        return False  # "0123456789abcdef" * 4
    ascending = sum(1 for a, b in itertools.pairwise(text) if int(b, 16) - int(a, 16) == 1)
    return ascending <= 16  # random: about 4 of 63 pairs; P(> 16) < 1e-7


def is_placeholder(value: str) -> bool:
    """Text that stands for a credential without being one: your-api-key, <api_key>, ${VAR},
    an environment variable's name, x*64, empty."""
    stripped = value.strip().strip("'\"")
    if not stripped:
        return True
    if len(set(stripped)) <= 2:
        return True
    if _REFERENCE_RE.match(stripped) or _ENV_NAME_RE.fullmatch(stripped):
        return True
    if len(stripped) != KEY_LENGTH or not set(stripped) <= _BASE62:
        return bool(_PLACEHOLDER_WORDS_RE.search(stripped)) or len(stripped) < 16
    return False


def classify_value(value: str) -> Shape:
    """The shape of one whole value (a string literal, a config value), ignoring context."""
    text = value.strip()
    if len(text) != KEY_LENGTH or not set(text) <= _BASE62:
        return Shape.PLACEHOLDER if is_placeholder(text) else Shape.NONE
    if fingerprint(text) in _EXAMPLE_FINGERPRINTS:
        return Shape.EXAMPLE
    if _HEX64_RE.fullmatch(text):
        return Shape.HEX64 if _hex_looks_random(text) else Shape.PLACEHOLDER
    if _is_fake_pattern(text):
        return Shape.PLACEHOLDER
    if text.startswith("eyJ"):  # base64 of '{"': a JWT or a JSON blob, 1 in 238,000 keys
        return Shape.NONE
    if _looks_random(text):
        return Shape.KEY
    # a camelCase identifier is not a key; neither is a value without capitals or digits
    classes = {_char_class(c) for c in text}
    return Shape.NONE if len(classes) == 3 else Shape.PLACEHOLDER


def is_credential_value(value: str, *, key_position: bool) -> bool:
    """Is this whole value a Binance credential? Hex counts only where a key is expected."""
    shape = classify_value(value)
    return shape is Shape.KEY or (key_position and shape is Shape.HEX64)


# --- names ----------------------------------------------------------------------------------

_NAME_SPLIT_RE: Final = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
# Parts of a name that mean "not the credential itself, but something about it".
_NOT_CREDENTIAL_PARTS: Final = frozenset({
    "hash", "hashes", "checksum", "sha", "sha1", "sha256", "sha384", "sha512", "md5", "digest",
    "signature", "sig", "signed", "id", "ids", "uuid", "url", "uri", "endpoint", "host", "path",
    "file", "filename", "dir", "env", "var", "name", "names", "type", "len", "length", "size",
    "format", "pattern", "regex", "prefix", "fingerprint", "masked", "hint", "header", "param",
    "field", "expected", "example", "sample", "placeholder", "public", "pub", "cert", "nonce",
    "salt", "iv", "salted", "integrity", "lock", "listen", "types", "kind", "kinds", "count",
    "store", "label", "role", "roles", "slot", "index", "mode", "policy",
})
_SECRET_PARTS: Final = frozenset({"secret", "secretkey", "apisecret", "sec", "seckey", "private",
                                  "privatekey", "skey", "hmac"})
_KEY_PARTS: Final = frozenset({"key", "apikey", "akey", "mbxapikey", "binancekey"})


def name_parts(name: str) -> list[str]:
    """`apiKey` → [api, key]; `BINANCE_API_SECRET` → [binance, api, secret];
    `X-MBX-APIKEY` → [x, mbx, apikey]."""
    return [part.lower() for part in _NAME_SPLIT_RE.split(name.strip().strip("'\"")) if part]


# A file name (`0024_api_key_verification.sql`, `keys/api_key.txt`) labels a checksum or a path,
# never a credential, even with "key" in it.
_FILE_NAME_RE: Final = re.compile(
    r"(?i)(?:^|[/\\])[\w.\-]*\.(?:sql|py|pyc|json|ya?ml|toml|txt|md|rst|csv|tsv|sh|bash|js|mjs|ts|"
    r"go|rs|java|rb|php|c|h|cpp|html?|css|xml|lock|cfg|ini|conf|log|zip|gz|tgz|tar|whl|bin|exe|so|"
    r"dll|jar|png|jpe?g|gif|svg|pdf|ipynb|dat|db|sqlite3?)$"
)
# Names under which a 64-character value is Binance's own non-secret token or a digest: a
# user-data-stream listenKey (`{"listenKey": …}`, `listen_key=`, `?listenKey=`), a signature.
_NOT_SECRET_VALUE_PARTS: Final = frozenset({
    "listen", "listenkey", "hash", "hashes", "checksum", "checksums", "sha", "sha1", "sha256",
    "sha384", "sha512", "md5", "digest", "signature", "sig", "nonce", "salt", "integrity",
})


def is_file_name(name: str) -> bool:
    """`0024_api_key_verification.sql`, `keys/api_key.txt`; not `secret/binance/api_key` (a
    Vault path names the credential itself)."""
    return _FILE_NAME_RE.search(name.strip("'\"")) is not None


def names_non_secret(name: str) -> bool:
    """Does the name say its 64-character value is not a credential (a listenKey, a digest)?"""
    if is_file_name(name):
        return True
    parts = name_parts(name)
    return any(part in _NOT_SECRET_VALUE_PARTS for part in parts) or "listenkey" in "".join(parts)


def role_of_name(name: str) -> Role | None:
    """Which credential a value stored under this name is, or None when the name says neither
    (or says it is a hash, an id, a URL, a file, an environment variable's name ...).
    Of a path (`secret/binance/api_key`), the last part decides."""
    if "/" in name and not is_file_name(name):
        name = name.rstrip("/").rsplit("/", 1)[-1]
    parts = name_parts(name)
    if not parts or any(part in _NOT_CREDENTIAL_PARTS for part in parts) or is_file_name(name):
        return None
    joined = "".join(parts)
    if any(part in _SECRET_PARTS for part in parts) or "secret" in joined:
        return Role.SECRET
    if any(part in _KEY_PARTS for part in parts) or parts[-1].endswith("key") or "apikey" in joined:
        return Role.KEY
    return None


# --- PEM blocks -----------------------------------------------------------------------------

_PEM_BEGIN_RE: Final = re.compile(r"-----BEGIN ([A-Z0-9][A-Z0-9 ]{0,40})-----")
_PEM_BODY_LIMIT: Final = 16_384  # an RSA-8192 private key is under 7 kB
_BASE64_CHARS_RE: Final = re.compile(r"[A-Za-z0-9+/=]")
_ESCAPES_RE: Final = re.compile(r"\\[nrt]")
_MIN_PEM_BODY: Final = 40  # base64 characters: "MIIE…" in docs is an ellipsis, not a key


@dataclasses.dataclass(frozen=True, slots=True)
class _PemBlock:
    start: int
    end: int
    label: str
    body_chars: int

    @property
    def is_private(self) -> bool:
        return "PRIVATE KEY" in self.label


def _pem_blocks(text: str) -> list[_PemBlock]:
    blocks: list[_PemBlock] = []
    position = 0
    while (begin := _PEM_BEGIN_RE.search(text, position)) is not None:
        label = begin.group(1).strip()
        end_marker = f"-----END {label}-----"
        end_at = text.find(end_marker, begin.end(), begin.end() + _PEM_BODY_LIMIT)
        stop = end_at + len(end_marker) if end_at >= 0 else _body_end(text, begin.end())
        body = _ESCAPES_RE.sub("", text[begin.end() : end_at if end_at >= 0 else stop])
        blocks.append(_PemBlock(begin.start(), stop, label, len(_BASE64_CHARS_RE.findall(body))))
        position = max(stop, begin.end())
    return blocks


def _body_end(text: str, start: int) -> int:
    """Where a PEM without END stops: the first line that is not base64 (a truncated paste)."""
    limit = min(len(text), start + _PEM_BODY_LIMIT)
    position = start
    while position < limit:
        newline = text.find("\n", position, limit)
        line_end = limit if newline < 0 else newline
        line = text[position:line_end].strip().strip("\"',")
        if position > start and line and not re.fullmatch(r"[A-Za-z0-9+/=:\- \\]+", line):
            return position
        position = line_end + 1
    return limit


def is_private_key_pem(value: str) -> bool:
    """A PEM private key block with a real body (also written on one line with `\\n` escapes)."""
    return any(block.is_private and block.body_chars >= _MIN_PEM_BODY for block in _pem_blocks(value))


# --- finding things in text ---------------------------------------------------------------

# 64 alphanumerics not inside a longer run; an escape such as `\n` may stand right before.
_RUN_RE: Final = re.compile(r"(?:(?<=\\[nrt])|(?<![A-Za-z0-9]))[A-Za-z0-9]{64}(?![A-Za-z0-9])")
# part of base64, base64url, a dotted token, a MIME encoded-word (=?utf-8?b?…?=)
_BEFORE_FORBIDDEN: Final = frozenset("+/_-.?")
_AFTER_FORBIDDEN: Final = frozenset("+/=_-")
_NAME_BEFORE_VALUE_RE: Final = re.compile(
    r"""(?<![\w.\-/])([A-Za-z0-9_][\w.\-/]*)["']?\]?\s*(?::=|=>|==|[:=])\s*>?\s*["'`]?\s*$"""
)
_BLOB_LINE_RE: Final = re.compile(r"""[\s"'`(,.]*([A-Za-z0-9+/_\-]{40,}={0,2})[\s"'`),;.\\n]*""")
_CONTEXT_WORDS_RE: Final = re.compile(
    r"(?i)binance|ccxt|x-mbx-apikey|api[_-]?key|api[_-]?secret|secret[_-]?key|umfutures|cmfutures"
)
# What makes a text Binance's: the name, its client libraries, its key header. Generic words
# such as api_key do not: Ethereum tooling and crypto libraries use them too.
_BINANCE_CONTEXT_RE: Final = re.compile(r"(?i)binance|ccxt|x-mbx-apikey|umfutures|cmfutures|coinmfutures")


# Parts of a key name that say "an exchange API key" rather than any key (an Ethereum account's
# `key`, `private_key`, `TEST_KEY`): `TEST_FUTURES_API_KEY`, `apiSecret`, `BINANCE_KEY`.
_API_NAME_PARTS: Final = frozenset({"api", "apikey", "apisecret", "binance", "binancekey", "bnb", "futures",
                                    "testnet", "mbx", "mbxapikey", "umfutures", "cmfutures", "spot"})


def names_api_key(name: str) -> bool:
    """Does the name say its value is an exchange API credential (`api_key`, `FUTURES_SECRET`)?
    Enough for 64 hex digits to be a (futures testnet) key even in a text that never names Binance."""
    return any(part in _API_NAME_PARTS for part in name_parts(name))


_WALLET_NAME_PARTS: Final = frozenset({"private", "privatekey", "priv", "privkey", "pk", "wallet",
                                       "mnemonic", "seed"})


def names_wallet_key(name: str) -> bool:
    """Does the name say its 64 hex digits are a wallet's private key (`privateKey`, `eth_priv`,
    `WALLET_PK`), not an exchange API credential? Binance's hex keys are API keys and secrets;
    a secp256k1 key (Ethereum, StarkNet, a DEX signer) is 32 bytes of hex under such a name."""
    parts = name_parts(name)
    return (any(part in _WALLET_NAME_PARTS for part in parts)
            and not any(part in _API_NAME_PARTS or part in ("secret", "hmac") for part in parts))


def binance_context(text: str) -> bool:
    """Does the text name Binance, a Binance client library or Binance's API key header?
    64 hex digits and inline PEM keys count as Binance credentials only in such a text."""
    return _BINANCE_CONTEXT_RE.search(text) is not None


class _Lines:
    """Line and column of offsets in one text, computed once and only when needed."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts: list[int] | None = None

    @property
    def starts(self) -> list[int]:
        if self._starts is None:
            self._starts = [0, *(m.end() for m in re.finditer("\n", self.text))]
        return self._starts

    def index(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset) - 1

    def position(self, offset: int) -> tuple[int, int]:
        index = self.index(offset)
        return index + 1, offset - self.starts[index] + 1

    def line_text(self, index: int) -> str:
        if index < 0 or index >= len(self.starts):
            return ""
        end = self.text.find("\n", self.starts[index])
        return self.text[self.starts[index] : end if end >= 0 else len(self.text)]


def _in_spans(offset: int, spans: Sequence[tuple[int, int]]) -> bool:
    """Is the offset inside one of the spans (sorted by start, not overlapping)?"""
    index = bisect.bisect_right([start for start, _ in spans], offset) - 1
    return index >= 0 and offset < spans[index][1]


def _is_blob_line(line: str) -> bool:
    return _BLOB_LINE_RE.fullmatch(line) is not None


def _in_base64_blob(lines: _Lines, line_index: int) -> bool:
    """A 64-char line of a wrapped base64 blob (PNG data, a PEM body pasted without markers, a
    JWT wrapped for display): the line holds nothing but the run, and a line next to it is
    base64 or base64url with `+`, `/`, `=`, `-` or `_` in it."""
    if not _is_blob_line(lines.line_text(line_index)):
        return False
    for other in (line_index - 2, line_index - 1, line_index + 1, line_index + 2):
        neighbour = lines.line_text(other)
        if _is_blob_line(neighbour) and any(c in neighbour for c in "+/=-_"):
            return True
    return False


def name_before(line_prefix: str) -> str | None:
    """The name a value is assigned to, from the text before it on its line:
    `api_key = "`, `"secret": "`, `BINANCE_API_KEY=`, `X-MBX-APIKEY: `, `hash = "sha256:`."""
    match = _NAME_BEFORE_VALUE_RE.search(line_prefix[-200:])
    return match.group(1) if match else None


# A key and its secret written as a pair: `<key>: <secret>` (a YAML or Python map from key to
# secret), `VAR=<key>:<secret>`, `wss://<key>:<secret>@host`, `curl -u <key>:<secret>`, INI
# `<key> = <secret>`. The first is the key, the second the secret.
_PAIR_SEPARATOR: Final = r"""["']?[ \t]*[:=][ \t]*["']?"""
_PAIR_BEFORE_RE: Final = re.compile(r"(?<![A-Za-z0-9])([A-Za-z0-9]{64})" + _PAIR_SEPARATOR + r"$")
_PAIR_AFTER_RE: Final = re.compile(_PAIR_SEPARATOR + r"([A-Za-z0-9]{64})(?![A-Za-z0-9])")


def _role_in_pair(text: str, prefix: str, end: int) -> Role | None:
    before = _PAIR_BEFORE_RE.search(prefix[-80:])
    if before is not None and classify_value(before.group(1)) is Shape.KEY:
        return Role.SECRET
    after = _PAIR_AFTER_RE.match(text, end, end + 80)
    if after is not None and classify_value(after.group(1)) is Shape.KEY:
        return Role.KEY
    return None


# A value cut by backslash-newline continuations inside a string (Python, shell, JavaScript):
# `API_SECRET = "Lt2Q…\` then `…JkO3"` on the next line.
_CONTINUED_RE: Final = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]+(?:\\\r?\n[A-Za-z0-9]+)+(?![A-Za-z0-9])")
_CONTINUATION_RE: Final = re.compile(r"\\\r?\n")


def _runs(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, value) of every 64-character candidate, whole or continued over lines."""
    for run in _RUN_RE.finditer(text):
        yield run.start(), run.end(), run.group()
    if "\\\n" not in text and "\\\r\n" not in text:
        return
    for run in _CONTINUED_RE.finditer(text):
        value = _CONTINUATION_RE.sub("", run.group())
        if len(value) == KEY_LENGTH:
            yield run.start(), run.end(), value


def find_credentials(text: str, *, _lines: _Lines | None = None,
                     _pem: list[_PemBlock] | None = None, hex_needs_context: bool = True) -> list[Match]:
    """HMAC API keys and secrets in any text. 64 hex digits count only under a key or secret
    name in a Binance text (`hex_needs_context=False`: under such a name anywhere, for redaction)."""
    lines = _lines or _Lines(text)
    pem_spans = [(b.start, b.end) for b in (_pem if _pem is not None else _pem_blocks(text))]
    binance_text: bool | None = None
    binance_hex: bool | None = None
    matches: list[Match] = []
    for start, end, value in _runs(text):
        before = text[start - 1] if start else ""
        # after `://` a 64-character run is a URL's user name (`wss://<key>:<secret>@host`): a
        # host label is at most 63 characters, and a path segment (`/ws/<listenKey>`) has one `/`
        userinfo = before == "/" and text.endswith("://", 0, start)
        if before in _BEFORE_FORBIDDEN and not userinfo:
            continue
        if end < len(text) and text[end] in _AFTER_FORBIDDEN:
            continue
        if pem_spans and _in_spans(start, pem_spans):
            continue
        shape = classify_value(value)
        if shape not in (Shape.KEY, Shape.HEX64):
            continue
        line_index = lines.index(start)
        line_start = lines.starts[line_index]
        prefix = text[line_start:start]
        name = name_before(prefix)
        if name and names_non_secret(name):
            continue  # a listenKey, a digest, a checksum keyed by a file name
        role = role_of_name(name) if name else None
        if role is None and "x-mbx-apikey" in prefix.lower():
            role = Role.KEY
        if role is None and shape is Shape.KEY:
            role = _role_in_pair(text, prefix, end)
        if shape is Shape.HEX64:
            if role is None or (name and names_wallet_key(name)):
                continue  # a digest, a signature, a checksum; a wallet's private key
            if hex_needs_context and not (name and names_api_key(name)):
                if binance_hex is None:
                    binance_hex = binance_context(text)
                if not binance_hex:
                    continue  # an Ethereum private key, a test vector
        if role is None and _in_base64_blob(lines, line_index):
            continue
        if role is not None:
            confidence: Confidence = "high"
        else:
            if binance_text is None:
                binance_text = _CONTEXT_WORDS_RE.search(text) is not None
            confidence = "medium" if binance_text else "low"
        kind = {Role.KEY: Kind.API_KEY, Role.SECRET: Kind.API_SECRET, None: Kind.CREDENTIAL}[role]
        line, column = line_index + 1, start - line_start + 1
        matches.append(Match(kind, start, end, line, column, confidence, mask(value), fingerprint(value)))
    return matches


def _standalone(text: str, blocks: Sequence[_PemBlock]) -> bool:
    """Is the text nothing but its PEM blocks (a key file: key.pem, id_ed25519)?"""
    position = 0
    for block in blocks:
        if text[position : block.start].strip():
            return False
        position = block.end
    return not text[position:].strip()


def find_private_keys(text: str, *, _lines: _Lines | None = None,
                      _pem: list[_PemBlock] | None = None, binance_only: bool = True) -> list[Match]:
    """PEM private key blocks with a real body, reported where `-----BEGIN` stands.

    With `binance_only` (the scanner), only keys that can be Binance API keys: Ed25519 or RSA
    by their DER (or of a hidden type), and, inline in a longer text, only in a Binance text:
    a crypto library's test vectors are not leaks, a committed key file is. Outside a Binance
    text, a key file that holds a certificate too (a TLS key pair) or a key of a size Binance
    does not take (RSA other than 2048/4096 bits, read from the key or its ciphertext's length)
    is not reported either."""
    lines = _lines or _Lines(text)
    matches = []
    blocks = _pem if _pem is not None else _pem_blocks(text)
    candidates = [b for b in blocks if b.is_private and b.body_chars >= _MIN_PEM_BODY]
    outside_binance = binance_only and bool(candidates) and not binance_context(text)
    if outside_binance and (not _standalone(text, blocks)
                            or any("CERTIFICATE" in b.label for b in blocks)):
        return []  # test vectors inside code; a TLS key file holding its certificate
    for block in candidates:
        value = text[block.start : block.end]
        if binance_only:
            from bkm_guard.pemkeys import can_be_binance_key, has_binance_size

            if not can_be_binance_key(block.label, value):
                continue  # EC, DSA, X25519 ...: Binance takes Ed25519 and RSA keys only
            if outside_binance and not has_binance_size(block.label, value):
                continue  # RSA-1024/3072: Binance takes 2048 and 4096 bits only
        line, column = lines.position(block.start)
        matches.append(Match(Kind.PRIVATE_KEY, block.start, block.end, line, column, "high",
                             mask(value), fingerprint(_ESCAPES_RE.sub("", "".join(value.split()))),
                             block.label))
    return matches


def find_insecure_urls(text: str, *, _lines: _Lines | None = None) -> list[Match]:
    """`http://` and `ws://` URLs whose host is Binance's."""
    if "://" not in text:
        return []
    lines = _lines or _Lines(text)
    matches = []
    for url in INSECURE_URL_RE.finditer(text):
        host = url.group("host").rstrip(".")
        if not is_binance_host(host):
            continue
        label = f"{url.group('scheme').lower()}://{host.lower()}"
        line, column = lines.position(url.start())
        matches.append(Match(Kind.INSECURE_URL, url.start(), url.end(), line, column, "high", label,
                             fingerprint("BKM101:" + label), label))
    return matches


def find_all(text: str, *, whole_file: bool = True) -> list[Match]:
    """Every credential, private key and insecure Binance URL in a text, in text order.

    `whole_file=False` is for a few lines cut out of a file (the detect-secrets plugin's view):
    whether the file is Binance's cannot be told from them, so 64 hex under a key name and
    every PEM private key count."""
    lines = _Lines(text)
    pem = _pem_blocks(text) if "-----BEGIN" in text else []
    found = [
        *find_credentials(text, _lines=lines, _pem=pem, hex_needs_context=whole_file),
        *find_private_keys(text, _lines=lines, _pem=pem, binance_only=whole_file),
        *find_insecure_urls(text, _lines=lines),
    ]
    return sorted(found, key=lambda m: (m.start, m.kind.value))


def iter_lines_with_matches(text: str) -> Iterator[tuple[int, list[Match]]]:
    """(line number, matches on it) for lines that hold at least one match."""
    by_line: dict[int, list[Match]] = {}
    for match in find_all(text):
        by_line.setdefault(match.line, []).append(match)
    yield from sorted(by_line.items())


# --- prefilter ------------------------------------------------------------------------------

_ALNUM_TABLE: Final = bytes(
    0x61 if (0x30 <= b <= 0x39 or 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A) else 0x20 for b in range(256)
)
_RUN_OF_64: Final = b"a" * KEY_LENGTH
_KIND_SECRET_BYTES_RE: Final = re.compile(rb"""kind["']?[ \t]*:[ \t]*["']?Secret\b""")


def may_hold_k8s_secret(data: bytes) -> bool:
    """Could these bytes be a Kubernetes Secret manifest (`kind: Secret`, YAML or JSON)?"""
    return b"Secret" in data and _KIND_SECRET_BYTES_RE.search(data) is not None


def prefilter(data: bytes) -> bool:
    """Could these bytes hold any finding at all? Cheap enough to run on every file first.

    True when there is a run of 64+ alphanumerics, a PEM private key marker, a Kubernetes
    Secret, or an `http://`/`ws://` next to the word binance (host templates included).
    False means: no need to decode or parse. UTF-16/32 text must be given as UTF-8
    (bkm_guard.static.textdecode.as_utf8).
    """
    if b"PRIVATE KEY" in data:
        return True
    if may_hold_k8s_secret(data):  # a Kubernetes Secret: its values are base64
        return True
    lowered = data.lower()
    if b"binance" in lowered and (b"http://" in lowered or b"ws://" in lowered):
        return True
    if _RUN_OF_64 in data.translate(_ALNUM_TABLE):
        return True
    if b"\\\n" in data:  # a key continued over lines by backslash-newline
        joined = data.replace(b"\\\r\n", b"").replace(b"\\\n", b"")
        return _RUN_OF_64 in joined.translate(_ALNUM_TABLE)
    return False
