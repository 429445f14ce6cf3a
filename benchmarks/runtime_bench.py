"""What the runtime guard costs a bot at start-up.

    python benchmarks/runtime_bench.py [ROUNDS]

1. `import bkm_guard` in a fresh interpreter (target: under 50 ms), and which heavy modules
   it pulled in (none of requests, cryptography, libcst may load at import);
2. `bkm_guard.load(name, check="offline")`: permissions, decryption, age; with the store's
   default KDF (what users get: the KDF dominates) and with the cheapest KDF (the guard's own cost);
3. `bkm_guard.load(name)` live against the local fake Binance over TLS (loopback, no internet).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
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


def main(argv: list[str]) -> int:
    rounds = int(argv[0]) if argv else 10
    median, best, heavy = import_time(rounds)
    print(f"import bkm_guard (fresh interpreter, {rounds} runs): median {median * 1000:.1f} ms, "
          f"best {best * 1000:.1f} ms; heavy modules loaded: {heavy or 'none'}")

    import bkm_guard
    from bkm_guard import redact
    from bkm_guard.store import KdfParams, KeyStore, StaticPassphrase
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
        redact.uninstall()
    for label, ((off_med, off_best), (live_med, live_best)) in results.items():
        print(f"load() offline, {label}: median {off_med * 1000:.1f} ms, best {off_best * 1000:.1f} ms")
        print(f"load() live (local fake Binance, TLS), {label}: median {live_med * 1000:.1f} ms, "
              f"best {live_best * 1000:.1f} ms")
    print(f"(python {sys.version.split()[0]}, {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
