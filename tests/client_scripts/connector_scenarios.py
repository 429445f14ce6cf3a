"""binance-connector / binance-futures-connector scenarios, run in their own environment.

Run by tests/connectors_test.py as `python connector_scenarios.py` with PYTHONPATH holding
this directory (sitecustomize: loopback only) and the connector's package directory. It
reads {"scenario", "base_url", "ca_path", "creds"} as JSON on stdin (the key never on the
command line), drives the real library and prints what it saw as JSON.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from bkm_guard.testing.clients import trusting_adapter


def _trust(client: Any, base_url: str, ca_path: str) -> Any:
    client.session.mount(base_url + "/", trusting_adapter(ca_path))
    return client


def spot_trade(base_url: str, ca_path: str, creds: dict[str, Any]) -> dict[str, Any]:
    from binance.spot import Spot

    spot = _trust(Spot(base_url=base_url, timeout=5, **creds), base_url, ca_path)
    before = spot.account()["balances"]
    market = spot.new_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001")
    limit = spot.new_order(symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC",
                           quantity="0.002", price="40000")
    queried = spot.get_order("BTCUSDT", orderId=limit["orderId"])
    open_orders = spot.get_open_orders("BTCUSDT")
    canceled = spot.cancel_order("BTCUSDT", orderId=limit["orderId"])
    return {"before": before, "market": market, "queried": queried["status"],
            "open": [o["orderId"] for o in open_orders], "canceled": canceled["status"],
            "after": spot.account()["balances"], "permissions": spot.api_key_permissions(),
            "trades": len(spot.my_trades("BTCUSDT"))}


def spot_refused(base_url: str, ca_path: str, creds: dict[str, Any]) -> dict[str, Any]:
    from binance.error import ClientError
    from binance.spot import Spot

    spot = _trust(Spot(base_url=base_url, timeout=5, **creds), base_url, ca_path)
    try:
        spot.new_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001")
    except ClientError as exc:
        return {"status": exc.status_code, "code": exc.error_code, "msg": exc.error_message}
    return {"status": 200}


def futures_balance(base_url: str, ca_path: str, creds: dict[str, Any]) -> dict[str, Any]:
    from binance.error import ClientError
    from binance.um_futures import UMFutures

    futures = _trust(UMFutures(base_url=base_url, timeout=5, **creds), base_url, ca_path)
    result: dict[str, Any] = {"time": futures.time()["serverTime"]}
    try:
        result["balance"] = futures.balance()
    except ClientError as exc:
        result["error"] = {"status": exc.status_code, "code": exc.error_code, "msg": exc.error_message}
    return result


SCENARIOS = {"spot-trade": spot_trade, "spot-refused": spot_refused, "futures-balance": futures_balance}

if __name__ == "__main__":
    request = json.load(sys.stdin)
    outcome = SCENARIOS[request["scenario"]](request["base_url"], request["ca_path"], request["creds"])
    print(json.dumps(outcome))
