"""The real client libraries against the fake Binance over real TLS, and nothing else.

python-binance (sync and async), ccxt (sync and async) and binance-sdk-spot place, query
and cancel orders, read balances and permissions, and are refused what the key may not do,
with every key type each library supports. An autouse guard refuses and records any
connection or DNS lookup that would leave 127.0.0.1: a test fails if a client tried one.
(binance-connector and binance-futures-connector: tests/connectors_test.py.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from client_keys import KEY_TYPES, TRADING, stored_key
from client_scripts import loopback_only

from bkm_guard.testing.clients import (
    ccxt_binance,
    python_binance_async_client,
    python_binance_client,
)

if TYPE_CHECKING:
    from bkm_guard.runtime.store import KeyStore
    from bkm_guard.testing import FakeBinance


@pytest.fixture(autouse=True)
def loopback() -> Iterator[list[str]]:
    loopback_only.ATTEMPTS.clear()
    loopback_only.install()
    try:
        yield loopback_only.ATTEMPTS
    finally:
        loopback_only.uninstall()
    assert loopback_only.ATTEMPTS == [], "a client tried to leave 127.0.0.1"


def test_the_guard_catches_a_client_that_would_reach_binance(loopback: list[str]) -> None:
    from binance.client import Client

    with pytest.raises(Exception, match=r"would leave 127\.0\.0\.1"):
        Client()  # python-binance's default constructor pings api.binance.com
    assert any("api.binance.com" in attempt for attempt in loopback)
    loopback.clear()


# -- python-binance -----------------------------------------------------------------------


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_python_binance_trades(fb: FakeBinance, store: KeyStore, key_type: str) -> None:
    creds = stored_key(store, fb, key_type, permissions=TRADING)
    fb.set_price("BTCUSDT", "50000")
    client = python_binance_client(fb, **creds.for_python_binance())
    assert client.get_server_time()["serverTime"] > 0
    filled = client.order_market_buy(symbol="BTCUSDT", quantity="0.002")
    assert filled["status"] == "FILLED"
    assert filled["fills"][0]["price"] == "50000.00000000"
    resting = client.order_limit_sell(symbol="BTCUSDT", quantity="0.001", price="60000")
    assert client.get_order(symbol="BTCUSDT", orderId=resting["orderId"])["status"] == "NEW"
    assert [o["orderId"] for o in client.get_open_orders(symbol="BTCUSDT")] == [resting["orderId"]]
    assert client.cancel_order(symbol="BTCUSDT", orderId=resting["orderId"])["status"] == "CANCELED"
    assert client.get_open_orders(symbol="BTCUSDT") == []
    balances = {b["asset"]: b["free"] for b in client.get_account()["balances"]}
    assert balances == {"BTC": "0.00200000", "USDT": "900.00000000"}
    assert len(client.get_my_trades(symbol="BTCUSDT")) == 1
    assert client.create_test_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001") == {}
    assert client.get_account_api_permissions()["enableSpotAndMarginTrading"] is True


def test_python_binance_limit_order_filled_by_the_test(fb: FakeBinance, store: KeyStore) -> None:
    creds = stored_key(store, fb, "hmac", permissions=TRADING, balances={"USDT": "500"})
    client = python_binance_client(fb, **creds.for_python_binance())
    order = client.order_limit_buy(symbol="ETHUSDT", quantity="0.1", price="2500")
    assert fb.balances(creds.api_key)["USDT"] == (Decimal(250), Decimal(250))  # locked while it rests
    fb.fill_order(creds.api_key, order["orderId"], price="2400")
    assert client.get_order(symbol="ETHUSDT", orderId=order["orderId"])["status"] == "FILLED"
    assert fb.balances(creds.api_key)["USDT"] == (Decimal(260), Decimal(0))  # filled cheaper
    assert client.get_asset_balance(asset="ETH")["free"] == "0.10000000"


def test_python_binance_market_data(fb: FakeBinance) -> None:
    client = python_binance_client(fb)
    fb.set_price("ETHUSDT", "3100.5")
    assert {s["symbol"] for s in client.get_exchange_info()["symbols"]} >= {"BTCUSDT", "ETHUSDT"}
    assert client.get_symbol_ticker(symbol="ETHUSDT")["price"] == "3100.50000000"
    assert client.get_ticker(symbol="ETHUSDT")["lastPrice"] == "3100.50000000"
    assert len(client.get_klines(symbol="ETHUSDT", interval="1h", limit=24)) == 24
    assert client.get_order_book(symbol="ETHUSDT", limit=5)["asks"][0][0] == "3100.51000000"


def test_python_binance_order_refused_without_spot_trading(fb: FakeBinance, store: KeyStore) -> None:
    from binance.exceptions import BinanceAPIException

    creds = stored_key(store, fb, "ed25519")  # Binance's defaults: reading only
    client = python_binance_client(fb, **creds.for_python_binance())
    with pytest.raises(BinanceAPIException) as info:
        client.order_market_buy(symbol="BTCUSDT", quantity="0.001")
    assert (info.value.status_code, info.value.code) == (401, -2015)
    assert info.value.message == "Invalid API-key, IP, or permissions for action."
    assert fb.orders(creds.api_key) == []


def test_python_binance_withdraw_refused_without_withdrawals(fb: FakeBinance, store: KeyStore) -> None:
    from binance.exceptions import BinanceAPIException

    creds = stored_key(store, fb, "hmac", permissions=TRADING)
    client = python_binance_client(fb, **creds.for_python_binance())
    with pytest.raises(BinanceAPIException) as info:
        client.withdraw(coin="USDT", address="TXfakeaddress", amount="10")
    assert (info.value.code, info.value.message) == (-1002, "You are not authorized to execute this request.")
    fb.key(creds.api_key).permissions["enableWithdrawals"] = True
    assert "id" in client.withdraw(coin="USDT", address="TXfakeaddress", amount="10")
    assert fb.balances(creds.api_key)["USDT"][0] == Decimal(990)


def test_python_binance_call_from_an_ip_outside_the_list(fb: FakeBinance, store: KeyStore) -> None:
    from binance.exceptions import BinanceAPIException

    creds = stored_key(store, fb, "rsa", permissions=TRADING, ip_restrict=True, ip_list=["203.0.113.7"])
    client = python_binance_client(fb, **creds.for_python_binance())
    with pytest.raises(BinanceAPIException) as info:
        client.get_account()
    assert info.value.code == -2015
    fb.key(creds.api_key).ip_list.append("127.0.0.1")
    assert client.get_account()["canTrade"] is True


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_python_binance_async(fb: FakeBinance, store: KeyStore, key_type: str) -> None:
    creds = stored_key(store, fb, key_type, permissions=TRADING)

    async def run() -> dict[str, Any]:
        client = python_binance_async_client(fb, **creds.for_python_binance())
        try:
            order = await client.order_limit_buy(symbol="BTCUSDT", quantity="0.001", price="45000")
            queried = await client.get_order(symbol="BTCUSDT", orderId=order["orderId"])
            canceled = await client.cancel_order(symbol="BTCUSDT", orderId=order["orderId"])
            market = await client.order_market_buy(symbol="BTCUSDT", quantity="0.001")
            account = await client.get_account()
        finally:
            await client.close_connection()
        return {"queried": queried["status"], "canceled": canceled["status"], "market": market["status"],
                "balances": {b["asset"]: b["free"] for b in account["balances"]}}

    assert asyncio.run(run()) == {"queried": "NEW", "canceled": "CANCELED", "market": "FILLED",
                                  "balances": {"BTC": "0.00100000", "USDT": "950.00000000"}}


# -- ccxt ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_ccxt_sync(fb: FakeBinance, store: KeyStore, key_type: str) -> None:
    creds = stored_key(store, fb, key_type, permissions=TRADING)
    exchange = ccxt_binance(fb, creds.for_ccxt())
    assert exchange.fetch_balance()["total"] == {"USDT": 1000.0}
    market = exchange.create_order("BTC/USDT", "market", "buy", 0.001)
    assert (market["status"], market["filled"], market["average"]) == ("closed", 0.001, 50000.0)
    limit = exchange.create_order("BTC/USDT", "limit", "buy", 0.001, 40000)
    assert exchange.fetch_order(limit["id"], "BTC/USDT")["status"] == "open"
    assert [o["id"] for o in exchange.fetch_open_orders("BTC/USDT")] == [limit["id"]]
    assert exchange.cancel_order(limit["id"], "BTC/USDT")["status"] == "canceled"
    assert exchange.fetch_balance()["free"]["USDT"] == 950.0
    assert exchange.fetch_ticker("BTC/USDT")["last"] == 50000.0
    assert len(exchange.fetch_my_trades("BTC/USDT")) == 1


def test_ccxt_order_refused_without_spot_trading(fb: FakeBinance, store: KeyStore) -> None:
    import ccxt

    creds = stored_key(store, fb, "hmac")
    exchange = ccxt_binance(fb, creds.for_ccxt())
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        exchange.create_order("BTC/USDT", "market", "buy", 0.001)


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_ccxt_async(fb: FakeBinance, store: KeyStore, key_type: str) -> None:
    creds = stored_key(store, fb, key_type, permissions=TRADING)

    async def run() -> tuple[dict[str, float], str, str]:
        exchange = ccxt_binance(fb, creds.for_ccxt(), async_support=True)
        try:
            balance = await exchange.fetch_balance()
            order = await exchange.create_order("BTC/USDT", "limit", "buy", 0.001, 40000)
            canceled = await exchange.cancel_order(order["id"], "BTC/USDT")
        finally:
            await exchange.close()
        return balance["total"], order["status"], canceled["status"]

    assert asyncio.run(run()) == ({"USDT": 1000.0}, "open", "canceled")


# -- binance-sdk-spot ---------------------------------------------------------------------


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_binance_sdk_spot(fb: FakeBinance, store: KeyStore, key_type: str) -> None:
    from binance_common.configuration import ConfigurationRestAPI
    from binance_sdk_spot.spot import Spot

    creds = stored_key(store, fb, key_type, permissions=TRADING)
    config = ConfigurationRestAPI(**creds.for_sdk(), base_path=fb.base_url, https_agent=fb.ssl_context(),
                                  timeout=5000, retries=0)
    rest = Spot(config_rest_api=config).rest_api
    assert [b.asset for b in rest.get_account().data().balances] == ["USDT"]
    order = rest.new_order(symbol="BTCUSDT", side="BUY", type="LIMIT", time_in_force="GTC",
                           quantity=0.001, price=40000.0).data()
    assert order.status == "NEW"
    assert rest.get_order(symbol="BTCUSDT", order_id=order.order_id).data().status == "NEW"
    assert rest.delete_order(symbol="BTCUSDT", order_id=order.order_id).data().status == "CANCELED"
    market = rest.new_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity=0.001).data()
    assert market.status == "FILLED"
    assert fb.balances(creds.api_key)["BTC"] == (Decimal("0.001"), Decimal(0))
