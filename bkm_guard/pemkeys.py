"""Which algorithm a PEM private key is for, read from its DER body rather than its armour.

Binance accepts Ed25519 and RSA API keys only, so an EC, DSA, X25519 or Ed448 key is never a
Binance credential, whatever its `-----BEGIN` line says. `cryptography` parses unencrypted
PKCS#8, PKCS#1 and SEC1 bodies; the OpenSSH format names its key type in clear even when the
key is encrypted. An encrypted PKCS#8 body hides its type (only the cipher's OID is visible),
so such a key, and a DER body nothing can parse, stay candidates. A "body" that is not base64
or not a DER SEQUENCE is code or prose around an armour line, not a key.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from typing import Final

ED25519: Final = "ed25519"
RSA: Final = "rsa"
HIDDEN: Final = "unknown"  # encrypted, or a body that does not parse: could be either
NOT_A_KEY: Final = "none"  # the "body" is code or prose: no DER SEQUENCE, no OpenSSH blob

#: Key types that can be a Binance API key (or may be one: the type cannot be told)
BINANCE_TYPES: Final = frozenset({ED25519, RSA, HIDDEN})

# DER of the algorithm OIDs (tag 06, length, value), for bodies cryptography will not load
_OIDS: Final = (
    (bytes.fromhex("06032b6570"), ED25519),  # 1.3.101.112
    (bytes.fromhex("06092a864886f70d010101"), RSA),  # 1.2.840.113549.1.1.1
    (bytes.fromhex("06092a864886f70d01010a"), RSA),  # RSASSA-PSS
    (bytes.fromhex("06072a8648ce3d0201"), "ec"),  # 1.2.840.10045.2.1
    (bytes.fromhex("06072a8648ce380401"), "dsa"),  # 1.2.840.10040.4.1
    (bytes.fromhex("06032b656e"), "x25519"),
    (bytes.fromhex("06032b656f"), "x448"),
    (bytes.fromhex("06032b6571"), "ed448"),
)
_PBES_OIDS: Final = (
    bytes.fromhex("06092a864886f70d01050d"),  # PBES2: encrypted PKCS#8
    bytes.fromhex("060a2a864886f70d010c0103"),  # PKCS#12 PBE with 3DES
)
_HEADER_RE: Final = re.compile(r"^[A-Za-z-]+:.*$", re.MULTILINE)  # Proc-Type:, DEK-Info:
_ARMOUR_RE: Final = re.compile(r"-----(?:BEGIN|END) [A-Z0-9 ]+-----")
_ESCAPES_RE: Final = re.compile(r"\\[nrt]")
_JOIN_RE: Final = re.compile(r"[\"']\s*\+\s*[bfru]{0,2}[\"']")  # literals joined with +
_SSH_TYPES: Final = {"ssh-ed25519": ED25519, "ssh-rsa": RSA, "ssh-dss": "dsa", "ssh-ed448": "ed448"}


def _der(body: str) -> bytes | None:
    text = _HEADER_RE.sub("", _ESCAPES_RE.sub("\n", _ARMOUR_RE.sub("\n", body)))
    text = _JOIN_RE.sub("", text)  # "...KEY-----\n" + "MIIE...": that '+' is not in the body
    chars = "".join(ch for ch in text if ch.isalnum() or ch in "+/=")
    try:
        return base64.b64decode(chars + "=" * (-len(chars) % 4))
    except (binascii.Error, ValueError):
        return None


def _openssh_type(blob: bytes) -> str:
    """The key type named in an `openssh-key-v1` blob (in clear even when encrypted)."""
    magic = b"openssh-key-v1\x00"
    if not blob.startswith(magic):
        return HIDDEN
    position = len(magic)
    try:
        for _ in range(3):  # cipher name, KDF name, KDF options
            (size,) = struct.unpack_from(">I", blob, position)
            position += 4 + size
        position += 4  # number of keys
        position += 4  # length of the public key blob
        (size,) = struct.unpack_from(">I", blob, position)
        name = blob[position + 4 : position + 4 + size].decode("ascii")
    except (struct.error, UnicodeDecodeError):
        return HIDDEN
    if name.startswith("ecdsa-"):
        return "ec"
    return _SSH_TYPES.get(name, HIDDEN)


def _loaded_type(der: bytes) -> str | None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x448, x25519

    try:
        key = serialization.load_der_private_key(der, password=None, unsafe_skip_rsa_key_validation=True)
    except Exception:  # encrypted (TypeError), malformed or unsupported: read the OIDs instead
        return None
    for cls, name in (
        (ed25519.Ed25519PrivateKey, ED25519),
        (rsa.RSAPrivateKey, RSA),
        (ec.EllipticCurvePrivateKey, "ec"),
        (dsa.DSAPrivateKey, "dsa"),
        (x25519.X25519PrivateKey, "x25519"),
        (x448.X448PrivateKey, "x448"),
        (ed448.Ed448PrivateKey, "ed448"),
    ):
        if isinstance(key, cls):
            return name
    return HIDDEN


def key_type(label: str, body: str) -> str:
    """The type: "ed25519", "rsa", "ec", "dsa", ... for a PEM block (armour included), or "unknown"
    when its type is hidden (encrypted PKCS#8, a body that does not decode)."""
    der = _der(body)
    if not der:
        return NOT_A_KEY  # not base64 (`pem += "..."`): code that builds a PEM, not a key
    if "OPENSSH" in label:
        return _openssh_type(der) if der.startswith(b"openssh-key-v1\x00") else NOT_A_KEY
    if "Proc-Type: 4,ENCRYPTED" not in body and der[0] != 0x30:
        # every PKCS#8/PKCS#1/SEC1 key is a DER SEQUENCE; code that builds or strips a PEM
        # (`secret.replace(b"-----BEGIN EC PRIVATE KEY-----", b"")`) is not a key
        return NOT_A_KEY
    if "Proc-Type: 4,ENCRYPTED" in body:  # OpenSSL's legacy encryption: the armour names the format
        return {"EC PRIVATE KEY": "ec", "DSA PRIVATE KEY": "dsa", "RSA PRIVATE KEY": RSA}.get(label, HIDDEN)
    if "ENCRYPTED" in label:
        return HIDDEN
    loaded = _loaded_type(der)
    if loaded is not None:
        return loaded
    head = der[:64]
    if any(oid in head for oid in _PBES_OIDS):
        return HIDDEN
    for oid, name in _OIDS:
        if oid in head:
            return name
    return HIDDEN


# Binance takes RSA keys of 2048 and 4096 bits only (its FAQ on API key types). Encryption hides
# the size, but not the ciphertext's length: the DER being encrypted (PKCS#8, or PKCS#1 for
# OpenSSL's legacy encryption) plus at most one cipher block of padding. Measured: Ed25519
# PKCS#8 48-83 bytes; RSA-2048 1190-1194 (PKCS#1) / 1214-1220 (PKCS#8); RSA-4096 2345-2350 /
# 2372-2378; RSA-3072 ~1770 / ~1795 and RSA-1024 ~610 / ~635 fall outside every window.
_RSA_BITS: Final = frozenset({2048, 4096})
_CIPHERTEXT_WINDOWS: Final = ((32, 112), (1180, 1250), (2330, 2410))


def _der_item(der: bytes, position: int) -> tuple[int, int, int] | None:
    """(tag, start of content, end of content) of the DER item at `position`."""
    if position + 2 > len(der):
        return None
    tag, size = der[position], der[position + 1]
    position += 2
    if size & 0x80:
        count = size & 0x7F
        if not 1 <= count <= 4 or position + count > len(der):
            return None
        size = int.from_bytes(der[position : position + count], "big")
        position += count
    return tag, position, position + size


def _encrypted_pkcs8_length(der: bytes) -> int | None:
    """Length of an EncryptedPrivateKeyInfo's encryptedData: SEQUENCE {SEQUENCE alg, OCTET STRING}."""
    outer = _der_item(der, 0)
    if outer is None or outer[0] != 0x30:
        return None
    algorithm = _der_item(der, outer[1])
    if algorithm is None or algorithm[0] != 0x30:
        return None
    data = _der_item(der, algorithm[2])
    if data is None or data[0] != 0x04:
        return None
    return data[2] - data[1]


def _openssh_rsa_bits(blob: bytes) -> int | None:
    """Bits of the modulus in an `openssh-key-v1` blob's public key (in clear when encrypted)."""
    position = len(b"openssh-key-v1\x00")
    try:
        for _ in range(3):
            (size,) = struct.unpack_from(">I", blob, position)
            position += 4 + size
        position += 8  # number of keys, length of the public key blob
        fields = []
        for _ in range(3):  # "ssh-rsa", e, n
            (size,) = struct.unpack_from(">I", blob, position)
            fields.append(blob[position + 4 : position + 4 + size])
            position += 4 + size
    except struct.error:
        return None
    return int.from_bytes(fields[2], "big").bit_length()


def _in_windows(length: int) -> bool:
    return any(low <= length <= high for low, high in _CIPHERTEXT_WINDOWS)


def has_binance_size(label: str, body: str) -> bool:
    """Could a key of this size be a Binance API key? False only when the size is known (or its
    ciphertext's length shows it) and Binance does not take it: an RSA-1024 or RSA-3072 key is
    a TLS or test key. Ed25519 and keys whose size cannot be read pass."""
    der = _der(body)
    if not der:
        return True
    if "OPENSSH" in label:
        if _openssh_type(der) != RSA:
            return True
        bits = _openssh_rsa_bits(der)
        return bits is None or bits in _RSA_BITS
    if "Proc-Type: 4,ENCRYPTED" in body:
        return _in_windows(len(der))
    if "ENCRYPTED" in label or any(oid in der[:64] for oid in _PBES_OIDS):
        length = _encrypted_pkcs8_length(der)
        return length is None or _in_windows(length)
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        key = serialization.load_der_private_key(der, password=None, unsafe_skip_rsa_key_validation=True)
    except Exception:  # malformed or unsupported: the size cannot be told
        return True
    return not isinstance(key, rsa.RSAPrivateKey) or key.key_size in _RSA_BITS


def can_be_binance_key(label: str, body: str) -> bool:
    """Ed25519, RSA, or a key whose type cannot be told."""
    return key_type(label, body) in BINANCE_TYPES
