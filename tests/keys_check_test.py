"""`bkm-guard keys check`: the table, JSON, and exit codes 0 pass / 1 violation / 2 could not check."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from conftest import PASSPHRASE

from bkm_guard.cli import keys as keys_cli
from bkm_guard.cli import keys_check
from bkm_guard.runtime import redact
from bkm_guard.runtime.store import KeyStore
from bkm_guard.testing import FakeBinance
from bkm_guard.testing.keys import new_api_key, new_hmac_secret

INSECURE = "http://api.binance.com"  # bkm: ignore[BKM101]: the refusal under test




@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("BKM_GUARD_PASSPHRASE", PASSPHRASE)
    yield
    redact.uninstall()


SECRETS: list[str] = []


def plant(store: KeyStore, fb: FakeBinance, name: str, purpose: str, **permissions: bool) -> None:
    api_key, secret = new_api_key(), new_hmac_secret()
    SECRETS.extend([api_key, secret])
    store.add(name, purpose=purpose, api_key=api_key, api_secret=secret)
    fb.add_key(api_key, secret, permissions=permissions, ip_restrict=True)


def run(store: KeyStore, fb: FakeBinance, *args: str,
        capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = keys_cli.main(["check", *args, "--store", str(store.path), "--base-url", fb.base_url,
                          "--ca-bundle", fb.ca_path, "--timeout", "3"])
    out, err = capsys.readouterr()
    for value in SECRETS:
        assert value not in out
        assert value not in err
    return code, out, err


def test_passing_key(store: KeyStore, fb: FakeBinance, capsys: pytest.CaptureFixture[str]) -> None:
    plant(store, fb, "spot-bot", "spot-trading", enableSpotAndMarginTrading=True)
    code, out, _ = run(store, fb, "spot-bot", capsys=capsys)
    assert code == 0
    assert "spot-bot: spot-trading key, hmac" in out
    assert "PERMISSION" in out
    assert "  PASS" in out
    assert "1 key(s) checked: 1 passed, 0 broke their policy, 0 could not be checked." in out


def test_violation_row_and_exit_1(store: KeyStore, fb: FakeBinance,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    plant(store, fb, "md", "market-data", enableFutures=True)
    code, out, _ = run(store, fb, "md", capsys=capsys)
    assert code == 1
    futures = next(line for line in out.splitlines() if line.strip().startswith("futures"))
    assert futures.split()[1:] == ["on", "forbidden", "VIOLATION"]
    assert "FAIL: 1 violation" in out


@pytest.mark.parametrize(("fault", "words"), [("broken_json", "invalid or truncated JSON"),
                                              ("slow", "did not answer"),
                                              ("error", "-2015")])
def test_could_not_check_exit_2(store: KeyStore, fb: FakeBinance, capsys: pytest.CaptureFixture[str],
                                fault: str, words: str) -> None:
    plant(store, fb, "spot-bot", "spot-trading", enableSpotAndMarginTrading=True)
    fb.fail_next(fault, code=-2015, delay=5)  # type: ignore[arg-type]
    code, out, _ = run(store, fb, "spot-bot", capsys=capsys)
    assert code == 2
    assert "COULD NOT CHECK" in out
    assert words in out


def test_all_keys_worst_outcome_wins(store: KeyStore, fb: FakeBinance,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    plant(store, fb, "a-good", "spot-trading", enableSpotAndMarginTrading=True)
    plant(store, fb, "b-bad", "spot-trading", enableSpotAndMarginTrading=True, enableWithdrawals=True)
    code, out, _ = run(store, fb, "--all", capsys=capsys)
    assert code == 1
    assert "2 key(s) checked: 1 passed, 1 broke their policy" in out


def test_json_output(store: KeyStore, fb: FakeBinance, capsys: pytest.CaptureFixture[str]) -> None:
    plant(store, fb, "spot-bot", "spot-trading", enableSpotAndMarginTrading=True, enableMargin=True)
    code, out, _ = run(store, fb, "spot-bot", "--format", "json", capsys=capsys)
    data = json.loads(out)
    assert code == data["exit_code"] == 1
    (report,) = data["keys"]
    assert report["outcome"] == "violation"
    assert report["violations"][0].startswith("enableMargin:")
    assert {row["permission"] for row in report["permissions"]} >= {"enableMargin", "ipRestrict"}


def test_offline(store: KeyStore, fb: FakeBinance, capsys: pytest.CaptureFixture[str]) -> None:
    plant(store, fb, "spot-bot", "spot-trading", enableWithdrawals=True)
    code, out, _ = run(store, fb, "spot-bot", "--offline", capsys=capsys)
    assert code == 0
    assert "not checked" in out


@pytest.mark.parametrize(("args", "words"), [((), "give key name(s) or --all"),
                                             (("x", "--all"), "not both")])
def test_usage_errors(args: tuple[str, ...], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert keys_check.main(list(args)) == 2
    assert words in capsys.readouterr().err


def test_unknown_key_and_insecure_url(store: KeyStore, fb: FakeBinance,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    plant(store, fb, "spot-bot", "spot-trading", enableSpotAndMarginTrading=True)
    assert run(store, fb, "nope", capsys=capsys)[0] == 2
    code = keys_check.main(["spot-bot", "--base-url", INSECURE], store=store)
    out = capsys.readouterr().out
    assert code == 2
    assert "not HTTPS" in out


def test_empty_store(store: KeyStore, fb: FakeBinance, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(store, fb, "--all", capsys=capsys)
    assert code == 2
    assert "no keys" in err


def test_help_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert keys_check.main(["--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "Exit 0 pass, 1 policy violation, 2 could not check" in text
