"""Request signing exactly as Binance documents it for SIGNED endpoints.

The payload is the request's query string (with `timestamp` and `recvWindow` in it). The
signature is appended as the last parameter, `signature=...`:

* HMAC-SHA256 keys: the lower-case hex digest of HMAC-SHA256(secret, payload);
* RSA keys: RSASSA-PKCS1-v1_5 with SHA-256 over the payload, base64, then URL-encoded;
* Ed25519 keys: the Ed25519 signature of the payload, base64, then URL-encoded.

`cryptography` is imported only when an RSA or Ed25519 key is used, so HMAC signing and
`import bkm_guard` stay cheap.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal
from urllib.parse import quote, urlencode

from bkm_guard.errors import InvalidKeyMaterialError
from bkm_guard.masking import fingerprint

KeyType = Literal["hmac", "ed25519", "rsa"]
KEY_TYPES: Final[tuple[KeyType, ...]] = ("hmac", "ed25519", "rsa")

Params = Mapping[str, object] | Iterable[tuple[str, object]]


def hmac_signature(secret: str, payload: str) -> str:
    """Binance's HMAC-SHA256 signature: lower-case hex."""
    return hmac.new(secret.encode("utf-8"), payload.encode("utf-8"), hashlib.sha256).hexdigest()


def _load_private_key(pem: str | bytes, password: str | bytes | None) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    data = pem.encode("utf-8") if isinstance(pem, str) else pem
    secret = password.encode("utf-8") if isinstance(password, str) else password
    try:
        return load_pem_private_key(data, password=secret or None)
    except (ValueError, TypeError) as exc:
        # the parser's message never holds key bytes, but keep ours fixed anyway
        raise InvalidKeyMaterialError(
            "the private key PEM cannot be read (wrong format or wrong key password): "
            "re-add the key with `bkm-guard keys rotate NAME`"
        ) from exc


def _sign_raw(key: Any, key_type: KeyType, payload: str) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

    if key_type == "rsa" and isinstance(key, rsa.RSAPrivateKey):
        return key.sign(payload.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    if key_type == "ed25519" and isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(payload.encode("utf-8"))
    raise InvalidKeyMaterialError(
        f"the stored private key is not an {key_type} key: check the key type given with `keys add --type`")


def rsa_signature(private_key_pem: str | bytes, payload: str, password: str | bytes | None = None) -> str:
    """Binance's RSA signature: PKCS#1 v1.5, SHA-256, base64 (not yet URL-encoded)."""
    raw = _sign_raw(_load_private_key(private_key_pem, password), "rsa", payload)
    return base64.b64encode(raw).decode("ascii")


def ed25519_signature(private_key_pem: str | bytes, payload: str, password: str | bytes | None = None) -> str:
    """Binance's Ed25519 signature: base64 (not yet URL-encoded)."""
    raw = _sign_raw(_load_private_key(private_key_pem, password), "ed25519", payload)
    return base64.b64encode(raw).decode("ascii")


class Signer:
    """Signs payloads with one key. Holds the secret privately; its repr shows a fingerprint only."""

    __slots__ = ("_key", "key_type")

    def __init__(self, key_type: KeyType, *, secret: str | None = None,
                 private_key: str | bytes | None = None,
                 private_key_password: str | bytes | None = None) -> None:
        if key_type not in KEY_TYPES:
            raise InvalidKeyMaterialError(f"unknown key type {key_type!r}: use hmac, ed25519 or rsa")
        material = secret if key_type == "hmac" else private_key
        if not material:
            what = "an HMAC secret" if key_type == "hmac" else f"an {key_type} private key PEM"
            raise InvalidKeyMaterialError(f"a {key_type} key needs {what}")
        self.key_type: KeyType = key_type
        self._key: Any = material
        if key_type != "hmac":
            # parse and try once: a broken PEM or a wrong key type fails here, not mid-request
            self._key = _load_private_key(material, private_key_password)
            _sign_raw(self._key, key_type, "")

    def signature(self, payload: str) -> str:
        """The signature as Binance expects it in the query string (already URL-encoded)."""
        if self.key_type == "hmac":
            return hmac_signature(self._key, payload)
        raw = _sign_raw(self._key, self.key_type, payload)
        return quote(base64.b64encode(raw).decode("ascii"), safe="")

    def sign(self, params: Params) -> str:
        """The full signed query string: `payload&signature=...`."""
        payload = encode_params(params)
        return f"{payload}&signature={self.signature(payload)}"

    def secret_values(self) -> tuple[str, ...]:
        """The HMAC secret, for masking in messages (a private key is kept parsed, not as text)."""
        return (str(self._key),) if self.key_type == "hmac" else ()

    def __repr__(self) -> str:
        if self.key_type == "hmac":
            return f"Signer(hmac, {fingerprint(str(self._key))})"
        return f"Signer({self.key_type})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a Signer holds a secret and cannot be pickled")


def encode_params(params: Params) -> str:
    """The query string of `params` in the order given, booleans as Binance spells them."""
    items = params.items() if isinstance(params, Mapping) else params
    return urlencode([(name, _text(value)) for name, value in items])


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def split_signature(query: str) -> tuple[str, str | None]:
    """The signed payload (the raw query without `signature=`) and the raw signature, as a server does."""
    kept: list[str] = []
    signature: str | None = None
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if name == "signature" and signature is None:
            signature = value
        elif part:
            kept.append(part)
    return "&".join(kept), signature


def verify_signature(key_type: KeyType, payload: str, signature: str, *,
                     secret: str | None = None, public_key_pem: str | bytes | None = None) -> bool:
    """True when `signature` (already URL-decoded) signs `payload` for the given key.

    Used by the fake Binance server; any malformed input is simply not a valid signature.
    """
    if key_type == "hmac":
        if secret is None:
            return False
        return hmac.compare_digest(hmac_signature(secret, payload), signature.lower())
    if public_key_pem is None:
        return False
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        raw = base64.b64decode(signature, validate=True)
        public = load_pem_public_key(
            public_key_pem.encode("ascii") if isinstance(public_key_pem, str) else public_key_pem)
        if key_type == "rsa" and isinstance(public, rsa.RSAPublicKey):
            public.verify(raw, payload.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
            return True
        if key_type == "ed25519" and isinstance(public, ed25519.Ed25519PublicKey):
            public.verify(raw, payload.encode("utf-8"))
            return True
    except (InvalidSignature, ValueError, TypeError, binascii.Error):
        return False
    return False


def public_key_pem(private_key_pem: str | bytes, password: str | bytes | None = None) -> str:
    """The public half of an RSA or Ed25519 private key, as the PEM Binance asks you to upload."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = _load_private_key(private_key_pem, password)
    return str(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode("ascii"))
