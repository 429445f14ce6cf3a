"""`keys generate` / `keys attach`: an Ed25519 or RSA key pair made on this machine.

Binance recommends Ed25519 API keys: the private key never leaves the user's machine, and
Binance only ever sees the public key. `generate` makes the pair with `cryptography` and
keeps the private key encrypted in the store as a *pending* entry (`NAME.pending`, same
file format and passphrase as a key file, the header authenticated). The user pastes the
public key on Binance (API Management -> Create API -> Self-generated), Binance shows an
API key, and `attach` completes the entry: a normal key file (or, for a name that already
has a key, a rotation to the new pair). Until then `load(NAME)` refuses the key with
`KeyPendingError`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from bkm_guard.errors import (
    DecryptionError,
    InvalidKeyMaterialError,
    KeyExistsError,
    KeyNotFoundError,
    KeyPendingError,
    StoreError,
)
from bkm_guard.masking import fingerprint

if TYPE_CHECKING:
    from bkm_guard.runtime.policy import Policy
    from bkm_guard.runtime.store import KeyMetadata, KeyStore

KeySpec = Literal["ed25519", "rsa-2048", "rsa-4096"]
GENERATED_TYPES: Final[tuple[KeySpec, ...]] = ("ed25519", "rsa-2048", "rsa-4096")
#: Where the public key goes on Binance (its wording, 2025-2026).
WHERE_TO_PASTE: Final = (
    "binance.com -> Account -> API Management -> Create API -> choose \"Self-generated\" -> "
    "paste the public key above (the whole block, BEGIN and END lines included) -> label it "
    "-> pass the security check")


def generate_key_pair(spec: KeySpec) -> tuple[str, str]:
    """(private key PEM, public key PEM), unencrypted PKCS#8 / SubjectPublicKeyInfo.

    The private key is encrypted by the store, so it carries no password of its own.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    key: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
    if spec == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    elif spec in ("rsa-2048", "rsa-4096"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=int(spec[4:]))
    else:
        raise InvalidKeyMaterialError(f"key type must be one of {', '.join(GENERATED_TYPES)}")
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode("ascii")
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public.decode("ascii")


@dataclasses.dataclass(frozen=True)
class PendingKey:
    """A generated key pair waiting for its API key; the header of `NAME.pending`."""

    name: str
    purpose: str
    policy: Policy
    spec: KeySpec
    public_key_pem: str
    created: dt.datetime
    rotates: bool  # True: `attach` rotates the existing key NAME to this pair
    path: Path

    @property
    def key_type(self) -> Literal["ed25519", "rsa"]:
        return "ed25519" if self.spec == "ed25519" else "rsa"

    @property
    def public_fingerprint(self) -> str:
        """A fingerprint of the public key, to match what Binance shows with what was made."""
        return fingerprint(self.public_key_pem.strip())

    def to_header(self, passphrase_id: str) -> dict[str, Any]:
        from bkm_guard.runtime.store.audit import format_time

        return {"kind": "pending", "name": self.name, "purpose": self.purpose,
                "policy": self.policy.to_dict(), "key_spec": self.spec,
                "public_key_pem": self.public_key_pem, "created": format_time(self.created),
                "rotates": self.rotates, "passphrase_id": passphrase_id}

    @classmethod
    def from_header(cls, header: dict[str, Any], path: Path) -> PendingKey:
        from bkm_guard.runtime.policy import Policy
        from bkm_guard.runtime.store.audit import parse_time

        if header["kind"] != "pending" or header["key_spec"] not in GENERATED_TYPES:
            raise ValueError("not a pending header")
        return cls(name=str(header["name"]), purpose=str(header["purpose"]),
                   policy=Policy.from_dict(header["policy"]), spec=header["key_spec"],
                   public_key_pem=str(header["public_key_pem"]),
                   created=parse_time(str(header["created"])), rotates=bool(header["rotates"]),
                   path=path)


def pending_path(store: KeyStore, name: str) -> Path:
    from bkm_guard.runtime.store.paths import pending_file_name

    return store.path / pending_file_name(name)


def pending_names(store: KeyStore) -> list[str]:
    """Every name with a pending entry, sorted."""
    import os

    from bkm_guard.runtime.store.paths import name_of_pending_file

    try:
        entries = os.listdir(store.path)
    except FileNotFoundError:
        return []
    return sorted(n for n in (name_of_pending_file(e) for e in entries) if n is not None)


def pending_error(name: str) -> KeyPendingError:
    return KeyPendingError(
        f"key {name!r} was generated but has no API key yet: paste its public key on Binance "
        f"(`bkm-guard keys generate` printed it; `bkm-guard keys pending {name}` shows it again), "
        f"then `bkm-guard keys attach {name}` with the API key Binance shows")


def read_pending(store: KeyStore, name: str) -> PendingKey:
    """The pending entry's header (not authenticated; `attach` authenticates it)."""
    from bkm_guard.runtime.store import fileformat
    from bkm_guard.runtime.store.paths import validate_name

    validate_name(name)
    path = pending_path(store, name)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyNotFoundError(f"no generated key {name!r} waits for an API key in {store.path}: "
                               f"`bkm-guard keys generate {name} --purpose PURPOSE` makes one") from None
    try:
        pending = PendingKey.from_header(fileformat.parse(data).header, path)
    except (fileformat.FormatError, KeyError, TypeError, ValueError) as exc:
        raise DecryptionError(f"the pending key file {path} is damaged: `bkm-guard keys remove "
                              f"{name}` and generate a new key") from exc
    if pending.name != name:
        raise DecryptionError(f"the pending key file {path} was renamed: remove it")
    return pending


def generate(store: KeyStore, name: str, *, spec: KeySpec = "ed25519", purpose: str | None = None,
             policy: Policy | None = None, now: dt.datetime | None = None) -> PendingKey:
    """Make a key pair and store it as pending; for an existing key NAME, a pending rotation."""
    from bkm_guard.runtime.policy import builtin_policy
    from bkm_guard.runtime.store import fileformat
    from bkm_guard.runtime.store.atomic import write_atomic
    from bkm_guard.runtime.store.audit import utc_now
    from bkm_guard.runtime.store.paths import validate_name

    validate_name(name)
    if spec not in GENERATED_TYPES:
        raise InvalidKeyMaterialError(f"key type must be one of {', '.join(GENERATED_TYPES)}")
    store._require_store()
    path = pending_path(store, name)
    with store._audited("generate", name), store._locked():
        store._refuse_if_passwd_pending()
        if path.exists():
            raise KeyExistsError(
                f"a generated key {name!r} already waits for its API key: `bkm-guard keys attach "
                f"{name}`, or `bkm-guard keys remove {name}` to start again")
        existing: KeyMetadata | None = None
        if store.key_path(name).exists():
            existing = store.get(name).metadata  # decrypted: the policy copied is authenticated
        if existing is not None:
            if purpose is not None and purpose != existing.purpose:
                raise KeyExistsError(
                    f"key {name!r} exists with purpose {existing.purpose}: a new pair for it keeps "
                    "that purpose; choose another name for another purpose")
            policy = existing.policy
        elif policy is None:
            if purpose is None:
                raise StoreError("give --purpose for a new key")
            policy = builtin_policy(purpose)
        passphrase = store._passphrase_value()
        passphrase_id = store._verify_passphrase(passphrase)
        private_pem, public_pem = generate_key_pair(spec)
        pending = PendingKey(name=name, purpose=policy.purpose, policy=policy, spec=spec,
                             public_key_pem=public_pem, created=now or utc_now(),
                             rotates=existing is not None, path=path)
        plain = json.dumps({"private_key": private_pem}).encode()
        write_atomic(path, fileformat.encrypt(pending.to_header(passphrase_id), plain, passphrase,
                                              store.kdf_params))
        store.audit_log.append("generate", name, outcome="ok", purpose=pending.purpose,
                               key_type=spec, public_key=pending.public_fingerprint,
                               rotation=pending.rotates)
    return pending


def attach(store: KeyStore, name: str, api_key: str, *,
           now: dt.datetime | None = None) -> tuple[KeyMetadata, PendingKey]:
    """Complete the pending entry with the API key Binance showed: a key file, or a rotation."""
    from bkm_guard.runtime.store import fileformat
    from bkm_guard.runtime.store.atomic import unlink_durable
    from bkm_guard.runtime.store.permissions import check_file

    store._require_store()
    path = read_pending(store, name).path  # a clear error for a missing or damaged entry
    check_file(path)
    # locked from reading the pending file to removing it: two attaches (or an attach and a
    # `keys remove`) never both act on one pending key
    with store._audited("attach", name), store._locked():
        passphrase = store._passphrase_value()
        try:
            # one read: the header used below is the one the decryption authenticated
            keyfile = fileformat.parse(path.read_bytes())
            plain = json.loads(fileformat.decrypt(keyfile, passphrase))
            private_pem = str(plain["private_key"])
            pending = PendingKey.from_header(keyfile.header, path)
        except (fileformat.FormatError, KeyError, TypeError, ValueError):
            store._passphrase = None
            raise DecryptionError(
                f"cannot open the pending key {path}: wrong passphrase, or the file was "
                "changed; check BKM_GUARD_PASSPHRASE") from None
        if pending.name != name:
            raise DecryptionError(f"the pending key file {path} was renamed: remove it")
        if not pending.rotates and store.key_path(name).exists():
            # a crash between attach's two steps: the key file is there; finish the first
            if store.get(name).private_key != private_pem:
                raise KeyExistsError(
                    f"a key named {name!r} is already stored: `bkm-guard keys remove {name}` "
                    "drops this generated key, or `bkm-guard keys generate` under another name")
            unlink_durable(pending.path)
            return store.metadata(name), pending
        if pending.rotates:
            meta = store.rotate(name, api_key=api_key, private_key_pem=private_pem,
                                key_type=pending.key_type, now=now)
        else:
            meta = store.add(name, purpose=pending.purpose, api_key=api_key,
                             private_key_pem=private_pem, key_type=pending.key_type,
                             policy=pending.policy, now=now)
        # the key file is durable before the pending one goes: a crash leaves both, and the
        # key file wins (load() reads it; `keys remove` / a second attach clean up)
        unlink_durable(pending.path)
        store.audit_log.append("attach", name, fingerprint=meta.fingerprint, outcome="ok",
                               key_type=pending.spec, public_key=pending.public_fingerprint,
                               rotation=pending.rotates)
    return meta, pending


def remove_pending(store: KeyStore, name: str) -> PendingKey:
    """Delete a pending entry (the private key with it: Binance never saw it)."""
    from bkm_guard.runtime.store.atomic import unlink_durable

    pending = read_pending(store, name)
    with store._audited("remove", name), store._locked():
        unlink_durable(pending.path)
        store.audit_log.append("remove", name, outcome="ok", reason="pending generated key",
                               public_key=pending.public_fingerprint)
    return pending
