"""Real client libraries pointed at a `FakeBinance`, without one request to the internet.

Each function builds the client the way its library supports (base URL and TLS trust), so
a bot's tests read like its production code:

    client = python_binance_client(fb, **creds.for_python_binance())
    exchange = ccxt_binance(fb, creds.for_ccxt())

The libraries are imported inside each function: install only the ones you use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests.adapters

    from bkm_guard.testing.fake_binance import FakeBinance


def trusting_adapter(ca_path: str) -> requests.adapters.HTTPAdapter:
    """A requests adapter, for the fake's URLs only, that verifies TLS against the test CA
    whatever bundle the caller or the environment names (`verify=True`, REQUESTS_CA_BUNDLE):
    only that CA issues the fake's certificate. It never turns verification off."""
    import requests.adapters

    class _TrustTestCA(requests.adapters.HTTPAdapter):
        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            if kwargs.get("verify", True) is not False:
                kwargs["verify"] = ca_path
            return super().send(request, *args, **kwargs)

    return _TrustTestCA()


def _redirect_urls(fb: FakeBinance, client: Any) -> None:
    # python-binance keeps one https URL per API family in *_URL attributes
    for name in dir(client):
        value = getattr(client, name, None)
        if name.endswith("_URL") and isinstance(value, str) and value.startswith("https://"):
            setattr(client, name, fb.url(value))


def python_binance_client(fb: FakeBinance, **kwargs: Any) -> Any:
    """python-binance's `Client`, for `fb`: no ping to api.binance.com in the constructor
    (`ping=False`), every API URL on the fake, TLS verified against the test CA."""
    from binance.client import Client

    kwargs.setdefault("ping", False)
    client = Client(**kwargs)
    _redirect_urls(fb, client)
    fb.trust(client.session)
    return client


def python_binance_async_client(fb: FakeBinance, **kwargs: Any) -> Any:
    """python-binance's `AsyncClient` for `fb` (call it inside a running event loop; close it
    with `await client.close_connection()`). `AsyncClient.create()` would ping Binance first."""
    from binance.async_client import AsyncClient

    params = dict(kwargs.pop("requests_params", None) or {})
    params.setdefault("ssl", fb.ssl_context())  # aiohttp's per-request TLS context
    client = AsyncClient(requests_params=params, **kwargs)
    _redirect_urls(fb, client)
    return client


def ccxt_binance(fb: FakeBinance, config: dict[str, Any] | None = None, *,
                 async_support: bool = False) -> Any:
    """`ccxt.binance(config)` (or ccxt.async_support's) with every API URL on `fb`.

    Sync ccxt sends `verify=True` on each call and ignores REQUESTS_CA_BUNDLE (its session
    has trust_env off), so it gets a session that trusts the test CA; async ccxt takes the
    CA file as `cafile`. Markets are loaded for spot only (the fake has no futures markets)."""
    config = dict(config or {})
    options = dict(config.pop("options", None) or {})
    options.setdefault("fetchMarkets", {"types": ["spot"]})
    if async_support:
        import ccxt.async_support as ccxt_async

        config.setdefault("cafile", fb.ca_path)
        exchange = ccxt_async.binance({**config, "options": options})
    else:
        import ccxt

        config.setdefault("session", fb.requests_session())
        exchange = ccxt.binance({**config, "options": options})
    api = exchange.urls["api"]
    exchange.urls["api"] = {name: fb.url(url) if isinstance(url, str) else url for name, url in api.items()}
    return exchange
