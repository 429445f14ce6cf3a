"""What the analyzer knows about Binance client libraries: which callables take credentials, in
which parameter order, and which calls print or log."""

from __future__ import annotations

import dataclasses
from typing import Final

from bkm_guard.recognizer import Role


@dataclasses.dataclass(frozen=True)
class Callee:
    """A callable that receives credentials: its real parameter order and each credential's role."""

    label: str  # shown in messages: "binance.client.Client"
    params: tuple[str, ...]  # positional parameter names, in order
    roles: dict[str, Role]  # credential parameters and what they hold
    binance: bool = True  # a call to it is a request to Binance (links BKM102)


_KEY_SECRET = {"api_key": Role.KEY, "api_secret": Role.SECRET}
_PB_PARAMS = ("api_key", "api_secret", "requests_params", "tld", "base_endpoint", "testnet")
_SDK_PARAMS = ("api_key", "api_secret", "private_key", "private_key_passphrase")
_SDK_ROLES = {"api_key": Role.KEY, "api_secret": Role.SECRET}

# Keyed by the end of the qualified name, which is how the same class is reached through the
# package root (`from binance import Client`) or its module (`binance.client.Client`).
_BINANCE_CALLEES: Final[dict[str, Callee]] = {
    # python-binance
    "Client": Callee("binance.client.Client", _PB_PARAMS, _KEY_SECRET),
    "AsyncClient": Callee("binance.AsyncClient", _PB_PARAMS, _KEY_SECRET),
    "AsyncClient.create": Callee("binance.AsyncClient.create", _PB_PARAMS, _KEY_SECRET),
    "ThreadedWebsocketManager": Callee("binance.ThreadedWebsocketManager",
                                       ("api_key", "api_secret", "requests_params", "tld", "testnet"),
                                       _KEY_SECRET),
    "ThreadedDepthCacheManager": Callee("binance.ThreadedDepthCacheManager",
                                        ("api_key", "api_secret"), _KEY_SECRET),
    "BinanceSocketManager": Callee("binance.BinanceSocketManager", ("client", "user_timeout"), {}),
    # binance-connector (spot) and binance-futures-connector
    "Spot": Callee("binance.spot.Spot", ("api_key", "api_secret"), _KEY_SECRET),
    "UMFutures": Callee("binance.um_futures.UMFutures", ("key", "secret"),
                        {"key": Role.KEY, "secret": Role.SECRET}),
    "CMFutures": Callee("binance.cm_futures.CMFutures", ("key", "secret"),
                        {"key": Role.KEY, "secret": Role.SECRET}),
    "SpotWebsocketAPIClient": Callee("binance.websocket.spot.websocket_api.SpotWebsocketAPIClient",
                                     ("stream_url", "api_key", "api_secret"), _KEY_SECRET),
    "SpotWebsocketStreamClient": Callee("binance.websocket.spot.SpotWebsocketStreamClient",
                                        ("stream_url",), {}),
    "UMFuturesWebsocketClient": Callee("binance.websocket.um_futures.UMFuturesWebsocketClient",
                                       ("stream_url",), {}),
    "CMFuturesWebsocketClient": Callee("binance.websocket.cm_futures.CMFuturesWebsocketClient",
                                       ("stream_url",), {}),
}
_SDK_CALLEES: Final[dict[str, Callee]] = {
    # binance-sdk-* (binance_common)
    "ConfigurationRestAPI": Callee("binance_common.configuration.ConfigurationRestAPI",
                                   _SDK_PARAMS, _SDK_ROLES),
    "ConfigurationWebSocketAPI": Callee("binance_common.configuration.ConfigurationWebSocketAPI",
                                        _SDK_PARAMS, _SDK_ROLES),
    "ConfigurationWebSocketStreams": Callee("binance_common.configuration.ConfigurationWebSocketStreams",
                                            (), {}),
}
_CCXT_EXCHANGES: Final = frozenset({"binance", "binanceusdm", "binancecoinm", "binanceus"})
_HMAC: Final = Callee("hmac.new", ("key", "msg", "digestmod"), {"key": Role.SECRET}, binance=False)
_ENV_GETTERS: Final = frozenset({"os.getenv", "os.environ.get", "os.environ.setdefault", "os.putenv"})
#: Wrappers whose argument is the value itself: pydantic Field/SecretStr, dataclasses.field, str().
VALUE_WRAPPERS: Final = frozenset({"Field", "SecretStr", "SecretBytes", "field", "str", "bytes"})

LOG_METHODS: Final = frozenset({
    "debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log",
    "success", "trace",
})


def callee_for(qualified: str, extra_clients: tuple[str, ...] = ()) -> Callee | None:
    """The credential-taking callable a qualified name refers to, if any."""
    if qualified in ("hmac.new", "hmac.HMAC"):
        return _HMAC
    top, _, rest = qualified.partition(".")
    if top == "binance" and rest:
        parts = rest.split(".")
        for size in (2, 1):
            callee = _BINANCE_CALLEES.get(".".join(parts[-size:]))
            if callee is not None:
                return callee
    elif top == "binance_common" or top.startswith("binance_sdk"):
        callee = _SDK_CALLEES.get(qualified.rsplit(".", 1)[-1])
        if callee is not None:
            return callee
    elif top == "ccxt" and qualified.rsplit(".", 1)[-1] in _CCXT_EXCHANGES:
        return Callee(qualified, ("config",), {})
    for extra in extra_clients:
        if qualified == extra or qualified.rsplit(".", 1)[-1] == extra or qualified.endswith("." + extra):
            return Callee(qualified, ("api_key", "api_secret"), _KEY_SECRET)
    return None


def is_env_getter(qualified: str) -> bool:
    return qualified in _ENV_GETTERS


def is_wrapper(qualified: str) -> bool:
    return qualified.rsplit(".", 1)[-1] in VALUE_WRAPPERS
