"""Which found API key goes with which secret or private key, in one file's text.

Candidates come from the shared recognizer (`find_credentials`, `find_private_keys`), so a
pair is made of exactly the values a scan reports. The rules, in order:

1. **Same line**: two credentials on one line (`Client("…", "…")`, `{"apiKey": "…",
   "secret": "…"}`): a named key and a named secret go together; unnamed values fill in, the
   first as the key, the next as the secret (the argument order of every Binance client).
2. **Private key**: a PEM private key goes with the nearest API key that has no secret
   (an Ed25519/RSA key has a PEM instead of a secret).
3. **Named and nearby**: a key named as a key (`api_key`, `BINANCE_API_KEY=`, `apiKey:`)
   goes with the nearest secret named as a secret within `WINDOW` lines (a dict, a config
   block, a .env, adjacent YAML/JSON/TOML lines); with exactly one key and one secret left,
   distance does not matter.
4. **Unnamed neighbours**: an unnamed value next to an unpaired key or secret takes the
   missing role; two unnamed values on consecutive lines are key then secret.

What is left is `Unpaired`, with the reason.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Final, Literal

from bkm_guard import recognizer
from bkm_guard.masking import mask
from bkm_guard.verify.model import Held, KeyPair, Unpaired

#: how many lines apart a named key and a named secret may stand
WINDOW: Final = 12

Role = Literal["key", "secret", "unknown", "pem"]
_ESCAPES_RE: Final = re.compile(r"\\[nrt]")
_SYNTAX_ONLY_RE: Final = re.compile(r"[\s\"'`+,;()]*")
_LEADING_SYNTAX_RE: Final = re.compile(r"^(?:\+\s*)?[\"'`]")
_TRAILING_SYNTAX_RE: Final = re.compile(r"[\"'`]\s*(?:\+|,|;)?\s*$")
_PEM_RE: Final = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)


@dataclasses.dataclass
class _Candidate:
    role: Role
    value: str = dataclasses.field(repr=False)
    line: int
    column: int
    fingerprint: str
    label: str = ""
    used: bool = False
    problem: str = ""  # why a value that was paired still cannot be verified


def candidates(text: str) -> list[_Candidate]:
    # the lenient view: what is verified was handed to us (stdin) or reported by the scan
    # (pairs are kept only where a fingerprint is a reported finding's), so no Binance context
    # is required here
    found: list[_Candidate] = []
    seen: set[str] = set()
    for match in recognizer.find_credentials(text, hex_needs_context=False):
        value = text[match.start : match.end]
        if value in seen:
            continue  # the same key written twice is one key
        seen.add(value)
        role: Role = {recognizer.Kind.API_KEY: "key", recognizer.Kind.API_SECRET: "secret"}.get(
            match.kind, "unknown"
        )  # type: ignore[assignment]
        found.append(_Candidate(role, value, match.line, match.column, match.fingerprint))
    for match in recognizer.find_private_keys(text, binance_only=False):
        found.append(
            _Candidate(
                "pem", text[match.start : match.end], match.line, match.column, match.fingerprint, match.label
            )
        )
    return sorted(found, key=lambda c: (c.line, c.column))


def pair_text(text: str) -> tuple[list[KeyPair], list[Unpaired]]:
    """The key pairs in a text, and every credential that could not be paired (with why)."""
    items = candidates(text)
    pairs: list[KeyPair] = []
    _same_line(items, pairs)
    _private_keys(items, pairs)
    _named(items, pairs)
    _unnamed(items, pairs)
    return sorted(pairs, key=lambda p: (p.line, p.column)), _leftovers(items)


def pair_values(api_key: str, secret: str | None = None, private_key: str | None = None) -> KeyPair:
    """A pair given directly (`bkm-guard verify` from stdin)."""
    if private_key is not None:
        pem = normalize_pem(private_key)
        from bkm_guard.verify.verifier import private_key_type

        return KeyPair(Held(api_key), private_key_type(pem), private_key=Held(pem), how="given on stdin")
    return KeyPair(Held(api_key), "hmac", secret=Held(secret or ""), how="given on stdin")


# -- the rules --------------------------------------------------------------------------------


def _free(items: Iterable[_Candidate], *roles: Role) -> list[_Candidate]:
    return [c for c in items if not c.used and c.role in roles]


def _make(key: _Candidate, other: _Candidate, how: str) -> KeyPair:
    key.used = other.used = True
    if other.role == "pem":
        from bkm_guard.verify.verifier import private_key_type

        pem = normalize_pem(other.value)
        return KeyPair(
            Held(key.value),
            private_key_type(pem),
            private_key=Held(pem),
            how=how,
            line=key.line,
            column=key.column,
            secret_line=other.line,
            fingerprints=frozenset({key.fingerprint, other.fingerprint}),
        )
    return KeyPair(
        Held(key.value),
        "hmac",
        secret=Held(other.value),
        how=how,
        line=key.line,
        column=key.column,
        secret_line=other.line,
        fingerprints=frozenset({key.fingerprint, other.fingerprint}),
    )


def _same_line(items: list[_Candidate], pairs: list[KeyPair]) -> None:
    by_line: dict[int, list[_Candidate]] = {}
    for c in _free(items, "key", "secret", "unknown"):
        by_line.setdefault(c.line, []).append(c)
    for on_line in by_line.values():
        line_items = on_line
        while len(line_items) >= 2:
            keys = [c for c in line_items if c.role == "key"]
            secrets = [c for c in line_items if c.role == "secret"]
            unknown = [c for c in line_items if c.role == "unknown"]
            key = keys[0] if keys else (unknown.pop(0) if unknown else None)
            secret = secrets[0] if secrets else (unknown.pop(0) if unknown else None)
            if key is None or secret is None:
                break
            pairs.append(_make(key, secret, "on the same line"))
            line_items = [c for c in line_items if not c.used]


def _private_keys(items: list[_Candidate], pairs: list[KeyPair]) -> None:
    for pem in _free(items, "pem"):
        keys = _free(items, "key") or _free(items, "unknown")
        if not keys:
            return
        key = min(keys, key=lambda c: (abs(c.line - pem.line), c.line > pem.line))
        from bkm_guard.verify.verifier import private_key_type

        try:
            private_key_type(normalize_pem(pem.value))
        except ValueError as exc:  # encrypted, broken, or not Ed25519/RSA: nothing to sign with
            key.used = pem.used = True
            key.problem = pem.problem = f"paired with a private key that cannot be used: {exc}"
            continue
        pairs.append(_make(key, pem, "with a private key in the same file"))


def _named(items: list[_Candidate], pairs: list[KeyPair]) -> None:
    keys, secrets = _free(items, "key"), _free(items, "secret")
    if len(keys) == 1 and len(secrets) == 1:
        pairs.append(_make(keys[0], secrets[0], "named key and secret in the same file"))
        return
    for key in keys:
        near = [s for s in _free(items, "secret") if abs(s.line - key.line) <= WINDOW]
        if near:
            secret = min(near, key=lambda s: (abs(s.line - key.line), s.line < key.line))
            pairs.append(
                _make(key, secret, f"named key and secret {abs(secret.line - key.line)} line(s) apart")
            )


def _unnamed(items: list[_Candidate], pairs: list[KeyPair]) -> None:
    for known in _free(items, "key", "secret"):
        near = [u for u in _free(items, "unknown") if abs(u.line - known.line) <= 2]
        if near:
            other = min(near, key=lambda u: abs(u.line - known.line))
            key, secret = (known, other) if known.role == "key" else (other, known)
            pairs.append(_make(key, secret, "key and secret on neighbouring lines"))
    unknown = _free(items, "unknown")
    index = 0
    while index + 1 < len(unknown):
        first, second = unknown[index], unknown[index + 1]
        if second.line - first.line == 1:
            pairs.append(_make(first, second, "key and secret on consecutive lines"))
            index += 2
        else:
            index += 1


def _leftovers(items: list[_Candidate]) -> list[Unpaired]:
    out = []
    for c in items:
        if c.used and not c.problem:
            continue
        if c.problem:
            reason = c.problem
        elif c.role == "pem":
            reason = "a private key alone cannot be verified: no API key was found with it in the same file"
        elif c.role == "secret":
            reason = "a secret alone cannot be verified (Binance needs the API key): none was found with it"
        else:
            reason = "no secret or private key was found with this key in the same file"
        out.append(Unpaired(c.fingerprint, mask(c.value), c.line, c.column, reason))
    return out


def _unquote(line: str) -> str:
    """A PEM body line without the string syntax around it: `"MIIE…" +`, `+ 'MIIE…'`, `"…",`.

    A `+` is removed only next to a quote: it is also a base64 character."""
    if _SYNTAX_ONLY_RE.fullmatch(line) and any(c in line for c in "\"'`"):
        return ""
    text = _TRAILING_SYNTAX_RE.sub("", _LEADING_SYNTAX_RE.sub("", line.strip()))
    return text.strip("\"'`,; ")


def normalize_pem(raw: str) -> str:
    """A PEM written in code (`\\n` escapes, quotes, string concatenation) as a plain PEM."""
    text = _ESCAPES_RE.sub("\n", raw)
    match = _PEM_RE.search(text)
    if match is None:
        return text.strip() + "\n"
    label, body = match.group(1), match.group(2)
    lines = [_unquote(line) for line in body.splitlines()]
    headers = [line for line in lines if ":" in line]  # Proc-Type / DEK-Info of old encrypted PEMs
    data = "".join(re.sub(r"[^A-Za-z0-9+/=]", "", line) for line in lines if ":" not in line)
    wrapped = [data[i : i + 64] for i in range(0, len(data), 64)]
    parts = [
        f"-----BEGIN {label}-----",
        *headers,
        *([""] if headers else []),
        *wrapped,
        f"-----END {label}-----",
    ]
    return "\n".join(parts) + "\n"
