"""A hostile HTTPS server on 127.0.0.1 for the runtime's fail-closed tests.

Each mode is one way a server (or whatever sits between the bot and Binance) can try to
hang the guard, blow up its memory or feed it a wrong answer. It counts the bytes it got
out, so a test can tell a refused-unread body from one that was read whole.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any, Literal

Mode = Literal["trickle_headers", "trickle_body", "stall_tls", "trickle_tls", "endless_chunked",
               "huge_declared", "huge_chunked_json", "json", "slowloris_retry"]


class HostileServer:
    """`with HostileServer("trickle_headers") as hs: load(..., base_url=hs.base_url, ...)`."""

    def __init__(self, mode: Mode, *, body: Any = None, status: int = 200,
                 interval: float = 1.0) -> None:
        self.mode, self.body, self.status, self.interval = mode, body, status, interval
        self.bytes_sent = 0
        self.connections = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> HostileServer:
        import trustme

        ca = trustme.CA()
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(self._context)
        self._dir = tempfile.TemporaryDirectory(prefix="bkm-hostile-")
        self.ca_path = os.path.join(self._dir.name, "ca.pem")
        ca.cert_pem.write_to_path(self.ca_path)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.base_url = f"https://127.0.0.1:{self._listener.getsockname()[1]}"
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()
        self._dir.cleanup()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            worker = threading.Thread(target=self._serve_quietly, args=(sock,), daemon=True)
            worker.start()
            self._threads.append(worker)

    def _serve_quietly(self, sock: socket.socket) -> None:
        try:
            self._serve(sock)
        except (OSError, ssl.SSLError):
            pass  # the client hung up: what a refusing client does
        finally:
            sock.close()

    def _send(self, conn: socket.socket | ssl.SSLSocket, data: bytes) -> None:
        conn.sendall(data)
        self.bytes_sent += len(data)

    def _trickle(self, conn: socket.socket | ssl.SSLSocket, data: Iterator[bytes]) -> None:
        for piece in data:
            if self._stop.wait(self.interval):
                return
            self._send(conn, piece)

    def _serve(self, raw: socket.socket) -> None:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.mode == "stall_tls":  # accept, then never answer the ClientHello
            self._stop.wait(60)
            return
        if self.mode == "trickle_tls":  # a TLS record header announcing 16 kB, then a byte a second
            self._send(raw, b"\x16\x03\x03\x40\x00")
            self._trickle(raw, (b"\x02" for _ in range(600)))
            return
        conn = self._context.wrap_socket(raw, server_side=True)
        conn.settimeout(10)
        request = b""
        while b"\r\n\r\n" not in request:
            got = conn.recv(4096)
            if not got:
                return
            request += got
        if self.mode == "trickle_headers":
            self._send(conn, b"HTTP/1.1 200 OK\r\n")
            self._trickle(conn, (b"X" if i % 50 else b"\r\nX-Slow: " for i in range(1, 600)))
        elif self.mode == "trickle_body":
            self._send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: 1000\r\n\r\n")
            self._trickle(conn, (b" " for _ in range(1000)))
        elif self.mode == "endless_chunked":
            self._send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n")
            chunk = b"[" * 65536
            frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
            while not self._stop.is_set():
                self._send(conn, frame)
        elif self.mode == "huge_declared":
            size = 100 * 1024 * 1024
            self._send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             + f"Content-Length: {size}\r\n\r\n".encode())
            self._send_json_stream(conn, size)
        elif self.mode == "huge_chunked_json":
            self._send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n")
            self._send_json_stream(conn, 100 * 1024 * 1024, chunked=True)
        else:  # "json": a fixed answer, for wrong-type and missing-field tests
            raw_body = json.dumps(self.body).encode()
            self._send(conn, f"HTTP/1.1 {self.status} X\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {len(raw_body)}\r\n\r\n".encode() + raw_body)
            time.sleep(0.05)

    def _send_json_stream(self, conn: ssl.SSLSocket, size: int, *, chunked: bool = False) -> None:
        """A valid 100 MB apiRestrictions answer: the flags, then a giant padding string."""
        head = b'{"ipRestrict":true,"enableReading":true,"enableSpotAndMarginTrading":true,"pad":"'
        pieces = [head]
        filler = b"a" * 65536
        sent = len(head)
        while sent < size - 2:
            pieces.append(filler[: min(len(filler), size - 2 - sent)])
            sent += len(pieces[-1])
        pieces.append(b'"}')
        for piece in pieces:
            if self._stop.is_set():
                return
            self._send(conn, f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece)
        if chunked:
            self._send(conn, b"0\r\n\r\n")
