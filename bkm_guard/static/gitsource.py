"""Git as a source of bytes: the index (`--staged`) and every blob ever committed (`--history`).

History is streamed: `git rev-list --objects` (each object once, however many commits hold
it) piped into `git cat-file --batch-check` yields blob ids and sizes; workers read the
contents with their own `git cat-file --batch`. Nothing here keeps per-commit state, so
memory does not grow with the length of the history. Only for the few blobs that hold a
finding does one `git log --raw` pass find the first commit, its author date and path, and
one `git ls-tree` pass tells whether the blob is still in HEAD.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Iterator, Sequence

from bkm_guard.errors import GuardError
from bkm_guard.static.findings import Notice
from bkm_guard.static.globs import matches_any
from bkm_guard.static.jobs import GIT_LOW_MEMORY, BlobJob
from bkm_guard.static.result import Provenance

_GIT_TIMEOUT = 300
_MODES_SKIPPED = {"160000", "120000"}  # submodules, symlinks


class GitSourceError(GuardError):
    """git cannot give what the scan asks for (not a repository, an unknown revision)."""


def _git(repo: str, *args: str, check: bool = True) -> bytes:
    try:
        proc = subprocess.run(
            ["git", *GIT_LOW_MEMORY, "-C", repo, *args],
            capture_output=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise GitSourceError("git is not installed or not on PATH") from None
    except subprocess.TimeoutExpired:
        raise GitSourceError(f"git {args[0]} took longer than {_GIT_TIMEOUT} s") from None
    if check and proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitSourceError(
            f"git {args[0]} failed: {detail[-1] if detail else 'exit ' + str(proc.returncode)}"
        )
    return proc.stdout


def toplevel(path: str) -> str:
    """The work tree root holding `path`; GitSourceError outside a repository."""
    directory = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    try:
        out = _git(directory, "rev-parse", "--show-toplevel")
    except GitSourceError:
        raise GitSourceError(
            f"{path} is not inside a git repository (--staged and --history need one)"
        ) from None
    return os.fsdecode(out.rstrip(b"\n"))


def _decode_path(raw: bytes) -> str:
    return os.fsdecode(raw)


def staged_blobs(repo: str, pathspecs: Sequence[str] = (), exclude: tuple[str, ...] = ()) -> list[BlobJob]:
    """The blobs in the index (what the next commit will hold), with their sizes."""
    out = _git(repo, "ls-files", "-s", "-z", "--", *pathspecs)
    entries: dict[str, str] = {}
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, raw_path = record.partition(b"\t")
        mode, sha, _stage = meta.decode().split()
        if mode in _MODES_SKIPPED:
            continue
        display = _decode_path(raw_path)
        if exclude and matches_any(display, exclude):
            continue
        entries.setdefault(display, sha)
    sizes = _sizes(repo, set(entries.values()))
    return [BlobJob(sha, display, sizes.get(sha, 0)) for display, sha in sorted(entries.items())]


def _sizes(repo: str, shas: Iterable[str]) -> dict[str, int]:
    shas = list(shas)
    if not shas:
        return {}
    proc = subprocess.run(
        ["git", *GIT_LOW_MEMORY, "-C", repo, "cat-file", "--batch-check=%(objectname) %(objectsize)"],
        input="".join(s + "\n" for s in shas).encode(),
        capture_output=True,
        timeout=_GIT_TIMEOUT,
        check=False,
    )
    sizes = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            sizes[parts[0].decode()] = int(parts[1])
    return sizes


def has_commits(repo: str) -> bool:
    return bool(_git(repo, "rev-list", "-n", "1", "--all", check=False).strip())


def history_notices(repo: str) -> list[Notice]:
    notices = []
    if _git(repo, "rev-parse", "--is-shallow-repository", check=False).strip() == b"true":
        notices.append(
            Notice(
                "(git history)",
                "shallow clone: commits before the shallow boundary were not "
                "scanned; run `git fetch --unshallow` to scan them",
                "truncated",
            )
        )
    if not has_commits(repo):
        notices.append(
            Notice("(git history)", "the repository has no commits yet: nothing to scan", "skipped")
        )
    return notices


def rev_args(repo: str, since: str | None, branches: Sequence[str]) -> list[str]:
    """The revisions to walk: every ref (or the given branches), minus what `since` already had."""
    for rev in (*branches, *([since] if since else [])):
        if (
            _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", rev + "^{commit}", check=False)
            == b""
        ):
            raise GitSourceError(f"unknown revision {rev!r}")
    args = list(branches) if branches else ["--all"]
    if since:
        args += ["--not", since]
    return args


def history_blobs(repo: str, revs: Sequence[str], exclude: tuple[str, ...] = ()) -> Iterator[BlobJob]:
    """Every blob reachable from `revs`, once, streamed (rev-list | cat-file --batch-check)."""
    if not has_commits(repo):
        return
    rev_list = subprocess.Popen(
        ["git", *GIT_LOW_MEMORY, "-C", repo, "rev-list", "--objects", *revs],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    check = subprocess.Popen(
        [
            "git",
            *GIT_LOW_MEMORY,
            "-C",
            repo,
            "cat-file",
            "--batch-check=%(objecttype) %(objectname) %(objectsize) %(rest)",
        ],
        stdin=rev_list.stdout,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    if rev_list.stdout is None or check.stdout is None:
        raise GitSourceError("git rev-list | git cat-file: no pipe")
    rev_list.stdout.close()  # cat-file owns it now
    try:
        for line in check.stdout:
            if not line.startswith(b"blob "):
                continue
            _, sha, size, *rest = line.rstrip(b"\n").split(b" ", 3)
            display = _decode_path(rest[0]) if rest else sha.decode()
            if exclude and matches_any(display, exclude):
                continue
            yield BlobJob(sha.decode(), display, int(size))
    finally:
        check.stdout.close()
        for proc in (check, rev_list):
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def provenance(repo: str, shas: set[str], revs: Sequence[str]) -> dict[str, Provenance]:
    """First commit (oldest first, parents before children), author date and path of each blob."""
    if not shas:
        return {}
    found: dict[str, tuple[str, str, str]] = {}
    proc = subprocess.Popen(
        [
            "git",
            *GIT_LOW_MEMORY,
            "-C",
            repo,
            "log",
            "--topo-order",
            "--reverse",
            "--format=%x01%H %aI",
            "--raw",
            "--no-abbrev",
            "--root",
            "--diff-merges=first-parent",
            "--no-renames",
            "-z",
            *revs,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    if proc.stdout is None:
        raise GitSourceError("git log: no pipe")
    commit = date = ""
    pending_sha: str | None = None
    tail = b""
    try:
        while len(found) < len(shas):
            chunk = proc.stdout.read(1 << 16)
            if not chunk:
                break
            tokens = (tail + chunk).split(b"\0")
            tail = tokens.pop()
            for raw_token in tokens:
                token = raw_token.lstrip(b"\n")
                if pending_sha is not None:
                    if pending_sha in shas and pending_sha not in found:
                        found[pending_sha] = (commit, date, _decode_path(token))
                    pending_sha = None
                elif token.startswith(b"\x01"):
                    commit, _, date_raw = token[1:].decode().partition(" ")
                    date = date_raw
                elif token.startswith(b":"):
                    fields = token.split()
                    pending_sha = fields[3].decode() if len(fields) >= 5 else None
    finally:
        proc.stdout.close()
        proc.kill()
        proc.wait()
    head = in_head(repo, shas)
    return {sha: Provenance(c, d, p, sha in head) for sha, (c, d, p) in found.items()}


def in_head(repo: str, shas: set[str]) -> set[str]:
    """Which of these blobs HEAD still holds (anywhere in its tree)."""
    out = _git(repo, "ls-tree", "-r", "-z", "HEAD", check=False)
    present = set()
    for record in out.split(b"\0"):
        meta = record.partition(b"\t")[0].split()
        if len(meta) == 3 and meta[2].decode() in shas:
            present.add(meta[2].decode())
    return present
