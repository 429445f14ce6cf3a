"""binance-connector and binance-futures-connector against the fake Binance, each in its own
environment: they and python-binance all install a top-level `binance` package.

Each runs in a subprocess with PYTHONPATH = tests/client_scripts (its sitecustomize refuses
and reports any connection that would leave 127.0.0.1) + the library's own directory
(tests/client_envs.py: built by CI, or once into a cache here). The fake runs in this
process; the key reaches the subprocess on stdin, never on its command line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import client_envs
import pytest
from client_keys import KEY_TYPES, TRADING, stored_key

from bkm_guard.errors import InvalidKeyMaterialError

if TYPE_CHECKING:
    from bkm_guard.testing import FakeBinance

SCRIPTS = Path(__file__).parent / "client_scripts"


@pytest.fixture(scope="session")
def spot_connector() -> Path:
    return client_envs.ensure("binance-connector")


@pytest.fixture(scope="session")
def futures_connector() -> Path:
    return client_envs.ensure("binance-futures-connector")


def run(library_dir: Path, fb: FakeBinance, scenario: str, creds: dict[str, Any]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SCRIPTS), str(library_dir)])}
    request = json.dumps({"scenario": scenario, "base_url": fb.base_url, "ca_path": fb.ca_path,
                          "creds": creds})
    done = subprocess.run([sys.executable, str(SCRIPTS / "connector_scenarios.py")], input=request,
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert "LEFT-LOOPBACK" not in done.stderr
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_the_subprocess_guard_catches_a_connection_to_binance(spot_connector: Path) -> None:
    code = "import socket; socket.create_connection(('api.binance.com', 443), timeout=1)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SCRIPTS), str(spot_connector)])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=60, check=False)
    assert done.returncode != 0
    assert "would leave 127.0.0.1" in done.stderr


def test_the_connector_is_the_real_library_not_python_binance(spot_connector: Path) -> None:
    code = "import binance.spot; from binance.__version__ import __version__; print(__version__)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SCRIPTS), str(spot_connector)])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=60, check=True)
    assert done.stdout.strip().split(".")[0] == "3"  # binance-connector 3.x


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_binance_connector_trades(spot_connector: Path, fb: FakeBinance, store: Any, key_type: str) -> None:
    creds = stored_key(store, fb, key_type, permissions=TRADING)
    fb.set_price("BTCUSDT", "50000")
    seen = run(spot_connector, fb, "spot-trade", creds.for_connector())
    assert seen["before"] == [{"asset": "USDT", "free": "1000.00000000", "locked": "0.00000000"}]
    assert seen["market"]["status"] == "FILLED"
    assert seen["queried"] == "NEW"
    assert len(seen["open"]) == 1
    assert seen["canceled"] == "CANCELED"
    assert {b["asset"]: b["free"] for b in seen["after"]} == {"BTC": "0.00100000", "USDT": "950.00000000"}
    assert seen["permissions"]["enableSpotAndMarginTrading"] is True
    assert seen["trades"] == 1
    assert [r.method for r in fb.requests if r.path == "/api/v3/order"] == ["POST", "POST", "GET", "DELETE"]


def test_binance_connector_refused_without_spot_trading(spot_connector: Path, fb: FakeBinance,
                                                        store: Any) -> None:
    creds = stored_key(store, fb, "rsa")
    seen = run(spot_connector, fb, "spot-refused", creds.for_connector())
    assert seen == {"status": 401, "code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}


@pytest.mark.parametrize("key_type", ["hmac", "rsa"])
def test_futures_connector(futures_connector: Path, fb: FakeBinance, store: Any, key_type: str) -> None:
    creds = stored_key(store, fb, key_type, permissions={"enableFutures": True})
    seen = run(futures_connector, fb, "futures-balance", creds.for_futures_connector())
    assert seen["balance"][0]["availableBalance"] == "1000.00000000"
    fb.key(creds.api_key).permissions["enableFutures"] = False
    seen = run(futures_connector, fb, "futures-balance", creds.for_futures_connector())
    assert seen["error"]["code"] == -2015


def test_futures_connector_gets_no_ed25519_key(fb: FakeBinance, store: Any) -> None:
    creds = stored_key(store, fb, "ed25519")
    with pytest.raises(InvalidKeyMaterialError, match="HMAC and RSA only"):
        creds.for_futures_connector()
