"""Refuse, and record, every network connection or name lookup that would leave 127.0.0.1.

Installed around the client-library tests (and by `sitecustomize.py` in their subprocesses):
a client that tries to reach api.binance.com fails loudly instead of reaching the internet,
and the test then fails on the recorded attempt even if the client swallowed the error.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

ATTEMPTS: list[str] = []
_saved: dict[str, Any] = {}


class LeftLoopbackError(OSError):
    """A connection or DNS lookup for a host that is not the loopback interface."""


def _is_loopback(host: object) -> bool:
    if host is None:
        return True
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(name.split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(what: str, host: object) -> None:
    ATTEMPTS.append(f"{what} {host}")
    raise LeftLoopbackError(f"test guard: {what} {host!r} would leave 127.0.0.1")


def install() -> None:
    if _saved:
        return
    _saved.update(getaddrinfo=socket.getaddrinfo, connect=socket.socket.connect,
                  connect_ex=socket.socket.connect_ex)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_loopback(host):
            _refuse("getaddrinfo", host)
        return _saved["getaddrinfo"](host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            _refuse("connect", address[0])
        return _saved["connect"](self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            _refuse("connect", address[0])
        return _saved["connect_ex"](self, address)

    socket.getaddrinfo = getaddrinfo
    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]


def uninstall() -> None:
    if not _saved:
        return
    socket.getaddrinfo = _saved["getaddrinfo"]
    socket.socket.connect = _saved["connect"]  # type: ignore[method-assign]
    socket.socket.connect_ex = _saved["connect_ex"]  # type: ignore[method-assign]
    _saved.clear()
