"""KeyStore behaviour: add/get/rotate/remove/list, key material checks, Credentials, audit."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import logging
import os
import pickle
import shutil
from pathlib import Path

import pytest
from conftest import make_ed25519_pem, make_hex, make_key, make_rsa_pem

from bkm_guard.errors import (
    ConfigError,
    DecryptionError,
    InvalidKeyMaterialError,
    InvalidKeyNameError,
    KeyExistsError,
    KeyNotFoundError,
    PassphraseError,
    StoreError,
)
from bkm_guard.masking import fingerprint
from bkm_guard.runtime.policy import Policy, builtin_policy
from bkm_guard.runtime.store import (
    AuditLog,
    EnvironmentPassphrase,
    KdfParams,
    KeyMetadata,
    KeyStore,
)

PASS = "correct horse battery staple"
UTC = dt.timezone.utc


def _store(path: Path, passphrase: str = PASS) -> KeyStore:
    return KeyStore(path, passphrase_source=passphrase, kdf_params=KdfParams.cheap())


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    s = _store(tmp_path / "store")
    assert s.init() is True
    return s


def _all_text(store: KeyStore) -> str:
    """Every byte the store wrote that is not encrypted: file headers, the audit log, strays."""
    return "\n".join(p.read_bytes().decode("latin-1") for p in store.path.iterdir() if p.is_file())


# ------------------------------------------------------------------ basic life cycle
def test_add_get_rotate_remove(store: KeyStore) -> None:
    key, secret = make_key(), make_key()
    meta = store.add("spot-bot", purpose="spot-trading", api_key=key, api_secret=secret)
    assert meta.fingerprint == fingerprint(key)
    assert meta.policy == builtin_policy("spot-trading")
    assert meta.rotated is None
    assert meta.previous_fingerprints == ()
    creds = store.get("spot-bot")
    assert (creds.name, creds.purpose, creds.key_type) == ("spot-bot", "spot-trading", "hmac")
    assert (creds.api_key, creds.api_secret, creds.private_key) == (key, secret, None)

    key2, secret2 = make_key(), make_key()
    rotated = store.rotate("spot-bot", api_key=key2, api_secret=secret2)
    assert rotated.previous_fingerprints == (fingerprint(key),)
    assert rotated.created == meta.created
    assert rotated.rotated is not None
    assert store.get("spot-bot").api_secret == secret2

    assert store.remove("spot-bot") is not None
    assert store.list() == []
    with pytest.raises(KeyNotFoundError):
        store.get("spot-bot")
    actions = [(e.action, e.name, e.outcome) for e in store.audit_log.entries()]
    assert actions == [("init", None, "ok"), ("add", "spot-bot", "ok"),
                       ("rotate", "spot-bot", "ok"), ("remove", "spot-bot", "ok")]
    text = _all_text(store)
    for value in (key, secret, key2, secret2):
        assert value not in text


def test_init_twice_is_harmless(store: KeyStore) -> None:
    assert store.init() is False


def test_store_must_exist(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="keys init"):
        _store(tmp_path / "none").add("a", purpose="market-data", api_key=make_key(),
                                      api_secret=make_key())


@pytest.mark.parametrize("pem_factory", [make_ed25519_pem, make_rsa_pem])
def test_private_key_types(store: KeyStore, pem_factory: object) -> None:
    pem = pem_factory()  # type: ignore[operator]
    meta = store.add("k", purpose="market-data", api_key=make_key(), private_key_pem=pem,
                     key_type=None)
    creds = store.get("k")
    assert creds.key_type == meta.key_type in ("ed25519", "rsa")
    assert creds.private_key == pem.strip() + "\n"
    assert creds.api_secret is None
    assert creds.for_ccxt()["secret"] == creds.private_key
    assert creds.for_python_binance()["private_key"] == creds.private_key
    assert creds.for_sdk()["private_key_passphrase"] is None


def test_encrypted_pem_with_password(store: KeyStore) -> None:
    password = "pem-" + make_key()[:12]
    pem = make_rsa_pem(password=password.encode())
    with pytest.raises(InvalidKeyMaterialError, match="encrypted"):
        store.add("k", purpose="market-data", api_key=make_key(), private_key_pem=pem)
    with pytest.raises(InvalidKeyMaterialError, match="wrong password"):
        store.add("k", purpose="market-data", api_key=make_key(), private_key_pem=pem,
                  private_key_password="nope")
    store.add("k", purpose="market-data", api_key=make_key(), private_key_pem=pem,
              private_key_password=password, key_type="rsa")
    creds = store.get("k")
    assert creds.private_key_password == password
    assert creds.for_connector()["private_key_pass"] == password
    assert "ENCRYPTED" not in creds.for_ccxt()["secret"]  # ccxt takes no password
    assert password in creds.secret_values()


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"api_key": "short", "api_secret": "K"}, "not a Binance API key"),
    ({"api_key": "x" * 64, "api_secret": "K"}, "placeholder"),
    ({"api_key": "K", "api_secret": "not-a-secret"}, "not a Binance HMAC secret"),
    ({"api_key": "K"}, "needs its API secret"),
    ({"api_key": "K", "api_secret": "K", "private_key_pem": "ED"}, "not both"),
    ({"api_key": "K", "private_key_pem": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"},
     "cannot be read"),
    ({"api_key": "K", "private_key_pem": "ED", "key_type": "rsa"}, "is ed25519, not rsa"),
    ({"api_key": "K", "key_type": "ed25519"}, "needs its private key"),
    ({"api_key": "K", "api_secret": "K", "key_type": "dsa"}, "key type must be"),
])
def test_key_material_is_checked(store: KeyStore, kwargs: dict[str, str], match: str) -> None:
    filled = {k: (make_key() if v == "K" else make_ed25519_pem() if v == "ED" else v)
              for k, v in kwargs.items()}
    with pytest.raises(InvalidKeyMaterialError, match=match) as info:
        store.add("k", purpose="market-data", **filled)  # type: ignore[arg-type]
    for value in filled.values():
        if len(value) > 20:
            assert value not in str(info.value)
    assert not store.key_path("k").exists()


def test_hex_testnet_keys_are_accepted(store: KeyStore) -> None:
    store.add("testnet", purpose="futures-trading", api_key=make_hex(), api_secret=make_hex())


@pytest.mark.parametrize("name", ["", "../x", "a/b", "UPPER", ".hidden", "-dash", "a" * 65,
                                  "x y", "a\x00", "ключ"])
def test_bad_names_are_refused(store: KeyStore, name: str) -> None:
    with pytest.raises(InvalidKeyNameError):
        store.add(name, purpose="market-data", api_key=make_key(), api_secret=make_key())
    with pytest.raises(InvalidKeyNameError):
        store.get(name)


def test_duplicates_are_refused(store: KeyStore) -> None:
    key = make_key()
    store.add("a", purpose="spot-trading", api_key=key, api_secret=make_key())
    with pytest.raises(KeyExistsError, match="already stored as 'a'"):
        store.add("b", purpose="market-data", api_key=key, api_secret=make_key())
    with pytest.raises(KeyExistsError, match="already stored"):
        store.add("a", purpose="spot-trading", api_key=make_key(), api_secret=make_key())
    with pytest.raises(KeyExistsError, match="already stored as 'a'"):
        store.rotate("a", api_key=key, api_secret=make_key())
    store.rotate("a", api_key=make_key(), api_secret=make_key())
    with pytest.raises(KeyExistsError, match="rotated out of 'a'"):
        store.add("c", purpose="spot-trading", api_key=key, api_secret=make_key())
    refused = [e for e in store.audit_log.entries() if e.outcome == "refused"]
    assert len(refused) == 4
    assert key not in json.dumps([e.reason for e in refused])


def test_wrong_passphrase_on_add_and_rotate(store: KeyStore) -> None:
    store.add("a", purpose="market-data", api_key=make_key(), api_secret=make_key())
    other = _store(store.path, "a different passphrase")
    with pytest.raises(DecryptionError, match="wrong passphrase"):
        other.add("b", purpose="market-data", api_key=make_key(), api_secret=make_key())
    with pytest.raises(DecryptionError):
        other.rotate("a", api_key=make_key(), api_secret=make_key())
    assert store.names() == ["a"]


def test_custom_policy_is_stored_in_the_header(store: KeyStore) -> None:
    policy = Policy.from_dict({"purpose": "grid-bot", "base": "spot-trading", "max_age_days": 30,
                               "ip_restriction": "always"})
    store.add("grid", purpose="grid-bot", policy=policy, api_key=make_key(), api_secret=make_key())
    assert store.metadata("grid").policy == policy
    assert store.get("grid").metadata.policy.max_age_days == 30
    with pytest.raises(ConfigError):
        store.add("x", purpose="no-such-purpose", api_key=make_key(), api_secret=make_key())


# ------------------------------------------------------------------ Credentials
def test_credentials_never_show_secrets(store: KeyStore, caplog: pytest.LogCaptureFixture) -> None:
    key, secret = make_key(), make_key()
    store.add("bot", purpose="spot-trading", api_key=key, api_secret=secret)
    creds = store.get("bot")
    logging.getLogger("bot").warning("loaded %s / %r / {%s}", creds, creds, [creds])
    shown = f"{creds} {creds!r} {[creds]} {creds.metadata} {store.metadata('bot')}" + caplog.text
    assert key not in shown
    assert secret not in shown
    assert creds.masked_api_key in repr(creds)
    with pytest.raises(TypeError):
        pickle.dumps(creds)
    with pytest.raises(TypeError):
        copy.deepcopy(creds)
    with pytest.raises(AttributeError):
        creds.api_key = "x"  # type: ignore[misc]
    assert creds == store.get("bot")
    assert hash(creds) == hash(store.get("bot"))
    assert set(creds.secret_values()) == {key, secret}
    assert creds.for_python_binance() == {"api_key": key, "api_secret": secret}
    assert creds.for_ccxt() == {"apiKey": key, "secret": secret}
    assert creds.for_connector() == {"api_key": key, "api_secret": secret}
    assert creds.for_sdk() == {"api_key": key, "api_secret": secret}


def test_credentials_inequality(store: KeyStore) -> None:
    store.add("a", purpose="market-data", api_key=make_key(), api_secret=make_key())
    before = store.get("a")
    store.rotate("a", api_key=make_key(), api_secret=make_key())
    assert before != store.get("a")


# ------------------------------------------------------------------ passphrase sources
def test_environment_passphrase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BKM_GUARD_PASSPHRASE", raising=False)
    monkeypatch.delenv("BKM_GUARD_PASSPHRASE_FILE", raising=False)
    source = EnvironmentPassphrase(interactive=False)
    with pytest.raises(PassphraseError, match="BKM_GUARD_PASSPHRASE"):
        source.get()
    monkeypatch.setenv("BKM_GUARD_PASSPHRASE", "from env")
    assert source.get() == "from env"
    monkeypatch.delenv("BKM_GUARD_PASSPHRASE")
    file = tmp_path / "pass"
    file.write_text("from file\nignored\n")
    file.chmod(0o600)
    monkeypatch.setenv("BKM_GUARD_PASSPHRASE_FILE", str(file))
    assert source.get() == "from file"


# ------------------------------------------------------------------ audit
NOW = dt.datetime.now(UTC) + dt.timedelta(minutes=5)  # audit lines carry the real time


def test_audit_finds_what_needs_action(store: KeyStore) -> None:
    def add(name: str, age: int, **kw: object) -> None:
        store.add(name, purpose=str(kw.pop("purpose", "market-data")), api_key=make_key(),
                  api_secret=make_key(), now=NOW - dt.timedelta(days=age), **kw)  # type: ignore[arg-type]

    add("fresh", 1)
    add("old", 95)
    add("soon", 85)
    add("idle", 40)
    add("used", 40)
    store.audit_log.append("load", "used", outcome="ok")
    shutil.copy(store.key_path("fresh"), store.path / "fresh-copy.bkm")
    (store.path / "notes.txt").write_text("hello")
    store.key_path("soon").chmod(0o640)
    (store.path / ".tmp-stray").write_bytes(b"debris")  # crash debris is not "unknown"
    issues = store.audit(now=NOW)
    kinds = {(i.kind, i.name) for i in issues}
    assert ("rotation-overdue", "old") in kinds
    assert ("rotation-soon", "soon") in kinds
    assert ("unused", "idle") in kinds
    assert ("unused", "old") in kinds
    assert ("unused", "used") not in kinds
    assert ("unused", "fresh") not in kinds
    assert ("permissions", "soon") in kinds
    assert ("unknown-file", None) in kinds
    assert ("damaged", "fresh-copy") in kinds  # its header says "fresh"
    assert not any("stray" in i.message for i in issues)
    perm = next(i for i in issues if i.kind == "permissions")
    assert f"chmod 600 {store.key_path('soon')}" in perm.message


def test_audit_duplicate_same_key_two_names(store: KeyStore) -> None:
    key = make_key()
    store.add("a", purpose="market-data", api_key=key, api_secret=make_key())
    # a second store's file with the same API key, moved in by hand
    other = _store(store.path.parent / "other")
    other.init()
    other.add("b", purpose="market-data", api_key=key, api_secret=make_key())
    shutil.copy(other.key_path("b"), store.key_path("b"))
    assert {i.kind for i in store.audit()} == {"duplicate"}


def test_audit_clean_store(store: KeyStore) -> None:
    store.add("a", purpose="market-data", api_key=make_key(), api_secret=make_key())
    assert store.audit() == []


def test_audit_log_api(store: KeyStore) -> None:
    log = store.audit_log
    assert isinstance(log, AuditLog)
    log.append("load", "a", fingerprint="bkm:1", outcome="ok", host_ip="10.0.0.1")
    log.append("check", "a", outcome="error", reason="-2015 invalid key")
    log.append("load", "a", fingerprint="bkm:2", outcome="ok")
    last = log.last("load", "a")
    assert last is not None
    assert last.fingerprint == "bkm:2"
    check = log.last("check", "a", outcome=None)
    assert check is not None
    assert check.reason == "-2015 invalid key"
    assert log.last("check", "a") is None  # no successful check
    line = json.loads(log.path.read_text().splitlines()[1])
    assert set(line) >= {"time", "action", "name", "fingerprint", "host", "pid", "user",
                         "outcome", "reason"}
    assert line["time"].endswith("Z")
    secret = make_key()
    log.append("load", "a", outcome="error", reason=f"boom {secret}", detail=secret)
    assert secret not in log.path.read_text()


def test_metadata_helpers() -> None:
    meta = KeyMetadata("a", "market-data", builtin_policy("market-data"), "hmac", "m", "bkm:x",
                       NOW - dt.timedelta(days=100), NOW - dt.timedelta(days=5), (), 1, Path("a"))
    assert round(meta.age_days(NOW)) == 5
    assert not meta.rotation_due(NOW)
    assert meta.rotation_due(NOW + dt.timedelta(days=86))
    assert meta.rotation_due_at == NOW + dt.timedelta(days=85)
    assert dataclasses.is_dataclass(meta)
    with pytest.raises(dataclasses.FrozenInstanceError):
        meta.name = "b"  # type: ignore[misc]


def test_store_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BKM_GUARD_HOME", str(tmp_path / "home"))
    assert KeyStore().path == tmp_path / "home"
    monkeypatch.delenv("BKM_GUARD_HOME")
    assert KeyStore().path.name == "bkm-guard"


def test_stray_temp_files_are_ignored_and_cleaned(store: KeyStore) -> None:
    store.add("a", purpose="market-data", api_key=make_key(), api_secret=make_key())
    stray = store.path / ".tmp-a.bkm.deadbeef0000"
    stray.write_bytes(b"half a file")
    assert [m.name for m in store.list()] == ["a"]
    store.add("b", purpose="market-data", api_key=make_key(), api_secret=make_key())
    assert not stray.exists()
    assert sorted(os.listdir(store.path)) == [".audit.lock", ".lock", ".store", "a.bkm",
                                              "audit.log", "b.bkm"]


def test_no_secret_in_tracebacks(store: KeyStore) -> None:
    import traceback

    key, secret, pem = make_key(), make_key(), make_rsa_pem(password=b"pem-password-123")
    store.add("a", purpose="market-data", api_key=key, api_secret=secret)
    attempts = [
        lambda: store.add("b", purpose="market-data", api_key=key, api_secret=secret),
        lambda: store.add("b", purpose="market-data", api_key=secret[:40], api_secret=key),
        lambda: store.add("b", purpose="market-data", api_key=make_key(), api_secret=key + "!"),
        lambda: store.add("b", purpose="market-data", api_key=make_key(), private_key_pem=pem,
                          private_key_password="wrong"),
        lambda: store.add("b", purpose="market-data", api_key=make_key(),
                          private_key_pem=pem.replace("A", "B")),
        lambda: _store(store.path, "wrong passphrase").get("a"),
    ]
    body = [line for line in pem.splitlines() if not line.startswith("-----")]
    for attempt in attempts:
        with pytest.raises(StoreError) as info:
            attempt()
        text = "".join(traceback.format_exception(info.value))
        for value in (key, secret, secret[:40], PASS, "pem-password-123", *body):
            assert value not in text


def test_existing_audit_log_mode_is_reported_not_changed(store: KeyStore) -> None:
    store.audit_log.path.chmod(0o644)
    store.audit_log.append("load", "a", outcome="ok")
    assert store.audit_log.path.stat().st_mode & 0o777 == 0o644
    assert any(i.kind == "permissions" for i in store.audit())
