"""Runs the analyzer over many inputs on every core, and never lets one input stop the scan.

Work goes out in batches (a few MB or a few hundred files each) to a process pool forked
after the analyzer is imported; a scan too small to pay for a pool runs in this process.
Workers read files themselves (only findings travel back), and each blob worker keeps its
own `git cat-file --batch`, so the main process never holds file contents. A file that is
binary, unreadable, deleted or changed while being read, or larger than the analysis cap,
gives a Notice and a skip reason; an analyzer crash on one input gives an error Notice.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import stat
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    pass

from bkm_guard.static import pipeline, textdecode
from bkm_guard.static.findings import Finding, Notice
from bkm_guard.static.jobs import GIT_LOW_MEMORY, BlobJob, FileJob
from bkm_guard.static.options import Options

MAX_ANALYZE_BYTES = 4 << 20  # bigger inputs get the recognizer only, in windows
BINARY_SNIFF = 8192
BATCH_BYTES = 4 << 20
BATCH_FILES = 256
SMALL_SCAN_FILES = 16
SMALL_SCAN_BYTES = 1 << 20

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Settings:
    options: Options
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    max_bytes: int = MAX_ANALYZE_BYTES
    repo: str = ""  # git work tree, for blob jobs


@dataclasses.dataclass(slots=True)
class Outcome:
    """What scanning one input gave: findings, notices, and a skip reason if it was not scanned."""

    display: str
    findings: tuple[Finding, ...] = ()
    notices: tuple[Notice, ...] = ()
    nbytes: int = 0
    skipped: str = ""
    ref: str = ""  # the blob id, for git inputs


# --- one input ------------------------------------------------------------------------------


def _ignored_codes(display: str, settings: Settings) -> frozenset[str]:
    if not settings.per_file_ignores:
        return frozenset()
    from bkm_guard.static.config import expand_codes
    from bkm_guard.static.globs import matches

    codes: set[str] = set()
    for pattern, selectors in settings.per_file_ignores:
        if matches(display, pattern):
            codes |= expand_codes(selectors)
    return frozenset(codes)


def _finish(outcome: Outcome, settings: Settings) -> Outcome:
    drop = _ignored_codes(outcome.display, settings)
    if drop and outcome.findings:
        outcome.findings = tuple(f for f in outcome.findings if f.code not in drop)
    return outcome


def _is_python(display: str, head: bytes) -> bool:
    return display.endswith((".py", ".pyi", ".pyw")) or (head.startswith(b"#!") and b"python" in head[:128])


def _too_big(display: str, size: int, settings: Settings) -> Notice:
    return Notice(
        display,
        f"{size / (1 << 20):.1f} MB is over the {settings.max_bytes >> 20} MB analysis cap: "
        "checked by the credential recognizer only (no Python rules)",
        "truncated",
    )


def scan_data(display: str, data: bytes, settings: Settings) -> Outcome:
    """Scan bytes already in memory (a blob, or a file's contents)."""
    if textdecode.is_binary(data[:BINARY_SNIFF]):
        return Outcome(display, nbytes=len(data), skipped="binary")
    if len(data) > settings.max_bytes:
        from bkm_guard.static import text as textscan

        found = textscan.scan_bytes(
            textdecode.as_utf8(data),  # the windows read UTF-8: UTF-16/32 text is transcoded first
            display,
            python=_is_python(display, data[:128]),
            wanted=settings.options.wanted,
        )
        return _finish(
            Outcome(display, tuple(found), (_too_big(display, len(data), settings),), len(data)), settings
        )
    try:
        report = pipeline.analyze(display, data, settings.options)
        findings, notices = report.findings, report.notices
    except Exception as exc:  # the analyzer must not raise; if it does, lose this input only
        return Outcome(
            display,
            notices=(
                Notice(
                    display,
                    f"internal error in the analyzer ({type(exc).__name__}); please report it",
                    "error",
                ),
            ),
            nbytes=len(data),
            skipped="error",
        )
    # analyzer notices (a syntax error, ...) travel with the outcome; the input counts as scanned
    return _finish(Outcome(display, findings, notices, len(data)), settings)


def _read_exact(fd: int, size: int) -> bytes:
    """Up to `size` bytes (fewer only at end of file)."""
    chunks = []
    remaining = size
    while remaining > 0:
        chunk = os.read(fd, remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def scan_file(job: FileJob, settings: Settings) -> Outcome:
    """Read and scan one file; every OS-level failure becomes a Notice."""
    display = job.display
    flags = (
        os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    )
    try:
        fd = os.open(job.abspath, flags)
    except FileNotFoundError:
        return Outcome(display, notices=(Notice(display, "deleted during the scan"),), skipped="vanished")
    except PermissionError:
        return Outcome(
            display, notices=(Notice(display, "unreadable: permission denied"),), skipped="unreadable"
        )
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # replaced by a symlink since discovery
            return Outcome(
                display, notices=(Notice(display, "became a symlink: not followed"),), skipped="symlink"
            )
        return Outcome(
            display, notices=(Notice(display, f"unreadable: {exc.strerror}"),), skipped="unreadable"
        )
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            return Outcome(display, notices=(Notice(display, "not a regular file"),), skipped="special")
        changed = False
        try:
            if before.st_size > settings.max_bytes:
                head = os.pread(fd, BINARY_SNIFF, 0)
                if textdecode.is_binary(head):
                    return Outcome(display, nbytes=before.st_size, skipped="binary")
                from bkm_guard.static import text as textscan

                if textdecode.wide_encoding(head) is not None:  # UTF-16/32: transcoded whole
                    found = textscan.scan_bytes(
                        textdecode.as_utf8(_read_exact(fd, before.st_size)),
                        display,
                        python=_is_python(display, head),
                        wanted=settings.options.wanted,
                    )
                else:
                    found = textscan.scan_fd(
                        fd,
                        before.st_size,
                        display,
                        python=_is_python(display, head),
                        wanted=settings.options.wanted,
                    )
                outcome = Outcome(
                    display, tuple(found), (_too_big(display, before.st_size, settings),), before.st_size
                )
            else:
                # the head first: a binary file is never read to its end
                data = _read_exact(fd, min(BINARY_SNIFF, before.st_size))
                if not textdecode.is_binary(data):
                    data += _read_exact(fd, before.st_size - len(data))
                    changed = len(data) != before.st_size or bool(os.read(fd, 1))
                outcome = scan_data(display, data, settings)
                if outcome.skipped == "binary":
                    outcome.nbytes = before.st_size
        except OSError as exc:  # EIO, a file truncated under us, ...
            return Outcome(
                display, notices=(Notice(display, f"read failed: {exc.strerror}"),), skipped="unreadable"
            )
        after = os.fstat(fd)
        if changed or (after.st_mtime_ns, after.st_size) != (before.st_mtime_ns, before.st_size):
            outcome.notices = (
                *outcome.notices,
                Notice(display, "changed while it was being read: scan it again", "error"),
            )
        return _finish(outcome, settings)
    finally:
        os.close(fd)


# --- blobs ----------------------------------------------------------------------------------


class BlobReader:
    """One long-lived `git cat-file --batch` per process."""

    def __init__(self, repo: str) -> None:
        self.repo = repo
        self.proc = subprocess.Popen(
            ["git", *GIT_LOW_MEMORY, "-C", repo, "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
        )

    def read_many(self, shas: Sequence[str]) -> Iterator[tuple[str, bytes | None]]:
        if self.proc.stdin is None or self.proc.stdout is None:
            raise RuntimeError("git cat-file has no pipes")
        # 41 bytes per id: a batch stays far below the pipe buffer, so this write cannot block
        self.proc.stdin.write("".join(sha + "\n" for sha in shas).encode())
        out = self.proc.stdout
        reader = _ExactReader(out)
        for sha in shas:
            header = reader.readline().split()
            if len(header) < 3 or header[1] != b"blob":
                yield sha, None  # missing (shallow, partial clone) or not a blob
                continue
            size = int(header[2])
            data = reader.read(size)
            reader.read(1)  # the newline after the contents
            yield sha, data

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


class _ExactReader:
    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def readline(self) -> bytes:
        line = bytearray()
        while not line.endswith(b"\n"):
            char = self.stream.read(1)
            if not char:
                break
            line += char
        return bytes(line)

    def read(self, size: int) -> bytes:
        parts = []
        remaining = size
        while remaining > 0:
            chunk = self.stream.read(min(remaining, 1 << 20))
            if not chunk:
                break
            parts.append(chunk)
            remaining -= len(chunk)
        return b"".join(parts)


_READER: BlobReader | None = None


def _blob_reader(repo: str) -> BlobReader:
    global _READER  # noqa: PLW0603 (one cat-file per process)
    if _READER is None or _READER.repo != repo:
        _READER = BlobReader(repo)
    return _READER


def _scan_big_blob(job: BlobJob, settings: Settings) -> Outcome:
    """A blob over the cap goes through a temporary file, so memory stays flat."""
    import tempfile

    from bkm_guard.static import text as textscan

    with tempfile.TemporaryFile() as tmp:
        subprocess.run(
            ["git", *GIT_LOW_MEMORY, "-C", settings.repo, "cat-file", "blob", job.sha],
            stdout=tmp,
            check=False,
        )
        tmp.flush()
        size = os.fstat(tmp.fileno()).st_size
        head = os.pread(tmp.fileno(), BINARY_SNIFF, 0)
        if textdecode.is_binary(head):  # big UTF-16/32 blobs are left to a file scan
            return Outcome(job.display, nbytes=size, skipped="binary", ref=job.sha)
        found = textscan.scan_fd(
            tmp.fileno(),
            size,
            job.display,
            python=_is_python(job.display, head),
            wanted=settings.options.wanted,
        )
        return _finish(
            Outcome(job.display, tuple(found), (_too_big(job.display, size, settings),), size, ref=job.sha),
            settings,
        )


def scan_blobs(jobs: Sequence[BlobJob], settings: Settings) -> list[Outcome]:
    small = [job for job in jobs if job.size <= settings.max_bytes]
    out = [_scan_big_blob(job, settings) for job in jobs if job.size > settings.max_bytes]
    by_sha = {job.sha: job for job in small}
    for sha, data in _blob_reader(settings.repo).read_many([job.sha for job in small]):
        job = by_sha[sha]
        if data is None:
            out.append(
                Outcome(
                    job.display,
                    notices=(Notice(job.display, f"blob {sha[:12]} is missing from the repository"),),
                    skipped="missing",
                    ref=sha,
                )
            )
            continue
        outcome = scan_data(job.display, data, settings)
        outcome.ref = sha
        out.append(outcome)
    return out


# --- batches and processes ------------------------------------------------------------------

_SETTINGS: Settings | None = None


def _init_worker(settings: Settings) -> None:
    global _SETTINGS, _READER  # noqa: PLW0603 (per-process worker state)
    _SETTINGS = settings
    _READER = None  # never share the parent's cat-file pipe


def _file_batch(batch: Sequence[FileJob]) -> list[Outcome]:
    if _SETTINGS is None:
        raise RuntimeError("worker used before _init_worker")
    return [scan_file(job, _SETTINGS) for job in batch]


def _blob_batch(batch: Sequence[BlobJob]) -> list[Outcome]:
    if _SETTINGS is None:
        raise RuntimeError("worker used before _init_worker")
    return scan_blobs(batch, _SETTINGS)


def batches(
    items: Iterable[T],
    size_of: Callable[[T], int],
    *,
    max_bytes: int = BATCH_BYTES,
    max_files: int = BATCH_FILES,
) -> Iterator[list[T]]:
    """Cut a stream of inputs into batches of about `max_bytes` or `max_files`."""
    batch: list[T] = []
    total = 0
    for item in items:
        batch.append(item)
        total += size_of(item)
        if total >= max_bytes or len(batch) >= max_files:
            yield batch
            batch, total = [], 0
    if batch:
        yield batch


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _context() -> Any:
    import multiprocessing

    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")  # children inherit the imported analyzer
    return multiprocessing.get_context()


def execute(
    work: Iterable[list[T]],
    worker: Callable[[list[T]], list[Outcome]],
    settings: Settings,
    jobs: int,
    *,
    in_process: bool,
) -> Iterator[list[Outcome]]:
    """Yield each batch's outcomes; in this process when asked, else on `jobs` processes.

    At most 2 x jobs batches are in flight, so a stream of inputs (a long history) never piles
    up in memory. A pool that breaks (a worker killed, or crashed by an input) is not fatal:
    the batches it had in flight run again one input per fresh process, so the input that
    kills its process is reported as not scanned, and a new pool takes the rest of the stream.
    Nothing is re-run in this process: an input that crashes a worker would crash the scan.
    """
    global _SETTINGS  # noqa: PLW0603 (per-process worker state)
    if in_process or jobs <= 1:
        _SETTINGS = settings
        for batch in work:
            yield worker(batch)
        return
    from concurrent.futures.process import BrokenProcessPool

    pipeline.preload()
    stream = iter(work)
    while True:
        pending: dict[Any, list[T]] = {}
        try:
            yield from _pool_pass(stream, pending, worker, settings, jobs)
            return
        except BrokenProcessPool:
            for batch in pending.values():
                yield _isolated(batch, worker, settings)


def _new_pool(settings: Settings, jobs: int) -> Any:
    import concurrent.futures

    return concurrent.futures.ProcessPoolExecutor(
        jobs, mp_context=_context(), initializer=_init_worker, initargs=(settings,)
    )


def _pool_pass(
    stream: Iterator[list[T]],
    pending: dict[Any, list[T]],
    worker: Callable[[list[T]], list[Outcome]],
    settings: Settings,
    jobs: int,
) -> Iterator[list[Outcome]]:
    """Run the stream on one pool until it is exhausted or the pool breaks (BrokenProcessPool
    propagates, and `pending` then holds the batches that were in flight)."""
    import concurrent.futures
    from concurrent.futures.process import BrokenProcessPool

    pool = _new_pool(settings, jobs)
    try:
        exhausted = False
        while True:
            while not exhausted and len(pending) < 2 * jobs:
                batch_or_none: list[T] | None = next(stream, None)
                if batch_or_none is None:
                    exhausted = True
                    break
                pending[pool.submit(worker, batch_or_none)] = batch_or_none
            if not pending:
                return
            done, _ = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                try:
                    result = future.result()
                except BrokenProcessPool:
                    raise
                except Exception as exc:
                    result = _failed(pending[future], f"internal error ({type(exc).__name__})")
                del pending[future]
                yield result
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _isolated(
    batch: list[T], worker: Callable[[list[T]], list[Outcome]], settings: Settings
) -> list[Outcome]:
    """Each input of a batch whose pool broke, alone in a fresh process."""
    from concurrent.futures.process import BrokenProcessPool

    outcomes: list[Outcome] = []
    for item in batch:
        solo = _new_pool(settings, 1)
        try:
            outcomes.extend(solo.submit(worker, [item]).result())
        except BrokenProcessPool:
            outcomes.extend(_failed([item], "the analysis process died on this input (crash or out of "
                                            "memory): not scanned"))
        except Exception as exc:
            outcomes.extend(_failed([item], f"internal error ({type(exc).__name__})"))
        finally:
            solo.shutdown(wait=True, cancel_futures=True)
    return outcomes


def _failed(batch: Sequence[Any], reason: str) -> list[Outcome]:
    return [Outcome(_display_of(item), notices=(Notice(_display_of(item), reason, "error"),),
                    skipped="error") for item in batch]


def _display_of(item: Any) -> str:
    return str(getattr(item, "display", "?"))


def scan_files(files: Sequence[FileJob], settings: Settings, jobs: int) -> Iterator[list[Outcome]]:
    """Outcomes of every file, the biggest first so the cores finish together."""
    ordered = sorted(files, key=lambda job: -job.size)
    total = sum(job.size for job in files)
    small = len(files) <= SMALL_SCAN_FILES and total <= SMALL_SCAN_BYTES
    # a parsed Python file costs ~10,000x a prefiltered one per byte: many small batches (about
    # 8 per worker) keep every core busy to the end whatever the mix
    parts = max(1, jobs * 8)
    work = batches(
        ordered,
        lambda job: job.size,
        max_bytes=max(1 << 16, min(BATCH_BYTES, total // parts)),
        max_files=max(1, min(BATCH_FILES, -(-len(files) // parts))),
    )
    yield from execute(work, _file_batch, settings, jobs, in_process=small)


def scan_blob_jobs(
    blobs: Iterable[BlobJob], settings: Settings, jobs: int, *, small: bool
) -> Iterator[list[Outcome]]:
    work = batches(blobs, lambda job: job.size, max_bytes=1 << 20, max_files=64)
    yield from execute(work, _blob_batch, settings, jobs, in_process=small)
