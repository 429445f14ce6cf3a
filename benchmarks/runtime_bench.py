"""What the runtime guard costs a bot at start-up.

    python benchmarks/runtime_bench.py [ROUNDS]

1. `import bkm_guard` in a fresh interpreter (target: under 50 ms), and which heavy modules
   it pulled in (none of requests, cryptography, libcst may load at import);
2. `bkm_guard.load(name, check="offline")`: permissions, decryption, age; with the store's
   default KDF (what users get: the KDF dominates) and with the cheapest KDF (the guard's own cost);
3. `bkm_guard.load(name)` live against the local fake Binance over TLS (loopback, no internet);
4. `load(name, timeout=3)` against a hostile TLS server that trickles its headers one byte a
   second: how long the one total deadline takes to refuse (target: under timeout + 0.5 s).
"""

from __future__ import annotations

import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

HEAVY = ("requests", "cryptography", "libcst", "urllib3", "trustme")
IMPORT_SNIPPET = (
    "import time, sys; t = time.perf_counter(); import bkm_guard; "
    "print(time.perf_counter() - t); "
    f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
)


def import_time(rounds: int) -> tuple[float, float, str]:
    samples: list[float] = []
    heavy = ""
    for _ in range(rounds):
        out = subprocess.run([sys.executable, "-c", IMPORT_SNIPPET], capture_output=True, text=True,
                             check=True).stdout.split("\n")
        samples.append(float(out[0]))
        heavy = out[1]
    return statistics.median(samples), min(samples), heavy


def timed(func: Callable[[], object], rounds: int) -> tuple[float, float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), min(samples)


def trickling_server(
        stop: threading.Event) -> tuple[str, str, socket.socket, tempfile.TemporaryDirectory[str]]:
    """A TLS server on 127.0.0.1 that answers every request with one header byte a second."""
    import trustme

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_dir = tempfile.TemporaryDirectory()
    ca_path = os.path.join(ca_dir.name, "ca.pem")
    ca.cert_pem.write_to_path(ca_path)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)

    def serve(raw: socket.socket) -> None:
        try:
            with context.wrap_socket(raw, server_side=True) as conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                while not stop.wait(1.0):
                    conn.sendall(b"x")
        except OSError:
            pass

    def accept() -> None:
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=serve, args=(raw,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return f"https://127.0.0.1:{listener.getsockname()[1]}", ca_path, listener, ca_dir


def main(argv: list[str]) -> int:
    rounds = int(argv[0]) if argv else 10
    median, best, heavy = import_time(rounds)
    print(f"import bkm_guard (fresh interpreter, {rounds} runs): median {median * 1000:.1f} ms, "
          f"best {best * 1000:.1f} ms; heavy modules loaded: {heavy or 'none'}")

    import bkm_guard
    from bkm_guard.runtime import redact
    from bkm_guard.runtime.store import KdfParams, KeyStore, StaticPassphrase
    from bkm_guard.testing import FakeBinance, new_api_key, new_hmac_secret

    passphrase = "benchmark passphrase"  # noqa: S105 - a throw-away store
    with tempfile.TemporaryDirectory() as tmp, FakeBinance() as fb:
        results = {}
        for label, kdf in (("default KDF", KdfParams.default()), ("cheapest KDF", KdfParams.cheap())):
            store = KeyStore(Path(tmp) / label.replace(" ", "-"),
                             passphrase_source=StaticPassphrase(passphrase), kdf_params=kdf)
            store.init()
            api_key, secret = new_api_key(), new_hmac_secret()
            store.add("bench-bot", purpose="spot-trading", api_key=api_key, api_secret=secret)
            fb.add_key(api_key, secret, permissions={"enableSpotAndMarginTrading": True},
                       ip_restrict=True)

            def offline(store: KeyStore = store) -> object:
                return bkm_guard.load("bench-bot", store=store, check="offline")

            def live(store: KeyStore = store) -> object:
                return bkm_guard.load("bench-bot", store=store, base_url=fb.base_url,
                                      ca_bundle=fb.ca_path)

            live()  # warm: imports requests, cryptography, opens the CA file
            results[label] = (timed(offline, rounds), timed(live, rounds))
        stop = threading.Event()
        url, ca_path, listener, ca_dir = trickling_server(stop)
        start = time.perf_counter()
        try:
            bkm_guard.load("bench-bot", store=store, base_url=url, ca_bundle=ca_path, timeout=3)
            refused = "NOT refused"
        except bkm_guard.GuardError as exc:
            refused = type(exc).__name__
        trickle = time.perf_counter() - start
        stop.set()
        listener.close()
        ca_dir.cleanup()
        redact.uninstall()
    for label, ((off_med, off_best), (live_med, live_best)) in results.items():
        print(f"load() offline, {label}: median {off_med * 1000:.1f} ms, best {off_best * 1000:.1f} ms")
        print(f"load() live (local fake Binance, TLS), {label}: median {live_med * 1000:.1f} ms, "
              f"best {live_best * 1000:.1f} ms")
    print(f"load(timeout=3) against a server trickling its headers 1 byte/s (cheapest KDF): "
          f"{refused} after {trickle:.2f} s")
    print(f"(python {sys.version.split()[0]}, {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
