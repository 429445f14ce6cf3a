"""A local fake Binance REST server over real TLS, for tests of bots and of bkm-guard itself.

    from bkm_guard.testing import FakeBinance

    with FakeBinance() as fb:
        fb.add_key(api_key, secret, permissions={"enableSpotAndMarginTrading": True}, ip_restrict=True)
        creds = bkm_guard.load("spot-bot", base_url=fb.base_url, ca_bundle=fb.ca_path)

It listens on 127.0.0.1 with a certificate from a throw-away test CA (trustme), checks
the `X-MBX-APIKEY` header, the timestamp and recvWindow, and the HMAC, RSA or Ed25519
signature exactly as Binance documents, and answers `GET /api/v3/time`,
`GET /sapi/v1/account/apiRestrictions` and `GET /api/v3/account` from each key's settings,
with Binance's own error codes and messages. Faults on demand: `fb.fail_next(...)` and
`fb.clock_offset_ms`.
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import os
import re
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Mapping
from typing import Any, Final, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from bkm_guard.masking import mask
from bkm_guard.policy import NEW_KEY_DEFAULTS, PERMISSIONS
from bkm_guard.signing import KeyType, split_signature, verify_signature

FaultKind = Literal["429", "418", "5xx", "slow", "drop", "broken_json", "error"]
FAULT_KINDS: Final = ("429", "418", "5xx", "slow", "drop", "broken_json", "error")

DEFAULT_RECV_WINDOW_MS: Final = 5000
MAX_RECV_WINDOW_MS: Final = 60000
_API_KEY_RE: Final = re.compile(r"[A-Za-z0-9]{64}")

#: Binance's error answers: code -> (HTTP status, message), as the real API sends them.
ERRORS: Final[Mapping[int, tuple[int, str]]] = {
    -1001: (500, "Internal error; unable to process your request. Please try again."),
    -1002: (401, "You are not authorized to execute this request."),
    -1003: (429, "Too many requests; current limit of IP(127.0.0.1) request weight is 6000 per 1 "
                 "MINUTE. Please use WebSocket Streams for live updates to avoid polling the API."),
    -1021: (400, "Timestamp for this request is outside of the recvWindow."),
    -1022: (400, "Signature for this request is not valid."),
    -1102: (400, "Mandatory parameter '{}' was not sent, was empty/null, or malformed."),
    -1131: (400, "recvWindow must be less than 60000"),
    -2014: (401, "API-key format invalid."),
    -2015: (401, "Invalid API-key, IP, or permissions for action."),
}
_AHEAD_MSG: Final = "Timestamp for this request was 1000ms ahead of the server's time."


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

    def __repr__(self) -> str:
        return f"FakeKey({mask(self.api_key)!r}, {self.key_type})"

    def restrictions(self) -> dict[str, Any]:
        """The apiRestrictions answer, field for field as Binance sends it."""
        body: dict[str, Any] = {"ipRestrict": self.ip_restrict, "createTime": self.create_time}
        body.update({name: bool(self.permissions.get(name, False)) for name in PERMISSIONS})
        if self.trading_authority_expiration is not None:
            body["tradingAuthorityExpirationTime"] = self.trading_authority_expiration
        return body


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


class FakeBinance:
    """A local HTTPS Binance stand-in; start it with `with FakeBinance() as fb:` or `start()`."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._keys: dict[str, FakeKey] = {}
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._ca_dir: tempfile.TemporaryDirectory[str] | None = None
        #: milliseconds added to the server's clock: +5000 puts Binance 5 s ahead of you
        self.clock_offset_ms = 0
        #: every request answered so far, oldest first
        self.requests: list[Request] = []
        self.ca_path = ""
        self.base_url = ""

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> FakeBinance:
        if self._server is not None:
            return self
        import trustme  # the testing extra; imported only when a server starts

        ca = trustme.CA()
        cert = ca.issue_cert(self._host, "localhost")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        self._ca_dir = tempfile.TemporaryDirectory(prefix="bkm-fake-binance-")
        self.ca_path = os.path.join(self._ca_dir.name, "ca.pem")
        ca.cert_pem.write_to_path(self.ca_path)
        server = _Server((self._host, self._port), _Handler, fake=self, context=context)
        self._server = server
        self.base_url = f"https://{self._host}:{server.server_address[1]}"
        self._stop.clear()
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-binance", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # wakes slow answers
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
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

    # -- keys ------------------------------------------------------------------------------

    def add_key(self, api_key: str, secret: str | None = None, public_key_pem: str | None = None, *,
                permissions: Mapping[str, bool] | None = None, ip_restrict: bool = False,
                create_time: int | None = None,
                trading_authority_expiration: int | None = None) -> FakeKey:
        """Register a key: an HMAC `secret`, or the `public_key_pem` of an RSA/Ed25519 key.

        `permissions` uses Binance's field names; flags not named keep Binance's defaults for
        a new key (reading on, everything else off). Times are epoch milliseconds.
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
                      trading_authority_expiration=trading_authority_expiration)
        with self._lock:
            self._keys[api_key] = key
        return key

    def key(self, api_key: str) -> FakeKey:
        """The settings of a registered key, to change between requests."""
        return self._keys[api_key]

    def remove_key(self, api_key: str) -> None:
        with self._lock:
            self._keys.pop(api_key, None)

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
        """Back to a well-behaved server (no faults, true clock, empty request log); keys stay.

        Lets one server serve a whole test module or session: starting one costs a TLS CA."""
        with self._lock:
            self._faults.clear()
            self.requests.clear()
        self.clock_offset_ms = 0

    def server_time_ms(self) -> int:
        return int(time.time() * 1000) + self.clock_offset_ms

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

    def _record(self, path: str, api_key: str, status: int, body: Any) -> None:
        code = body.get("code") if isinstance(body, dict) and "msg" in body else None
        with self._lock:
            self.requests.append(Request(path, mask(api_key) if api_key else "", status, code))

    def _answer(self, method: str, path: str, query: str, api_key: str) -> tuple[int, Any]:
        if method != "GET":
            return 405, {"code": -1000, "msg": "Only GET is served by the fake Binance."}
        if path in ("/api/v3/time", "/api/v1/time"):
            return 200, {"serverTime": self.server_time_ms()}
        if path == "/api/v3/ping":
            return 200, {}
        if path not in ("/sapi/v1/account/apiRestrictions", "/api/v3/account"):
            return 404, {"code": -1000, "msg": f"Unknown path {path} on the fake Binance."}
        key, error = self._authenticate(query, api_key)
        if error is not None or key is None:
            return error or _error(-2015)
        if path == "/api/v3/account":
            if not key.permissions.get("enableReading"):
                return _error(-2015)
            return 200, _account(key, self.server_time_ms())
        return 200, key.restrictions()

    def _authenticate(self, query: str, api_key: str) -> tuple[FakeKey | None, tuple[int, Any] | None]:
        # the order Binance checks in: key format, mandatory parameters, key, time, signature
        if not _API_KEY_RE.fullmatch(api_key):
            return None, _error(-2014)
        params = dict(parse_qsl(query, keep_blank_values=True))
        for name in ("timestamp", "signature"):
            if not params.get(name):
                return None, _error(-1102, name)
        try:
            timestamp = int(params["timestamp"])
            recv_window = int(params.get("recvWindow", DEFAULT_RECV_WINDOW_MS))
        except ValueError:
            return None, _error(-1102, "timestamp")
        if not 0 < recv_window <= MAX_RECV_WINDOW_MS:
            return None, _error(-1131)
        with self._lock:
            key = self._keys.get(api_key)
        if key is None or not key.ip_allowed:
            return None, _error(-2015)
        server_time = self.server_time_ms()
        if timestamp >= server_time + 1000:
            return None, (400, {"code": -1021, "msg": _AHEAD_MSG})
        if server_time - timestamp > recv_window:
            return None, _error(-1021)
        payload, raw_signature = split_signature(query)
        if not verify_signature(key.key_type, payload, unquote(raw_signature or ""),
                                secret=key.secret, public_key_pem=key.public_key_pem):
            return None, _error(-1022)
        return key, None


def _error(code: int, arg: str = "") -> tuple[int, dict[str, Any]]:
    status, msg = ERRORS[code]
    return status, {"code": code, "msg": msg.format(arg) if arg else msg}


def _account(key: FakeKey, now_ms: int) -> dict[str, Any]:
    trading = key.permissions.get("enableSpotAndMarginTrading", False)
    return {
        "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0, "sellerCommission": 0,
        "commissionRates": {"maker": "0.00100000", "taker": "0.00100000", "buyer": "0.00000000",
                            "seller": "0.00000000"},
        "canTrade": trading, "canWithdraw": key.permissions.get("enableWithdrawals", False),
        "canDeposit": True, "brokered": False, "requireSelfTradePrevention": False,
        "preventSor": False, "updateTime": now_ms, "accountType": "SPOT",
        "balances": [{"asset": "USDT", "free": "1000.00000000", "locked": "0.00000000"}],
        "permissions": ["SPOT"], "uid": 354937868,
    }


def _public_key_type(pem: str) -> KeyType:
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    public = load_pem_public_key(pem.encode("ascii"))
    if isinstance(public, rsa.RSAPublicKey):
        return "rsa"
    if isinstance(public, ed25519.Ed25519PublicKey):
        return "ed25519"
    raise ValueError("public_key_pem must be an RSA or Ed25519 public key (Binance accepts no other)")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type[_Handler], *, fake: FakeBinance,
                 context: ssl.SSLContext) -> None:
        self.fake = fake
        self.context = context
        super().__init__(address, handler)

    def get_request(self) -> tuple[Any, Any]:
        sock, address = super().get_request()
        # headers and body go out in two writes: without this, Nagle plus the client's delayed
        # ACK add 40 ms to every answer
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # the TLS handshake runs on the handler's thread (do_handshake_on_connect at first read)
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up (timeouts, bad certificates) are normal in tests


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "fake-binance"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the query strings hold signatures, and tests read fb.requests instead

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        api_key = self.headers.get("X-MBX-APIKEY", "")
        fault = fake._take_fault(parts.path)
        extra_headers: dict[str, str] = {}
        if fault is not None:
            if fault.kind == "drop":
                fake._record(parts.path, api_key, 0, None)
                self.close_connection = True
                return
            if fault.kind == "slow" and fake._stop.wait(fault.delay):
                return
        status, body = fake._answer(method, parts.path, parts.query, api_key)
        raw = json.dumps(body, separators=(",", ":")).encode("utf-8")
        if fault is not None:
            if fault.kind in ("429", "418"):
                status = int(fault.kind)
                body = {"code": -1003, "msg": ERRORS[-1003][1] if status == 429 else
                        "Way too many requests; IP(127.0.0.1) banned until "
                        f"{fake.server_time_ms() + int((fault.retry_after or 60) * 1000)}. "
                        "Please use the websocket for live updates to avoid bans."}
                raw = json.dumps(body).encode("utf-8")
                if fault.retry_after is not None:
                    extra_headers["Retry-After"] = f"{fault.retry_after:g}"
            elif fault.kind == "5xx":
                status, body = fault.status, {"code": -1001, "msg": ERRORS[-1001][1]}
                raw = json.dumps(body).encode("utf-8")
            elif fault.kind == "error":
                status = ERRORS.get(fault.code, (400, ""))[0]
                body = {"code": fault.code, "msg": fault.msg}
                raw = json.dumps(body).encode("utf-8")
            elif fault.kind == "broken_json":
                raw = raw[: max(1, len(raw) // 2)]
        fake._record(parts.path, api_key, status, body)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in extra_headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)
        except OSError:
            pass  # the client gave up (timeout): nothing to answer
