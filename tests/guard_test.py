"""bkm_guard.load() and check_key() against the fake Binance over real TLS, end to end."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

import bkm_guard
from bkm_guard.errors import (
    BinanceAuthError,
    BinanceRateLimitError,
    BinanceUnavailableError,
    DecryptionError,
    GuardError,
    InsecureEndpointError,
    InsecurePermissionsError,
    KeyExpiredError,
    KeyNotFoundError,
    PermissionViolationError,
    StoreError,
)
from bkm_guard.runtime import redact
from bkm_guard.runtime.binance_api import API_RESTRICTIONS_PATH
from bkm_guard.runtime.guard import (
    KeyAgeWarning,
    TradingAuthorityWarning,
    UnknownPermissionWarning,
    check_key,
    evaluate_restrictions,
    load,
)
from bkm_guard.runtime.policy import NEW_KEY_DEFAULTS, PERMISSIONS, POWERFUL, Policy, builtin_policy
from bkm_guard.runtime.store import KeyStore, StaticPassphrase
from bkm_guard.testing import FakeBinance
from bkm_guard.testing.keys import new_api_key, new_ed25519_key, new_hmac_secret, new_rsa_key

NOW = dt.datetime.now(dt.timezone.utc)
DAY_MS = 86_400_000
INSECURE = "http://api.binance.com"  # bkm: ignore[BKM101]: the refusal under test




@pytest.fixture(autouse=True)
def _no_redaction_leftovers() -> Iterator[None]:
    yield
    redact.uninstall()


@dataclasses.dataclass
class Planted:
    name: str
    api_key: str
    secret: str  # the HMAC secret or the private key PEM

    def values(self) -> list[str]:
        lines = [line for line in self.secret.splitlines() if line and not line.startswith("-----")]
        return [self.api_key, self.secret, *lines]


def plant(store: KeyStore, fb: FakeBinance, name: str = "bot", purpose: str = "spot-trading", *,
          key_type: str = "hmac", permissions: dict[str, bool] | None = None,
          ip_restrict: bool = True, policy: Policy | None = None, age_days: float = 1,
          **server_settings: Any) -> Planted:
    api_key = new_api_key()
    created = NOW - dt.timedelta(days=age_days)
    if permissions is None:
        permissions = {"enableSpotAndMarginTrading": True} if purpose == "spot-trading" else {}
    if key_type == "hmac":
        secret = new_hmac_secret()
        store.add(name, purpose=purpose, api_key=api_key, api_secret=secret, policy=policy, now=created)
        fb.add_key(api_key, secret, permissions=permissions, ip_restrict=ip_restrict, **server_settings)
    else:
        secret, public = new_rsa_key() if key_type == "rsa" else new_ed25519_key()
        store.add(name, purpose=purpose, api_key=api_key, private_key_pem=secret, key_type=None,
                  policy=policy, now=created)
        fb.add_key(api_key, public_key_pem=public, permissions=permissions, ip_restrict=ip_restrict,
                   **server_settings)
    return Planted(name, api_key, secret)


def live(store: KeyStore, fb: FakeBinance, name: str = "bot", **kwargs: Any) -> bkm_guard.Credentials:
    kwargs.setdefault("timeout", 5.0)
    return load(name, store=store, base_url=fb.base_url, ca_bundle=fb.ca_path, **kwargs)


def audit_lines(store: KeyStore) -> list[dict[str, Any]]:
    return [json.loads(line) for line in store.audit_log.path.read_text().splitlines()]


def assert_no_secret(planted: Planted, *texts: str) -> None:
    for text in texts:
        for value in planted.values():
            assert value not in text


# -- passing keys -------------------------------------------------------------------------


@pytest.mark.parametrize("key_type", ["hmac", "rsa", "ed25519"])
def test_good_key_of_every_type_loads(store: KeyStore, fb: FakeBinance, key_type: str) -> None:
    planted = plant(store, fb, key_type=key_type)
    creds = live(store, fb)
    assert creds.api_key == planted.api_key
    assert creds.key_type == key_type
    assert [r.path for r in fb.requests] == [API_RESTRICTIONS_PATH]
    last = audit_lines(store)[-1]
    assert (last["action"], last["outcome"], last["check"]) == ("load", "ok", "live")
    assert last["fingerprint"] == creds.fingerprint
    assert_no_secret(planted, store.audit_log.path.read_text(), repr(creds))


@pytest.mark.parametrize("purpose", ["market-data", "spot-trading", "margin-trading",
                                     "futures-trading", "withdrawals"])
def test_every_purpose_accepts_exactly_what_it_allows(store: KeyStore, fb: FakeBinance,
                                                      purpose: str) -> None:
    policy = builtin_policy(purpose)
    plant(store, fb, purpose=purpose, permissions=dict.fromkeys(policy.allowed, True))
    assert live(store, fb).purpose == purpose


def test_offline_check_makes_no_request(store: KeyStore, fb: FakeBinance) -> None:
    plant(store, fb, permissions={"enableWithdrawals": True}, ip_restrict=False)
    creds = load("bot", store=store, check="offline", base_url=fb.base_url, ca_bundle=fb.ca_path)
    assert creds.name == "bot"
    assert fb.requests == []
    assert audit_lines(store)[-1]["check"] == "offline"


def test_top_level_load_is_the_guard(store: KeyStore, fb: FakeBinance) -> None:
    plant(store, fb)
    creds = bkm_guard.load("bot", store=store, base_url=fb.base_url, ca_bundle=fb.ca_path)
    assert isinstance(creds, bkm_guard.Credentials)


# -- every policy violation ---------------------------------------------------------------


def _violation_cases() -> list[tuple[str, dict[str, bool], bool, set[str]]]:
    cases = []
    for purpose in ("market-data", "spot-trading", "margin-trading", "futures-trading", "withdrawals"):
        policy = builtin_policy(purpose)
        for flag in sorted(policy.forbidden):
            # IP-restricted, so only the forbidden flag itself is the violation
            cases.append((purpose, {flag: True}, True, {flag}))
    cases += [
        ("spot-trading", {"enableSpotAndMarginTrading": True}, False, {"ipRestrict"}),
        ("futures-trading", {"enableFutures": True}, False, {"ipRestrict"}),
        ("withdrawals", {}, False, {"ipRestrict"}),  # required always, even with withdrawals off
        ("market-data", {"enableSpotAndMarginTrading": True}, False,
         {"enableSpotAndMarginTrading", "ipRestrict"}),
        ("spot-trading", dict.fromkeys(PERMISSIONS, True), False,
         (set(PERMISSIONS) - builtin_policy("spot-trading").allowed) | {"ipRestrict"}),
    ]
    return cases


@pytest.mark.parametrize(("purpose", "permissions", "ip_restrict", "violated"), _violation_cases())
def test_every_violation_is_refused_and_listed(  # noqa: PLR0917 - parametrized
        store: KeyStore, fb: FakeBinance, purpose: str, permissions: dict[str, bool],
        ip_restrict: bool, violated: set[str]) -> None:
    planted = plant(store, fb, purpose=purpose, permissions=permissions, ip_restrict=ip_restrict)
    with pytest.raises(PermissionViolationError) as info:
        live(store, fb)
    message = str(info.value)
    assert "\n" not in message
    assert f"{len(violated)} problem" in message
    for flag in violated:
        assert f"{flag}:" in message
    for flag in set(PERMISSIONS) - violated:
        assert f"{flag}:" not in message
    assert "API Management" in message
    last = audit_lines(store)[-1]
    assert (last["action"], last["outcome"]) == ("load", "refused")
    assert_no_secret(planted, message, store.audit_log.path.read_text())


def test_market_data_key_that_can_trade_is_refused_even_under_a_custom_policy(
        store: KeyStore, fb: FakeBinance) -> None:
    lax = Policy("market-data", frozenset({"enableReading", "enableSpotAndMarginTrading"}))
    plant(store, fb, purpose="market-data", policy=lax, permissions={"enableSpotAndMarginTrading": True})
    with pytest.raises(PermissionViolationError, match="market-data key must not be able to trade"):
        live(store, fb)


def test_check_key_reports_rows(store: KeyStore, fb: FakeBinance) -> None:
    plant(store, fb, permissions={"enableSpotAndMarginTrading": True, "enableFutures": True})
    report = check_key("bot", store=store, base_url=fb.base_url, ca_bundle=fb.ca_path)
    assert report.outcome == "violation"
    assert report.exit_code == 1
    rows = {row.permission: row for row in report.permissions}
    assert set(rows) == {*PERMISSIONS, "ipRestrict"}
    assert rows["enableFutures"].actual is True
    assert not rows["enableFutures"].ok
    assert rows["enableSpotAndMarginTrading"].ok
    assert rows["ipRestrict"].expected == "required"
    assert audit_lines(store)[-1]["action"] == "check"


# -- age and rotation ---------------------------------------------------------------------


def test_old_key_warns_from_80_percent(store: KeyStore, fb: FakeBinance,
                                       caplog: pytest.LogCaptureFixture) -> None:
    plant(store, fb, age_days=75)  # 75 of 90 days
    with pytest.warns(KeyAgeWarning, match="rotation is due in 15 days"):
        live(store, fb)
    assert "rotation is due" in caplog.text


def test_young_key_does_not_warn(store: KeyStore, fb: FakeBinance) -> None:
    plant(store, fb, age_days=70)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        live(store, fb)


def test_expired_key_is_refused_before_the_network(store: KeyStore, fb: FakeBinance) -> None:
    plant(store, fb, age_days=91)
    with pytest.raises(KeyExpiredError, match="past the 90-day rotation limit") as info:
        live(store, fb)
    assert "keys rotate bot" in str(info.value)
    assert fb.requests == []
    assert audit_lines(store)[-1]["outcome"] == "refused"


def test_expired_key_with_warn_only_policy_loads(store: KeyStore, fb: FakeBinance) -> None:
    policy = dataclasses.replace(builtin_policy("spot-trading"), age_enforcement="warn")
    plant(store, fb, policy=policy, age_days=400)
    with pytest.warns(KeyAgeWarning, match="past the 90-day"):
        live(store, fb)


def test_now_seam_moves_the_clock(store: KeyStore, fb: FakeBinance) -> None:
    plant(store, fb, age_days=1)
    with pytest.raises(KeyExpiredError):
        live(store, fb, now=NOW + dt.timedelta(days=120))


def test_key_created_long_ago_on_binance_counts(store: KeyStore, fb: FakeBinance) -> None:
    plant(store, fb, age_days=1, create_time=int((NOW - dt.timedelta(days=200)).timestamp() * 1000))
    with pytest.raises(KeyExpiredError, match="created on Binance 200 days"):
        live(store, fb)


def test_check_key_still_checks_an_expired_key_live(store: KeyStore, fb: FakeBinance) -> None:
    plant(store, fb, age_days=100, permissions={"enableSpotAndMarginTrading": True,
                                                "enableWithdrawals": True})
    report = check_key("bot", store=store, base_url=fb.base_url, ca_bundle=fb.ca_path)
    assert report.outcome == "violation"
    assert len(report.violations) == 2  # the age and the withdrawals


@pytest.mark.parametrize(("days", "warned"), [(3, "expires"), (6.5, "expires"), (8, None),
                                              (-1, "expired"), (None, None)])
def test_trading_authority_expiry(store: KeyStore, fb: FakeBinance, days: float | None,
                                  warned: str | None) -> None:
    expiry = None if days is None else fb.server_time_ms() + int(days * DAY_MS)
    plant(store, fb, trading_authority_expiration=expiry)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        live(store, fb)
    found = [w for w in caught if issubclass(w.category, TradingAuthorityWarning)]
    if warned is None:
        assert found == []
    else:
        assert len(found) == 1
        assert warned in str(found[0].message)


# -- errors that stop the check -----------------------------------------------------------


@pytest.mark.parametrize("code", [-2015, -2014, -1022, -1002])
def test_binance_auth_errors(store: KeyStore, fb: FakeBinance, code: int) -> None:
    planted = plant(store, fb)
    fb.fail_next("error", code=code)
    with pytest.raises(BinanceAuthError, match=str(code)) as info:
        live(store, fb)
    last = audit_lines(store)[-1]
    assert (last["outcome"], last["check"]) == ("error", "live")
    assert_no_secret(planted, str(info.value), store.audit_log.path.read_text())


def test_key_unknown_to_binance(store: KeyStore, fb: FakeBinance) -> None:
    planted = plant(store, fb)
    fb.remove_key(planted.api_key)
    with pytest.raises(BinanceAuthError, match="wrong key, this IP is not whitelisted"):
        live(store, fb)


def test_ip_not_whitelisted(store: KeyStore, fb: FakeBinance) -> None:
    planted = plant(store, fb)
    fb.key(planted.api_key).ip_allowed = False
    with pytest.raises(BinanceAuthError, match="-2015"):
        live(store, fb)


def test_secret_of_another_key_gives_signature_error(store: KeyStore, fb: FakeBinance) -> None:
    planted = plant(store, fb)
    fb.key(planted.api_key).secret = new_hmac_secret()
    with pytest.raises(BinanceAuthError, match="-1022"):
        live(store, fb)


@pytest.mark.parametrize("offset_ms", [-90_000, 45_000])
def test_clock_skew(store: KeyStore, fb: FakeBinance, offset_ms: int) -> None:
    plant(store, fb)
    fb.clock_offset_ms = offset_ms
    assert live(store, fb).name == "bot"


def test_429_then_success(store: KeyStore, fb: FakeBinance) -> None:
    plant(store, fb)
    fb.fail_next("429", retry_after=0.2)
    assert live(store, fb).name == "bot"
    assert [r.status for r in fb.requests] == [429, 200]


@pytest.mark.parametrize(("fault", "kwargs", "error", "words"), [
    ("418", {"retry_after": 600}, BinanceRateLimitError, "600 s"),
    ("429", {"retry_after": 60}, BinanceRateLimitError, "60 s"),
    ("slow", {"delay": 3}, BinanceUnavailableError, "did not answer within"),
    ("broken_json", {}, BinanceUnavailableError, "invalid or truncated JSON"),
    ("5xx", {"times": 10, "status": 502}, BinanceUnavailableError, "HTTP 502"),
    ("drop", {"times": 10}, BinanceUnavailableError, "cannot reach"),
])
def test_unavailable_binance_fails_closed(  # noqa: PLR0917 - parametrized
        store: KeyStore, fb: FakeBinance, fault: str, kwargs: dict[str, Any],
        error: type[GuardError], words: str) -> None:
    planted = plant(store, fb)
    fb.fail_next(fault, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(error, match=words) as info:
        live(store, fb, timeout=1.0)
    assert "\n" not in str(info.value)
    assert audit_lines(store)[-1]["outcome"] == "error"
    assert_no_secret(planted, str(info.value))


def test_insecure_key_file_is_refused_before_decrypting(store: KeyStore, fb: FakeBinance) -> None:
    plant(store, fb)
    os.chmod(store.key_path("bot"), 0o644)
    with pytest.raises(InsecurePermissionsError, match="chmod"):
        live(store, fb)
    assert fb.requests == []


def test_insecure_store_dir_is_refused(store: KeyStore, fb: FakeBinance) -> None:
    plant(store, fb)
    os.chmod(store.path, 0o755)  # noqa: S103 - the loose mode under test
    with pytest.raises(InsecurePermissionsError):
        live(store, fb)


def test_wrong_passphrase(store: KeyStore, fb: FakeBinance) -> None:
    plant(store, fb)
    other = KeyStore(store.path, passphrase_source=StaticPassphrase("not the passphrase"))
    with pytest.raises(DecryptionError):
        live(other, fb)
    assert fb.requests == []


def test_missing_key(store: KeyStore, fb: FakeBinance) -> None:
    with pytest.raises(KeyNotFoundError, match="keys list"):
        live(store, fb, name="nope")


def test_insecure_base_url_is_refused_before_anything(store: KeyStore, fb: FakeBinance) -> None:
    plant(store, fb)
    wrong = KeyStore(store.path, passphrase_source=StaticPassphrase("not the passphrase"))
    with pytest.raises(InsecureEndpointError, match="not HTTPS"):
        load("bot", store=wrong, base_url=INSECURE)
    with pytest.raises(InsecureEndpointError, match="not a Binance host"):
        load("bot", store=wrong, base_url="https://binance.example.net")


def test_tls_verification_cannot_be_skipped(store: KeyStore, fb: FakeBinance) -> None:
    plant(store, fb)
    with pytest.raises(BinanceUnavailableError, match="TLS certificate verification failed"):
        load("bot", store=store, base_url=fb.base_url, timeout=5)  # no CA bundle: untrusted


def test_bad_check_mode(store: KeyStore) -> None:
    with pytest.raises(ValueError, match="live"):
        load("bot", store=store, check="sometimes")  # type: ignore[arg-type]


# -- redaction and secrecy ----------------------------------------------------------------


def test_load_installs_redaction(store: KeyStore, fb: FakeBinance,
                                 caplog: pytest.LogCaptureFixture) -> None:
    planted = plant(store, fb)
    caplog.set_level(logging.INFO)
    creds = live(store, fb)
    # deliberate leaks: the redactor under test masks them
    bot_log = logging.getLogger("bot")
    bot_log.info("starting with %s / %s", creds.api_key, creds.api_secret)  # bkm: ignore[BKM201]
    bot_log.info(f"inline {creds.api_secret}")  # bkm: ignore[BKM201]
    assert caplog.text.count("(64 chars)") >= 3
    assert_no_secret(planted, caplog.text)


def test_redaction_opt_out(store: KeyStore, fb: FakeBinance) -> None:
    plant(store, fb)
    live(store, fb, redact=False)
    assert redact.installed_filter() not in logging.getLogger().filters


@pytest.mark.parametrize("key_type", ["hmac", "ed25519"])
def test_no_secret_in_any_output(store: KeyStore, fb: FakeBinance, key_type: str,
                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    planted = plant(store, fb, key_type=key_type, age_days=80,
                    permissions={"enableSpotAndMarginTrading": True, "enableWithdrawals": True})
    outputs: list[str] = []
    for fault in (None, "error", "broken_json", "429"):
        if fault == "error":
            fb.fail_next("error", code=-1022)
        elif fault is not None:
            fb.fail_next(fault, retry_after=30)  # type: ignore[arg-type]
        try:
            live(store, fb, timeout=1.0)
        except GuardError as exc:
            outputs += [str(exc), repr(exc), repr(exc.args)]
    report = check_key("bot", store=store, base_url=fb.base_url, ca_bundle=fb.ca_path)
    outputs += [json.dumps(report.to_dict()), repr(report)]
    fb.key(planted.api_key).permissions["enableWithdrawals"] = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        creds = live(store, fb)
    outputs += [str(w.message) for w in caught]
    outputs += [repr(creds), str(creds), caplog.text, store.audit_log.path.read_text()]
    assert_no_secret(planted, *outputs)


# -- evaluate_restrictions (the policy evaluation on its own) ------------------------------


def test_unknown_enabled_flag_is_a_violation_unless_allowed_by_name() -> None:
    answer = {**NEW_KEY_DEFAULTS, "ipRestrict": True, "enableShinyNewThing": True}
    _, violations, notes = evaluate_restrictions(builtin_policy("spot-trading"), answer, NOW)
    assert [v.permission for v in violations] == ["enableShinyNewThing"]
    assert "does not know" in violations[0].problem
    assert "allow it by name" in violations[0].problem
    allowing = Policy.from_dict({"base": "spot-trading",
                                 "allow": [*builtin_policy("spot-trading").allowed, "enableShinyNewThing"]})
    _, violations, notes = evaluate_restrictions(allowing, answer, NOW)
    assert violations == []
    assert [category for _, category in notes] == [UnknownPermissionWarning]


@pytest.mark.parametrize("flag", sorted(POWERFUL))
def test_market_data_any_powerful_flag(flag: str) -> None:
    answer = {**NEW_KEY_DEFAULTS, "ipRestrict": True, flag: True}
    rows, violations, _ = evaluate_restrictions(builtin_policy("market-data"), answer, NOW)
    assert [v.permission for v in violations] == [flag]
    assert not {row.permission: row for row in rows}[flag].ok


def test_no_audit_line_no_key(store: KeyStore, fb: FakeBinance) -> None:
    plant(store, fb)
    store.audit_log.path.unlink()
    store.audit_log.path.mkdir(mode=0o700)  # the log cannot be appended to
    with pytest.raises(StoreError, match="cannot write the audit log"):
        live(store, fb)
