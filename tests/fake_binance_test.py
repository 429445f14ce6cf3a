"""The fake Binance and the signing client, against each other over real TLS on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from bkm_guard.errors import (
    BinanceAPIError,
    BinanceAuthError,
    BinanceRateLimitError,
    BinanceUnavailableError,
    InsecureEndpointError,
)
from bkm_guard.runtime.binance_api import (
    ACCOUNT_PATH,
    API_RESTRICTIONS_PATH,
    TIME_PATH,
    BinanceClient,
    check_base_url,
)
from bkm_guard.runtime.policy import NEW_KEY_DEFAULTS, PERMISSIONS
from bkm_guard.runtime.signing import Signer
from bkm_guard.testing import FakeBinance
from bkm_guard.testing.keys import new_api_key, new_ed25519_key, new_hmac_secret, new_rsa_key


class Key:
    def __init__(self, fb: FakeBinance, key_type: str = "hmac", **settings: object) -> None:
        self.api_key = new_api_key()
        if key_type == "hmac":
            self.secret = new_hmac_secret()
            self.signer = Signer("hmac", secret=self.secret)
            fb.add_key(self.api_key, self.secret, **settings)  # type: ignore[arg-type]
        else:
            private, public = new_rsa_key() if key_type == "rsa" else new_ed25519_key()
            self.secret = private
            self.signer = Signer(key_type, private_key=private)  # type: ignore[arg-type]
            fb.add_key(self.api_key, public_key_pem=public, **settings)  # type: ignore[arg-type]

    def client(self, fb: FakeBinance, **kwargs: object) -> BinanceClient:
        kwargs.setdefault("timeout", 5.0)
        return BinanceClient(self.api_key, self.signer, base_url=fb.base_url,
                             ca_bundle=fb.ca_path, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("key_type", ["hmac", "rsa", "ed25519"])
def test_every_key_type_is_verified(fb: FakeBinance, key_type: str) -> None:
    key = Key(fb, key_type, permissions={"enableSpotAndMarginTrading": True}, ip_restrict=True,
              trading_authority_expiration=1_900_000_000_000)
    with key.client(fb) as client:
        restrictions = client.api_restrictions()
        assert restrictions["enableSpotAndMarginTrading"] is True
        assert restrictions["ipRestrict"] is True
        assert restrictions["tradingAuthorityExpirationTime"] == 1_900_000_000_000
        assert client.account()["canTrade"] is True


def test_unnamed_flags_take_binance_new_key_defaults(fb: FakeBinance) -> None:
    key = Key(fb)
    with key.client(fb) as client:
        restrictions = client.api_restrictions()
    assert {name: restrictions[name] for name in PERMISSIONS} == dict(NEW_KEY_DEFAULTS)
    assert restrictions["ipRestrict"] is False
    assert "tradingAuthorityExpirationTime" not in restrictions
    assert abs(restrictions["createTime"] - fb.server_time_ms()) < 60_000


def test_settings_change_between_requests(fb: FakeBinance) -> None:
    key = Key(fb)
    with key.client(fb) as client:
        fb.key(key.api_key).permissions["enableWithdrawals"] = True
        assert client.api_restrictions()["enableWithdrawals"] is True


MANDATORY = "Mandatory parameter '{}' was not sent, was empty/null, or malformed."


def _raw_get(fb: FakeBinance, path: str, query: str, api_key: str | None) -> requests.Response:
    headers = {"X-MBX-APIKEY": api_key} if api_key is not None else {}
    return requests.get(f"{fb.base_url}{path}?{query}", headers=headers, verify=fb.ca_path, timeout=5)


def _now(fb: FakeBinance) -> int:
    return fb.server_time_ms()


@pytest.mark.parametrize(("case", "status", "code", "msg"), [
    ("no api key", 401, -2014, "API-key format invalid."),
    ("short api key", 401, -2014, "API-key format invalid."),
    ("unknown api key", 401, -2015, "Invalid API-key, IP, or permissions for action."),
    ("ip not whitelisted", 401, -2015, "Invalid API-key, IP, or permissions for action."),
    ("no timestamp", 400, -1102, MANDATORY.format("timestamp")),
    ("no signature", 400, -1102, MANDATORY.format("signature")),
    ("recvWindow too big", 400, -1131, "recvWindow must be less than 60000"),
    ("timestamp too old", 400, -1021, "Timestamp for this request is outside of the recvWindow."),
    ("timestamp ahead", 400, -1021, "Timestamp for this request was 1000ms ahead of the server's time."),
    ("bad signature", 400, -1022, "Signature for this request is not valid."),
    ("signed by another secret", 400, -1022, "Signature for this request is not valid."),
])
def test_binance_error_answers(fb: FakeBinance, case: str, status: int, code: int, msg: str) -> None:
    key = Key(fb)
    api_key: str | None = key.api_key
    signer = key.signer
    params: list[tuple[str, object]] = [("recvWindow", 5000), ("timestamp", _now(fb))]
    if case == "no api key":
        api_key = None
    elif case == "short api key":
        api_key = "abc"
    elif case == "unknown api key":
        api_key = new_api_key()
    elif case == "ip not whitelisted":
        fb.key(key.api_key).ip_allowed = False
    elif case == "recvWindow too big":
        params[0] = ("recvWindow", 60001)
    elif case == "timestamp too old":
        params[1] = ("timestamp", _now(fb) - 5001)
    elif case == "timestamp ahead":
        params[1] = ("timestamp", _now(fb) + 1500)
    elif case == "signed by another secret":
        signer = Signer("hmac", secret=new_hmac_secret())
    query = signer.sign(params)
    if case == "no timestamp":
        query = signer.sign(params[:1])
    elif case == "no signature":
        query = query.rsplit("&signature=", 1)[0]
    elif case == "bad signature":
        query = query[:-1] + ("0" if query[-1] != "0" else "1")
    reply = _raw_get(fb, API_RESTRICTIONS_PATH, query, api_key)
    assert reply.status_code == status
    assert reply.json() == {"code": code, "msg": msg}


def test_recv_window_is_honoured(fb: FakeBinance) -> None:
    key = Key(fb)
    old = _now(fb) - 30_000
    accepted = _raw_get(fb, API_RESTRICTIONS_PATH,
                        key.signer.sign([("recvWindow", 60000), ("timestamp", old)]), key.api_key)
    assert accepted.status_code == 200
    rejected = _raw_get(fb, API_RESTRICTIONS_PATH, key.signer.sign([("timestamp", old)]), key.api_key)
    assert rejected.json()["code"] == -1021  # default recvWindow: 5000 ms


def test_account_needs_reading(fb: FakeBinance) -> None:
    key = Key(fb, permissions={"enableReading": False})
    with key.client(fb) as client, pytest.raises(BinanceAuthError, match="-2015"):
        client.account()


def test_time_endpoint_follows_the_clock_offset(fb: FakeBinance) -> None:
    fb.clock_offset_ms = 3_600_000
    with Key(fb).client(fb) as client:
        assert abs(client.server_time() - fb.server_time_ms()) < 5_000


# -- the client's handling of every error code --------------------------------------------


@pytest.mark.parametrize(("code", "words"), [
    (-2015, "wrong key, this IP is not whitelisted, or the permission is missing"),
    (-2014, "format"),
    (-1022, "signature"),
    (-1002, "not authorized"),
])
def test_auth_errors_are_clear(fb: FakeBinance, code: int, words: str) -> None:
    key = Key(fb)
    fb.fail_next("error", code=code)
    with key.client(fb) as client, pytest.raises(BinanceAuthError) as info:
        client.api_restrictions()
    assert words in str(info.value)
    assert str(code) in str(info.value)
    assert "\n" not in str(info.value)
    assert key.api_key not in str(info.value)
    assert key.secret not in str(info.value)


def test_unknown_key_gives_auth_error(fb: FakeBinance) -> None:
    client = BinanceClient(new_api_key(), Signer("hmac", secret=new_hmac_secret()),
                           base_url=fb.base_url, ca_bundle=fb.ca_path, timeout=5)
    with client, pytest.raises(BinanceAuthError, match="-2015"):
        client.api_restrictions()


def test_other_binance_error(fb: FakeBinance) -> None:
    fb.fail_next("error", code=-1100, msg="Illegal characters found in parameter 'x'.")
    with Key(fb).client(fb) as client, pytest.raises(BinanceAPIError, match="-1100") as info:
        client.api_restrictions()
    assert not isinstance(info.value, BinanceAuthError)


def test_server_message_never_echoes_the_api_key(fb: FakeBinance) -> None:
    key = Key(fb)
    fb.fail_next("error", code=-2015, msg=f"key {key.api_key} rejected")
    with key.client(fb) as client, pytest.raises(BinanceAuthError) as info:
        client.api_restrictions()
    assert key.api_key not in str(info.value)


@pytest.mark.parametrize("offset_ms", [-120_000, -1_500, 6_000, 3_600_000])
def test_clock_skew_is_corrected_once(fb: FakeBinance, offset_ms: int) -> None:
    fb.clock_offset_ms = offset_ms
    with Key(fb).client(fb) as client:
        assert client.api_restrictions()["enableReading"] is True
        assert abs(client.time_offset_ms - offset_ms) < 2_000
    paths = [request.path for request in fb.requests]
    assert paths == [API_RESTRICTIONS_PATH, TIME_PATH, API_RESTRICTIONS_PATH]
    assert next(request.code for request in fb.requests) == -1021


def test_persistent_timestamp_rejection_is_reported(fb: FakeBinance) -> None:
    fb.fail_next("error", code=-1021, times=5, path=API_RESTRICTIONS_PATH)
    with Key(fb).client(fb) as client, pytest.raises(BinanceAPIError, match="clock"):
        client.api_restrictions()
    assert [r.path for r in fb.requests].count(API_RESTRICTIONS_PATH) == 2  # retried once only


def test_429_then_success(fb: FakeBinance) -> None:
    waits: list[float] = []
    fb.fail_next("429", retry_after=2)
    with Key(fb).client(fb, sleep=waits.append) as client:
        assert client.api_restrictions()["enableReading"] is True
    assert waits == [2]
    assert [r.status for r in fb.requests] == [429, 200]


def test_429_longer_than_the_budget_says_how_long(fb: FakeBinance) -> None:
    fb.fail_next("429", retry_after=30)
    with Key(fb).client(fb, timeout=3) as client, pytest.raises(BinanceRateLimitError) as info:
        client.api_restrictions()
    assert "30 s" in str(info.value)
    assert "429" in str(info.value)
    assert len(fb.requests) == 1


def test_418_ban(fb: FakeBinance) -> None:
    fb.fail_next("418", retry_after=7200)
    with Key(fb).client(fb) as client, pytest.raises(BinanceRateLimitError) as info:
        client.api_restrictions()
    assert "418" in str(info.value)
    assert "7200 s" in str(info.value)


def test_429_without_retry_after(fb: FakeBinance) -> None:
    fb.fail_next("429", retry_after=None)
    with Key(fb).client(fb) as client, pytest.raises(BinanceRateLimitError, match="unknown time"):
        client.api_restrictions()


def test_rate_limit_waits_are_bounded(fb: FakeBinance) -> None:
    fb.fail_next("429", retry_after=0, times=10)
    with Key(fb).client(fb, sleep=lambda _: None) as client, pytest.raises(BinanceRateLimitError):
        client.api_restrictions()
    assert len(fb.requests) == 3


@pytest.mark.parametrize("kind", ["5xx", "drop"])
def test_transient_failures_are_retried(fb: FakeBinance, kind: str) -> None:
    waits: list[float] = []
    fb.fail_next(kind, times=2)  # type: ignore[arg-type]
    with Key(fb).client(fb, sleep=waits.append) as client:
        assert client.api_restrictions()["enableReading"] is True
    assert waits == [0.25, 0.5]


@pytest.mark.parametrize(("kind", "message"), [("5xx", "HTTP 503"), ("drop", "cannot reach")])
def test_persistent_failures_give_up(fb: FakeBinance, kind: str, message: str) -> None:
    fb.fail_next(kind, times=20)  # type: ignore[arg-type]
    with Key(fb).client(fb, sleep=lambda _: None) as client, pytest.raises(BinanceUnavailableError,
                                                                           match=message):
        client.api_restrictions()
    assert len(fb.requests) == 4  # one try and three retries


def test_slow_server_hits_the_timeout(fb: FakeBinance) -> None:
    fb.fail_next("slow", delay=5)
    with Key(fb).client(fb, timeout=0.5) as client, pytest.raises(BinanceUnavailableError) as info:
        client.api_restrictions()
    assert "did not answer within the 0.5 s budget" in str(info.value)


@pytest.mark.parametrize("path", [API_RESTRICTIONS_PATH, ACCOUNT_PATH])
def test_broken_json(fb: FakeBinance, path: str) -> None:
    fb.fail_next("broken_json", path=path)
    with Key(fb).client(fb) as client, pytest.raises(BinanceUnavailableError,
                                                     match="invalid or truncated JSON"):
        client.api_restrictions() if path == API_RESTRICTIONS_PATH else client.account()


def test_tls_is_verified(fb: FakeBinance, tmp_path: Path) -> None:
    key = Key(fb)
    with BinanceClient(key.api_key, key.signer, base_url=fb.base_url, timeout=5) as client, \
            pytest.raises(BinanceUnavailableError, match="TLS certificate verification failed"):
        client.api_restrictions()  # the system store does not trust the test CA


def test_requests_ca_bundle_is_honoured(fb: FakeBinance, monkeypatch: pytest.MonkeyPatch) -> None:
    key = Key(fb)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fb.ca_path)
    with BinanceClient(key.api_key, key.signer, base_url=fb.base_url, timeout=5) as client:
        assert client.api_restrictions()["enableReading"] is True


# -- base URLs ----------------------------------------------------------------------------

INSECURE = "http://api.binance.com"  # bkm: ignore[BKM101]: the refusal under test


@pytest.mark.parametrize(("url", "ok"), [
    ("https://api.binance.com", True),
    ("https://api.binance.com/", True),
    ("https://api.binance.us", True),
    ("https://testnet.binance.vision", True),
    ("https://api3.binance.com", True),
    ("https://127.0.0.1:8443", True),
    ("https://localhost:8443", True),
    ("https://[::1]:8443", True),
    (INSECURE, False),
    ("ftp://api.binance.com", False),
    ("api.binance.com", False),
    ("https://api.binance.com.evil.example", False),
    ("https://evilbinance.com", False),
    ("https://user:pw@api.binance.com", False),
    ("https://api.binance.com:notaport", False),
    # urlsplit sees one host ending in .binance.com; urllib3 sends to evil.example
    ("https://evil.example\\.binance.com", False),
    ("https://evil.example%5C.binance.com", False),
    ("https://evil.example\t.binance.com", False),
    ("https://api.binance.{}", False),  # a host template is not a host
])
def test_base_url_check(url: str, ok: bool) -> None:
    if ok:
        assert check_base_url(url).startswith("https://")
    else:
        with pytest.raises(InsecureEndpointError):
            check_base_url(url)


def test_http_is_refused_with_the_https_form() -> None:
    with pytest.raises(InsecureEndpointError, match=r"https://api\.binance\.com"):
        BinanceClient(new_api_key(), base_url=INSECURE)


def test_other_host_only_when_trusted() -> None:
    with pytest.raises(InsecureEndpointError, match="not a Binance host"):
        check_base_url("https://proxy.example.org")
    assert check_base_url("https://proxy.example.org", trust_host=True) == "https://proxy.example.org"


def test_reprs_hold_no_secret(fb: FakeBinance) -> None:
    key = Key(fb)
    with key.client(fb) as client:
        client.api_restrictions()
        for text in (repr(client), repr(fb), repr(fb.key(key.api_key)), repr(fb.requests)):
            assert key.api_key not in text
            assert key.secret not in text


def test_pytest_plugin_fixture(fake_binance: FakeBinance) -> None:
    assert fake_binance.base_url.startswith("https://127.0.0.1:")
    assert os.path.isfile(fake_binance.ca_path)


def test_plugin_and_testing_package_import_nothing_heavy() -> None:
    code = ("import sys, bkm_guard.testing.pytest_plugin, bkm_guard.testing; "
            "heavy = [m for m in ('requests', 'cryptography', 'trustme', 'bkm_guard.testing.fake_binance')"
            " if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_fault_kinds_are_checked(fb: FakeBinance) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        fb.fail_next("explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown permission"):
        fb.add_key(new_api_key(), new_hmac_secret(), permissions={"enableEverything": True})
    with pytest.raises(ValueError, match="either secret"):
        fb.add_key(new_api_key())
