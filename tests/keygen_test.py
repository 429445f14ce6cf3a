"""`keys generate` / `keys attach`: a key pair made here, its public key registered on the fake Binance."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from conftest import PASSPHRASE

from bkm_guard.cli import keys as keys_cli
from bkm_guard.errors import KeyPendingError, StoreError
from bkm_guard.runtime import keygen
from bkm_guard.runtime.binance_api import ACCOUNT_PATH, API_RESTRICTIONS_PATH, BinanceClient
from bkm_guard.runtime.guard import load
from bkm_guard.runtime.signing import Signer
from bkm_guard.runtime.store import KdfParams, KeyStore, StaticPassphrase
from bkm_guard.testing import FakeBinance
from bkm_guard.testing.keys import new_api_key, new_hmac_secret

PUBLIC_PEM = re.compile(r"-----BEGIN PUBLIC KEY-----\n.*?-----END PUBLIC KEY-----\n", re.S)


class Keys:
    """`bkm-guard keys ...` in-process against one store, with captured output."""

    def __init__(self, path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.path, self.capsys = path, capsys
        self.outputs: list[str] = []

    def store(self, _: Path | None = None) -> KeyStore:
        return KeyStore(self.path, passphrase_source=StaticPassphrase(PASSPHRASE),
                        kdf_params=KdfParams.cheap())

    def __call__(self, *argv: str, stdin: str = "") -> tuple[int, str, str]:
        code = keys_cli.main(list(argv), store_factory=self.store, stdin=io.StringIO(stdin))
        out, err = self.capsys.readouterr()
        self.outputs += [out, err]
        return code, out, err


@pytest.fixture
def keys(store: KeyStore, capsys: pytest.CaptureFixture[str]) -> Keys:
    return Keys(store.path, capsys)


def _signer(creds: object) -> Signer:
    from bkm_guard.runtime.store import Credentials

    assert isinstance(creds, Credentials)
    if creds.api_secret is not None:
        return Signer("hmac", secret=creds.api_secret)
    return Signer(creds.key_type, private_key=creds.private_key,
                  private_key_password=creds.private_key_password)


def _generate(keys: Keys, name: str = "bot", *extra: str) -> str:
    code, out, err = keys("generate", name, "--purpose", "spot-trading", *extra)
    assert code == 0, err
    match = PUBLIC_PEM.search(out)
    assert match, out
    return match.group(0)


@pytest.mark.parametrize("spec", ["ed25519", "rsa-2048"])
def test_generated_key_signs_requests_the_fake_verifies(keys: Keys, fb: FakeBinance,
                                                        spec: str) -> None:
    public_pem = _generate(keys, "bot", "--type", spec)
    api_key = new_api_key()  # what Binance shows after the public key was pasted
    fb.add_key(api_key, public_key_pem=public_pem,
               permissions={"enableSpotAndMarginTrading": True}, ip_restrict=True)

    code, out, err = keys("attach", "bot", "--from-stdin", stdin=api_key + "\n")
    assert code == 0, err
    assert f"Attached bot: spot-trading, {spec.split('-', maxsplit=1)[0]}" in out

    creds = load("bot", store=keys.store(), base_url=fb.base_url, ca_bundle=fb.ca_path)
    assert creds.key_type == spec.split("-", maxsplit=1)[0]
    with BinanceClient(creds.api_key, _signer(creds), base_url=fb.base_url,
                       ca_bundle=fb.ca_path, timeout=5) as client:
        assert client.account()["canTrade"] is True
    assert [(r.path, r.status) for r in fb.requests] == [(API_RESTRICTIONS_PATH, 200),
                                                          (ACCOUNT_PATH, 200)]
    # the private key was never shown, and is not readable in the store's files
    body = [line for line in str(creds.private_key).splitlines() if not line.startswith("-----")]
    files = "".join(p.read_bytes().decode("latin-1") for p in keys.path.iterdir() if p.is_file())
    for line in body:
        assert line not in "".join(keys.outputs)
        assert line not in files
    assert api_key not in "".join(keys.outputs) + files


def test_a_key_signed_by_another_pair_is_refused_by_the_fake(keys: Keys, fb: FakeBinance) -> None:
    _generate(keys)
    other = _generate(keys, "other")  # the user pasted the wrong public key
    api_key = new_api_key()
    fb.add_key(api_key, public_key_pem=other, permissions={"enableSpotAndMarginTrading": True},
               ip_restrict=True)
    assert keys("attach", "bot", "--from-stdin", stdin=api_key + "\n")[0] == 0
    with pytest.raises(Exception, match=r"-1022|[Ss]ignature"):
        load("bot", store=keys.store(), base_url=fb.base_url, ca_bundle=fb.ca_path)


def test_generate_prints_where_to_paste_and_the_policy_advice(keys: Keys) -> None:
    code, out, _ = keys("generate", "bot", "--purpose", "spot-trading")
    assert code == 0
    assert "API Management -> Create API -> choose \"Self-generated\"" in out
    assert "must be off:" in out
    assert "withdrawals" in out
    assert "IP restriction: required" in out
    assert "bkm-guard keys attach bot" in out
    assert "ed25519" in out  # the default type
    # the same public key again, on demand
    assert PUBLIC_PEM.search(out).group(0) in keys("pending", "bot")[1]  # type: ignore[union-attr]


def test_a_pending_key_is_refused_by_load_and_listed_by_audit(keys: Keys) -> None:
    _generate(keys)
    with pytest.raises(KeyPendingError, match="keys attach bot"):
        load("bot", store=keys.store(), check="offline")
    code, out, _ = keys("audit")
    assert code == 1
    assert "pending: bot: an ed25519 key generated 0 days ago" in out
    assert "unknown-file" not in out


def test_attach_takes_no_key_on_the_command_line(keys: Keys) -> None:
    _generate(keys)
    code, _, err = keys("attach", "bot", new_api_key())
    assert code == 2
    assert "unrecognized arguments" in err


def test_attach_refuses_a_malformed_api_key_and_keeps_the_pending_entry(keys: Keys) -> None:
    _generate(keys)
    code, _, err = keys("attach", "bot", "--from-stdin", stdin="not-a-key\n")
    assert code == 2
    assert "not a Binance API key" in err
    assert keygen.pending_path(keys.store(), "bot").exists()


def test_generate_on_an_existing_name_rotates_it_at_attach(keys: Keys, fb: FakeBinance) -> None:
    store = keys.store()
    old_key = new_api_key()
    store.add("bot", purpose="spot-trading", api_key=old_key, api_secret=new_hmac_secret())
    old = store.metadata("bot")
    public_pem = _generate(keys)
    # while the new pair waits, the old key still loads
    assert load("bot", store=keys.store(), check="offline").fingerprint == old.fingerprint
    new_key = new_api_key()
    code, out, _ = keys("attach", "bot", "--from-stdin", stdin=new_key + "\n")
    assert code == 0
    assert "This rotated bot" in out
    meta = keys.store().metadata("bot")
    assert meta.key_type == "ed25519"
    assert old.fingerprint in meta.previous_fingerprints
    fb.add_key(new_key, public_key_pem=public_pem,
               permissions={"enableSpotAndMarginTrading": True}, ip_restrict=True)
    assert load("bot", store=keys.store(), base_url=fb.base_url,
                ca_bundle=fb.ca_path).api_key == new_key


def test_generate_and_attach_write_audit_lines(keys: Keys) -> None:
    _generate(keys)
    api_key = new_api_key()
    keys("attach", "bot", "--from-stdin", stdin=api_key + "\n")
    lines = [json.loads(line) for line in keys.store().audit_log.path.read_text().splitlines()]
    actions = [(line["action"], line["outcome"]) for line in lines if line["name"] == "bot"]
    assert actions == [("generate", "ok"), ("add", "ok"), ("attach", "ok")]
    generated = next(line for line in lines if line["action"] == "generate")
    assert generated["key_type"] == "ed25519"
    assert generated["public_key"].startswith("bkm:")
    assert "BEGIN" not in keys.store().audit_log.path.read_text()


def test_remove_drops_a_pending_entry(keys: Keys) -> None:
    _generate(keys)
    code, out, _ = keys("remove", "bot")
    assert code == 0
    assert "Removed the generated ed25519 key bot" in out
    assert keygen.pending_names(keys.store()) == []


def test_passwd_waits_until_pending_keys_are_attached(keys: Keys) -> None:
    _generate(keys)
    with pytest.raises(StoreError, match="attach or remove them first"):
        keys.store().passwd("a different long passphrase here")


def test_a_second_generate_for_the_same_name_is_refused(keys: Keys) -> None:
    _generate(keys)
    code, _, err = keys("generate", "bot", "--purpose", "spot-trading")
    assert code == 2
    assert "already waits for its API key" in err


def test_a_pending_file_whose_header_was_changed_does_not_attach(keys: Keys) -> None:
    _generate(keys)
    path = keygen.pending_path(keys.store(), "bot")
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"spot-trading"', b'"withdrawals!"', 1))
    code, _, err = keys("attach", "bot", "--from-stdin", stdin=new_api_key() + "\n")
    assert code == 2
    assert "pending key" in err


def test_removing_a_pending_rotation_keeps_the_working_key(keys: Keys) -> None:
    keys.store().add("bot", purpose="spot-trading", api_key=new_api_key(),
                     api_secret=new_hmac_secret())
    _generate(keys)
    code, out, _ = keys("remove", "bot")
    assert code == 0
    assert "The key bot itself stays" in out
    assert keys.store().metadata("bot").key_type == "hmac"
    assert keygen.pending_names(keys.store()) == []


def test_list_shows_pending_keys(keys: Keys) -> None:
    _generate(keys)
    out = keys("list")[1]
    assert "bot: generated key waiting for its API key: `bkm-guard keys attach bot`" in out


def test_attach_finishes_after_a_crash_between_its_two_steps(keys: Keys,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _generate(keys)
    api_key = new_api_key()

    def crash(path: object) -> None:
        raise KeyboardInterrupt  # the process dies after the key file, before the pending one goes

    monkeypatch.setattr("bkm_guard.runtime.store.atomic.unlink_durable", crash)
    with pytest.raises(KeyboardInterrupt):
        keygen.attach(keys.store(), "bot", api_key)
    monkeypatch.undo()
    assert keygen.pending_path(keys.store(), "bot").exists()
    meta, _ = keygen.attach(keys.store(), "bot", api_key)
    assert meta.masked_api_key == keys.store().metadata("bot").masked_api_key
    assert keygen.pending_names(keys.store()) == []
    assert load("bot", store=keys.store(), check="offline").api_key == api_key
