"""Bounds under the runtime's signed client: a request budget, a rate, and a host allow-list.

The verifier hands `BinanceClient` a `BoundedSession`; every HTTP request the client makes
(retries and clock resyncs included) passes `Budget.take` first. When the budget is spent,
the deadline would pass while waiting for the rate, or a URL is not one of the planned
HTTPS hosts, the session raises a `Stop`, which is not a `requests` exception: the client
does not retry it, and it reaches the verifier as it is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import requests

from bkm_guard import hosts
from bkm_guard.verify.options import DEFAULT_MAX_REQUESTS, DEFAULT_RATE


class Stop(Exception):
    """Verification must not send this request; the message says why (no secret in it)."""


class BudgetSpent(Stop):
    """The run's request budget is used up."""


class DeadlineReached(Stop):
    """The key's time budget would run out before the rate allows the next request."""


class HostRefused(Stop):
    """A URL that is not HTTPS on one of the planned hosts."""


class Budget:
    """At most `max_requests` HTTP requests, at most `rate` a second, for one verification run."""

    def __init__(
        self,
        max_requests: int = DEFAULT_MAX_REQUESTS,
        rate: float = DEFAULT_RATE,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_requests < 0:
            raise ValueError("the request budget cannot be negative")
        if rate <= 0:
            raise ValueError("the rate must be positive")
        self.max_requests = max_requests
        self.rate = rate
        self.used = 0
        self._clock = clock
        self._sleep = sleep
        self._next_at = 0.0
        self._lock = threading.Lock()

    @property
    def left(self) -> int:
        return self.max_requests - self.used

    def take(self, timeout: float | None) -> None:
        """Count one request, after waiting for the rate; `Stop` when it must not be sent."""
        with self._lock:
            if self.used >= self.max_requests:
                raise BudgetSpent(f"the request budget of {self.max_requests} is used up (--max-requests)")
            wait = self._next_at - self._clock()
            if wait > 0:
                if timeout is not None and wait >= timeout:
                    raise DeadlineReached(
                        f"the rate of {self.rate:g} request(s) per second leaves no time before the deadline"
                    )
                self._sleep(wait)
            self.used += 1
            self._next_at = self._clock() + 1.0 / self.rate


class BoundedSession(requests.Session):
    """A `requests.Session` that sends only to `origins` (https://host:port), within `budget`."""

    def __init__(self, budget: Budget, origins: Iterable[str]) -> None:
        super().__init__()
        self.budget = budget
        self.origins = frozenset(origin.lower() for origin in origins)
        self.trust_env = True  # proxies and REQUESTS_CA_BUNDLE as for the runtime's client

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        text = url.decode("ascii", "replace") if isinstance(url, bytes) else str(url)
        if origin_of(text) not in self.origins:
            shown = text.split("?", 1)[0][:120]  # never the query: it carries the signature
            raise HostRefused(f"verification sends requests only to the planned HTTPS hosts, not {shown!r}")
        timeout = kwargs.get("timeout")
        if isinstance(timeout, tuple):  # (connect, read): the connect part comes first
            timeout = timeout[0]
        self.budget.take(timeout if isinstance(timeout, (int, float)) else None)
        return super().request(method, url, *args, **kwargs)


def origin_of(url: str) -> str:
    """`https://host:port` (port always written), '' for anything that is not HTTPS."""
    try:
        parts = urlsplit(url)
        port = parts.port or 443
    except ValueError:
        return ""
    if parts.scheme.lower() != "https" or not parts.hostname or not hosts.is_plain_netloc(parts.netloc):
        return ""  # `evil.example\\.binance.com`: urllib3 would send it to another host
    return f"https://{parts.hostname.lower()}:{port}"
