"""The key file format: round trips, the written spec, and every kind of damage refused alike."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

import pytest
from conftest import make_ed25519_pem, make_key
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bkm_guard.errors import DecryptionError
from bkm_guard.runtime.store import KdfParams, KeyStore, fileformat
from bkm_guard.runtime.store.kdf import KdfParamsError

PASS = "correct horse battery staple"


def _store(path: Path, passphrase: str = PASS) -> KeyStore:
    return KeyStore(path, passphrase_source=passphrase, kdf_params=KdfParams.cheap())


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    s = _store(tmp_path / "store")
    s.init()
    return s


@pytest.fixture
def hmac_file(store: KeyStore) -> tuple[KeyStore, Path, str, str]:
    key, secret = make_key(), make_key()
    store.add("bot", purpose="spot-trading", api_key=key, api_secret=secret)
    return store, store.key_path("bot"), key, secret


def _expected_message(store: KeyStore) -> str:
    path = store.key_path("bot")
    return (f"cannot open key 'bot' ({path}): wrong passphrase, or the file was changed or "
            "truncated; check BKM_GUARD_PASSPHRASE, or restore the file from a backup")


def test_round_trip_and_header_readable_without_passphrase(hmac_file: tuple[KeyStore, Path, str, str],
                                                           tmp_path: Path) -> None:
    store, path, key, secret = hmac_file
    creds = store.get("bot")
    assert (creds.api_key, creds.api_secret) == (key, secret)
    nobody = KeyStore(store.path, passphrase_source=lambda: pytest.fail("asked for passphrase"))
    meta = nobody.metadata("bot")
    assert meta.purpose == "spot-trading"
    assert meta.key_type == "hmac"
    assert [m.name for m in nobody.list()] == ["bot"]
    raw = path.read_bytes()
    assert key.encode() not in raw
    assert secret.encode() not in raw


def test_wrong_passphrase_is_the_same_error(hmac_file: tuple[KeyStore, Path, str, str]) -> None:
    store, path, _, _ = hmac_file
    before = path.read_bytes()
    with pytest.raises(DecryptionError) as info:
        _store(store.path, "not the passphrase").get("bot")
    assert str(info.value) == _expected_message(store)
    assert path.read_bytes() == before


def test_every_single_byte_change_is_refused_and_file_unchanged(
        hmac_file: tuple[KeyStore, Path, str, str]) -> None:
    store, path, _, _ = hmac_file
    original = path.read_bytes()
    expected = _expected_message(store)
    regions = set()
    _, body_start = fileformat.parse_header(original)
    for index in range(len(original)):
        for flip in (0x01, 0x80):
            damaged = bytearray(original)
            damaged[index] ^= flip
            path.write_bytes(bytes(damaged))
            with pytest.raises(DecryptionError) as info:
                store.get("bot")
            assert str(info.value) == expected, index
            assert path.read_bytes() == bytes(damaged)  # reading never "repairs" or rewrites
        regions.add("prefix" if index < fileformat.PREFIX_SIZE else
                    "header" if index < body_start else
                    "tag" if index >= len(original) - fileformat.TAG_SIZE else "ciphertext")
    assert regions == {"prefix", "header", "ciphertext", "tag"}  # salt + nonce are in the header
    path.write_bytes(original)
    assert store.get("bot").name == "bot"


def test_every_truncation_and_extension_is_refused(hmac_file: tuple[KeyStore, Path, str, str]) -> None:
    store, path, _, _ = hmac_file
    original = path.read_bytes()
    expected = _expected_message(store)
    for length in [*range(len(original)), len(original) + 1]:
        data = original[:length] if length < len(original) else original + b"\0"
        path.write_bytes(data)
        with pytest.raises(DecryptionError) as info:
            store.get("bot")
        assert str(info.value) == expected, length
        assert path.read_bytes() == data


def test_header_edit_shows_in_metadata_but_get_refuses(hmac_file: tuple[KeyStore, Path, str, str]) -> None:
    store, path, _, _ = hmac_file
    data = path.read_bytes()
    edited = data.replace(b'"purpose":"spot-trading"', b'"purpose":"market-data!"')
    assert edited != data
    assert len(edited) == len(data)
    path.write_bytes(edited)
    assert store.metadata("bot").purpose == "market-data!"  # unauthenticated view
    with pytest.raises(DecryptionError):
        store.get("bot")


def test_file_renamed_to_pose_as_another_key_is_refused(store: KeyStore) -> None:
    store.add("a", purpose="market-data", api_key=make_key(), api_secret=make_key())
    store.key_path("a").rename(store.key_path("b"))
    with pytest.raises(DecryptionError):
        store.get("b")


@pytest.mark.parametrize(("field", "value"), [
    ("memory_kib", 64 * 1024 * 1024),  # 64 GiB: must not be attempted
    ("iterations", 10_000),
    ("lanes", 0),
    ("memory_kib", "8"),
    ("alg", "pbkdf2"),
])
def test_kdf_parameters_from_a_file_are_bounded(hmac_file: tuple[KeyStore, Path, str, str],
                                                field: str, value: object) -> None:
    store, path, _, _ = hmac_file
    data = path.read_bytes()
    header, end = fileformat.parse_header(data)
    header["kdf"][field] = value
    head = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    path.write_bytes(struct.pack(">8sBI", b"BKMGUARD", 1, len(head)) + head + data[end:])
    with pytest.raises(DecryptionError):
        store.get("bot")


def test_the_readme_spec_is_enough_to_decrypt(tmp_path: Path) -> None:
    """An independent reader written from the README's spec opens a file made with the defaults."""
    store = KeyStore(tmp_path / "s", passphrase_source=PASS)  # default (production) parameters
    store.init()
    key, pem = make_key(), make_ed25519_pem()
    store.add("ed", purpose="market-data", api_key=key, private_key_pem=pem, key_type=None)
    data = store.key_path("ed").read_bytes()
    magic, version, length = struct.unpack(">8sBI", data[:13])
    assert (magic, version) == (b"BKMGUARD", 1)
    header = json.loads(data[13:13 + length])
    kdf, aead = header["kdf"], header["aead"]
    assert kdf["alg"] == "argon2id"
    assert aead["alg"] == "aes-256-gcm"
    assert (kdf["iterations"], kdf["memory_kib"], kdf["lanes"]) == (3, 65536, 4)
    derived = Argon2id(salt=base64.b64decode(kdf["salt"]), length=32, iterations=kdf["iterations"],
                       lanes=kdf["lanes"], memory_cost=kdf["memory_kib"]).derive(PASS.encode())
    plain = json.loads(AESGCM(derived).decrypt(base64.b64decode(aead["nonce"]), data[13 + length:],
                                               data[:13 + length]))
    assert plain == {"api_key": key, "private_key": pem.strip() + "\n", "private_key_password": None}
    assert header["name"] == "ed"
    assert header["key_type"] == "ed25519"
    assert header["fingerprint"].startswith("bkm:")
    assert header["previous_fingerprints"] == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(header=st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=20), max_size=4),
       plaintext=st.binary(max_size=300), passphrase=st.text(min_size=1, max_size=30),
       index=st.integers(min_value=0))
def test_encrypt_decrypt_round_trip_and_any_flip_fails(header: dict[str, str], plaintext: bytes,
                                                       passphrase: str, index: int) -> None:
    header = {k: v for k, v in header.items() if k not in ("kdf", "aead")}
    data = fileformat.encrypt(header, plaintext, passphrase, KdfParams.cheap())
    assert fileformat.decrypt(fileformat.parse(data), passphrase) == plaintext
    damaged = bytearray(data)
    damaged[index % len(data)] ^= 0x04
    with pytest.raises(fileformat.FormatError):
        fileformat.decrypt(fileformat.parse(bytes(damaged)), passphrase)


@pytest.mark.parametrize("params", [
    {"alg": "argon2id", "iterations": 0, "memory_kib": 8, "lanes": 1},
    {"alg": "argon2id", "iterations": 1, "memory_kib": 7, "lanes": 1},
    {"alg": "scrypt", "n": 3, "r": 1, "p": 1},
    {"alg": "scrypt", "n": 2**30, "r": 8, "p": 1},
])
def test_kdf_params_validation(params: dict[str, object]) -> None:
    with pytest.raises(KdfParamsError):
        KdfParams(**params).validated()  # type: ignore[arg-type]


def test_scrypt_files_work_too(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "s", passphrase_source=PASS,
                     kdf_params=KdfParams.scrypt(n=1024, r=8, p=1))
    store.init()
    key = make_key()
    store.add("k", purpose="market-data", api_key=key, api_secret=make_key())
    assert fileformat.parse_header(store.key_path("k").read_bytes())[0]["kdf"]["alg"] == "scrypt"
    assert store.get("k").api_key == key


def test_default_kdf_is_memory_hard() -> None:
    params = KdfParams.default()
    assert (params.alg, params.memory_kib, params.iterations) == ("argon2id", 65536, 3)


@pytest.mark.parametrize("kdf", [
    {"alg": "argon2id", "iterations": 3, "memory_kib": 1024 * 1024, "lanes": 4},  # 1 GiB
    {"alg": "argon2id", "iterations": 64, "memory_kib": 65536, "lanes": 4},  # 21x the time
    {"alg": "argon2id", "iterations": 13, "memory_kib": 65536, "lanes": 4},  # just past 4x
    {"alg": "scrypt", "n": 2**21, "r": 8, "p": 1},  # 2 GiB
    {"alg": "scrypt", "n": 2**17, "r": 8, "p": 16},
])
def test_a_forged_costly_kdf_header_is_refused_fast(hmac_file: tuple[KeyStore, Path, str, str],
                                                    kdf: dict[str, object]) -> None:
    """Parameters past 4x what this version writes are refused before any KDF runs."""
    import time

    store, path, _, _ = hmac_file
    data = path.read_bytes()
    header, end = fileformat.parse_header(data)
    header["kdf"] = {**kdf, "salt": header["kdf"]["salt"]}
    head = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    path.write_bytes(struct.pack(">8sBI", b"BKMGUARD", 1, len(head)) + head + data[end:])
    start = time.monotonic()
    with pytest.raises(DecryptionError):
        store.get("bot")
    assert time.monotonic() - start < 0.5


def test_the_bounds_are_4x_the_default_and_the_default_is_within() -> None:
    default = KdfParams.default()
    assert default.validated() is default
    KdfParams.argon2id(iterations=12, memory_kib=65536, lanes=4)  # 4x the time: accepted
    KdfParams.argon2id(iterations=3, memory_kib=4 * 65536, lanes=4)  # 4x the memory: accepted
    with pytest.raises(KdfParamsError):
        KdfParams.argon2id(iterations=3, memory_kib=4 * 65536 + 8, lanes=4)
    with pytest.raises(KdfParamsError):
        KdfParams.scrypt(n=2**20, r=8, p=1)
