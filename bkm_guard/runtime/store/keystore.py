"""KeyStore: one encrypted file per key name in an owner-only directory.

Every write happens under the store's file lock, as an atomic replace (temp file, fsync,
rename), and ends with one audit line. Reads take no lock: a rename is atomic, so a reader
sees the old file or the new one.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import datetime as dt
import json
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import filelock

from bkm_guard.errors import (
    ConfigError,
    DecryptionError,
    InsecurePermissionsError,
    InvalidKeyMaterialError,
    KeyExistsError,
    KeyNotFoundError,
    PassphraseError,
    RollbackError,
    StoreError,
)
from bkm_guard.masking import fingerprint as fingerprint_of
from bkm_guard.masking import mask
from bkm_guard.runtime.policy import Policy, builtin_policy
from bkm_guard.runtime.store import fileformat
from bkm_guard.runtime.store.atomic import remove_stray_temps, unlink_durable, write_atomic
from bkm_guard.runtime.store.audit import AuditLog, format_time, parse_time, utc_now
from bkm_guard.runtime.store.credentials import Credentials
from bkm_guard.runtime.store.kdf import KdfParams
from bkm_guard.runtime.store.material import (
    check_api_key,
    check_api_secret,
    check_private_key,
    key_type_of_pem,
)
from bkm_guard.runtime.store.metadata import KEY_TYPES, KeyMetadata, KeyType
from bkm_guard.runtime.store.passphrase import PassphraseSource, as_source, check_new_passphrase
from bkm_guard.runtime.store.paths import (
    AUDIT_LOG,
    KNOWN_FILES,
    NAME_RE,
    PASSWD_JOURNAL,
    STORE_CHECK,
    TEMP_PREFIX,
    WRITE_LOCK,
    default_store_dir,
    key_file_name,
    name_of_key_file,
    name_of_pending_file,
    pending_file_name,
    validate_name,
)
from bkm_guard.runtime.store.permissions import (
    FILE_MODE,
    check_dir,
    check_file,
    make_private_dir,
)

LOCK_TIMEOUT: Final = 60.0
UNUSED_DAYS: Final = 30
_STORE_CHECK_PLAINTEXT: Final = b'{"check":"bkm-guard key store"}'
#: name -> (generation, fingerprint) of the key's current file
Index = dict[str, tuple[int, str]]


def rollback_message(meta: KeyMetadata, generation: int, fingerprint: str) -> str:
    return (f"key {meta.name!r} ({meta.path}) is a rollback: its file is generation "
            f"{meta.generation} ({meta.fingerprint}), but the store's authenticated index says the "
            f"current one is generation {generation} ({fingerprint}); an older copy was put back "
            "(a backup restored after `keys rotate`?): restore the current file, or rotate to a "
            f"new key with `bkm-guard keys rotate {meta.name}`")


@dataclasses.dataclass(frozen=True)
class AuditIssue:
    """One thing `keys audit` says needs action."""

    kind: str  # rotation-overdue, rotation-soon, unused, duplicate, permissions, unknown-file,
    #            damaged, passwd-interrupted, rollback
    name: str | None
    message: str

    def __str__(self) -> str:
        return self.message


@dataclasses.dataclass(frozen=True)
class PasswdStatus:
    """Where an interrupted `passwd` stopped: which keys are under which passphrase."""

    started: str
    under_new: tuple[str, ...]
    under_old: tuple[str, ...]

    def describe(self) -> str:
        def names(items: tuple[str, ...]) -> str:
            return ", ".join(items) if items else "none"

        return (f"an interrupted `bkm-guard keys passwd` (started {self.started}) left "
                f"{len(self.under_new)} key(s) under the NEW passphrase ({names(self.under_new)}) "
                f"and {len(self.under_old)} under the OLD one ({names(self.under_old)}): run "
                "`bkm-guard keys passwd` again with the same new passphrase to finish")


def _stamp(now: dt.datetime | None) -> dt.datetime:
    """The time as stored in a header (UTC, milliseconds), so returned metadata equals read."""
    moment = (now or utc_now()).astimezone(dt.timezone.utc)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class KeyStore:
    """The encrypted key store: `add`, `get`, `rotate`, `remove`, `list`, `passwd`, `audit`."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *,
                 passphrase_source: PassphraseSource | str | Callable[[], str] | None = None,
                 kdf_params: KdfParams | None = None,
                 lock_timeout: float = LOCK_TIMEOUT) -> None:
        self.path = Path(path).expanduser() if path is not None else default_store_dir()
        self._source = as_source(passphrase_source)
        self._kdf = (kdf_params or KdfParams.default()).validated()
        self._passphrase: str | None = None
        self._lock = filelock.FileLock(self.path / WRITE_LOCK, timeout=lock_timeout,
                                       mode=FILE_MODE)
        self._audit = AuditLog.in_store(self.path)

    def __repr__(self) -> str:
        return f"KeyStore({str(self.path)!r})"

    @property
    def audit_log(self) -> AuditLog:
        return self._audit

    @property
    def kdf_params(self) -> KdfParams:
        return self._kdf

    def key_path(self, name: str) -> Path:
        return self.path / key_file_name(name)

    def exists(self) -> bool:
        return (self.path / STORE_CHECK).is_file()

    # ------------------------------------------------------------------ helpers
    def _passphrase_value(self, *, confirm: bool = False) -> str:
        if self._passphrase is None:
            value = self._source.get(confirm=confirm)
            if not value:
                raise PassphraseError("an empty passphrase is not accepted")
            self._passphrase = value
        return self._passphrase

    def _require_store(self) -> None:
        if not self.path.is_dir() or not (self.path / STORE_CHECK).exists():
            raise StoreError(
                f"no key store at {self.path}: run `bkm-guard keys init` (or set BKM_GUARD_HOME)")
        check_dir(self.path)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            with self._lock:
                remove_stray_temps(self.path)  # debris of a writer killed mid-write
                yield
        except filelock.Timeout:
            raise StoreError(
                f"key store {self.path} is busy: another bkm-guard process holds "
                f"{self.path / WRITE_LOCK}; try again when it is done") from None

    def _not_found(self, name: str) -> StoreError:
        if (self.path / pending_file_name(name)).exists():  # generated, not attached yet
            from bkm_guard.runtime.keygen import pending_error

            return pending_error(name)
        return KeyNotFoundError(f"no key {name!r} in {self.path}: see `bkm-guard keys list`")

    def _damaged(self, name: str, path: Path) -> DecryptionError:
        return DecryptionError(
            f"cannot open key {name!r} ({path}): wrong passphrase, or the file was changed or "
            "truncated; check BKM_GUARD_PASSPHRASE, or restore the file from a backup")

    def _read(self, name: str, path: Path | None = None) -> tuple[fileformat.KeyFile, KeyMetadata]:
        path = path or self.key_path(name)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise self._not_found(name) from None
        try:
            keyfile = fileformat.parse(data)
            meta = KeyMetadata.from_header(keyfile.header, path, keyfile.version)
        except (fileformat.FormatError, ConfigError, KeyError, TypeError, ValueError) as exc:
            raise self._damaged(name, path) from exc
        if meta.name != name:  # a file renamed to pose as another key
            raise self._damaged(name, path)
        return keyfile, meta

    def _decrypt(self, name: str, keyfile: fileformat.KeyFile, path: Path,
                 passphrase: str) -> dict[str, Any]:
        try:
            plain = json.loads(fileformat.decrypt(keyfile, passphrase))
            if not isinstance(plain, dict) or not isinstance(plain.get("api_key"), str):
                raise ValueError("bad plaintext")
        except (fileformat.FormatError, ValueError) as exc:
            self._passphrase = None  # a prompt asks again next time
            error = self._damaged(name, path)
            status = self._passwd_status_quiet()
            if status is not None:
                error = DecryptionError(f"{error}; {status.describe()}")
            raise error from exc
        return plain

    def _store_check_header(self) -> tuple[fileformat.KeyFile, str]:
        path = self.path / STORE_CHECK
        try:
            check_file(path, what="store file")
            keyfile = fileformat.parse(path.read_bytes())
            return keyfile, str(keyfile.header["passphrase_id"])
        except (fileformat.FormatError, KeyError, OSError) as exc:
            if isinstance(exc, InsecurePermissionsError):
                raise
            raise DecryptionError(
                f"the key store file {path} is damaged: restore it from a backup") from exc

    def _verify_passphrase(self, passphrase: str) -> str:
        """The store's passphrase id if `passphrase` opens the store; DecryptionError if not."""
        keyfile, passphrase_id = self._store_check_header()
        try:
            fileformat.decrypt(keyfile, passphrase)
        except fileformat.FormatError:
            self._passphrase = None
            raise DecryptionError(
                f"wrong passphrase for the key store {self.path}: check BKM_GUARD_PASSPHRASE "
                "(or BKM_GUARD_PASSPHRASE_FILE)") from None
        return passphrase_id

    def _write_store_check(self, passphrase: str, passphrase_id: str, created: str) -> None:
        header = {"kind": "store-check", "passphrase_id": passphrase_id, "created": created}
        write_atomic(self.path / STORE_CHECK,
                     fileformat.encrypt(header, _STORE_CHECK_PLAINTEXT, passphrase, self._kdf))

    # ------------------------------------------------------------------ the index
    # `.store`'s header (authenticated by its AEAD, like a key file's) holds the index:
    # {"keys": {name: {"generation": n, "fingerprint": fp}}}, the current generation of every
    # key. A key file of a lower generation is an old copy put back: refused.

    def _open_index(self, passphrase: str) -> tuple[dict[str, Any], Index | None]:
        """`.store`'s header and its index, authenticated with `passphrase`; index None for a
        store written before the index existed (migrated at the next add or rotate)."""
        keyfile, _ = self._store_check_header()
        try:
            fileformat.decrypt(keyfile, passphrase)
        except fileformat.FormatError:
            status = self._passwd_status_quiet()
            more = f"; {status.describe()}" if status is not None else ""
            raise DecryptionError(
                f"the key store file {self.path / STORE_CHECK} does not open with this passphrase, "
                f"so the store's index of key generations cannot be checked{more}") from None
        header = {k: v for k, v in keyfile.header.items() if k not in ("kdf", "aead")}
        raw = header.get("keys")
        if raw is None:
            return header, None
        try:
            index = {str(name): (int(entry["generation"]), str(entry["fingerprint"]))
                     for name, entry in raw.items()}
        except (AttributeError, KeyError, TypeError, ValueError):
            raise DecryptionError(f"the key store file {self.path / STORE_CHECK} is damaged: "
                                  "restore it from a backup") from None
        return header, index

    def _migrated_index(self) -> Index:
        """The index of a store that had none, from its key files' headers (done once)."""
        return {item.name: (item.generation, item.fingerprint) for item in self._scan()
                if isinstance(item, KeyMetadata)}

    def _write_index(self, passphrase: str, header: dict[str, Any], index: Index) -> None:
        header = {**header, "keys": {name: {"generation": gen, "fingerprint": fp}
                                     for name, (gen, fp) in sorted(index.items())}}
        write_atomic(self.path / STORE_CHECK,
                     fileformat.encrypt(header, _STORE_CHECK_PLAINTEXT, passphrase, self._kdf))

    def _check_generation(self, meta: KeyMetadata, passphrase: str) -> None:
        """RollbackError when the (authenticated) key file is older than the index says."""
        _, index = self._open_index(passphrase)
        if index is None or meta.name not in index:
            return  # an old store, or an add interrupted before the index was written
        generation, fingerprint = index[meta.name]
        if meta.generation > generation:
            return  # a write interrupted between the key file and the index: the file is newer
        if meta.generation < generation or meta.fingerprint != fingerprint:
            raise RollbackError(rollback_message(meta, generation, fingerprint))

    def _key_names(self) -> list[str]:
        try:
            entries = os.listdir(self.path)
        except FileNotFoundError:
            return []
        return sorted(n for n in (name_of_key_file(e) for e in entries) if n is not None)

    def _scan(self) -> list[KeyMetadata | tuple[str, StoreError]]:
        found: list[KeyMetadata | tuple[str, StoreError]] = []
        for name in self._key_names():
            try:
                found.append(self._read(name)[1])
            except StoreError as exc:
                found.append((name, exc))
        return found

    def _refuse_duplicate(self, name: str, fingerprint: str) -> None:
        for item in self._scan():
            if isinstance(item, tuple) or item.name == name:
                continue
            if fingerprint == item.fingerprint:
                raise KeyExistsError(
                    f"this API key ({fingerprint}) is already stored as {item.name!r}: one key, "
                    "one purpose; create a separate key on Binance for this bot")
            if fingerprint in item.previous_fingerprints:
                raise KeyExistsError(
                    f"this API key ({fingerprint}) was rotated out of {item.name!r}: delete it "
                    "on Binance and create a new one")

    def _refuse_if_passwd_pending(self) -> None:
        status = self._passwd_status_quiet()
        if status is not None:
            raise StoreError(status.describe())

    def _audited(self, action: str, name: str | None) -> contextlib.AbstractContextManager[None]:
        store = self

        class _Audit(contextlib.AbstractContextManager[None]):
            def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
                if isinstance(exc, StoreError) and store.path.is_dir():
                    with contextlib.suppress(OSError, StoreError):
                        store._audit.append(action, name, outcome="refused", reason=str(exc))

        return _Audit()

    @staticmethod
    def _material(key_type: KeyType | None, api_key: str, api_secret: str | None,
                  private_key_pem: str | None,
                  private_key_password: str | None) -> tuple[KeyType, dict[str, Any]]:
        """Checked material as the plaintext object, and the key type (inferred from a PEM)."""
        if key_type is not None and key_type not in KEY_TYPES:
            raise InvalidKeyMaterialError(f"key type must be one of {', '.join(KEY_TYPES)}")
        plain: dict[str, Any] = {"api_key": check_api_key(api_key)}
        if private_key_pem is not None:
            if api_secret is not None:
                raise InvalidKeyMaterialError("give an HMAC secret or a private key, not both")
            actual = key_type_of_pem(private_key_pem, private_key_password)
            if key_type not in (None, "hmac") and key_type != actual:
                raise InvalidKeyMaterialError(
                    f"the private key is {actual}, not {key_type}: use --type {actual}")
            plain["private_key"] = check_private_key(private_key_pem, private_key_password, actual)
            plain["private_key_password"] = private_key_password or None
            return actual, plain
        if key_type not in (None, "hmac"):
            raise InvalidKeyMaterialError(f"a {key_type} key needs its private key PEM")
        if api_secret is None:
            raise InvalidKeyMaterialError("an HMAC key needs its API secret")
        plain["api_secret"] = check_api_secret(api_secret)
        return "hmac", plain

    def _encode(self, meta: KeyMetadata, plain: dict[str, Any], passphrase: str) -> bytes:
        text = json.dumps(plain, separators=(",", ":")).encode()
        return fileformat.encrypt(meta.to_header(), text, passphrase, self._kdf)

    # ------------------------------------------------------------------ public API
    def init(self, *, allow_weak_passphrase: bool = False) -> bool:
        """Create the store (0700) protected by a new passphrase; False if it already exists.

        A passphrase zxcvbn rates weak is refused unless `allow_weak_passphrase`."""
        make_private_dir(self.path)
        check_dir(self.path)
        with self._locked():
            if (self.path / STORE_CHECK).exists():
                return False
            passphrase = check_new_passphrase(self._passphrase_value(confirm=True),
                                              allow_weak=allow_weak_passphrase)
            self._write_store_check(passphrase, secrets.token_hex(8), format_time(utc_now()))
        self._audit.append("init", None, outcome="ok", reason=f"store {self.path}")
        return True

    def metadata(self, name: str) -> KeyMetadata:
        """The key's header, without the passphrase (authenticated only by `get`)."""
        validate_name(name)
        self._require_store()
        return self._read(name)[1]

    def list(self) -> list[KeyMetadata]:
        """Every readable key, by name; a damaged file is reported by `audit`, not here."""
        self._require_store()
        return [item for item in self._scan() if isinstance(item, KeyMetadata)]

    def names(self) -> builtins.list[str]:
        return self._key_names()

    def check_permissions(self, name: str | None = None) -> None:
        """Raise InsecurePermissionsError (with the chmod) for a loose dir or key file."""
        check_dir(self.path)
        names = [validate_name(name)] if name is not None else self._key_names()
        for item in names:
            path = self.key_path(item)
            if name is not None and not path.exists():
                raise self._not_found(item)
            check_file(path)

    def get(self, name: str) -> Credentials:
        """Decrypted credentials; checks directory and file permissions first."""
        validate_name(name)
        self._require_store()
        self.check_permissions(name)
        keyfile, meta = self._read(name)
        plain = self._decrypt(name, keyfile, meta.path, self._passphrase_value())
        if fingerprint_of(plain["api_key"]) != meta.fingerprint:
            raise self._damaged(name, meta.path)
        self._check_generation(meta, self._passphrase_value())
        return Credentials(meta, api_key=plain["api_key"], api_secret=plain.get("api_secret"),
                           private_key=plain.get("private_key"),
                           private_key_password=plain.get("private_key_password"))

    def add(self, name: str, *, purpose: str, api_key: str, api_secret: str | None = None,
            private_key_pem: str | None = None, private_key_password: str | None = None,
            key_type: KeyType | None = "hmac", policy: Policy | None = None,
            now: dt.datetime | None = None) -> KeyMetadata:
        """Store a new key; KeyExistsError for a taken name or an API key stored elsewhere."""
        validate_name(name)
        if NAME_RE.fullmatch(purpose) is None:
            raise StoreError(f"invalid purpose {purpose[:80]!r}: use a-z 0-9 . _ -")
        policy = policy or builtin_policy(purpose)
        kind, plain = self._material(key_type, api_key, api_secret, private_key_pem,
                                     private_key_password)
        fingerprint = fingerprint_of(plain["api_key"])
        self._require_store()
        with self._audited("add", name), self._locked():
            self._refuse_if_passwd_pending()
            path = self.key_path(name)
            if path.exists():
                raise KeyExistsError(
                    f"a key named {name!r} is already stored: `bkm-guard keys rotate {name}` "
                    "replaces its material, or choose another name")
            self._refuse_duplicate(name, fingerprint)
            passphrase = self._passphrase_value()
            passphrase_id = self._verify_passphrase(passphrase)
            store_header, index = self._open_index(passphrase)
            index = self._migrated_index() if index is None else index
            meta = KeyMetadata(
                name=name, purpose=purpose, policy=policy, key_type=kind,
                masked_api_key=mask(plain["api_key"]), fingerprint=fingerprint,
                created=_stamp(now), rotated=None, previous_fingerprints=(),
                format_version=fileformat.VERSION, path=path, passphrase_id=passphrase_id,
                generation=index.get(name, (0, ""))[0] + 1)  # a re-added name keeps counting
            write_atomic(path, self._encode(meta, plain, passphrase))
            # the key file first: a crash in between leaves a file newer than the index (accepted)
            self._write_index(passphrase, store_header, {**index, name: (meta.generation, fingerprint)})
            self._audit.append("add", name, fingerprint=fingerprint, outcome="ok",
                               purpose=purpose, key_type=kind)
        return meta

    def rotate(self, name: str, *, api_key: str, api_secret: str | None = None,
               private_key_pem: str | None = None, private_key_password: str | None = None,
               key_type: KeyType | None = None, now: dt.datetime | None = None) -> KeyMetadata:
        """Replace the key's material; the old fingerprint joins the header's history."""
        validate_name(name)
        self._require_store()
        with self._audited("rotate", name), self._locked():
            self._refuse_if_passwd_pending()
            keyfile, old = self._read(name)
            kind, plain = self._material(key_type if key_type is not None else
                                         (None if private_key_pem else "hmac"),
                                         api_key, api_secret, private_key_pem,
                                         private_key_password)
            fingerprint = fingerprint_of(plain["api_key"])
            if fingerprint == old.fingerprint:
                raise KeyExistsError(
                    f"that is the API key already stored as {name!r}: create a new key on "
                    "Binance and rotate to it")
            self._refuse_duplicate(name, fingerprint)
            if fingerprint in old.previous_fingerprints:
                raise KeyExistsError(f"this API key was rotated out of {name!r} before: use a "
                                     "new key")
            passphrase = self._passphrase_value()
            self._decrypt(name, keyfile, old.path, passphrase)  # the right passphrase, intact file
            store_header, index = self._open_index(passphrase)
            # a rolled-back file may be rotated away from: that is the fix the refusal names
            index = self._migrated_index() if index is None else index
            meta = dataclasses.replace(
                old, key_type=kind, masked_api_key=mask(plain["api_key"]), fingerprint=fingerprint,
                rotated=_stamp(now),
                previous_fingerprints=(*old.previous_fingerprints, old.fingerprint),
                format_version=fileformat.VERSION,
                generation=max(old.generation, index.get(name, (0, ""))[0]) + 1)
            write_atomic(old.path, self._encode(meta, plain, passphrase))
            self._write_index(passphrase, store_header, {**index, name: (meta.generation, fingerprint)})
            self._audit.append("rotate", name, fingerprint=fingerprint, outcome="ok",
                               previous_fingerprint=old.fingerprint)
        return meta

    def remove(self, name: str) -> KeyMetadata | None:
        """Delete the key file; returns its metadata (None if the file was unreadable)."""
        validate_name(name)
        self._require_store()
        with self._audited("remove", name), self._locked():
            path = self.key_path(name)
            if not path.exists():
                raise KeyNotFoundError(f"no key {name!r} in {self.path}: see `bkm-guard keys list`")
            meta: KeyMetadata | None
            try:
                meta = self._read(name)[1]
            except DecryptionError:
                meta = None
            unlink_durable(path)
            self._audit.append("remove", name, fingerprint=meta.fingerprint if meta else None,
                               outcome="ok")
        return meta

    # ------------------------------------------------------------------ passwd
    def _read_journal(self) -> dict[str, str] | None:
        try:
            data = json.loads((self.path / PASSWD_JOURNAL).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except ValueError as exc:  # written atomically, so this is tampering or a disk fault
            raise StoreError(f"{self.path / PASSWD_JOURNAL} is damaged") from exc
        if not isinstance(data, dict) or not {"old_id", "new_id", "started"} <= set(data):
            raise StoreError(f"{self.path / PASSWD_JOURNAL} is damaged")
        return {k: str(data[k]) for k in ("old_id", "new_id", "started")}

    def _passwd_status_quiet(self) -> PasswdStatus | None:
        with contextlib.suppress(StoreError, OSError):
            return self.passwd_status()
        return None

    def passwd_status(self) -> PasswdStatus | None:
        """None when no `passwd` was interrupted; else which keys have which passphrase."""
        journal = self._read_journal()
        if journal is None:
            return None
        under_new: list[str] = []
        under_old: list[str] = []
        for item in self._scan():
            if isinstance(item, KeyMetadata):
                (under_new if item.passphrase_id == journal["new_id"] else under_old).append(
                    item.name)
        return PasswdStatus(journal["started"], tuple(under_new), tuple(under_old))

    def passwd(self, new_passphrase: str, *,
               progress: Callable[[str], None] | None = None,
               allow_weak_passphrase: bool = False) -> int:
        """Re-encrypt the store and every key under `new_passphrase`, one atomic file at a time.

        The current passphrase comes from the store's passphrase source. All files are
        decrypted before the first is rewritten; a journal records the old and new passphrase
        ids, and every file's header says which one it is under, so an interruption at any
        point leaves each file readable under one of the two, and a second run finishes.
        Returns the number of keys re-encrypted.
        """
        new_passphrase = check_new_passphrase(new_passphrase, allow_weak=allow_weak_passphrase)
        self._require_store()
        with self._audited("passwd", None), self._locked():
            pending = sorted(n for n in map(name_of_pending_file, os.listdir(self.path)) if n)
            if pending:  # their private keys are under the current passphrase too
                raise StoreError(f"generated keys wait for `bkm-guard keys attach`: "
                                 f"{', '.join(pending)}; attach or remove them first")
            journal = self._read_journal()
            check_file_, check_id = self._store_check_header()
            if journal is None:
                old_id, new_id = check_id, secrets.token_hex(8)
            else:
                old_id, new_id = journal["old_id"], journal["new_id"]
            # plan: decrypt everything still under the old passphrase, verify the new one
            plans: list[tuple[str, Path, dict[str, Any], bytes]] = []
            verified_new = False
            entries: list[tuple[str, Path]] = [(STORE_CHECK, self.path / STORE_CHECK)]
            entries += [(n, self.key_path(n)) for n in self._key_names()]
            for label, path in entries:
                keyfile = (check_file_ if label == STORE_CHECK
                           else self._read(label, path)[0])
                passphrase_id = str(keyfile.header.get("passphrase_id"))
                shown = "the store file" if label == STORE_CHECK else repr(label)
                if passphrase_id == new_id:
                    if not verified_new:
                        try:
                            fileformat.decrypt(keyfile, new_passphrase)
                        except fileformat.FormatError:
                            raise DecryptionError(
                                f"the new passphrase does not open {shown}, which the interrupted "
                                "passwd already re-encrypted: give the same new passphrase as "
                                "then") from None
                        verified_new = True
                    continue
                if passphrase_id != old_id:
                    raise StoreError(f"{path} is under neither the old nor the new passphrase: "
                                     "restore it from a backup or remove it")
                try:
                    plain = fileformat.decrypt(keyfile, self._passphrase_value())
                except fileformat.FormatError:
                    self._passphrase = None
                    raise DecryptionError(
                        f"the current passphrase does not open {shown}: check "
                        "BKM_GUARD_PASSPHRASE; nothing was changed") from None
                header = {k: v for k, v in keyfile.header.items() if k not in ("kdf", "aead")}
                header["passphrase_id"] = new_id
                plans.append((label, path, header, plain))
            if journal is None:
                write_atomic(self.path / PASSWD_JOURNAL, json.dumps(
                    {"old_id": old_id, "new_id": new_id,
                     "started": format_time(utc_now())}).encode())
            done = 0
            for label, path, header, plain in plans:
                write_atomic(path, fileformat.encrypt(header, plain, new_passphrase, self._kdf))
                if label != STORE_CHECK:
                    done += 1
                    if progress is not None:
                        progress(label)
            unlink_durable(self.path / PASSWD_JOURNAL)
            self._passphrase = new_passphrase
            self._audit.append("passwd", None, outcome="ok", keys=len(entries) - 1,
                               reencrypted=done)
        return done

    # ------------------------------------------------------------------ audit
    def _unverified_index(self) -> Index:
        """The index as `.store`'s header says, without the passphrase (for `audit` only:
        `get` authenticates it)."""
        with contextlib.suppress(StoreError, OSError, AttributeError, KeyError, TypeError,
                                 ValueError):
            keys = self._store_check_header()[0].header.get("keys") or {}
            return {str(n): (int(e["generation"]), str(e["fingerprint"])) for n, e in keys.items()}
        return {}

    def _fingerprint_history(self) -> dict[str, builtins.list[str]]:
        """Per name, the fingerprints `add` and `rotate` set, oldest first (from the audit log)."""
        history: dict[str, builtins.list[str]] = {}
        for entry in self._audit.entries():
            if entry.action in ("add", "rotate") and entry.outcome == "ok" and entry.name \
                    and entry.fingerprint:
                history.setdefault(entry.name, []).append(entry.fingerprint)
        return history

    @staticmethod
    def _rollback_issue(meta: KeyMetadata, index: Index,
                        history: builtins.list[str]) -> AuditIssue | None:
        if meta.name in index:
            generation, fingerprint = index[meta.name]
            if meta.generation < generation or (meta.generation == generation
                                                and meta.fingerprint != fingerprint):
                return AuditIssue("rollback", meta.name, rollback_message(meta, generation, fingerprint))
        # the audit log saw this key replaced later: the file is an older one put back
        if meta.fingerprint in history and history[-1] != meta.fingerprint:
            return AuditIssue(
                "rollback", meta.name,
                f"{meta.name}: its file holds key {meta.fingerprint}, which the audit log shows was "
                f"rotated out (the last add/rotate set {history[-1]}): an older copy was put back; "
                f"restore the current file, or `bkm-guard keys rotate {meta.name}`")
        return None

    def audit(self, now: dt.datetime | None = None) -> builtins.list[AuditIssue]:
        """Everything that needs action: age, disuse, duplicates, permissions, strays."""
        now = now or utc_now()
        if not self.path.is_dir():
            raise StoreError(f"no key store at {self.path}: run `bkm-guard keys init`")
        issues: list[AuditIssue] = []
        try:
            check_dir(self.path)
        except InsecurePermissionsError as exc:
            issues.append(AuditIssue("permissions", None, str(exc)))
        status = self._passwd_status_quiet()
        if status is not None:
            issues.append(AuditIssue("passwd-interrupted", None, status.describe()))
        last_load = self._audit.last_by_name("load")
        index = self._unverified_index()
        history = self._fingerprint_history()
        by_fingerprint: dict[str, list[str]] = {}
        for entry in sorted(os.listdir(self.path)):
            path = self.path / entry
            name = name_of_key_file(entry)
            if name is None:
                if name_of_pending_file(entry) is not None:
                    continue  # a generated key waiting for `keys attach`: `keys audit` says so
                if entry in KNOWN_FILES or entry.startswith(TEMP_PREFIX):
                    if entry in (AUDIT_LOG, STORE_CHECK):
                        try:
                            check_file(path, what="audit log" if entry == AUDIT_LOG else "store file")
                        except InsecurePermissionsError as exc:
                            issues.append(AuditIssue("permissions", None, str(exc)))
                    continue
                issues.append(AuditIssue("unknown-file", None,
                                         f"unknown file in the key store: {path} (move it out)"))
                continue
            try:
                check_file(path)
            except InsecurePermissionsError as exc:
                issues.append(AuditIssue("permissions", name, str(exc)))
            try:
                meta = self._read(name)[1]
            except StoreError as exc:
                issues.append(AuditIssue("damaged", name, str(exc)))
                continue
            by_fingerprint.setdefault(meta.fingerprint, []).append(name)
            rollback = self._rollback_issue(meta, index, history.get(name, []))
            if rollback is not None:
                issues.append(rollback)
            days_left = meta.days_until_rotation(now)
            if days_left <= 0:
                issues.append(AuditIssue(
                    "rotation-overdue", name,
                    f"{name}: rotation overdue by {int(-days_left) + 0} day(s) (max age "
                    f"{meta.policy.max_age_days} days): `bkm-guard keys rotate {name}`"))
            elif meta.rotation_soon(now):
                issues.append(AuditIssue(
                    "rotation-soon", name,
                    f"{name}: rotation due in {int(days_left) + 1} day(s): "
                    f"`bkm-guard keys rotate {name}`"))
            used = last_load.get(name)
            since = max(used.time, meta.changed) if used else meta.changed
            idle = (now - since).days
            if idle >= UNUSED_DAYS:
                what = f"last used {idle} days ago" if used else f"never used in {idle} days"
                issues.append(AuditIssue(
                    "unused", name,
                    f"{name}: {what}: `bkm-guard keys remove {name}` and delete it on Binance "
                    "if no bot needs it"))
        for fp, names in sorted(by_fingerprint.items()):
            if len(names) > 1:
                issues.append(AuditIssue(
                    "duplicate", names[0],
                    f"the same API key ({fp}) is stored as {', '.join(names)}: one key, one "
                    "purpose; remove all but one"))
        return issues


__all__ = ["AuditIssue", "KeyStore", "PasswdStatus", "parse_time"]
