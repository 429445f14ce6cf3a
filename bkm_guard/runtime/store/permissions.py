"""Owner-only files and directories, whatever the umask; loose ones refused with the exact fix.

Like OpenSSH's StrictModes, a store directory, key file, passphrase file or audit log owned
by another user than the current one (or root) is refused too.
"""

from __future__ import annotations

import os
import shlex
import stat
from pathlib import Path

from bkm_guard.errors import InsecurePermissionsError

FILE_MODE = 0o600
DIR_MODE = 0o700
_GROUP_OTHER = 0o077
_CHECKS = os.name == "posix"  # Windows has no mode bits to speak of: ACLs are out of scope
O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
O_BINARY = getattr(os, "O_BINARY", 0)


def chmod_command(path: Path, mode: int) -> str:
    return f"chmod {mode:o} {shlex.quote(str(path))}"


def make_private_dir(path: Path) -> None:
    """Create the directory 0700 (parents with the default mode); fix the mode the umask took."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=DIR_MODE)
    except FileExistsError:
        check_dir(path)
        return
    if _CHECKS:
        os.chmod(path, DIR_MODE)


def loose_bits(mode: int) -> int:
    return stat.S_IMODE(mode) & _GROUP_OTHER if _CHECKS else 0


def _owner_name(uid: int) -> str:
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def foreign_owner(st: os.stat_result) -> str | None:
    """Who owns the file, when that is neither the current user nor root (OpenSSH StrictModes)."""
    if not _CHECKS:
        return None
    me = os.geteuid()
    if st.st_uid in (me, 0):
        return None
    return _owner_name(st.st_uid)


def check_owner(path: Path, st: os.stat_result, what: str) -> None:
    """Refuse a file another user owns: that user could read or replace it at will."""
    owner = foreign_owner(st)
    if owner is not None:
        raise InsecurePermissionsError(
            f"{what} {path} is owned by {owner}, not by you ({_owner_name(os.geteuid())}) or root: "
            f"another user controls it; check it, then run `chown {os.geteuid()} "
            f"{shlex.quote(str(path))}`")


def check_dir(path: Path) -> None:
    """Refuse a store directory that another user owns, or group or others can read, write or enter."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise
    if not stat.S_ISDIR(st.st_mode):
        raise InsecurePermissionsError(f"{path} is not a directory")
    check_owner(path, st, "key store directory")
    if loose_bits(st.st_mode):
        raise InsecurePermissionsError(
            f"key store directory {path} is open to group or others "
            f"(mode {stat.S_IMODE(st.st_mode):o}): run `{chmod_command(path, DIR_MODE)}`"
        )


def check_file(path: Path, what: str = "key file") -> None:
    """Refuse a symlink, a non-regular file, a file another user owns, or one group or others
    can read or write."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
        raise InsecurePermissionsError(f"{what} {path} is not a regular file: replace it by one")
    check_owner(path, st, what)
    if loose_bits(st.st_mode):
        raise InsecurePermissionsError(
            f"{what} {path} is readable or writable by group or others "
            f"(mode {stat.S_IMODE(st.st_mode):o}): run `{chmod_command(path, FILE_MODE)}`"
        )


def open_private(path: Path, flags: int) -> int:
    """os.open; a file it creates gets mode 0600 whatever the umask, an existing one keeps its
    mode (loose modes are reported by `keys audit`, not silently changed)."""
    flags |= O_NOFOLLOW | O_BINARY
    if flags & os.O_CREAT and not flags & os.O_EXCL:
        try:
            return open_private(path, flags | os.O_EXCL)
        except FileExistsError:
            return os.open(path, flags & ~os.O_CREAT)
    fd = os.open(path, flags, FILE_MODE)
    try:
        if _CHECKS:
            os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd
