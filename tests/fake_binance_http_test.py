"""The fake Binance's HTTP and signing rules, request by request (the old server failed each)."""

from __future__ import annotations

import http.client
import json
import ssl
from decimal import Decimal
from typing import Any

import pytest
import requests

from bkm_guard.runtime.signing import Signer
from bkm_guard.testing import FakeBinance
from bkm_guard.testing.keys import new_api_key, new_hmac_secret

ORDER = "/api/v3/order"
RESTRICTIONS = "/sapi/v1/account/apiRestrictions"


class Key:
    def __init__(self, fb: FakeBinance, **settings: Any) -> None:
        self.api_key, secret = new_api_key(), new_hmac_secret()
        self.signer = Signer("hmac", secret=secret)
        fb.add_key(self.api_key, secret, **settings)

    def sign(self, payload: str) -> str:
        return self.signer.signature(payload)


def call(fb: FakeBinance, method: str, path: str, *, query: str = "", body: str = "",
         api_key: str | None = None) -> requests.Response:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if api_key:
        headers["X-MBX-APIKEY"] = api_key
    url = f"{fb.base_url}{path}" + (f"?{query}" if query else "")
    return requests.request(method, url, data=body or None, headers=headers, verify=fb.ca_path, timeout=5)


def signed(fb: FakeBinance, key: Key, method: str, path: str, params: str, *, in_body: bool = False,
           **extra: str) -> requests.Response:
    payload = f"{params}&timestamp={fb.server_time_ms()}" if params else f"timestamp={fb.server_time_ms()}"
    text = f"{payload}&signature={key.sign(payload)}"
    return call(fb, method, path, body=text, api_key=key.api_key) if in_body else \
        call(fb, method, path, query=text, api_key=key.api_key)


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_unknown_paths_and_methods_get_binance_json(fb: FakeBinance, method: str) -> None:
    unknown = call(fb, method, "/api/v3/nothing-here", body="a=1")
    assert unknown.status_code == 404
    assert unknown.headers["Content-Type"].startswith("application/json")
    assert unknown.json()["code"] == -1000
    wrong_method = call(fb, "PUT", "/api/v3/time")
    assert wrong_method.status_code == 405
    assert set(wrong_method.json()) == {"code", "msg"}


def test_keep_alive_survives_a_post_with_a_body(fb: FakeBinance) -> None:
    key = Key(fb, permissions={"enableSpotAndMarginTrading": True})
    connection = http.client.HTTPSConnection(fb.base_url.split("//")[1],
                                             context=ssl.create_default_context(cafile=fb.ca_path), timeout=5)
    payload = f"symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001&timestamp={fb.server_time_ms()}"
    connection.request("POST", "/api/v3/order/test", body=f"{payload}&signature={key.sign(payload)}",
                       headers={"X-MBX-APIKEY": key.api_key,
                                "Content-Type": "application/x-www-form-urlencoded"})
    first = connection.getresponse()
    assert (first.status, json.loads(first.read())) == (200, {})
    sock = connection.sock
    connection.request("GET", "/api/v3/time")
    second = connection.getresponse()
    assert second.status == 200
    assert "serverTime" in json.loads(second.read())
    assert connection.sock is sock  # the same TLS connection: nothing of the body was left behind
    connection.close()


@pytest.mark.parametrize("where", ["query", "body", "both"])
def test_signature_over_query_string_concatenated_with_body(fb: FakeBinance, where: str) -> None:
    key = Key(fb, permissions={"enableSpotAndMarginTrading": True})
    query_part = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC"
    body_part = f"quantity=0.001&price=40000&timestamp={fb.server_time_ms()}"
    if where == "both":  # Binance's docs: no '&' between the query string and the body
        signature = key.sign(query_part + body_part)
        reply = call(fb, "POST", ORDER, query=query_part, body=f"{body_part}&signature={signature}",
                     api_key=key.api_key)
        wrong = call(fb, "POST", ORDER, query=query_part,
                     body=f"{body_part}&signature={key.sign(query_part + '&' + body_part)}",
                     api_key=key.api_key)
        assert wrong.json()["code"] == -1022
    else:
        reply = signed(fb, key, "POST", ORDER, f"{query_part}&quantity=0.001&price=40000",
                       in_body=where == "body")
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "NEW"


def test_a_tampered_body_is_a_bad_signature(fb: FakeBinance) -> None:
    key = Key(fb, permissions={"enableSpotAndMarginTrading": True})
    payload = f"symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001&timestamp={fb.server_time_ms()}"
    body = f"{payload}&signature={key.sign(payload)}".replace("quantity=0.001", "quantity=0.002")
    reply = call(fb, "POST", ORDER, body=body, api_key=key.api_key)
    assert reply.json() == {"code": -1022, "msg": "Signature for this request is not valid."}
    assert fb.orders(key.api_key) == []


def test_duplicate_parameter(fb: FakeBinance) -> None:
    key = Key(fb)
    reply = signed(fb, key, "GET", "/api/v3/openOrders", "symbol=BTCUSDT&symbol=ETHUSDT")
    assert reply.json() == {"code": -1101, "msg": "Duplicate values for a parameter detected."}


def test_parameter_the_endpoint_does_not_read(fb: FakeBinance) -> None:
    key = Key(fb)
    reply = signed(fb, key, "GET", "/api/v3/account", "colour=blue")
    assert reply.status_code == 400
    assert reply.json() == {"code": -1104, "msg": "Not all sent parameters were read; read '2' parameter(s) "
                                                  "but was sent '3'."}
    assert call(fb, "GET", "/api/v3/time", query="x=1").json()["code"] == -1104


@pytest.mark.parametrize(("window", "age_ms", "code"), [
    ("6000.346", 5500, None),      # up to three decimals: microseconds
    ("6000.3461", 0, -1111),       # a fourth is too much precision
    ("60000", 59000, None),
    ("60000.001", 0, -1131),
    ("1.5", 100, -1021),
])
def test_recv_window_decimals(fb: FakeBinance, window: str, age_ms: int, code: int | None) -> None:
    key = Key(fb)
    payload = f"recvWindow={window}&timestamp={fb.server_time_ms() - age_ms}"
    query = f"{payload}&signature={key.sign(payload)}"
    reply = call(fb, "GET", RESTRICTIONS, query=query, api_key=key.api_key)
    assert reply.json().get("code") == code, reply.text


@pytest.mark.parametrize(("age_us", "ok"), [(0, True), (4_900_000, True), (5_001_000, False),
                                            (-1_500_000, False)])
def test_microsecond_timestamps(fb: FakeBinance, age_us: int, ok: bool) -> None:
    key = Key(fb)
    payload = f"timestamp={fb.server_time_ms() * 1000 - age_us}"
    query = f"{payload}&signature={key.sign(payload)}"
    reply = call(fb, "GET", RESTRICTIONS, query=query, api_key=key.api_key)
    assert (reply.status_code == 200) is ok, reply.text
    if not ok:
        assert reply.json()["code"] == -1021


def test_request_weight_and_the_limit_the_test_sets(fb: FakeBinance) -> None:
    first = call(fb, "GET", "/api/v3/exchangeInfo")
    assert first.headers["X-MBX-USED-WEIGHT-1M"] == first.headers["X-MBX-USED-WEIGHT"] == "20"
    assert call(fb, "GET", "/api/v3/ping").headers["X-MBX-USED-WEIGHT-1M"] == "21"
    fb.weight_limit = 30
    assert call(fb, "GET", "/api/v3/ticker/price", query="symbol=BTCUSDT").status_code == 200  # 23
    refused = call(fb, "GET", "/api/v3/exchangeInfo")  # 43 > 30
    assert refused.status_code == 429
    assert refused.json()["code"] == -1003
    assert "request weight is 30 per 1 MINUTE" in refused.json()["msg"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    fb.reset()
    assert call(fb, "GET", "/api/v3/ping").headers["X-MBX-USED-WEIGHT-1M"] == "1"


def test_trading_without_spot_trading_permission(fb: FakeBinance) -> None:
    key = Key(fb)  # Binance's new-key defaults: reading only
    reply = signed(fb, key, "POST", ORDER, "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001", in_body=True)
    assert (reply.status_code, reply.json()) == (401, {"code": -2015, "msg": "Invalid API-key, IP, or "
                                                                                 "permissions for action."})


def test_withdrawal_needs_the_withdrawals_permission(fb: FakeBinance) -> None:
    key = Key(fb, permissions={"enableSpotAndMarginTrading": True})
    params = "coin=USDT&address=TXfake&amount=5"
    refused = signed(fb, key, "POST", "/sapi/v1/capital/withdraw/apply", params, in_body=True)
    assert refused.json() == {"code": -1002, "msg": "You are not authorized to execute this request."}
    fb.key(key.api_key).permissions["enableWithdrawals"] = True
    assert "id" in signed(fb, key, "POST", "/sapi/v1/capital/withdraw/apply", params, in_body=True).json()
    assert fb.balances(key.api_key)["USDT"] == (Decimal(995), Decimal(0))


def test_ip_outside_the_keys_list(fb: FakeBinance) -> None:
    key = Key(fb, ip_restrict=True, ip_list=["198.51.100.4"])
    assert signed(fb, key, "GET", "/api/v3/account", "").json()["code"] == -2015
    fb.key(key.api_key).ip_list = ["198.51.100.4", "127.0.0.1"]
    assert signed(fb, key, "GET", "/api/v3/account", "").status_code == 200


def test_orders_move_balances(fb: FakeBinance) -> None:
    key = Key(fb, permissions={"enableSpotAndMarginTrading": True}, balances={"USDT": "100", "ETH": "1"})
    fb.set_price("ETHUSDT", "2000")
    too_much = signed(fb, key, "POST", ORDER, "symbol=ETHUSDT&side=BUY&type=MARKET&quantity=1", in_body=True)
    assert too_much.json() == {"code": -2010, "msg": "Account has insufficient balance for requested action."}
    sold = signed(fb, key, "POST", ORDER, "symbol=ETHUSDT&side=SELL&type=MARKET&quantity=0.5", in_body=True)
    assert sold.json()["cummulativeQuoteQty"] == "1000.00000000"
    bought = signed(fb, key, "POST", ORDER, "symbol=ETHUSDT&side=BUY&type=MARKET&quoteOrderQty=200",
                    in_body=True)
    assert bought.json()["executedQty"] == "0.10000000"
    assert fb.balances(key.api_key) == {"USDT": (Decimal(900), Decimal(0)),
                                        "ETH": (Decimal("0.6"), Decimal(0))}
    resting = signed(fb, key, "POST", ORDER, "symbol=ETHUSDT&side=SELL&type=LIMIT&timeInForce=GTC"
                     "&quantity=0.5&price=2500", in_body=True).json()
    assert fb.balances(key.api_key)["ETH"] == (Decimal("0.1"), Decimal("0.5"))
    canceled = signed(fb, key, "DELETE", ORDER, f"symbol=ETHUSDT&orderId={resting['orderId']}")
    assert canceled.json()["status"] == "CANCELED"
    assert fb.balances(key.api_key)["ETH"] == (Decimal("0.6"), Decimal(0))
    again = signed(fb, key, "DELETE", ORDER, f"symbol=ETHUSDT&orderId={resting['orderId']}")
    assert again.json() == {"code": -2011, "msg": "Unknown order sent."}
    missing = signed(fb, key, "GET", ORDER, "symbol=ETHUSDT&orderId=999999")
    assert missing.json() == {"code": -2013, "msg": "Order does not exist."}


def test_capital_config_lists_the_balances(fb: FakeBinance) -> None:
    key = Key(fb, balances={"USDT": "12.5"})
    coins = {c["coin"]: c for c in signed(fb, key, "GET", "/sapi/v1/capital/config/getall", "").json()}
    assert coins["USDT"]["free"] == "12.50000000"
    assert coins["USDT"]["networkList"][0]["withdrawEnable"] is True


def test_trust_helpers_verify_against_the_test_ca_only(fb: FakeBinance) -> None:
    class Client:
        session = requests.Session()

    client = fb.trust_client(Client())
    assert client.session.get(f"{fb.base_url}/api/v3/ping", verify=True, timeout=5).json() == {}
    assert fb.requests_session().get(fb.url("https://api.binance.com/api/v3/time"), timeout=5).ok
    with pytest.raises(requests.exceptions.SSLError):
        requests.Session().get(f"{fb.base_url}/api/v3/ping", verify=True, timeout=5)


def test_a_request_in_flight_across_reset_is_not_logged_for_the_next_test(fb: FakeBinance) -> None:
    import threading
    import time

    fb.fail_next("slow", path="/api/v3/time", delay=1.0)
    late = threading.Thread(target=call, args=(fb, "GET", "/api/v3/time"))
    late.start()
    deadline = time.monotonic() + 5
    while fb._faults and time.monotonic() < deadline:  # until the server holds the slow request
        time.sleep(0.01)
    assert not fb._faults
    fb.reset()  # what the `fb` fixture does between two tests
    assert call(fb, "GET", "/api/v3/ping").status_code == 200
    late.join(5)
    assert [r.path for r in fb.requests] == ["/api/v3/ping"]
