"""Which files a scan reads: git's view inside a repository, a pruned walk elsewhere.

Inside a git work tree: tracked files plus untracked ones .gitignore does not ignore
(`git ls-files --cached --others --exclude-standard`). Elsewhere: a directory walk that
skips only VCS metadata, virtual environments, installed packages (node_modules, site-packages)
and tool caches. Build outputs (build/, dist/) are walked: a committed or shipped `build/`
holds the project's own code and config, keys included. In both,
`exclude` globs apply, symlinks are never followed (a link out of the root is reported),
and nothing is read here: binary detection happens when a worker reads the file.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import subprocess
from collections.abc import Iterable, Iterator
from typing import Final

from bkm_guard.static.findings import Notice
from bkm_guard.static.globs import matches_any
from bkm_guard.static.jobs import FileJob

__all__ = ["Discovery", "FileJob", "discover"]

# directory names never worth walking outside git (in git, .gitignore decides): VCS metadata,
# third-party packages and tool caches, never the project's own output (build/, dist/, .idea/)
DEFAULT_EXCLUDED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".bzr",
        "_darcs",
        "__pypackages__",
        "site-packages",
        "node_modules",
        "bower_components",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
        ".tox",
        ".nox",
        ".cache",
        ".eggs",
        ".ipynb_checkpoints",
        ".terraform",
        ".gradle",
    }
)


@dataclasses.dataclass
class Discovery:
    root: str
    files: list[FileJob]
    notices: list[Notice]
    skipped: dict[str, int]  # reason -> count (symlinks, excluded, vanished before reading)


def display_path(abspath: str, root: str) -> str:
    """The report name of a file: relative to the scan root, '/'-separated."""
    try:
        rel = os.path.relpath(abspath, root)
    except ValueError:  # another drive on Windows
        return abspath.replace(os.sep, "/")
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return abspath.replace(os.sep, "/")
    return rel.replace(os.sep, "/")


def git_toplevel(directory: str) -> str | None:
    """The work tree root that holds `directory`, or None outside git (or without git)."""
    try:
        proc = subprocess.run(
            ["git", "-C", directory, "rev-parse", "--show-toplevel"],
            capture_output=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    return os.fsdecode(proc.stdout.rstrip(b"\n"))


def _git_files(directory: str) -> list[str] | None:
    """Paths (relative to `directory`) git would scan, or None when git cannot say."""
    try:
        proc = subprocess.run(
            [
                "git",
                "-c",
                "core.quotepath=off",
                "-C",
                directory,
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
            capture_output=True,
            check=False,
            timeout=300,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    return [os.fsdecode(p) for p in proc.stdout.split(b"\0") if p]


class _Collector:
    def __init__(self, root: str, exclude: tuple[str, ...]) -> None:
        self.root = root
        self.real_root = os.path.realpath(root)
        self.exclude = exclude
        self.files: dict[str, FileJob] = {}
        self.notices: list[Notice] = []
        self.skipped: dict[str, int] = {}

    def skip(self, reason: str, notice: Notice | None = None) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        if notice is not None:
            self.notices.append(notice)

    def add(self, abspath: str, *, explicit: bool = False) -> None:
        display = display_path(abspath, self.root)
        if self.exclude and matches_any(display, self.exclude):
            self.skip("excluded")
            return
        try:
            st = os.lstat(abspath)
        except FileNotFoundError:
            if explicit:
                self.skip("missing", Notice(display, "no such file", "error"))
            # a tracked file deleted in the work tree: nothing to read
            return
        except OSError as exc:
            self.skip("unreadable", Notice(display, f"cannot stat: {exc.strerror}", "skipped"))
            return
        if stat.S_ISLNK(st.st_mode):
            target = os.path.realpath(abspath)
            inside = target == self.real_root or target.startswith(self.real_root + os.sep)
            if inside:
                self.skip("symlink")  # its target is scanned on its own
            else:
                self.skip("symlink", Notice(display, "symlink out of the scan root: not followed"))
            return
        if not stat.S_ISREG(st.st_mode):
            if not stat.S_ISDIR(st.st_mode):  # fifos, sockets, devices: reading could block
                self.skip("special", Notice(display, "not a regular file"))
            return
        self.files.setdefault(display, FileJob(abspath, display, st.st_size))


def _is_env(path: str) -> bool:
    """A virtual environment (venv, virtualenv, uv, poetry) or a conda environment, under any name.
    Recognized by its marker file, not its name: the stdlib's own `venv` package is source code."""
    return os.path.exists(os.path.join(path, "pyvenv.cfg")) or os.path.isdir(os.path.join(path, "conda-meta"))


def _walk(directory: str, collector: _Collector) -> None:
    stack = [directory]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError as exc:
            collector.skip(
                "unreadable",
                Notice(display_path(current, collector.root) + "/", f"cannot list directory: {exc.strerror}"),
            )
            continue
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                if (
                    entry.name in DEFAULT_EXCLUDED_DIRS
                    or entry.name.endswith(".egg-info")
                    or _is_env(entry.path)
                ):
                    collector.skip("default-excluded directories")
                    continue
                if collector.exclude and matches_any(
                    display_path(entry.path, collector.root), collector.exclude
                ):
                    collector.skip("excluded directories")
                    continue
                stack.append(entry.path)
            else:
                collector.add(entry.path)


_MAX_NESTED_REPOSITORIES: Final = 8


def _add_git_tree(directory: str, collector: _Collector, depth: int = 0) -> None:
    """What git would scan under `directory`, descending into nested repositories.

    git lists a submodule or an untracked repository inside the work tree as one directory
    entry: its files belong to that repository's own index, so they are listed there, never
    silently dropped (a key in a vendored checkout is a leak too)."""
    tracked = _git_files(directory)
    if tracked is None:
        _walk(directory, collector)
        return
    for rel in tracked:
        path = os.path.join(directory, rel.rstrip("/"))
        if os.path.isdir(path) and not os.path.islink(path):
            if depth < _MAX_NESTED_REPOSITORIES:
                _add_git_tree(path, collector, depth + 1)
            else:
                display = display_path(path, collector.root) + "/"
                collector.skip("nested repositories", Notice(display, "repositories nested too deep"))
            continue
        collector.add(path)


def discover(
    paths: Iterable[str], *, root: str, exclude: tuple[str, ...] = (), explicit_files: bool = False
) -> Discovery:
    """The files under `paths`. With `explicit_files` (pre-commit), the paths are the files."""
    collector = _Collector(root, exclude)
    for raw in paths:
        abspath = os.path.abspath(raw)
        if explicit_files or not os.path.isdir(abspath) or os.path.islink(abspath):
            collector.add(abspath, explicit=True)
            continue
        if git_toplevel(abspath) is None:
            _walk(abspath, collector)
        else:
            _add_git_tree(abspath, collector)
    files = sorted(collector.files.values(), key=lambda job: job.display)
    return Discovery(root, files, collector.notices, collector.skipped)


def iter_display(files: Iterable[FileJob]) -> Iterator[str]:
    return (job.display for job in files)
