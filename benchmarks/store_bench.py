"""Key store timings: unlock (KDF + decrypt) with the default parameters, and `list` over
1,000 keys (headers only, no passphrase). Run: python benchmarks/store_bench.py [--keys N]"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import string
import tempfile
import time
from pathlib import Path

from bkm_guard.masking import fingerprint, mask
from bkm_guard.runtime.policy import builtin_policy
from bkm_guard.runtime.store import KdfParams, KeyMetadata, KeyStore, fileformat
from bkm_guard.runtime.store.atomic import write_atomic
from bkm_guard.runtime.store.audit import utc_now

PASS = "benchmark passphrase"  # noqa: S105 (a throwaway store)
BASE62 = string.ascii_letters + string.digits


def _key() -> str:
    return "".join(secrets.choice(BASE62) for _ in range(64))


def _timed(func: object, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = KeyStore(Path(tmp) / "store", passphrase_source=PASS)  # default KDF
        store.init()
        store.add("bot", purpose="spot-trading", api_key=_key(), api_secret=_key())
        unlock = _timed(lambda: KeyStore(store.path, passphrase_source=PASS).get("bot"),
                        args.repeat)
        params = store.kdf_params
        print(f"KDF: {params.alg} memory={params.memory_kib} KiB iterations={params.iterations} "
              f"lanes={params.lanes}")
        print(f"unlock (get): median {statistics.median(unlock) * 1000:.0f} ms, "
              f"min {min(unlock) * 1000:.0f} ms over {args.repeat}")

        # fill with N keys: written directly (list reads headers only; the KDF does not matter)
        cheap = KdfParams.cheap()
        header = json.loads(json.dumps(fileformat.parse_header(
            store.key_path("bot").read_bytes())[0]))
        pid = header["passphrase_id"]
        for i in range(args.keys - 1):
            key = _key()
            meta = KeyMetadata(f"k{i:05d}", "market-data", builtin_policy("market-data"), "hmac",
                               mask(key), fingerprint(key), utc_now(), None, (), 1,
                               store.key_path(f"k{i:05d}"), pid)
            plain = json.dumps({"api_key": key, "api_secret": _key()}).encode()
            write_atomic(meta.path, fileformat.encrypt(meta.to_header(), plain, PASS, cheap))
        reader = KeyStore(store.path)
        listing = _timed(reader.list, args.repeat)
        print(f"list over {len(reader.list())} keys: median {statistics.median(listing) * 1000:.0f} "
              f"ms, min {min(listing) * 1000:.0f} ms")
        adding = _timed(lambda: store.add(f"new-{secrets.token_hex(3)}", purpose="market-data",
                                          api_key=_key(), api_secret=_key()), 3)
        print(f"add into {args.keys} keys (2 KDF runs + duplicate scan): median "
              f"{statistics.median(adding) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
