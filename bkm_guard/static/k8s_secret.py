"""Credentials inside a Kubernetes Secret's base64 `data:` values.

`kubectl create secret generic binance --from-literal=BINANCE_API_KEY=…` (or `-o yaml` of it,
or a Helm chart's rendered output) stores each value in base64, so the recognizer never sees
the key itself. In a YAML or JSON text that declares `kind: Secret`, every `name: <base64>`
entry is decoded; a decoded value that is a credential, or a decoded file (`.env: <base64>`)
that holds one, is reported on the entry's line.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from collections.abc import Iterator
from typing import Final

from bkm_guard import recognizer
from bkm_guard.masking import fingerprint, mask

_KIND_SECRET_RE: Final = re.compile(r"""(?m)^\s*["']?kind["']?\s*:\s*["']?Secret["']?\s*,?\s*$""")
# `  BINANCE_API_KEY: <base64>` (YAML) or `"BINANCE_API_KEY": "<base64>",` (JSON)
_ENTRY_RE: Final = re.compile(
    r"""(?m)^[ \t]*["']?(?P<name>[A-Za-z0-9_.\-]{1,253})["']?[ \t]*:[ \t]*["']?"""
    r"""(?P<value>[A-Za-z0-9+/]{40,}={0,2})["']?[ \t]*,?[ \t]*\r?$"""
)
_MAX_VALUE: Final = 1 << 20


@dataclasses.dataclass(frozen=True, slots=True)
class SecretEntry:
    """One credential found in a decoded `data:` value. No field holds the secret."""

    line: int
    column: int
    length: int  # of the base64 value as written
    name: str
    kind: recognizer.Kind
    masked: str
    fingerprint: str


def _decode(value: str) -> str | None:
    if len(value) > _MAX_VALUE or len(value) % 4:
        return None
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None  # not base64, or binary data (a TLS key store, an image)


def _role_kind(role: recognizer.Role | None) -> recognizer.Kind:
    return {
        recognizer.Role.KEY: recognizer.Kind.API_KEY,
        recognizer.Role.SECRET: recognizer.Kind.API_SECRET,
        None: recognizer.Kind.CREDENTIAL,
    }[role]


def find_in_secrets(text: str) -> Iterator[SecretEntry]:
    """Credentials in the base64 `data:` values of the Kubernetes Secrets in a YAML/JSON text."""
    if not _KIND_SECRET_RE.search(text):
        return
    binance = recognizer.binance_context(text)
    for entry in _ENTRY_RE.finditer(text):
        decoded = _decode(entry.group("value"))
        if decoded is None:
            continue
        name = entry.group("name")
        line = text.count("\n", 0, entry.start()) + 1
        column = entry.start("value") - (text.rfind("\n", 0, entry.start()) + 1) + 1
        length = len(entry.group("value"))
        value = decoded.strip()
        role = recognizer.role_of_name(name)
        shape = recognizer.classify_value(value)
        if shape is recognizer.Shape.KEY or (
            shape is recognizer.Shape.HEX64 and role is not None and (binance or "binance" in name.lower())
            and not recognizer.names_wallet_key(name)
        ):
            yield SecretEntry(line, column, length, name, _role_kind(role), mask(value), fingerprint(value))
            continue
        # a whole file stored as one value (`.env`, `config.yaml`): its own names decide
        for match in recognizer.find_credentials(decoded):
            yield SecretEntry(line, column, length, name, match.kind, match.masked, match.fingerprint)
