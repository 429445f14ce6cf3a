"""Checks of key material on add and rotate: shapes of API keys and secrets, parsed PEMs."""

from __future__ import annotations

import re
from typing import Final

from bkm_guard.errors import InvalidKeyMaterialError
from bkm_guard.masking import mask
from bkm_guard.runtime.store.metadata import KeyType

_KEY_RE: Final = re.compile(r"[A-Za-z0-9]{64}")
_MIN_RSA_BITS: Final = 2048


def _shape_ok(value: str) -> tuple[bool, str]:
    """(accepted, why not) from the shared recognizer if present, else the bare shape."""
    if _KEY_RE.fullmatch(value) is None:
        return False, "64 letters and digits expected"
    try:
        from bkm_guard import recognizer
    except ImportError:
        return True, ""
    # Only refuse what is surely not a real key: the recognizer's other doubts (a JWT-like
    # prefix, a missing character class) would refuse about one real key in 10^5.
    shape = recognizer.classify_value(value).name
    if shape == "EXAMPLE":
        return False, "this is the public example key from Binance's documentation"
    if shape == "PLACEHOLDER":
        return False, "this looks like a placeholder, not a real key"
    return True, ""


def check_api_key(value: str) -> str:
    value = value.strip()
    ok, why = _shape_ok(value)
    if not ok:
        raise InvalidKeyMaterialError(
            f"the API key ({mask(value)}) is not a Binance API key: {why}; copy it again from "
            "Binance's API management page")
    return value


def check_api_secret(value: str) -> str:
    value = value.strip()
    ok, why = _shape_ok(value)
    if not ok:
        raise InvalidKeyMaterialError(
            f"the API secret ({mask(value)}) is not a Binance HMAC secret: {why}; for an "
            "Ed25519 or RSA key use --type ed25519|rsa and give the private key PEM")
    return value


def key_type_of_pem(pem: str, password: str | None) -> KeyType:
    """Parse the PEM (with its password) and say whether it is Ed25519 or RSA."""
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    data = pem.strip().encode("utf-8")
    if b"PRIVATE KEY-----" not in data:
        raise InvalidKeyMaterialError("the private key is not a PEM private key block")
    try:
        key = load_pem_private_key(data, password.encode("utf-8") if password else None)
    except TypeError:
        if password:
            raise InvalidKeyMaterialError(
                "the private key is not encrypted, but a password was given: give none") from None
        raise InvalidKeyMaterialError(
            "the private key is encrypted: give its password too") from None
    except (ValueError, Exception):  # cryptography raises several types for bad input
        raise InvalidKeyMaterialError(
            "the private key PEM cannot be read: damaged, or a wrong password") from None
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < _MIN_RSA_BITS:
            raise InvalidKeyMaterialError(
                f"the RSA key has {key.key_size} bits: Binance needs {_MIN_RSA_BITS} or more")
        return "rsa"
    raise InvalidKeyMaterialError("the private key is neither Ed25519 nor RSA: Binance takes only those")


def check_private_key(pem: str, password: str | None, key_type: KeyType) -> str:
    actual = key_type_of_pem(pem, password)
    if actual != key_type:
        raise InvalidKeyMaterialError(
            f"the private key is {actual}, not {key_type}: use --type {actual}")
    return pem.strip() + "\n"


def pkcs8_pem(pem: str, password: str | None) -> str:
    """The key as unencrypted PKCS#8 PEM in its canonical form, whatever form it was stored in."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(pem.encode(), password.encode() if password else None)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def unencrypted_pem(pem: str, password: str | None) -> str:
    """The same key as unencrypted PKCS#8 PEM, for libraries that take no password (ccxt)."""
    if not password:
        return pem
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(pem.encode(), password.encode())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()
