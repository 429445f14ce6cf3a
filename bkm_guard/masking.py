"""The only two ways a secret value is ever shown: a masked form and a fingerprint."""

from __future__ import annotations

import hashlib
import re

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


# 32+ letters and digits, with at least one of each: no word, path part or sensible key name
# is that; every Binance key and secret (64) and PEM body line is
_CREDENTIAL_SHAPE = re.compile(
    r"(?<![A-Za-z0-9])(?=[A-Za-z0-9]*[0-9])(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{32,}(?![A-Za-z0-9])")


def looks_like_credential(text: str) -> bool:
    """True when `text` holds a run shaped like a key or secret (for messages about input)."""
    return _CREDENTIAL_SHAPE.search(text) is not None


def scrub(text: str) -> str:
    """`text` with every credential-shaped run masked."""
    return _CREDENTIAL_SHAPE.sub(lambda m: mask(m.group(0)), text)


# A name quoted in a message ("... in `NAME`") is text from the scanned file: a YAML map from
# key to secret, `VAR=<key>:<secret>` or `{"<key>": "<secret>"}` make the key itself the name.
_ALNUM_RUN_RE = re.compile(r"[A-Za-z0-9]{16,}")
_WORD_RE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")


def _is_wordy(run: str) -> bool:
    """`BINANCE`, `binanceApiSecretKey`, `apiKeyForProduction2`: words, not random characters.

    A random base62 or hex run breaks into many one- and two-character chunks (`xhL6HzXd` is
    x, hL, 6, Hz, Xd), a name into a few words of four characters or more on average."""
    words = _WORD_RE.findall(run)
    digits = sum(char.isdigit() for char in run)
    return digits <= 4 and len(words) * 4 <= len(run)


def could_be_credential(text: str) -> bool:
    """Does this text hold a run of 16+ letters and digits that is not made of words?"""
    return any(not _is_wordy(run.group()) for run in _ALNUM_RUN_RE.finditer(text))


def shown_name(name: str) -> str:
    """The name as a message may quote it: itself when it cannot be a credential, else masked."""
    return mask(name) if could_be_credential(name) or looks_like_credential(name) else name


def scrub_message(message: str) -> str:
    """A finding's message with every run that could be a credential replaced by its masked
    form (stricter than `scrub`: 16 characters that are not words are enough): the last line of
    defence, so that no report format ever prints a piece of a key whatever a rule wrote."""
    message = scrub(message)
    if not _ALNUM_RUN_RE.search(message):
        return message
    return _ALNUM_RUN_RE.sub(lambda run: run.group() if _is_wordy(run.group()) else mask(run.group()),
                             message)
