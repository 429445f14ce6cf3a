"""bkm-guard scan against detect-secrets, on the same inputs, in one process tree and one sitting.

    python benchmarks/scan_bench.py [--repeat N] [--commits N] [--skip-detect-secrets]

1. Full tree: a copy of this interpreter's standard library (sysconfig stdlib, without
   site-packages and __pycache__). `bkm-guard scan` vs `detect-secrets scan --all-files` with
   only the Binance plugin (plugins/binance.py) enabled. Wall time ratio and peak memory.
2. Hook: 10 staged Python files of typical size in a git repository. `bkm-guard scan
   --pre-commit FILES` vs `detect-secrets-hook` with the Binance plugin only.
3. History: a generated repository with N commits (default 5,000). `bkm-guard scan --history`:
   blobs/s and peak memory, also on the first fifth of the history (memory must not grow).

Peak memory is the largest sum of RSS over the command's whole process tree (workers and git
included), polled from /proc every 10 ms; "max single" is the largest one process reached
(getrusage of the children). Page cache is warmed before each measurement.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shutil
import string
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BKM = [sys.executable, "-m", "bkm_guard"]
PLUGIN = ROOT / "plugins" / "binance.py"
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


# --- measuring ------------------------------------------------------------------------------


def _tree_rss(root_pid: int) -> tuple[int, int]:
    """Sum of RSS (bytes) of a process and all its descendants, from /proc: (all, Python only)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, tuple[int, bool]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        name = stat[stat.find(b"(") + 1 : stat.rfind(b")")]
        fields = stat[stat.rfind(b")") + 2 :].split()
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = (int(fields[21]) * PAGE, name.startswith(b"python") or name.startswith(b"bkm-guard"))
    total = python = 0
    stack = [root_pid]
    while stack:
        pid = stack.pop()
        size, is_python = rss.get(pid, (0, False))
        total += size
        python += size if is_python else 0
        stack.extend(children.get(pid, []))
    return total, python


@dataclasses.dataclass
class Measured:
    wall: float
    peak_tree: int
    peak_python: int
    returncode: int
    stdout: str
    stderr: str


def measure(argv: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> Measured:
    peak = peak_python = 0
    done = threading.Event()
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def poll() -> None:
        nonlocal peak, peak_python
        while not done.is_set():
            total, python = _tree_rss(proc.pid)
            peak, peak_python = max(peak, total), max(peak_python, python)
            done.wait(0.01)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    done.set()
    poller.join()
    return Measured(wall, peak, peak_python, proc.returncode, out, err)


def best_of(n: int, argv: list[str], **kwargs: object) -> tuple[Measured, list[float]]:
    runs = [measure(argv, **kwargs) for _ in range(n)]  # type: ignore[arg-type]
    runs.sort(key=lambda m: m.wall)
    return runs[len(runs) // 2], [m.wall for m in runs]


def warm(path: Path) -> None:
    for dirpath, _, files in os.walk(path):
        for name in files:
            try:
                with open(os.path.join(dirpath, name), "rb") as handle:
                    while handle.read(1 << 20):
                        pass
            except OSError:
                pass


def mb(n: int) -> str:
    return f"{n / 1e6:.0f} MB"


def detect_secrets_args() -> list[str]:
    """Every built-in plugin disabled, the Binance plugin loaded."""
    listed = subprocess.run(
        [str(BIN / "detect-secrets"), "scan", "--list-all-plugins"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    args = ["--plugin", str(PLUGIN)]
    for name in listed:
        args += ["--disable-plugin", name]
    return args


# --- 1. full tree ---------------------------------------------------------------------------


def copy_stdlib(dest: Path) -> tuple[int, int]:
    src = Path(sysconfig.get_paths()["stdlib"])
    shutil.copytree(
        src, dest, symlinks=True, ignore=shutil.ignore_patterns("site-packages", "__pycache__", "*.pyc")
    )
    files = size = 0
    for dirpath, _, names in os.walk(dest):
        for name in names:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                files += 1
                size += os.path.getsize(path)
    return files, size


def bench_tree(work: Path, repeat: int, run_ds: bool) -> list[tuple[str, str]]:
    tree = work / "stdlib"
    files, size = copy_stdlib(tree)
    warm(tree)
    print(f"[tree] {files:,} files, {mb(size)} at {tree}", flush=True)
    bkm, walls = best_of(repeat, [*BKM, "scan", str(tree), "--format", "json", "--exit-zero", "--quiet"])
    doc = json.loads(bkm.stdout)
    print(
        f"[tree] bkm-guard: {bkm.wall:.2f} s (runs {', '.join(f'{w:.2f}' for w in walls)}), "
        f"peak {mb(bkm.peak_tree)}, {len(doc['findings'])} findings, summary {doc['summary']}",
        flush=True,
    )
    rows = [
        ("tree: files / size", f"{files:,} / {mb(size)}"),
        ("tree: bkm-guard scan wall", f"{bkm.wall:.2f} s"),
        ("tree: bkm-guard peak memory (process tree)", mb(bkm.peak_tree)),
    ]
    if run_ds:
        ds = measure(
            [str(BIN / "detect-secrets"), "scan", "--all-files", *detect_secrets_args(), "."], cwd=tree
        )
        found = (
            sum(len(v) for v in json.loads(ds.stdout or "{}").get("results", {}).values()) if ds.stdout else 0
        )
        print(
            f"[tree] detect-secrets (Binance plugin only): {ds.wall:.2f} s, peak {mb(ds.peak_tree)}, "
            f"{found} secrets, exit {ds.returncode}",
            flush=True,
        )
        rows += [
            ("tree: detect-secrets scan wall (Binance plugin only)", f"{ds.wall:.2f} s"),
            ("tree: detect-secrets peak memory", mb(ds.peak_tree)),
            ("tree: speed-up (target >= 20x)", f"{ds.wall / bkm.wall:.1f}x"),
        ]
    return rows


# --- 2. hook --------------------------------------------------------------------------------


def git(cwd: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@example.invalid",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@example.invalid",
    }
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env)


def bench_hook(work: Path, repeat: int, run_ds: bool) -> list[tuple[str, str]]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    candidates = sorted(p for p in stdlib.glob("*.py") if 4_000 <= p.stat().st_size <= 12_000)
    sources = random.Random(3).sample(candidates, 10)
    rows: list[tuple[str, str]] = []
    # typical bot code: one of the files builds a Binance client from the environment
    binance_tail = (
        "\nimport os\nfrom binance.client import Client\n"
        "client = Client(os.environ['BINANCE_API_KEY'], os.environ['BINANCE_API_SECRET'])\n"
    )
    for label, tail in (
        ("10 files, no Binance names", ""),
        ("10 files, one uses a Binance client", binance_tail),
    ):
        repo = work / ("hook-binance" if tail else "hook-plain")
        repo.mkdir()
        git(repo, "init", "-q")
        names = []
        for src in sources:
            shutil.copy(src, repo / src.name)
            names.append(src.name)
        (repo / names[0]).write_text((repo / names[0]).read_text() + tail)
        git(repo, "add", *names)
        size = sum((repo / n).stat().st_size for n in names)
        bkm, walls = best_of(repeat, [str(BIN / "bkm-guard"), "scan", "--pre-commit", *names], cwd=repo)
        staged, _ = best_of(repeat, [str(BIN / "bkm-guard"), "scan", "--staged"], cwd=repo)
        print(
            f"[hook] {label}, {size / 1e3:.0f} kB: bkm-guard --pre-commit {bkm.wall * 1000:.0f} ms "
            f"(runs {', '.join(f'{w * 1000:.0f}' for w in walls)}), --staged {staged.wall * 1000:.0f} ms, "
            f"exit {bkm.returncode}",
            flush=True,
        )
        rows += [
            (
                f"hook ({label}, {size / 1e3:.0f} kB): bkm-guard scan --pre-commit FILES",
                f"{bkm.wall * 1000:.0f} ms",
            ),
            (f"hook ({label}): bkm-guard scan --staged", f"{staged.wall * 1000:.0f} ms"),
        ]
        if run_ds:
            ds, ds_walls = best_of(
                repeat, [str(BIN / "detect-secrets-hook"), *detect_secrets_args(), *names], cwd=repo
            )
            print(
                f"[hook] {label}: detect-secrets-hook (Binance plugin only) {ds.wall * 1000:.0f} ms "
                f"(runs {', '.join(f'{w * 1000:.0f}' for w in ds_walls)}), exit {ds.returncode}",
                flush=True,
            )
            rows += [
                (f"hook ({label}): detect-secrets-hook, Binance plugin only", f"{ds.wall * 1000:.0f} ms"),
                (
                    f"hook ({label}): bkm-guard / detect-secrets-hook (target <= 1; < 0.3 s)",
                    f"{bkm.wall / ds.wall:.2f}",
                ),
            ]
    imp = measure([sys.executable, "-X", "importtime", "-c", "import bkm_guard.cli.scan"])
    heavy = sorted(
        {
            line.split("|")[-1].strip().split(".")[0]
            for line in imp.stderr.splitlines()
            if line.split("|")[-1].strip().split(".")[0] in ("libcst", "cryptography", "requests")
        }
    )
    rows.append(
        ("import bkm_guard.cli.scan pulls in libcst/cryptography/requests", ", ".join(heavy) or "none")
    )
    return rows


# --- 3. history -----------------------------------------------------------------------------


def make_history(repo: Path, commits: int) -> list[str]:
    """A repository of `commits` commits over 300 files (fast-import: seconds, not minutes)."""
    rng = random.Random(5)
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    words = ["price", "order", "symbol", "qty", "side", "time", "ema", "rsi", "fee", "pnl"]
    files = [f"pkg/m{i:03}.py" for i in range(300)]
    stream: list[bytes] = []
    marks: list[str] = []
    base62 = string.ascii_letters + string.digits
    for n in range(1, commits + 1):
        changes = rng.sample(files, 2)
        body = []
        for path in changes:
            lines = [
                f"{rng.choice(words)}_{j} = {rng.randint(0, 10**6)}  # {rng.choice(words)}"
                for j in range(rng.randint(40, 120))
            ]
            if n % 997 == 0:  # now and then someone commits a key
                key = "".join(rng.choice(base62) for _ in range(64))
                lines.append(f'API_KEY = "{key}"')
            data = ("\n".join(lines) + "\n").encode()
            body.append(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
        msg = f"commit {n}".encode()
        stamp = 1_600_000_000 + n * 600
        stream.append(
            f"commit refs/heads/main\nmark :{n}\nauthor b <b@example.invalid> {stamp} +0000\n"
            f"committer b <b@example.invalid> {stamp} +0000\ndata {len(msg)}\n".encode()
            + msg
            + b"\n"
        )
        stream.extend(body)
        marks.append(f":{n}")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=b"".join(stream), check=True)
    git(repo, "checkout", "-q", "-f", "main")
    return marks


def bench_history(work: Path, commits: int) -> list[tuple[str, str]]:
    repo = work / "history"
    t0 = time.perf_counter()
    make_history(repo, commits)
    print(f"[history] generated {commits:,} commits in {time.perf_counter() - t0:.1f} s", flush=True)
    rows = []
    fifth = subprocess.run(
        ["git", "rev-list", "--reverse", "main"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.split()[commits // 5 - 1]
    git(repo, "branch", "fifth", fifth)
    for label, extra in (
        (f"first {commits // 5:,} commits", ["--branch", "fifth"]),
        (f"all {commits:,} commits", []),
    ):
        m = measure(
            [*BKM, "scan", "--history", *extra, "--format", "json", "--exit-zero", "--quiet"], cwd=repo
        )
        doc = json.loads(m.stdout)
        blobs = doc["summary"]["scanned"] + sum(doc["summary"]["skipped"].values())
        print(
            f"[history] {label}: {blobs:,} blobs in {m.wall:.2f} s = {blobs / m.wall:,.0f} blobs/s, "
            f"peak {mb(m.peak_tree)}, {len(doc['findings'])} findings",
            flush=True,
        )
        rows += [
            (f"history ({label}): blobs, wall", f"{blobs:,} blobs, {m.wall:.2f} s"),
            (f"history ({label}): blobs/s", f"{blobs / m.wall:,.0f}"),
            (f"history ({label}): peak memory, whole tree incl. git", mb(m.peak_tree)),
            (f"history ({label}): peak memory, bkm-guard's Python processes", mb(m.peak_python)),
        ]
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--commits", type=int, default=5000)
    parser.add_argument("--skip-detect-secrets", action="store_true")
    parser.add_argument("--only", choices=["tree", "hook", "history"])
    args = parser.parse_args()
    if not PLUGIN.is_file():
        print(f"note: {PLUGIN} is missing: detect-secrets runs without the Binance plugin", file=sys.stderr)
    rows: list[tuple[str, str]] = [("machine", f"{os.cpu_count()} cores, Python {sys.version.split()[0]}")]
    with tempfile.TemporaryDirectory(prefix="bkm-bench-") as tmp:
        work = Path(tmp)
        if args.only in (None, "tree"):
            rows += bench_tree(work, args.repeat, not args.skip_detect_secrets)
        if args.only in (None, "hook"):
            rows += bench_hook(work, max(args.repeat, 5), not args.skip_detect_secrets)
        if args.only in (None, "history"):
            rows += bench_history(work, args.commits)
    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
