"""A local fake Binance REST server over real TLS, for tests of bots and of bkm-guard itself.

    from bkm_guard.testing import FakeBinance

    with FakeBinance() as fb:
        fb.add_key(api_key, secret, permissions={"enableSpotAndMarginTrading": True}, ip_restrict=True)
        creds = bkm_guard.load("spot-bot", base_url=fb.base_url, ca_bundle=fb.ca_path)

It listens on 127.0.0.1 with a certificate from a throw-away test CA (trustme). HTTP is
cheroot's (threads, keep-alive, every method, request bodies) with werkzeug's request
parsing. Signed requests are checked as Binance documents them: the `X-MBX-APIKEY` header,
`timestamp` (milliseconds or microseconds) and `recvWindow` (up to three decimals), and the
HMAC, RSA or Ed25519 signature over the query string concatenated with the body. The key's
permissions and IP list are enforced, request weight is counted, and every answer, errors
included, is Binance-shaped JSON with Binance's own codes and messages. The market, the
balances and the orders live in `bkm_guard.testing.exchange`. Faults on demand:
`fb.fail_next(...)`, `fb.clock_offset_ms` and `fb.weight_limit`.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import re
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import unquote_plus

from bkm_guard.masking import mask
from bkm_guard.runtime.policy import NEW_KEY_DEFAULTS, PERMISSIONS
from bkm_guard.runtime.signing import KeyType, split_signature, verify_signature
from bkm_guard.testing.exchange import Account, ApiError, Exchange, Order

if TYPE_CHECKING:
    import requests

FaultKind = Literal["429", "418", "5xx", "slow", "drop", "broken_json", "error"]
FAULT_KINDS: Final = ("429", "418", "5xx", "slow", "drop", "broken_json", "error")

DEFAULT_RECV_WINDOW_MS: Final = 5000
MAX_RECV_WINDOW_MS: Final = 60000
#: a timestamp above this is in microseconds (Binance accepts both units)
_MICROSECONDS_FROM: Final = 10**14
_API_KEY_RE: Final = re.compile(r"[A-Za-z0-9]{64}")
_RECV_WINDOW_RE: Final = re.compile(r"^[0-9]{1,20}(\.[0-9]{1,3})?$")
_SIGNED_PARAMS: Final = frozenset({"timestamp", "recvWindow", "signature"})

#: Binance's error answers: code -> (HTTP status, message), as the real API sends them.
ERRORS: Final[Mapping[int, tuple[int, str]]] = {
    -1001: (500, "Internal error; unable to process your request. Please try again."),
    -1002: (401, "You are not authorized to execute this request."),
    -1003: (429, "Too many requests; current limit of IP(127.0.0.1) request weight is 6000 per 1 "
                 "MINUTE. Please use WebSocket Streams for live updates to avoid polling the API."),
    -1021: (400, "Timestamp for this request is outside of the recvWindow."),
    -1022: (400, "Signature for this request is not valid."),
    -1101: (400, "Duplicate values for a parameter detected."),
    -1102: (400, "Mandatory parameter '{}' was not sent, was empty/null, or malformed."),
    -1104: (400, "Not all sent parameters were read; read '{}' parameter(s) but was sent '{}'."),
    -1111: (400, "Parameter '{}' has too much precision."),
    -1131: (400, "recvWindow must be less than 60000"),
    -2014: (401, "API-key format invalid."),
    -2015: (401, "Invalid API-key, IP, or permissions for action."),
}
_AHEAD_MSG: Final = "Timestamp for this request was 1000ms ahead of the server's time."

Security = Literal["NONE", "APIKEY", "KEY", "USER_DATA", "TRADE", "WITHDRAW", "FUTURES"]


@dataclasses.dataclass
class FakeKey:
    """One API key the fake server knows, with its settings (all mutable between requests)."""

    api_key: str
    key_type: KeyType
    secret: str | None = dataclasses.field(default=None, repr=False)
    public_key_pem: str | None = dataclasses.field(default=None, repr=False)
    permissions: dict[str, bool] = dataclasses.field(default_factory=lambda: dict(NEW_KEY_DEFAULTS))
    ip_restrict: bool = False
    #: False simulates a request from an IP the key's whitelist does not hold (-2015)
    ip_allowed: bool = True
    create_time: int = 0
    trading_authority_expiration: int | None = None
    #: the IPs the key is restricted to (with `ip_restrict`): a request from any other gets -2015
    ip_list: list[str] = dataclasses.field(default_factory=list)
    #: balances, orders and trades of the key's account
    account: Account = dataclasses.field(default_factory=Account, repr=False)

    def __repr__(self) -> str:
        return f"FakeKey({mask(self.api_key)!r}, {self.key_type})"

    def restrictions(self) -> dict[str, Any]:
        """The apiRestrictions answer, field for field as Binance sends it."""
        body: dict[str, Any] = {"ipRestrict": self.ip_restrict, "createTime": self.create_time}
        body.update({name: bool(self.permissions.get(name, False)) for name in PERMISSIONS})
        if self.trading_authority_expiration is not None:
            body["tradingAuthorityExpirationTime"] = self.trading_authority_expiration
        return body

    def allows_ip(self, ip: str) -> bool:
        return self.ip_allowed and not (self.ip_restrict and self.ip_list and ip not in self.ip_list)


@dataclasses.dataclass
class _Fault:
    kind: FaultKind
    times: int
    path: str | None
    retry_after: float | None
    status: int
    delay: float
    code: int
    msg: str


@dataclasses.dataclass(frozen=True)
class Request:
    """What the server saw: for tests that count retries. No secret (the API key masked)."""

    path: str
    api_key: str
    status: int
    code: int | None
    method: str = "GET"
    #: the request weight counted in this minute after this request
    used_weight: int = 0


Handler = Callable[["FakeBinance", FakeKey | None, dict[str, str]], Any]


@dataclasses.dataclass(frozen=True)
class _Endpoint:
    security: Security
    weight: int | Callable[[Mapping[str, str]], int]
    params: frozenset[str]
    handler: Handler


class FakeBinance:
    """A local HTTPS Binance stand-in; start it with `with FakeBinance() as fb:` or `start()`."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._keys: dict[str, FakeKey] = {}
        self._faults: list[_Fault] = []
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._ca_dir: tempfile.TemporaryDirectory[str] | None = None
        self._weight_minute = 0
        self._weight = 0
        #: milliseconds added to the server's clock: +5000 puts Binance 5 s ahead of you
        self.clock_offset_ms = 0
        #: request weight allowed per minute; past it, 429 with -1003 and Retry-After (None: no limit)
        self.weight_limit: int | None = None
        #: every request answered so far, oldest first
        self.requests: list[Request] = []
        # bumped by reset(): a request that began before it (a slow answer of the previous
        # test) is not logged into the next test's request log
        self._generation = 0
        self.exchange = Exchange(self.server_time_ms)
        self.ca_path = ""
        self.base_url = ""

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> FakeBinance:
        if self._server is not None:
            return self
        import trustme  # the testing extra; imported only when a server starts
        from cheroot import wsgi
        from cheroot.ssl.builtin import BuiltinSSLAdapter

        ca = trustme.CA()
        cert = ca.issue_cert(self._host, "localhost")
        self._ca_dir = tempfile.TemporaryDirectory(prefix="bkm-fake-binance-")
        self.ca_path = os.path.join(self._ca_dir.name, "ca.pem")
        ca.cert_pem.write_to_path(self.ca_path)
        cert_path = os.path.join(self._ca_dir.name, "server.pem")
        key_path = os.path.join(self._ca_dir.name, "server.key")
        cert.cert_chain_pems[0].write_to_path(cert_path)
        cert.private_key_pem.write_to_path(key_path)
        server = wsgi.Server((self._host, self._port), self._wsgi, numthreads=16,
                             server_name="fake-binance", shutdown_timeout=1)
        server.ssl_adapter = BuiltinSSLAdapter(cert_path, key_path)
        server.expiration_interval = 0.05  # how often it looks at the stop flag: stop() in ~50 ms
        # quiet: query strings hold signatures, and clients that hang up are normal in tests
        server.error_log = _quiet  # type: ignore[method-assign]
        server.prepare()
        self._server = server
        self.base_url = f"https://{self._host}:{server.bind_addr[1]}"
        self._stop.clear()
        self._thread = threading.Thread(target=server.serve, name="fake-binance", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # wakes slow answers
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._ca_dir is not None:
            self._ca_dir.cleanup()
            self._ca_dir = None

    def __enter__(self) -> FakeBinance:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"FakeBinance({self.base_url or 'not started'}, {len(self._keys)} key(s))"

    # -- pointing clients at it ------------------------------------------------------------

    def ssl_context(self) -> ssl.SSLContext:
        """A client TLS context that trusts this server's test CA only (aiohttp, binance-sdk)."""
        return ssl.create_default_context(cafile=self.ca_path)

    def requests_session(self) -> requests.Session:
        """A `requests.Session` that trusts the test CA for this server, even with `verify=True`.

        For clients that pass `verify=True` on every call (ccxt) or build their own session;
        no environment variable is read (`trust_env` off: no proxy, no REQUESTS_CA_BUNDLE)."""
        import requests

        session = requests.Session()
        session.trust_env = False
        self.trust(session)
        return session

    def trust(self, session: requests.Session) -> requests.Session:
        """Make an existing `requests.Session` trust this server's CA (for its URLs only)."""
        from bkm_guard.testing.clients import trusting_adapter

        session.mount(self.base_url + "/", trusting_adapter(self.ca_path))
        return session

    def trust_client(self, client: Any) -> Any:
        """`client` (anything with a requests `.session`: binance-connector's Spot, UMFutures,
        CMFutures) with that session trusting this server's CA; returns the client."""
        self.trust(client.session)
        return client

    def url(self, url: str) -> str:
        """`url` on this server: https://api.binance.com/api/v3 -> https://127.0.0.1:PORT/api/v3."""
        match = re.match(r"^(?:https|wss?|http)://[^/]+", url)
        return self.base_url + url[match.end():] if match else url

    # -- keys ------------------------------------------------------------------------------

    def add_key(self, api_key: str, secret: str | None = None, public_key_pem: str | None = None, *,
                permissions: Mapping[str, bool] | None = None, ip_restrict: bool = False,
                create_time: int | None = None, trading_authority_expiration: int | None = None,
                ip_list: Sequence[str] = (), balances: Mapping[str, Decimal | str | int] | None = None,
                ) -> FakeKey:
        """Register a key: an HMAC `secret`, or the `public_key_pem` of an RSA/Ed25519 key.

        `permissions` uses Binance's field names; flags not named keep Binance's defaults for
        a new key (reading on, everything else off). Times are epoch milliseconds. `ip_list`
        (with `ip_restrict=True`) is the key's IP whitelist; `balances` (asset -> free amount)
        replaces the default account of 1000 USDT.
        """
        if (secret is None) == (public_key_pem is None):
            raise ValueError("give either secret= (HMAC) or public_key_pem= (RSA/Ed25519)")
        unknown = sorted(set(permissions or {}) - set(PERMISSIONS))
        if unknown:
            raise ValueError(f"unknown permission(s) {unknown}: use Binance's names {sorted(PERMISSIONS)}")
        key_type: KeyType = "hmac" if secret is not None else _public_key_type(public_key_pem or "")
        key = FakeKey(api_key, key_type, secret, public_key_pem,
                      {**NEW_KEY_DEFAULTS, **(permissions or {})}, ip_restrict,
                      create_time=self.server_time_ms() if create_time is None else create_time,
                      trading_authority_expiration=trading_authority_expiration, ip_list=list(ip_list))
        for asset, free in (balances if balances is not None else {"USDT": 1000}).items():
            key.account.set_balance(asset, free)
        with self._lock:
            self._keys[api_key] = key
        return key

    def key(self, api_key: str) -> FakeKey:
        """The settings of a registered key, to change between requests."""
        return self._keys[api_key]

    def remove_key(self, api_key: str) -> None:
        with self._lock:
            self._keys.pop(api_key, None)

    # -- the market and the accounts -------------------------------------------------------

    def set_price(self, symbol: str, price: Decimal | str | int) -> None:
        """The price MARKET orders fill at and tickers show; a new symbol needs `add_symbol`."""
        with self._lock:
            self.exchange.symbols[symbol].price = Decimal(price)

    def add_symbol(self, symbol: str, base: str, quote: str, price: Decimal | str | int) -> None:
        with self._lock:
            self.exchange.add_symbol(symbol, base, quote, price)

    def set_balance(self, api_key: str, asset: str, free: Decimal | str | int,
                    locked: Decimal | str | int = 0) -> None:
        with self._lock:
            self._keys[api_key].account.set_balance(asset, free, locked)

    def balances(self, api_key: str) -> dict[str, tuple[Decimal, Decimal]]:
        """asset -> (free, locked) of the key's account."""
        with self._lock:
            return {a: (b[0], b[1]) for a, b in self._keys[api_key].account.balances.items()}

    def orders(self, api_key: str) -> list[Order]:
        with self._lock:
            return list(self._keys[api_key].account.orders.values())

    def fill_order(self, api_key: str, order_id: int, price: Decimal | str | None = None) -> Order:
        """Fill a resting LIMIT order, at its price or a better one: the market moved."""
        with self._lock:
            return self.exchange.fill(self._keys[api_key].account, order_id,
                                      None if price is None else Decimal(price))

    # -- faults ----------------------------------------------------------------------------

    def fail_next(self, kind: FaultKind, *, times: int = 1, path: str | None = None,
                  retry_after: float | None = 1, status: int = 503, delay: float = 5.0,
                  code: int = -1001, msg: str | None = None) -> None:
        """Make the next `times` requests (to `path`, or any) fail in one way:

        "429"/"418": that status with Binance's -1003 body and `Retry-After: retry_after`
        (None: no header); "5xx": HTTP `status`; "slow": answer normally after `delay` s;
        "drop": close the connection without an answer; "broken_json": a truncated body;
        "error": Binance error `code` with `msg` (default: Binance's message for it).
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}: use one of {', '.join(FAULT_KINDS)}")
        text = msg if msg is not None else ERRORS.get(code, (400, "Unknown error."))[1]
        with self._lock:
            self._faults.append(_Fault(kind, times, path, retry_after, status, delay, code, text))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        """Back to a well-behaved server (no faults, true clock, no weight used or limit, empty
        request log); keys, balances, orders and prices stay.

        Lets one server serve a whole test module or session: starting one costs a TLS CA."""
        with self._lock:
            self._faults.clear()
            self.requests.clear()
            self._generation += 1
            self._weight = 0
            self.weight_limit = None
        self.clock_offset_ms = 0

    def server_time_ms(self) -> int:
        return int(time.time() * 1000) + self.clock_offset_ms

    def used_weight(self) -> int:
        """The request weight used in the current minute (what X-MBX-USED-WEIGHT-1M says)."""
        with self._lock:
            return self._weight if self._weight_minute == self.server_time_ms() // 60_000 else 0

    # -- request handling (called on the server's threads) ---------------------------------

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path is None or fault.path == path:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _record(self, generation: int, method: str, path: str, api_key: str, *, status: int,
                body: Any) -> None:
        code = body.get("code") if isinstance(body, dict) and "msg" in body else None
        with self._lock:
            if generation != self._generation:
                return  # began before reset(): it belongs to the previous test
            self.requests.append(Request(path, mask(api_key) if api_key else "", status, code, method,
                                         self.used_weight()))

    def _count_weight(self, weight: int) -> tuple[int, int | None]:
        """Add a request's weight; (used weight, seconds to wait) with a wait when over the limit."""
        now = self.server_time_ms()
        with self._lock:
            minute = now // 60_000
            if minute != self._weight_minute:
                self._weight_minute, self._weight = minute, 0
            self._weight += weight
            if self.weight_limit is not None and self._weight > self.weight_limit:
                return self._weight, max(1, 60 - (now // 1000) % 60)
            return self._weight, None

    def _answer(self, method: str, path: str, query: str, body: str, *, api_key: str,
                ip: str) -> tuple[int, Any, dict[str, str]]:
        """(status, JSON body, extra headers) for one request."""
        routes = _ROUTES.get(path)
        if routes is None:
            return 404, {"code": -1000, "msg": f"Unknown path {path} on the fake Binance."}, {}
        endpoint = routes.get(method)
        if endpoint is None:
            return 405, {"code": -1000, "msg": f"{method} is not served on {path}: use "
                                               f"{', '.join(sorted(routes))}."}, {}
        headers: dict[str, str] = {}
        try:
            params = _params(query, body)
            weight = endpoint.weight if isinstance(endpoint.weight, int) else endpoint.weight(params)
            used, wait = self._count_weight(weight)
            headers = {"X-MBX-USED-WEIGHT-1M": str(used), "X-MBX-USED-WEIGHT": str(used)}
            if wait is not None:
                status, msg = ERRORS[-1003]
                msg = msg.replace("6000", str(self.weight_limit))
                return status, {"code": -1003, "msg": msg}, {**headers, "Retry-After": str(wait)}
            key: FakeKey | None = None
            if endpoint.security == "APIKEY":  # MARKET_DATA: the key header, no signature
                key = self._known_key(api_key, ip)
            elif endpoint.security != "NONE":
                key = self._authenticate(query, body, params, api_key, ip)
                _check_permission(key, endpoint.security)
            # a MARKET_DATA endpoint takes a signature too (ccxt signs margin/allPairs): read, not checked
            allowed = endpoint.params | (_SIGNED_PARAMS if endpoint.security != "NONE" else frozenset())
            unread = [name for name in params if name not in allowed]
            if unread:
                raise _api_error(-1104, str(len(params) - len(unread)), str(len(params)))
            with self._lock:
                return 200, endpoint.handler(self, key, params), headers
        except ApiError as exc:
            return exc.status, {"code": exc.code, "msg": exc.msg}, headers
        except Exception as exc:  # a bug of the fake: still a JSON answer, and the test sees why
            return 500, {"code": -1000, "msg": f"fake Binance error: {type(exc).__name__}: {exc}"}, headers

    def _known_key(self, api_key: str, ip: str) -> FakeKey:
        if not _API_KEY_RE.fullmatch(api_key):
            raise _api_error(-2014)
        with self._lock:
            key = self._keys.get(api_key)
        if key is None or not key.allows_ip(ip):
            raise _api_error(-2015)
        return key

    def _authenticate(self, query: str, body: str, params: Mapping[str, str], api_key: str,
                      ip: str) -> FakeKey:
        # the order Binance checks in: key format, mandatory parameters, key, time, signature
        if not _API_KEY_RE.fullmatch(api_key):
            raise _api_error(-2014)
        for name in ("timestamp", "signature"):
            if not params.get(name):
                raise _api_error(-1102, name)
        if not params["timestamp"].isdigit():
            raise _api_error(-1102, "timestamp")
        timestamp = int(params["timestamp"])
        raw_window = params.get("recvWindow", str(DEFAULT_RECV_WINDOW_MS))
        if not _RECV_WINDOW_RE.match(raw_window):
            if re.match(r"^[0-9]+\.[0-9]{4,}$", raw_window):
                raise _api_error(-1111, "recvWindow")
            raise _api_error(-1102, "recvWindow")
        try:
            recv_window = Decimal(raw_window)
        except InvalidOperation:  # pragma: no cover: the pattern admits only decimals
            raise _api_error(-1102, "recvWindow") from None
        if not 0 < recv_window <= MAX_RECV_WINDOW_MS:
            raise _api_error(-1131)
        with self._lock:
            key = self._keys.get(api_key)
        if key is None or not key.allows_ip(ip):
            raise _api_error(-2015)
        # compare in microseconds: a microsecond timestamp keeps its precision
        server_us = self.server_time_ms() * 1000
        timestamp_us = timestamp if timestamp >= _MICROSECONDS_FROM else timestamp * 1000
        if timestamp_us >= server_us + 1_000_000:
            raise ApiError(400, -1021, _AHEAD_MSG)
        if server_us - timestamp_us > recv_window * 1000:
            raise _api_error(-1021)
        payload, raw_signature = _signed_payload(query, body)
        if not verify_signature(key.key_type, payload, unquote_plus(raw_signature or ""),
                                secret=key.secret, public_key_pem=key.public_key_pem):
            raise _api_error(-1022)
        return key

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        from werkzeug.wrappers import Request as WsgiRequest

        request = WsgiRequest(environ)
        method, path = request.method, request.path
        query = environ.get("QUERY_STRING", "")
        body = request.get_data(as_text=True)  # always read: the next request on the connection follows it
        api_key = request.headers.get("X-MBX-APIKEY", "")
        generation = self._generation
        fault = self._take_fault(path)
        if fault is not None:
            if fault.kind == "drop":
                self._record(generation, method, path, api_key, status=0, body=None)
                raise ConnectionResetError(errno.ECONNRESET, "dropped by the fake Binance")
            if fault.kind == "slow" and self._stop.wait(fault.delay):
                raise ConnectionResetError(errno.ECONNRESET, "the fake Binance stopped")
        status, answer, headers = self._answer(method, path, query, body, api_key=api_key,
                                               ip=request.remote_addr or "")
        raw = json.dumps(answer, separators=(",", ":")).encode("utf-8")
        if fault is not None:
            status, answer, raw = self._apply_fault(fault, status, answer, raw, headers)
        self._record(generation, method, path, api_key, status=status, body=answer)
        reason = _REASONS.get(status, "Error")
        start_response(f"{status} {reason}", [
            ("Content-Type", "application/json;charset=UTF-8"), ("Content-Length", str(len(raw))),
            *headers.items()])
        return [raw]

    def _apply_fault(self, fault: _Fault, status: int, answer: Any, raw: bytes,
                     headers: dict[str, str]) -> tuple[int, Any, bytes]:
        if fault.kind in ("429", "418"):
            status = int(fault.kind)
            answer = {"code": -1003, "msg": ERRORS[-1003][1] if status == 429 else
                      "Way too many requests; IP(127.0.0.1) banned until "
                      f"{self.server_time_ms() + int((fault.retry_after or 60) * 1000)}. "
                      "Please use the websocket for live updates to avoid bans."}
            if fault.retry_after is not None:
                headers["Retry-After"] = f"{fault.retry_after:g}"
        elif fault.kind == "5xx":
            status, answer = fault.status, {"code": -1001, "msg": ERRORS[-1001][1]}
        elif fault.kind == "error":
            status = ERRORS.get(fault.code, (400, ""))[0]
            answer = {"code": fault.code, "msg": fault.msg}
        elif fault.kind == "broken_json":
            return status, answer, raw[: max(1, len(raw) // 2)]
        else:
            return status, answer, raw
        return status, answer, json.dumps(answer).encode("utf-8")


def _quiet(*args: object, **kwargs: object) -> None:
    pass


_REASONS: Final = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                   405: "Method Not Allowed", 418: "I'm a teapot", 429: "Too Many Requests",
                   500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
                   504: "Gateway Timeout"}


def _api_error(code: int, *args: str) -> ApiError:
    status, msg = ERRORS[code]
    return ApiError(status, code, msg.format(*args) if args else msg)


def _pairs(text: str) -> list[tuple[str, str]]:
    pairs = []
    for part in text.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((unquote_plus(name), unquote_plus(value)))
    return pairs


def _params(query: str, body: str) -> dict[str, str]:
    """The request's parameters: a name twice in the query or twice in the body is -1101; in
    both, the query string's value is used (Binance's documented rule)."""
    merged: dict[str, str] = {}
    for text in (body, query):  # the query string last: its values win
        seen: set[str] = set()
        for name, value in _pairs(text):
            if name in seen:
                raise _api_error(-1101)
            seen.add(name)
            merged[name] = value
    return merged


def _signed_payload(query: str, body: str) -> tuple[str, str | None]:
    """Binance's signature payload: the query string concatenated without separator to the
    body, both as sent (percent-encoded), without the `signature` parameter; and the raw signature."""
    query_payload, query_signature = split_signature(query)
    body_payload, body_signature = split_signature(body)
    return query_payload + body_payload, query_signature if query_signature is not None else body_signature


def _check_permission(key: FakeKey, security: Security) -> None:
    needs = {"USER_DATA": "enableReading", "TRADE": "enableSpotAndMarginTrading",
             "WITHDRAW": "enableWithdrawals", "FUTURES": "enableFutures"}.get(security)
    if needs is None or key.permissions.get(needs):
        return
    if security == "WITHDRAW":
        raise _api_error(-1002)  # what Binance answers a withdrawal by a key that may not withdraw
    raise _api_error(-2015)


def _account(key: FakeKey, now_ms: int, omit_zero: bool = False) -> dict[str, Any]:
    trading = key.permissions.get("enableSpotAndMarginTrading", False)
    balances = [{"asset": asset, "free": f"{free:.8f}", "locked": f"{locked:.8f}"}
                for asset, (free, locked) in sorted(key.account.balances.items())
                if not (omit_zero and free == 0 and locked == 0)]
    return {
        "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0, "sellerCommission": 0,
        "commissionRates": {"maker": "0.00100000", "taker": "0.00100000", "buyer": "0.00000000",
                            "seller": "0.00000000"},
        "canTrade": trading, "canWithdraw": key.permissions.get("enableWithdrawals", False),
        "canDeposit": True, "brokered": False, "requireSelfTradePrevention": False,
        "preventSor": False, "updateTime": now_ms, "accountType": "SPOT",
        "balances": balances, "permissions": ["SPOT"], "uid": 354937868,
    }


def _futures_balance(key: FakeKey, now_ms: int) -> list[dict[str, Any]]:
    free = key.account.free("USDT")
    return [{"accountAlias": "fake", "asset": "USDT", "balance": f"{free:.8f}",
             "crossWalletBalance": f"{free:.8f}", "crossUnPnl": "0.00000000",
             "availableBalance": f"{free:.8f}", "maxWithdrawAmount": f"{free:.8f}",
             "marginAvailable": True, "updateTime": now_ms}]


def _public_key_type(pem: str) -> KeyType:
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    public = load_pem_public_key(pem.encode("ascii"))
    if isinstance(public, rsa.RSAPublicKey):
        return "rsa"
    if isinstance(public, ed25519.Ed25519PublicKey):
        return "ed25519"
    raise ValueError("public_key_pem must be an RSA or Ed25519 public key (Binance accepts no other)")


# -- the endpoints: security, weight and the parameters each one reads (Binance's docs) -------

_ORDER_PARAMS: Final = frozenset({
    "symbol", "side", "type", "timeInForce", "quantity", "quoteOrderQty", "price", "newClientOrderId",
    "strategyId", "strategyType", "stopPrice", "trailingDelta", "icebergQty", "newOrderRespType",
    "selfTradePreventionMode", "pegPriceType", "pegOffsetValue", "pegOffsetType"})


def _symbols_weight(single: int, every: int) -> Callable[[Mapping[str, str]], int]:
    return lambda params: single if "symbol" in params or "symbols" in params else every


def _e(security: Security, weight: int | Callable[[Mapping[str, str]], int], params: Iterable[str],
       handler: Handler) -> _Endpoint:
    return _Endpoint(security, weight, frozenset(params), handler)


_SERVER_TIME: Final = _e("NONE", 1, (), lambda fb, key, p: {"serverTime": fb.server_time_ms()})
_PING: Final = _e("NONE", 1, (), lambda fb, key, p: {})

_ROUTES: Final[Mapping[str, Mapping[str, _Endpoint]]] = {
    "/api/v3/time": {"GET": _SERVER_TIME},
    "/api/v1/time": {"GET": _SERVER_TIME},
    "/api/v3/ping": {"GET": _PING},
    "/api/v3/exchangeInfo": {"GET": _e("NONE", 20, (
        "symbol", "symbols", "permissions", "showPermissionSets", "symbolStatus"),
        lambda fb, key, p: fb.exchange.exchange_info(p))},
    "/api/v3/ticker/price": {"GET": _e("NONE", _symbols_weight(2, 4), ("symbol", "symbols", "symbolStatus"),
                                       lambda fb, key, p: fb.exchange.ticker_price(p))},
    "/api/v3/ticker/24hr": {"GET": _e("NONE", _symbols_weight(2, 80),
                                      ("symbol", "symbols", "type", "symbolStatus"),
                                      lambda fb, key, p: fb.exchange.ticker_24hr(p))},
    "/api/v3/depth": {"GET": _e("NONE", 5, ("symbol", "limit", "symbolStatus"),
                                lambda fb, key, p: fb.exchange.depth(p))},
    "/api/v3/klines": {"GET": _e("NONE", 2, ("symbol", "interval", "startTime", "endTime", "timeZone",
                                             "limit"),
                                 lambda fb, key, p: fb.exchange.klines(p))},
    "/api/v3/order/test": {"POST": _e("TRADE", 1, _ORDER_PARAMS | {"computeCommissionRates"},
                                      lambda fb, key, p: fb.exchange.new_order(_key(key).account, p,
                                                                               test=True))},
    "/api/v3/order": {
        "POST": _e("TRADE", 1, _ORDER_PARAMS, lambda fb, key, p: fb.exchange.new_order(_key(key).account, p)),
        "GET": _e("USER_DATA", 4, ("symbol", "orderId", "origClientOrderId"),
                  lambda fb, key, p: fb.exchange.find_order(_key(key).account, p).view()),
        "DELETE": _e("TRADE", 1, ("symbol", "orderId", "origClientOrderId", "newClientOrderId",
                                  "cancelRestrictions"),
                     lambda fb, key, p: fb.exchange.cancel(_key(key).account, p)),
    },
    "/api/v3/openOrders": {"GET": _e("USER_DATA", _symbols_weight(6, 80), ("symbol",),
                                     lambda fb, key, p: fb.exchange.open_orders(_key(key).account, p))},
    "/api/v3/allOrders": {"GET": _e("USER_DATA", 20, ("symbol", "orderId", "startTime", "endTime", "limit"),
                                    lambda fb, key, p: fb.exchange.all_orders(_key(key).account, p))},
    "/api/v3/myTrades": {"GET": _e("USER_DATA", 20, ("symbol", "orderId", "startTime", "endTime", "fromId",
                                                     "limit"),
                                   lambda fb, key, p: fb.exchange.my_trades(_key(key).account, p))},
    "/api/v3/account": {"GET": _e("USER_DATA", 20, ("omitZeroBalances",),
                                  lambda fb, key, p: _account(_key(key), fb.server_time_ms(),
                                                              p.get("omitZeroBalances") == "true"))},
    "/sapi/v1/account/apiRestrictions": {"GET": _e("KEY", 1, (),
                                                   lambda fb, key, p: _key(key).restrictions())},
    "/sapi/v1/capital/config/getall": {"GET": _e("USER_DATA", 10, (),
                                                 lambda fb, key, p: fb.exchange.coins(_key(key).account))},
    "/sapi/v1/capital/withdraw/apply": {"POST": _e("WITHDRAW", 900, (
        "coin", "withdrawOrderId", "network", "address", "addressTag", "amount", "transactionFeeFlag", "name",
        "walletType"), lambda fb, key, p: fb.exchange.withdraw(_key(key).account, p))},
    # what ccxt's load_markets asks for with credentials (margin pairs: this fake has none)
    "/sapi/v1/margin/allPairs": {"GET": _e("APIKEY", 1, ("symbol",), lambda fb, key, p: [])},
    "/sapi/v1/margin/isolated/allPairs": {"GET": _e("USER_DATA", 10, ("symbol",), lambda fb, key, p: [])},
    # USDⓈ-M futures, enough for binance-futures-connector's UMFutures to connect and read a balance
    "/fapi/v1/time": {"GET": _SERVER_TIME},
    "/fapi/v1/ping": {"GET": _PING},
    "/fapi/v2/balance": {"GET": _e("FUTURES", 5, (), lambda fb, key, p: _futures_balance(_key(key),
                                                                                         fb.server_time_ms()))},
    "/fapi/v3/balance": {"GET": _e("FUTURES", 5, (), lambda fb, key, p: _futures_balance(_key(key),
                                                                                         fb.server_time_ms()))},
}


def _key(key: FakeKey | None) -> FakeKey:
    if key is None:  # pragma: no cover: signed endpoints always have a key
        raise _api_error(-2015)
    return key
