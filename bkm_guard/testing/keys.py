"""Throw-away Binance-shaped keys made at run time, so no test ever commits a key-shaped literal."""

from __future__ import annotations

import secrets
import string

_BASE62 = string.ascii_letters + string.digits


def new_api_key() -> str:
    """64 random base62 characters with upper case, lower case and a digit, like Binance's keys."""
    while True:
        value = "".join(secrets.choice(_BASE62) for _ in range(64))
        if (any(c.isupper() for c in value) and any(c.islower() for c in value)
                and any(c.isdigit() for c in value)):
            return value


def new_hmac_secret() -> str:
    """An HMAC secret of the same shape as Binance's."""
    return new_api_key()


def new_ed25519_key(password: bytes | None = None) -> tuple[str, str]:
    """(private key PEM, public key PEM) of a fresh Ed25519 key, PKCS#8 as Binance's tool makes it."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return _pems(ed25519.Ed25519PrivateKey.generate(), password)


def new_rsa_key(bits: int = 2048, password: bytes | None = None) -> tuple[str, str]:
    """(private key PEM, public key PEM) of a fresh RSA key."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    return _pems(rsa.generate_private_key(public_exponent=65537, key_size=bits), password)


def _pems(key: object, password: bytes | None) -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization

    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption())
    private = key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    public = key.public_key().public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private.decode("ascii"), public.decode("ascii")
