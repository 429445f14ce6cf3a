"""The key store refuses what OpenSSH and age would refuse: weak passphrases, files another
user owns, rolled-back key files; and no CLI path prints a credential-shaped value."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from conftest import make_hex, make_key

from bkm_guard.cli import keys as keys_cli
from bkm_guard.errors import InsecurePermissionsError, PassphraseError, StoreError
from bkm_guard.runtime.store import KdfParams, KeyStore
from bkm_guard.runtime.store.passphrase import read_passphrase_file

PASS = "correct horse battery staple"
WEAK = ["password", "12345678", "Password1", " " * 8, "qwertyuiop", "binance123"]


def _store(path: Path, passphrase: str = PASS) -> KeyStore:
    return KeyStore(path, passphrase_source=passphrase, kdf_params=KdfParams.cheap())


def _filled(tmp_path: Path) -> KeyStore:
    store = _store(tmp_path / "store")
    store.init()
    store.add("bot", purpose="spot-trading", api_key=make_key(), api_secret=make_key())
    return store


# -- weak passphrases ----------------------------------------------------------------------------


@pytest.mark.parametrize("weak", WEAK)
def test_weak_passphrases_are_refused_at_init_and_passwd(tmp_path: Path, weak: str) -> None:
    with pytest.raises(PassphraseError, match=r"too weak.*--allow-weak-passphrase") as caught:
        _store(tmp_path / "s", weak).init()
    assert repr(weak) not in str(caught.value)
    assert not (tmp_path / "s" / ".store").exists()
    store = _filled(tmp_path)
    with pytest.raises(PassphraseError, match="too weak"):
        store.passwd(weak)
    assert store.get("bot")  # nothing changed


def test_the_override_accepts_a_weak_passphrase(tmp_path: Path) -> None:
    store = _store(tmp_path / "s", "Password1")
    assert store.init(allow_weak_passphrase=True)
    store.add("bot", purpose="market-data", api_key=make_key(), api_secret=make_key())
    assert store.passwd("password", allow_weak_passphrase=True) == 1


def test_strong_passphrases_pass() -> None:
    from bkm_guard.runtime.store.passphrase import passphrase_weakness

    assert passphrase_weakness(PASS) is None
    assert passphrase_weakness("zebra quartz nine lamps") is None


def test_cli_refuses_a_weak_passphrase_and_names_the_override(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BKM_GUARD_PASSPHRASE", "12345678")
    monkeypatch.delenv("BKM_GUARD_PASSPHRASE_FILE", raising=False)
    home = tmp_path / "store"

    def factory(path: Path | None) -> KeyStore:
        return KeyStore(home, kdf_params=KdfParams.cheap())

    assert keys_cli.main(["init"], store_factory=factory) == 2
    err = capsys.readouterr().err
    assert "too weak" in err
    assert "--allow-weak-passphrase" in err
    assert "12345678" not in err
    assert keys_cli.main(["init", "--allow-weak-passphrase"], store_factory=factory) == 0
    monkeypatch.setenv("BKM_GUARD_NEW_PASSPHRASE", "password")
    assert keys_cli.main(["passwd"], store_factory=factory) == 2
    assert "too weak" in capsys.readouterr().err
    assert keys_cli.main(["passwd", "--allow-weak-passphrase"], store_factory=factory) == 0


# -- ownership (OpenSSH StrictModes) --------------------------------------------------------------

needs_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                                reason="chown to another user needs root")


def _nobody() -> int:
    import pwd

    try:
        return pwd.getpwnam("nobody").pw_uid
    except KeyError:
        return 65534


@needs_root
def test_a_key_file_another_user_owns_is_refused(tmp_path: Path) -> None:
    store = _filled(tmp_path)
    os.chown(store.key_path("bot"), _nobody(), -1)
    with pytest.raises(InsecurePermissionsError, match=r"owned by .*not by you"):
        store.get("bot")
    assert any(issue.kind == "permissions" and "owned by" in issue.message for issue in store.audit())


@needs_root
def test_a_store_directory_another_user_owns_is_refused(tmp_path: Path) -> None:
    store = _filled(tmp_path)
    os.chown(store.path, _nobody(), -1)
    with pytest.raises(InsecurePermissionsError, match=r"key store directory .* owned by"):
        store.get("bot")
    with pytest.raises(InsecurePermissionsError):
        store.add("other", purpose="market-data", api_key=make_key(), api_secret=make_key())
    assert any("owned by" in issue.message for issue in store.audit())


@needs_root
def test_a_passphrase_file_another_user_owns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pass"
    path.write_text(PASS + "\n")
    path.chmod(0o600)
    assert read_passphrase_file(path, "BKM_GUARD_PASSPHRASE_FILE") == PASS
    os.chown(path, _nobody(), -1)
    with pytest.raises(InsecurePermissionsError, match=r"passphrase file .* owned by"):
        read_passphrase_file(path, "BKM_GUARD_PASSPHRASE_FILE")


@needs_root
def test_an_audit_log_another_user_owns_is_refused(tmp_path: Path) -> None:
    store = _filled(tmp_path)
    os.chown(store.audit_log.path, _nobody(), -1)
    with pytest.raises(InsecurePermissionsError, match=r"audit log .* owned by"):
        store.audit_log.append("load", "bot", outcome="ok")
    assert any("audit log" in issue.message and "owned by" in issue.message for issue in store.audit())


@needs_root
def test_files_root_owns_are_accepted(tmp_path: Path) -> None:
    store = _filled(tmp_path)
    os.chown(store.key_path("bot"), 0, -1)
    assert store.get("bot")


# -- rollback --------------------------------------------------------------------------------


def _rotated_with_backup(tmp_path: Path) -> tuple[KeyStore, bytes, str]:
    store = _filled(tmp_path)
    old_file = store.key_path("bot").read_bytes()
    new_key = make_key()
    store.rotate("bot", api_key=new_key, api_secret=make_key())
    return store, old_file, new_key


def test_an_older_key_file_restored_after_rotate_is_refused(tmp_path: Path) -> None:
    from bkm_guard.errors import RollbackError

    store, old_file, new_key = _rotated_with_backup(tmp_path)
    current = store.key_path("bot").read_bytes()
    store.key_path("bot").write_bytes(old_file)
    with pytest.raises(RollbackError, match=r"rollback.*generation 1.*generation 2"):
        _store(store.path).get("bot")
    issues = [issue for issue in _store(store.path).audit() if issue.kind == "rollback"]
    assert [issue.name for issue in issues] == ["bot"]
    store.key_path("bot").write_bytes(current)
    assert _store(store.path).get("bot").api_key == new_key
    assert not [issue for issue in _store(store.path).audit() if issue.kind == "rollback"]


def test_the_index_cannot_be_forged_without_the_passphrase(tmp_path: Path) -> None:
    """The index travels in `.store`'s authenticated header: lowering a generation there
    breaks its AEAD, and the edited store is refused."""
    from bkm_guard.runtime.store import fileformat

    store = _filled(tmp_path)
    old_key = store.key_path("bot").read_bytes()
    store.rotate("bot", api_key=make_key(), api_secret=make_key())
    data = (store.path / ".store").read_bytes()
    header, end = fileformat.parse_header(data)
    assert header["keys"]["bot"]["generation"] == 2
    header["keys"]["bot"]["generation"] = 1
    header["keys"]["bot"]["fingerprint"] = fileformat.parse_header(old_key)[0]["fingerprint"]
    store.key_path("bot").write_bytes(old_key)
    forged = fileformat._canonical(header)
    (store.path / ".store").write_bytes(
        fileformat._PREFIX.pack(fileformat.MAGIC, 1, len(forged)) + forged + data[end:])
    with pytest.raises(StoreError, match="does not open"):
        _store(store.path).get("bot")


def test_audit_sees_an_old_store_file_put_back_with_the_old_key(tmp_path: Path) -> None:
    """`.store` and the key file restored together are consistent with each other; the
    audit log, which saw the rotation, still gives the rollback away to `keys audit`."""
    store = _filled(tmp_path)
    old_key, old_check = store.key_path("bot").read_bytes(), (store.path / ".store").read_bytes()
    store.rotate("bot", api_key=make_key(), api_secret=make_key())
    assert not [i for i in store.audit() if i.kind == "rollback"]
    store.key_path("bot").write_bytes(old_key)
    (store.path / ".store").write_bytes(old_check)
    issues = [i for i in _store(store.path).audit() if i.kind == "rollback"]
    assert [i.name for i in issues] == ["bot"]
    assert "rotated out" in issues[0].message


def test_a_removed_then_re_added_name_keeps_counting(tmp_path: Path) -> None:
    from bkm_guard.errors import RollbackError

    store = _filled(tmp_path)
    old_file = store.key_path("bot").read_bytes()
    store.remove("bot")
    store.add("bot", purpose="spot-trading", api_key=make_key(), api_secret=make_key())
    store.key_path("bot").write_bytes(old_file)
    with pytest.raises(RollbackError):
        _store(store.path).get("bot")


def test_passwd_keeps_the_generations(tmp_path: Path) -> None:
    from bkm_guard.errors import RollbackError

    store, old_file, new_key = _rotated_with_backup(tmp_path)
    store.passwd("zebra quartz nine lamps")
    reopened = _store(store.path, "zebra quartz nine lamps")
    assert reopened.get("bot").api_key == new_key
    store.key_path("bot").write_bytes(old_file)
    with pytest.raises((RollbackError, StoreError)):
        reopened.get("bot")


def test_an_old_store_without_an_index_migrates_on_the_first_authenticated_write(tmp_path: Path) -> None:
    from bkm_guard.errors import RollbackError
    from bkm_guard.runtime.store import fileformat

    store = _filled(tmp_path)
    # make it look like a store written before the index existed
    check = fileformat.parse((store.path / ".store").read_bytes())
    header = {k: v for k, v in check.header.items() if k not in ("kdf", "aead", "keys", "generation")}
    plain = fileformat.decrypt(check, PASS)
    (store.path / ".store").write_bytes(fileformat.encrypt(header, plain, PASS, KdfParams.cheap()))
    legacy = _store(store.path)
    assert legacy.get("bot")  # still loads: no index, no rollback check yet
    old_file = store.key_path("bot").read_bytes()
    legacy.rotate("bot", api_key=make_key(), api_secret=make_key())  # migrates
    assert "keys" in fileformat.parse_header((store.path / ".store").read_bytes())[0]
    store.key_path("bot").write_bytes(old_file)
    with pytest.raises(RollbackError):
        _store(store.path).get("bot")


def test_copying_a_whole_store_back_is_out_of_scope_but_a_mixed_one_is_not(tmp_path: Path) -> None:
    """A full backup restored as a whole is a consistent older store (documented)."""
    store = _filled(tmp_path)
    backup = tmp_path / "backup"
    shutil.copytree(store.path, backup)
    store.rotate("bot", api_key=make_key(), api_secret=make_key())
    assert _store(backup).get("bot")


# -- no credential-shaped value on any CLI path ------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["add", "{key}", "--purpose", "spot-trading", "--from-stdin"],
    ["add", "{hex}", "--purpose", "spot-trading", "--from-stdin"],
    ["add", "bot", "--api-key", "{key}"],
    ["add", "bot", "--api-key={key}"],
    ["add", "bot", "--purpose", "{key}"],
    ["rotate", "{key}", "--from-stdin"],
    ["show", "{key}"],
    ["remove", "{hex}"],
    ["check", "{key}", "--offline"],
    ["check", "--api-key", "{key}"],
    ["{key}"],
])
def test_no_cli_path_prints_a_credential(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    monkeypatch.setenv("BKM_GUARD_HOME", str(tmp_path / "store"))
    monkeypatch.setenv("BKM_GUARD_PASSPHRASE", PASS)
    _store(tmp_path / "store").init()
    key, hex_key = make_key(), make_hex()
    args = [a.format(key=key, hex=hex_key) for a in argv]
    code = keys_cli.main(args, store_factory=lambda p: _store(tmp_path / "store"),
                         stdin=io.StringIO(f"{make_key()}\n{make_key()}\n"))
    out, err = capsys.readouterr()
    assert code == 2
    for value in (key, hex_key):
        assert value not in out + err
        assert value[:20] not in out + err


def test_the_top_level_cli_does_not_echo_a_credential(capsys: pytest.CaptureFixture[str]) -> None:
    from bkm_guard import cli

    key = make_key()
    code = cli.main(["scan", "--select", key, "--api-key", key])
    out, err = capsys.readouterr()
    assert code == 2
    assert key not in out + err


def test_any_flipped_byte_of_the_index_file_is_refused(tmp_path: Path) -> None:
    store = _filled(tmp_path)
    check = store.path / ".store"
    original = check.read_bytes()
    for position in range(0, len(original), max(1, len(original) // 97)):
        flipped = bytearray(original)
        flipped[position] ^= 0x01
        check.write_bytes(bytes(flipped))
        with pytest.raises(StoreError):
            _store(store.path).get("bot")
    check.write_bytes(original)
    assert _store(store.path).get("bot")


def test_keys_audit_cli_reports_the_rollback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    store, old_file, _ = _rotated_with_backup(tmp_path)
    store.key_path("bot").write_bytes(old_file)
    monkeypatch.setenv("BKM_GUARD_PASSPHRASE", PASS)
    code = keys_cli.main(["audit"], store_factory=lambda p: _store(store.path))
    out = capsys.readouterr().out
    assert code == 1
    assert "rollback: key 'bot'" in out
    assert "nothing needs action" not in out


def test_mid_passwd_a_key_whose_passphrase_no_longer_opens_the_store_is_refused(tmp_path: Path) -> None:
    from bkm_guard.runtime.store import fileformat
    from bkm_guard.runtime.store.atomic import write_atomic

    store = _filled(tmp_path)
    new = "zebra quartz nine lamps"
    # what an interrupted passwd leaves: the journal, .store under the new passphrase, the key
    # still under the old one
    check = fileformat.parse((store.path / ".store").read_bytes())
    header = {k: v for k, v in check.header.items() if k not in ("kdf", "aead")}
    write_atomic(store.path / ".passwd-journal",
                 b'{"old_id":"%s","new_id":"n3w","started":"2026-12-03T12:00:00.000Z"}'
                 % str(header["passphrase_id"]).encode())
    header["passphrase_id"] = "n3w"
    write_atomic(store.path / ".store", fileformat.encrypt(
        header, fileformat.decrypt(check, PASS), new, KdfParams.cheap()))
    with pytest.raises(StoreError, match=r"cannot be checked.*interrupted `bkm-guard keys passwd`"):
        _store(store.path).get("bot")
    assert _store(store.path).passwd(new) == 1  # finishing it restores access
    assert _store(store.path, new).get("bot")
