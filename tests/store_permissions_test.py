"""Owner-only modes whatever the umask, and loose files or directories refused with the chmod."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import make_key

from bkm_guard.errors import InsecurePermissionsError
from bkm_guard.runtime.store import EnvironmentPassphrase, KdfParams, KeyStore

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
PASS = "correct horse battery staple"


@pytest.fixture
def umask_000() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _filled_store(path: Path) -> KeyStore:
    store = KeyStore(path, passphrase_source=PASS, kdf_params=KdfParams.cheap())
    store.init()
    store.add("a", purpose="market-data", api_key=make_key(), api_secret=make_key())
    store.rotate("a", api_key=make_key(), api_secret=make_key())
    store.passwd("another passphrase")
    return store


def test_modes_under_umask_000(tmp_path: Path, umask_000: None) -> None:
    store = _filled_store(tmp_path / "deep" / "store")
    assert _mode(store.path) == 0o700
    for entry in store.path.iterdir():
        assert _mode(entry) == 0o600, entry.name
    assert {p.name for p in store.path.iterdir()} >= {"a.bkm", "audit.log", ".store", ".lock"}


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o602, 0o660, 0o666])
def test_loose_key_file_is_refused_naming_the_chmod(tmp_path: Path, mode: int) -> None:
    store = _filled_store(tmp_path / "store")
    path = store.key_path("a")
    path.chmod(mode)
    with pytest.raises(InsecurePermissionsError) as info:
        KeyStore(store.path, passphrase_source="another passphrase").get("a")
    assert f"`chmod 600 {path}`" in str(info.value)
    path.chmod(0o600)
    assert KeyStore(store.path, passphrase_source="another passphrase").get("a").name == "a"


@pytest.mark.parametrize("mode", [0o750, 0o705, 0o770, 0o701, 0o702, 0o777])
def test_loose_store_directory_is_refused_naming_the_chmod(tmp_path: Path, mode: int) -> None:
    store = _filled_store(tmp_path / "my store")  # a space: the command must be quoted
    store.path.chmod(mode)
    try:
        with pytest.raises(InsecurePermissionsError) as info:
            store.get("a")
        assert f"`chmod 700 '{store.path}'`" in str(info.value)
        with pytest.raises(InsecurePermissionsError):
            store.add("b", purpose="market-data", api_key=make_key(), api_secret=make_key())
        assert any(i.kind == "permissions" for i in store.audit())
    finally:
        store.path.chmod(0o700)


def test_symlinked_key_file_is_refused(tmp_path: Path) -> None:
    store = _filled_store(tmp_path / "store")
    target = tmp_path / "elsewhere.bkm"
    store.key_path("a").rename(target)
    store.key_path("a").symlink_to(target)
    with pytest.raises(InsecurePermissionsError, match="not a regular file"):
        store.get("a")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_loose_passphrase_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          mode: int) -> None:
    file = tmp_path / "pass"
    file.write_text(PASS)
    file.chmod(mode)
    monkeypatch.delenv("BKM_GUARD_PASSPHRASE", raising=False)
    monkeypatch.setenv("BKM_GUARD_PASSPHRASE_FILE", str(file))
    with pytest.raises(InsecurePermissionsError) as info:
        EnvironmentPassphrase(interactive=False).get()
    assert f"chmod 600 {file}" in str(info.value)
    assert PASS not in str(info.value)


def test_existing_loose_directory_is_not_adopted_by_init(tmp_path: Path) -> None:
    path = tmp_path / "store"
    path.mkdir(mode=0o755)
    path.chmod(0o755)
    with pytest.raises(InsecurePermissionsError, match="chmod 700"):
        KeyStore(path, passphrase_source=PASS, kdf_params=KdfParams.cheap()).init()
