"""How often the recognizer's randomness tests would miss a real key, and how fast it reads text.

    python benchmarks/recognizer_thresholds.py [N]

Generates N random 64-char base62 keys (as Binance issues them) and counts those that
`classify_value` does not call a key; then times `find_all` and `prefilter` on the
standard library's source text.
"""

from __future__ import annotations

import secrets
import string
import sys
import sysconfig
import time
from pathlib import Path

from bkm_guard import recognizer

BASE62 = string.ascii_letters + string.digits


def false_negative_rate(n: int) -> tuple[int, int]:
    missed_shape = missed_classes = 0
    for _ in range(n):
        key = "".join(secrets.choice(BASE62) for _ in range(64))
        if recognizer.classify_value(key) is not recognizer.Shape.KEY:
            mixed = any(c.isdigit() for c in key) and any(c.isupper() for c in key)
            if mixed and any(c.islower() for c in key):
                missed_shape += 1
            else:
                missed_classes += 1
    return missed_shape, missed_classes


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    start = time.perf_counter()
    missed_shape, missed_classes = false_negative_rate(n)
    print(f"random keys: {n:,}; missed by the randomness tests: {missed_shape} "
          f"({missed_shape / n:.1e}); missed for lacking upper/lower/digit: {missed_classes} "
          f"({missed_classes / n:.1e}); {time.perf_counter() - start:.1f} s")

    files = sorted(Path(sysconfig.get_paths()["stdlib"]).rglob("*.py"))
    blobs = [f.read_bytes() for f in files]
    size = sum(map(len, blobs))
    start = time.perf_counter()
    candidates = [b for b in blobs if recognizer.prefilter(b)]
    prefilter_s = time.perf_counter() - start
    start = time.perf_counter()
    matches = sum(len(recognizer.find_all(b.decode("utf-8", "replace"))) for b in candidates)
    find_s = time.perf_counter() - start
    print(f"stdlib: {len(files):,} .py files, {size / 1e6:.1f} MB; prefilter {prefilter_s:.2f} s "
          f"({size / 1e6 / prefilter_s:.0f} MB/s), {len(candidates)} files pass; "
          f"find_all on those {find_s:.2f} s, {matches} matches")


if __name__ == "__main__":
    main()
