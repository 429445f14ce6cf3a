"""A small signing client for the few Binance REST endpoints the runtime guard needs.

Safety first: HTTPS only, certificate verification always on (a CA bundle you give, else
`REQUESTS_CA_BUNDLE`, else the system/certifi store), a timeout on every request and one
time budget for the whole call, so a bot's start-up never hangs. Every failure is a
`BinanceAPIError` subclass whose message says what happened and what to do.

`requests` is imported here, so import this module lazily (the guard does).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from bkm_guard import hosts
from bkm_guard.errors import (
    BinanceAPIError,
    BinanceAuthError,
    BinanceClockError,
    BinanceRateLimitError,
    BinanceUnavailableError,
    InsecureEndpointError,
)
from bkm_guard.masking import mask
from bkm_guard.runtime import http_budget
from bkm_guard.runtime.secret_windows import WindowMasker
from bkm_guard.runtime.signing import Signer

log = logging.getLogger(__name__)

DEFAULT_BASE_URL: Final = hosts.DEFAULT_REST_URL
DEFAULT_RECV_WINDOW_MS: Final = 5000
MAX_RECV_WINDOW_MS: Final = 60000
#: connection errors and 5xx: at most this many retries, with backoff 0.25 s, 0.5 s, 1 s
MAX_RETRIES: Final = 3
#: 429/418: at most this many waits for Retry-After before giving up
MAX_RATE_LIMIT_WAITS: Final = 2
_BACKOFF_BASE_S: Final = 0.25
_MAX_MESSAGE_CHARS: Final = 200

TIME_PATH: Final = "/api/v3/time"
API_RESTRICTIONS_PATH: Final = "/sapi/v1/account/apiRestrictions"
ACCOUNT_PATH: Final = "/api/v3/account"

#: Binance error codes that mean "this key or its signature is not accepted", with what to do.
AUTH_ERRORS: Final[Mapping[int, str]] = {
    -2015: "Binance rejected the key (-2015): wrong key, this IP is not whitelisted, or the "
           "permission is missing; check the key's IP list and permissions on Binance's API Management page",
    -2014: "Binance rejected the API key's format (-2014): the stored API key is not the one Binance "
           "issued; store the right one with `bkm-guard keys rotate NAME`",
    -1022: "Binance rejected the request signature (-1022): the stored secret or private key does not "
           "belong to this API key, or the key type is wrong; store the right pair with "
           "`bkm-guard keys rotate NAME`",
    -1002: "Binance says this key is not authorized for the request (-1002): enable 'reading' for the "
           "key on Binance's API Management page, or use a key that has it",
}
_TIMESTAMP_ERROR: Final = -1021


def check_base_url(base_url: str, *, trust_host: bool = False) -> str:
    """The base URL without a trailing slash, or `InsecureEndpointError`.

    Binance hosts are always accepted over HTTPS; loopback hosts too (the local fake
    Binance of `bkm_guard.testing`). Any other host receives the API key and signed requests,
    so it is refused unless the caller passes `trust_host=True` on purpose (a proxy you run).
    """
    url = base_url.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        _ = parts.port  # a malformed port raises here
    except ValueError:
        raise InsecureEndpointError(
            f"base URL {url!r} is not a valid URL: use e.g. {DEFAULT_BASE_URL}") from None
    if parts.scheme.lower() != "https":
        raise InsecureEndpointError(
            f"base URL {url!r} is not HTTPS: Binance API keys travel only over TLS; use "
            f"{hosts.secure_url(url) if parts.scheme.lower() == 'http' else DEFAULT_BASE_URL}")
    # urlsplit drops tabs and newlines that urllib3 keeps: any whitespace or control character
    # is refused rather than read two ways
    if (not host or parts.username or parts.password or parts.query or parts.fragment
            or not hosts.is_plain_netloc(parts.netloc)
            or any(ch.isspace() or not ch.isprintable() for ch in url)):
        raise InsecureEndpointError(
            f"base URL {url!r} must be a plain https://host[:port][/path], e.g. {DEFAULT_BASE_URL}")
    if not (hosts.is_binance_host(host) or _is_loopback(host) or trust_host):
        raise InsecureEndpointError(
            f"base URL host {host!r} is not a Binance host: the API key would be sent to it; "
            "use a Binance host (api.binance.com, api.binance.us, testnet.binance.vision, ...) "
            "or pass trust_host=True for a proxy you run")
    return url


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Response:
    """A decoded JSON answer with the facts a caller may want to log (never a secret)."""

    status: int
    data: Any
    path: str
    attempts: int
    time_offset_ms: int


class BinanceClient:
    """Signed GET requests against one Binance REST host with one key.

    `timeout` is the whole budget of one call in seconds: retries, Retry-After waits and a
    clock resynchronisation all fit inside it; each HTTP request gets what is left of it.
    """

    def __init__(self, api_key: str, signer: Signer | None = None, *, base_url: str | None = None,
                 ca_bundle: str | None = None, timeout: float = 10.0,
                 recv_window_ms: int = DEFAULT_RECV_WINDOW_MS, trust_host: bool = False,
                 session: requests.Session | None = None,
                 sensitive: Iterable[str | None] = (),
                 deadline: float | None = None,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if not 0 < recv_window_ms <= MAX_RECV_WINDOW_MS:
            raise ValueError(f"recv_window_ms must be 1..{MAX_RECV_WINDOW_MS} (Binance's maximum)")
        self.base_url = check_base_url(base_url or DEFAULT_BASE_URL, trust_host=trust_host)
        self.host = hosts.url_host(self.base_url)
        self._api_key = api_key
        self._signer = signer
        # a server message quoting any 16+ characters of these is masked before it is raised
        self._masker = WindowMasker([api_key, *sensitive, *(signer.secret_values() if signer else ())])
        # True lets requests take REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, else certifi; never False
        self._verify: str | bool = ca_bundle if ca_bundle else True
        self.timeout = float(timeout)
        # a caller's own deadline (time.monotonic()), when its budget started before this client
        self._fixed_deadline = deadline
        self.recv_window_ms = recv_window_ms
        self.time_offset_ms = 0
        self._session = session or requests.Session()
        self._own_session = session is None
        # every TLS socket to this host keeps the call's total deadline (http_budget)
        self._session.mount(f"{self.base_url}/" if session is not None else "https://",
                            http_budget.DeadlineAdapter(http_budget.tls_context(ca_bundle)))
        self._clock = clock
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"BinanceClient({self.base_url!r}, api_key={mask(self._api_key)!r})"

    def close(self) -> None:
        if self._own_session:
            self._session.close()

    def __enter__(self) -> BinanceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- endpoints -------------------------------------------------------------------------

    def server_time(self) -> int:
        """Binance's clock in milliseconds (`GET /api/v3/time`)."""
        return int(self._server_time(self._deadline()))

    def api_restrictions(self) -> dict[str, Any]:
        """The key's permissions (`GET /sapi/v1/account/apiRestrictions`, signed)."""
        data = self.signed_get(API_RESTRICTIONS_PATH).data
        if not isinstance(data, dict) or not ({"ipRestrict", "enableReading"} & data.keys()):
            raise BinanceAPIError(
                f"unexpected answer from {self.host}{API_RESTRICTIONS_PATH} (not an apiRestrictions "
                "object): check the base URL points at Binance's REST API")
        return data

    def account(self) -> dict[str, Any]:
        """The spot account (`GET /api/v3/account`, signed)."""
        data = self.signed_get(ACCOUNT_PATH, {"omitZeroBalances": "true"}).data
        if not isinstance(data, dict):
            raise BinanceAPIError(f"unexpected answer from {self.host}{ACCOUNT_PATH}: not a JSON object")
        return data

    # -- machinery -------------------------------------------------------------------------

    def _deadline(self) -> float:
        own = time.monotonic() + self.timeout
        return own if self._fixed_deadline is None else min(own, self._fixed_deadline)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000) + self.time_offset_ms

    def signed_get(self, path: str, params: Mapping[str, object] | None = None) -> Response:
        """A signed GET: timestamp and recvWindow added, `-1021` fixed once by resyncing the clock."""
        if self._signer is None:
            raise BinanceAuthError("a signed request needs the key's secret or private key")
        deadline = self._deadline()
        resynced = False
        while True:
            query = self._signer.sign([*(params or {}).items(),
                                       ("recvWindow", self.recv_window_ms),
                                       ("timestamp", self._now_ms())])
            try:
                return self._request(path, query, deadline, signed=True)
            except _TimestampRejected as exc:
                if resynced:
                    raise BinanceClockError(
                        f"Binance rejected the timestamp again after correcting the clock offset "
                        f"({self.time_offset_ms} ms): {exc}; sync this machine's clock (NTP)") from None
                self._resync(deadline)
                resynced = True

    def _resync(self, deadline: float) -> None:
        before = self._clock()
        server_ms = self._server_time(deadline)
        after = self._clock()
        # the server read its clock about half-way through the round trip
        self.time_offset_ms = int(server_ms - (before + after) / 2 * 1000)
        log.info("Binance clock offset corrected to %d ms (%s)", self.time_offset_ms, self.host)

    def _server_time(self, deadline: float) -> int:
        data = self._request(TIME_PATH, "", deadline, signed=False).data
        if not isinstance(data, dict) or not isinstance(data.get("serverTime"), int):
            raise BinanceUnavailableError(
                f"unexpected answer from {self.host}{TIME_PATH}: no serverTime; check the base URL")
        return int(data["serverTime"])

    def _request(self, path: str, query: str, deadline: float, *, signed: bool) -> Response:
        url = f"{self.base_url}{path}" + (f"?{query}" if query else "")
        # identity: a compressed body could expand a thousandfold past the size cap
        headers = {"Accept": "application/json", "Accept-Encoding": "identity",
                   "User-Agent": "bkm-guard"}
        if signed:
            headers["X-MBX-APIKEY"] = self._api_key
        failures = 0
        waits = 0
        attempts = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._out_of_time(path)
            attempts += 1
            try:
                with http_budget.deadline(deadline):
                    reply = self._session.get(url, headers=headers, timeout=(remaining, remaining),
                                              verify=self._verify, allow_redirects=False,
                                              stream=True)
                    try:
                        body = http_budget.read_capped(reply)
                    finally:
                        reply.close()  # never drains: an endless body is dropped, not read
            except http_budget.BodyTooLarge as exc:
                size = (f"announced {exc.declared} bytes" if exc.read == 0
                        else f"sent more than {http_budget.MAX_BODY_BYTES} bytes")
                raise BinanceUnavailableError(
                    f"{self.host} {size} on {path}, past the {http_budget.MAX_BODY_BYTES // 1024} kB "
                    "an answer of these endpoints may have: refused unread; check the base URL "
                    "points at Binance's REST API") from None
            except http_budget.READ_ERRORS as exc:
                if time.monotonic() >= deadline or _is_timeout(exc):
                    raise self._out_of_time(path) from None
                if _is_cert_error(exc):
                    raise BinanceUnavailableError(
                        f"TLS certificate verification failed for {self.host}: give the right CA "
                        "bundle (ca_bundle= / --ca-bundle / REQUESTS_CA_BUNDLE); verification is "
                        "never turned off") from None
                if isinstance(exc, requests.exceptions.SSLError):
                    raise BinanceUnavailableError(
                        f"the TLS handshake with {self.host} failed: something that does not speak "
                        "TLS properly answers there; check the base URL and any proxy") from None
                failures += 1
                reason = f"connection failed ({type(exc).__name__})"
                if self._backoff(failures, deadline):
                    log.info("%s to %s, retrying (%d/%d)", reason, self.host, failures, MAX_RETRIES)
                    continue
                raise BinanceUnavailableError(
                    f"cannot reach {self.host}: {reason} after {attempts} attempt(s); "
                    "check the network, DNS and proxy settings") from None
            status = reply.status_code
            if status in (429, 418):
                wait = _retry_after(reply)
                left = deadline - time.monotonic()
                kind = "rate limit hit (HTTP 429)" if status == 429 else "ban of this IP (HTTP 418)"
                if wait is not None and waits < MAX_RATE_LIMIT_WAITS and wait < left:
                    waits += 1
                    log.warning("Binance %s on %s: waiting %g s as Retry-After asks", kind, self.host, wait)
                    self._sleep(wait)
                    continue
                how_long = f"{wait:g} s" if wait is not None else "an unknown time (no Retry-After)"
                raise BinanceRateLimitError(
                    f"Binance {kind}: it asks to wait {how_long}, more than the {max(left, 0):.1f} s left "
                    f"of the {self.timeout:g} s budget; wait that long before starting again, and send "
                    "fewer requests from this IP")
            if status >= 500:
                failures += 1
                if self._backoff(failures, deadline):
                    log.info("Binance HTTP %d on %s, retrying (%d/%d)", status, self.host, failures,
                             MAX_RETRIES)
                    continue
                raise BinanceUnavailableError(
                    f"Binance answered HTTP {status} on {path} {failures} time(s): Binance is having "
                    "trouble; try again later (https://www.binance.com/en/support/announcement)")
            if 300 <= status < 400:
                raise BinanceUnavailableError(
                    f"{self.host} answered a redirect (HTTP {status}) on {path}: not followed, as it "
                    "would resend the API key; check the base URL")
            data = self._decode(body, status, path)
            if status >= 400 or (isinstance(data, dict) and _is_error(data)):
                self._raise_api_error(status, data, path, signed=signed)
            return Response(status, data, path, attempts, self.time_offset_ms)

    def _out_of_time(self, path: str) -> BinanceUnavailableError:
        return BinanceUnavailableError(
            f"{self.host} did not answer within the {self.timeout:g} s budget ({path}): check the "
            "network or raise the timeout")

    def _backoff(self, failures: int, deadline: float) -> bool:
        """Sleep before retry number `failures`, if retries and the budget allow it."""
        if failures > MAX_RETRIES:
            return False
        delay = _BACKOFF_BASE_S * 2 ** (failures - 1)
        if time.monotonic() + delay >= deadline:
            return False
        self._sleep(delay)
        return True

    def _decode(self, body: bytes, status: int, path: str) -> Any:
        try:
            return json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: [[[[...]]]]
            raise BinanceUnavailableError(
                f"{self.host} answered HTTP {status} on {path} with invalid or truncated JSON "
                f"({len(body)} bytes): a proxy or a broken connection is in the way; "
                "try again, and check the base URL") from None

    def _raise_api_error(self, status: int, data: Any, path: str, *, signed: bool) -> None:
        code = data.get("code") if isinstance(data, dict) else None
        msg = self._clean(data.get("msg", "") if isinstance(data, dict) else "")
        if code == _TIMESTAMP_ERROR:
            if signed:  # signed_get resyncs once; this class never leaves the module
                raise _TimestampRejected(f"-1021 {msg}")
            raise BinanceClockError(f"Binance answered -1021 on {path}, which takes no timestamp "
                                    f"[Binance: {msg}]: check the base URL points at Binance")
        if isinstance(code, int) and code in AUTH_ERRORS:
            raise BinanceAuthError(f"{AUTH_ERRORS[code]} [Binance: {msg}]")
        if status in {401, 403}:
            raise BinanceAuthError(
                f"Binance refused the request (HTTP {status}, {code}: {msg}) on {path}: check the key, "
                "its IP whitelist and permissions on Binance's API Management page")
        raise BinanceAPIError(f"Binance answered HTTP {status}, error {code}: {msg} ({path})")

    def _clean(self, text: object) -> str:
        """A server message fit for an exception: one line, short, and never our API key."""
        # masked before it is cut, so a cut cannot leave a piece too short to recognise
        line = self._masker.mask(" ".join(str(text).split()))
        if self._api_key:
            line = line.replace(self._api_key, mask(self._api_key))
        return line[:_MAX_MESSAGE_CHARS]


class _TimestampRejected(BinanceAPIError):
    """-1021: the request's timestamp fell outside recvWindow (internal: triggers a resync)."""


def _is_error(data: Mapping[str, Any]) -> bool:
    code = data.get("code")
    return isinstance(code, int) and code < 0 and "msg" in data


def _is_timeout(exc: BaseException) -> bool:
    """A timeout anywhere in the exception's chain (requests and urllib3 wrap them)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, (TimeoutError, requests.exceptions.Timeout,
                             urllib3.exceptions.TimeoutError)):
            return True
        seen = seen.__cause__ or seen.__context__ or (
            seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None)
    return False


def _is_cert_error(exc: BaseException) -> bool:
    return "CERTIFICATE_VERIFY_FAILED" in str(exc) or "certificate verify failed" in str(exc)


def _retry_after(reply: requests.Response) -> float | None:
    value = reply.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
