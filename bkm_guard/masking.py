"""The only two ways a secret value is ever shown: a masked form and a fingerprint."""

from __future__ import annotations

import hashlib

_FINGERPRINT_DOMAIN = b"bkm-guard/fingerprint/v1\x00"
_SHOWN_PREFIX = 4


def fingerprint(value: str | bytes) -> str:
    """A stable, non-reversible identity of a secret value: same value, same fingerprint.

    Domain-separated SHA-256 so that it matches no other tool's plain hash of the key,
    cut to 80 bits: plenty to tell keys apart in a baseline or a store, useless to an attacker.
    """
    data = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
    return "bkm:" + hashlib.sha256(_FINGERPRINT_DOMAIN + data).hexdigest()[:20]


def mask(value: str | bytes) -> str:
    """First four characters and the length: enough to recognize a key, never to use it."""
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    text = text.strip()
    if text.startswith("-----BEGIN"):
        header = text.split("-----", 2)[1] if text.count("-----") >= 2 else "PEM"
        return f"<{header.removeprefix('BEGIN ').strip()} PEM, {len(text)} chars>"
    shown = text[:_SHOWN_PREFIX] if len(text) >= 16 else ""
    return f"{shown}…({len(text)} chars)"
