"""One total deadline and a size cap for HTTPS calls made with requests.

requests' `timeout` bounds each socket read, so a server that trickles one byte a second
keeps a call alive for ever. Here every TLS socket of the client's session is a
`_DeadlineSocket`: before each handshake, send and receive it sets the socket's timeout to
what is left of the deadline of the call in progress (a context variable), so connect, TLS,
headers and body together end by the deadline, whatever the server does. Bodies are read in
chunks and refused past a cap, never read whole.

`requests` and `urllib3` are imported here: import this module lazily.
"""

from __future__ import annotations

import contextlib
import contextvars
import http.client
import os
import socket
import ssl
import time
from collections.abc import Iterator
from typing import Any, Final

import requests
import requests.adapters
import urllib3.exceptions

#: a body past this many bytes is refused: apiRestrictions and account answers are a few kB
MAX_BODY_BYTES: Final = 256 * 1024
#: read size; memory held for a body never exceeds MAX_BODY_BYTES + CHUNK_BYTES
CHUNK_BYTES: Final = 16 * 1024

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("bkm_guard_deadline",
                                                                        default=None)


class DeadlineExceeded(socket.timeout):
    """The call's total budget ran out (raised from inside a socket operation)."""


class BodyTooLarge(Exception):
    """The answer is larger than the cap; `read` is how much was read before refusing."""

    def __init__(self, read: int, declared: int | None) -> None:
        super().__init__(f"body over {MAX_BODY_BYTES} bytes")
        self.read, self.declared = read, declared


class _DeadlineSocket(ssl.SSLSocket):
    """An SSLSocket whose every blocking operation ends by the current call's deadline."""

    def _budget(self) -> None:
        deadline = _DEADLINE.get()
        if deadline is None:
            return
        left = deadline - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded("the call's time budget is spent")
        self.settimeout(left)

    def do_handshake(self, *args: Any, **kwargs: Any) -> None:
        self._budget()  # CPython's handshake keeps one deadline across its reads
        super().do_handshake(*args, **kwargs)

    def recv(self, *args: Any, **kwargs: Any) -> bytes:
        self._budget()
        return super().recv(*args, **kwargs)

    def recv_into(self, *args: Any, **kwargs: Any) -> int:
        self._budget()
        return super().recv_into(*args, **kwargs)

    def read(self, *args: Any, **kwargs: Any) -> Any:
        self._budget()
        return super().read(*args, **kwargs)

    def send(self, *args: Any, **kwargs: Any) -> int:
        self._budget()
        return super().send(*args, **kwargs)

    def sendall(self, *args: Any, **kwargs: Any) -> None:
        self._budget()
        super().sendall(*args, **kwargs)


def tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    """Verifying context (the CA bundle given, else REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE, else
    certifi's) whose sockets honour the deadline. Verification is never turned off."""
    where = ca_bundle or os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if not where:
        import certifi

        where = certifi.where()
    if os.path.isdir(where):
        context = ssl.create_default_context(capath=where)
    else:
        context = ssl.create_default_context(cafile=where)
    context.sslsocket_class = _DeadlineSocket
    return context


class DeadlineAdapter(requests.adapters.HTTPAdapter):
    """An HTTPS adapter whose connections use `tls_context`."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__(max_retries=0)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False,
                         **pool_kwargs: Any) -> None:
        pool_kwargs["ssl_context"] = self._context
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        # through an HTTPS_PROXY tunnel too, the TLS session with Binance keeps the deadline
        proxy_kwargs.setdefault("ssl_context", self._context)
        return super().proxy_manager_for(proxy, **proxy_kwargs)


@contextlib.contextmanager
def deadline(at: float) -> Iterator[None]:
    """Every socket operation of the TLS sockets above ends by monotonic time `at`."""
    token = _DEADLINE.set(at)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


#: what reading a body can raise when the server misbehaves or the budget runs out
READ_ERRORS: Final = (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError,
                      requests.exceptions.RequestException)


def read_capped(reply: requests.Response, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body, or BodyTooLarge once more than `limit` bytes arrive (or are announced).

    Content-Encoding is not decoded: we ask for identity, and a compressed answer could
    expand a thousandfold inside one read.
    """
    declared_text = reply.headers.get("Content-Length", "").strip()
    declared = int(declared_text) if declared_text.isdigit() else None
    if declared is not None and declared > limit:
        raise BodyTooLarge(0, declared)
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = reply.raw.read(CHUNK_BYTES, decode_content=False)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:
            raise BodyTooLarge(total, declared)
        chunks.append(chunk)
