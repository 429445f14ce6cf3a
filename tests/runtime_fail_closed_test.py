"""The live check fails closed against hostile servers: wrong types, missing and unknown flags,
trickled bytes, endless and huge bodies, persistent -1021, and messages quoting the secret."""

from __future__ import annotations

import datetime as dt
import time
import tracemalloc
from typing import Any

import pytest
from hostile_server import HostileServer

import bkm_guard
from bkm_guard.errors import (
    BinanceAPIError,
    BinanceClockError,
    BinanceMalformedAnswerError,
    BinanceUnavailableError,
    GuardError,
    PermissionViolationError,
)
from bkm_guard.runtime import http_budget
from bkm_guard.runtime.guard import check_key, load
from bkm_guard.runtime.policy import NEW_KEY_DEFAULTS, Policy, builtin_policy
from bkm_guard.runtime.store import KeyStore
from bkm_guard.testing import FakeBinance
from bkm_guard.testing.keys import new_api_key, new_hmac_secret

NOW = dt.datetime.now(dt.timezone.utc)
SPOT_OK: dict[str, Any] = {**NEW_KEY_DEFAULTS, "ipRestrict": True, "enableSpotAndMarginTrading": True,
                           "createTime": int(time.time() * 1000) - 86_400_000}


def add_key(store: KeyStore, purpose: str = "spot-trading", policy: Policy | None = None) -> tuple[str, str]:
    api_key, secret = new_api_key(), new_hmac_secret()
    store.add("bot", purpose=purpose, api_key=api_key, api_secret=secret, policy=policy,
              now=NOW - dt.timedelta(days=1))
    return api_key, secret


def load_from(store: KeyStore, server: HostileServer, timeout: float = 5.0) -> bkm_guard.Credentials:
    return load("bot", store=store, base_url=server.base_url, ca_bundle=server.ca_path, timeout=timeout)


# -- the answer's shape ---------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["true", 1, "True", None, [True], {"on": True}])
@pytest.mark.parametrize("flag", ["enableWithdrawals", "enableMargin", "ipRestrict", "enableReading"])
def test_a_flag_that_is_not_a_json_boolean_is_refused(store: KeyStore, flag: str, bad: object) -> None:
    add_key(store)
    with HostileServer("json", body={**SPOT_OK, flag: bad}) as server, \
            pytest.raises(BinanceMalformedAnswerError, match=f"malformed.*{flag} is a"):
        load_from(store, server)


@pytest.mark.parametrize("answer", [
    {"ipRestrict": True},
    {"ipRestrict": False, "enableReading": True},
    {k: v for k, v in SPOT_OK.items() if k != "enableWithdrawals"},
    {k: v for k, v in SPOT_OK.items() if k != "ipRestrict"},
])
def test_a_flag_the_policy_must_see_that_is_absent_is_refused(store: KeyStore,
                                                              answer: dict[str, Any]) -> None:
    add_key(store)
    with HostileServer("json", body=answer) as server, \
            pytest.raises(BinanceMalformedAnswerError, match="missing"):
        load_from(store, server)


def test_a_well_formed_answer_still_loads(store: KeyStore) -> None:
    api_key, _ = add_key(store)
    with HostileServer("json", body=SPOT_OK) as server:
        assert load_from(store, server).api_key == api_key


@pytest.mark.parametrize("flag", ["enableFixApiTradeV2", "enableShinyNewThing", "permitsNewTransfer"])
def test_an_unknown_flag_that_is_on_is_refused_unless_allowed_by_name(store: KeyStore, flag: str) -> None:
    add_key(store)
    with HostileServer("json", body={**SPOT_OK, flag: True}) as server:
        with pytest.raises(PermissionViolationError, match=f"{flag} is enabled, a permission bkm-guard "
                                                           "does not know.*allow it by name"):
            load_from(store, server)
        allowing = Policy.from_dict({"base": "spot-trading",
                                     "allow": [*builtin_policy("spot-trading").allowed, flag]})
        other = KeyStore(store.path.parent / "other", passphrase_source="correct horse battery staple",
                         kdf_params=store.kdf_params)
        other.init()
        add_key(other, policy=allowing)
        with pytest.warns(bkm_guard.runtime.guard.UnknownPermissionWarning):
            load_from(other, server)


def test_check_key_reports_a_malformed_answer_as_could_not_check(store: KeyStore) -> None:
    add_key(store)
    with HostileServer("json", body={**SPOT_OK, "enableWithdrawals": "false"}) as server:
        report = check_key("bot", store=store, base_url=server.base_url, ca_bundle=server.ca_path)
    assert (report.outcome, report.exit_code) == ("error", 2)
    assert report.error_type == "BinanceMalformedAnswerError"


# -- one deadline ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["trickle_headers", "trickle_body", "stall_tls", "trickle_tls"])
def test_timeout_is_one_total_budget_whatever_the_server_trickles(store: KeyStore, mode: Any) -> None:
    add_key(store)
    with HostileServer(mode, interval=0.2) as server:
        start = time.monotonic()
        with pytest.raises(BinanceUnavailableError, match=r"did not answer within the 1\.5 s budget"):
            load_from(store, server, timeout=1.5)
        elapsed = time.monotonic() - start
    assert elapsed < 1.5 + 0.5, f"{mode}: load() took {elapsed:.2f} s with timeout=1.5"


# -- bounded memory ----------------------------------------------------------------------------


def test_an_endless_chunked_body_is_refused_in_bounded_memory(store: KeyStore) -> None:
    add_key(store)
    with HostileServer("endless_chunked") as server:
        tracemalloc.start()
        try:
            with pytest.raises(BinanceUnavailableError, match="sent more than 262144 bytes"):
                load_from(store, server)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 4 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


@pytest.mark.parametrize("mode", ["huge_declared", "huge_chunked_json"])
def test_a_100_mb_json_body_is_refused_unread(store: KeyStore, mode: Any) -> None:
    add_key(store)
    with HostileServer(mode) as server:
        with pytest.raises(BinanceUnavailableError, match="past the 256 kB"):
            load_from(store, server)
        time.sleep(0.2)
        sent = server.bytes_sent
    assert sent < 20 * 1024 * 1024, f"the client took {sent / 1e6:.0f} MB before refusing"


class _Raw:
    """A body of endless chunks that counts what the reader took."""

    def __init__(self) -> None:
        self.taken = 0

    def read(self, amount: int, decode_content: bool = True) -> bytes:
        assert decode_content is False  # compressed bodies are never inflated
        self.taken += amount
        return b"x" * amount


class _Reply:
    def __init__(self, headers: dict[str, str]) -> None:
        self.headers, self.raw = headers, _Raw()


def test_the_cap_trips_after_at_most_cap_plus_one_chunk() -> None:
    reply = _Reply({})
    with pytest.raises(http_budget.BodyTooLarge):
        http_budget.read_capped(reply)  # type: ignore[arg-type]
    assert reply.raw.taken <= http_budget.MAX_BODY_BYTES + http_budget.CHUNK_BYTES
    declared = _Reply({"Content-Length": str(100 * 1024 * 1024)})
    with pytest.raises(http_budget.BodyTooLarge):
        http_budget.read_capped(declared)  # type: ignore[arg-type]
    assert declared.raw.taken == 0


# -- errors: documented classes, no secret ------------------------------------------------------


def test_a_persistent_1021_is_a_documented_guard_error(store: KeyStore, fb: FakeBinance) -> None:
    api_key, secret = add_key(store)
    fb.add_key(api_key, secret, permissions={"enableSpotAndMarginTrading": True}, ip_restrict=True)
    fb.fail_next("error", code=-1021, times=10)  # the time endpoint answers -1021 too
    with pytest.raises(BinanceClockError) as caught:
        load("bot", store=store, base_url=fb.base_url, ca_bundle=fb.ca_path, timeout=5)
    assert type(caught.value).__name__ in bkm_guard.__all__
    fb.clear_faults()
    fb.fail_next("error", code=-1021, times=1, path="/sapi/v1/account/apiRestrictions")
    fb.fail_next("error", code=-1021, times=1, path="/sapi/v1/account/apiRestrictions")
    with pytest.raises(BinanceClockError, match="again after correcting the clock"):
        load("bot", store=store, base_url=fb.base_url, ca_bundle=fb.ca_path, timeout=5)


@pytest.mark.parametrize("body", [
    [], "text", 12, None, {"code": "x", "msg": 5}, {"code": -1022}, {"nested": [[[[]]]]},
    "[" * 100_000, {"ipRestrict": 1e400},
])
def test_every_odd_answer_is_a_guard_error(store: KeyStore, body: object) -> None:
    add_key(store)
    with HostileServer("json", body=body) as server:
        for status in (200, 400):
            server.status = status
            with pytest.raises(GuardError) as caught:
                load_from(store, server)
            assert type(caught.value).__name__ in bkm_guard.__all__


@pytest.mark.parametrize("piece", [slice(None), slice(0, 20), slice(10, 42), slice(40, 56)])
def test_a_server_message_quoting_the_secret_is_masked(store: KeyStore, fb: FakeBinance,
                                                       piece: slice) -> None:
    api_key, secret = add_key(store)
    fb.add_key(api_key, secret, permissions={"enableSpotAndMarginTrading": True}, ip_restrict=True)
    fb.fail_next("error", code=-1022, msg=f"Signature for secret {secret[piece]} is not valid.")
    with pytest.raises(BinanceAPIError) as caught:
        load("bot", store=store, base_url=fb.base_url, ca_bundle=fb.ca_path, timeout=5)
    text = str(caught.value)
    assert "Signature for secret" in text
    assert not any(secret[i:i + 16] in text for i in range(len(secret) - 15))
