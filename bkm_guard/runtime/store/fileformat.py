"""The key file format, version 1 (specified in the README: "Key file format").

    offset  size  field
    0       8     magic  b"BKMGUARD"
    8       1     format version (1)
    9       4     header length H, unsigned big-endian
    13      H     header: UTF-8 JSON object (non-secret metadata, KDF parameters + salt, AEAD nonce)
    13+H    rest  AES-256-GCM ciphertext of the secret JSON, followed by its 16-byte tag

The AEAD's associated data is bytes 0..13+H (magic, version, length and header), so a change
to any byte of the file makes decryption fail. The key is the KDF of the passphrase with
the parameters and salt of the header.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import struct
from collections.abc import Mapping
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bkm_guard.runtime.store.kdf import KdfParams, KdfParamsError, derive_key, new_salt

MAGIC: Final = b"BKMGUARD"
VERSION: Final = 1
_PREFIX: Final = struct.Struct(">8sBI")
PREFIX_SIZE: Final = _PREFIX.size
MAX_HEADER: Final = 1 << 20
NONCE_SIZE: Final = 12
TAG_SIZE: Final = 16
AEAD_ALG: Final = "aes-256-gcm"


class FormatError(ValueError):
    """Not a readable key file of a version we know (damaged, truncated or tampered)."""


@dataclasses.dataclass(frozen=True)
class KeyFile:
    version: int
    header: dict[str, Any]
    associated_data: bytes
    ciphertext: bytes


def _canonical(header: Mapping[str, object]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def encrypt(header: Mapping[str, object], plaintext: bytes, passphrase: str,
            params: KdfParams) -> bytes:
    """A complete key file: `header` plus the `kdf` and `aead` fields this function fills in."""
    salt = new_salt()
    nonce = os.urandom(NONCE_SIZE)
    full = dict(header)
    full["kdf"] = params.to_header(salt)
    full["aead"] = {"alg": AEAD_ALG, "nonce": base64.b64encode(nonce).decode()}
    head = _canonical(full)
    associated = _PREFIX.pack(MAGIC, VERSION, len(head)) + head
    key = derive_key(passphrase, params, salt)
    return associated + AESGCM(key).encrypt(nonce, plaintext, associated)


def parse_prefix(prefix: bytes) -> int:
    """The header length from the first PREFIX_SIZE bytes."""
    if len(prefix) < PREFIX_SIZE:
        raise FormatError("truncated")
    magic, version, length = _PREFIX.unpack_from(prefix)
    if magic != MAGIC or version != VERSION or length > MAX_HEADER:
        raise FormatError("not a version 1 key file")
    return int(length)


def parse_header(data: bytes) -> tuple[dict[str, Any], int]:
    """The header object and where the ciphertext starts; no passphrase, no authentication."""
    length = parse_prefix(data[:PREFIX_SIZE])
    end = PREFIX_SIZE + length
    if len(data) < end:
        raise FormatError("truncated")
    try:
        header = json.loads(data[PREFIX_SIZE:end].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormatError("bad header") from exc
    if not isinstance(header, dict):
        raise FormatError("bad header")
    return header, end


def parse(data: bytes) -> KeyFile:
    header, end = parse_header(data)
    if len(data) < end + TAG_SIZE:
        raise FormatError("truncated")
    return KeyFile(VERSION, header, data[:end], data[end:])


def decrypt(keyfile: KeyFile, passphrase: str) -> bytes:
    """The plaintext, or FormatError for a wrong passphrase and any change to the file alike."""
    try:
        params, salt = KdfParams.from_header(keyfile.header["kdf"])
        aead = keyfile.header["aead"]
        if set(aead) != {"alg", "nonce"} or aead["alg"] != AEAD_ALG:
            raise FormatError("unknown AEAD")
        nonce = base64.b64decode(str(aead["nonce"]), validate=True)
        if len(nonce) != NONCE_SIZE:
            raise FormatError("bad nonce")
        key = derive_key(passphrase, params, salt)
        return AESGCM(key).decrypt(nonce, keyfile.ciphertext, keyfile.associated_data)
    except (InvalidTag, KdfParamsError, KeyError, TypeError, ValueError) as exc:
        raise FormatError("cannot decrypt") from exc
