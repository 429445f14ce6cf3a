"""Where the passphrase comes from: the environment, an owner-only file, or a terminal prompt.

Never from the command line (it would sit in the shell history and in `ps`).
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

from bkm_guard.errors import PassphraseError
from bkm_guard.runtime.store.permissions import check_file

PASSPHRASE_ENV: Final = "BKM_GUARD_PASSPHRASE"  # noqa: S105 (a variable name)
PASSPHRASE_FILE_ENV: Final = "BKM_GUARD_PASSPHRASE_FILE"  # noqa: S105 (a variable name)
#: The new passphrase of `keys passwd`, for scripts.
NEW_PASSPHRASE_ENV: Final = "BKM_GUARD_NEW_PASSPHRASE"  # noqa: S105 (a variable name)
NEW_PASSPHRASE_FILE_ENV: Final = "BKM_GUARD_NEW_PASSPHRASE_FILE"  # noqa: S105 (a variable name)
MIN_NEW_LENGTH: Final = 8


@runtime_checkable
class PassphraseSource(Protocol):
    """Anything that hands out the passphrase; `confirm=True` when a new one is being set."""

    def get(self, *, confirm: bool = False) -> str: ...


class StaticPassphrase:
    """A passphrase the program already holds (tests, a secrets manager, the runtime)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self, *, confirm: bool = False) -> str:
        return self._value

    def __repr__(self) -> str:
        return "StaticPassphrase(<hidden>)"


class CallablePassphrase:
    __slots__ = ("_func",)

    def __init__(self, func: Callable[[], str]) -> None:
        self._func = func

    def get(self, *, confirm: bool = False) -> str:
        return self._func()


def read_passphrase_file(path: Path, env_name: str) -> str:
    """The first line of an owner-only file; refused if group or others can read it."""
    try:
        check_file(path, what=f"passphrase file ({env_name})")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PassphraseError(f"{env_name} names {path}, which does not exist") from None
    except UnicodeDecodeError:
        raise PassphraseError(f"{env_name}: {path} is not UTF-8 text") from None
    return text.splitlines()[0] if text.strip() else ""


def _has_terminal() -> bool:
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return sys.stdin is not None and sys.stdin.isatty()
    os.close(fd)
    return True


class EnvironmentPassphrase:
    """`BKM_GUARD_PASSPHRASE`, else the file `BKM_GUARD_PASSPHRASE_FILE` names, else a prompt."""

    def __init__(self, env: str = PASSPHRASE_ENV, file_env: str = PASSPHRASE_FILE_ENV,
                 prompt: str = "Key store passphrase: ", *, interactive: bool = True) -> None:
        self.env, self.file_env, self.prompt, self.interactive = env, file_env, prompt, interactive

    def get(self, *, confirm: bool = False) -> str:
        value = os.environ.get(self.env)
        if value:
            return value
        file_name = os.environ.get(self.file_env, "").strip()
        if file_name:
            value = read_passphrase_file(Path(file_name).expanduser(), self.file_env)
            if not value:
                raise PassphraseError(f"{self.file_env}: {file_name} is empty")
            return value
        if not self.interactive or not _has_terminal():
            raise PassphraseError(
                f"no passphrase: set {self.env} or {self.file_env} (a 0600 file), "
                "or run in a terminal to be asked"
            )
        value = getpass.getpass(self.prompt)
        if confirm and getpass.getpass("Again, to confirm: ") != value:
            raise PassphraseError("the two passphrases differ: nothing was changed, try again")
        if not value:
            raise PassphraseError("an empty passphrase is not accepted")
        return value


def as_source(source: PassphraseSource | str | Callable[[], str] | None) -> PassphraseSource:
    if source is None:
        return EnvironmentPassphrase()
    if isinstance(source, str):
        return StaticPassphrase(source)
    if isinstance(source, PassphraseSource):
        return source
    if callable(source):
        return CallablePassphrase(source)
    raise TypeError("passphrase_source: give a string, a callable or an object with get()")


#: zxcvbn's score (0-4) a new passphrase needs: 3 is "safely unguessable" (~1e10 guesses)
MIN_STRENGTH: Final = 3
#: zxcvbn's estimate is slow on very long input and gains nothing past this
_STRENGTH_PREFIX: Final = 100
ALLOW_WEAK_FLAG: Final = "--allow-weak-passphrase"


def passphrase_weakness(value: str) -> str | None:
    """Why `value` is too weak for a key store (zxcvbn's estimate), or None if it is strong."""
    from zxcvbn import zxcvbn

    result = zxcvbn(value[:_STRENGTH_PREFIX], user_inputs=["bkm", "guard", "bkm-guard", "binance"])
    score = int(result["score"])
    if score >= MIN_STRENGTH:
        return None
    feedback = result.get("feedback") or {}
    hints = [str(feedback.get("warning") or ""), *map(str, feedback.get("suggestions") or [])]
    said = " ".join(hint.rstrip(".") + "." for hint in hints if hint)
    return f"strength {score} of 4, at least {MIN_STRENGTH} needed" + (f" ({said})" if said else "")


def check_new_passphrase(value: str, *, allow_weak: bool = False) -> str:
    """`value` if it may protect a key store: long enough, and strong by zxcvbn's estimate
    unless `allow_weak`. The passphrase itself never appears in the message."""
    if len(value) < MIN_NEW_LENGTH:
        raise PassphraseError(
            f"a new passphrase needs at least {MIN_NEW_LENGTH} characters (a few words is best)"
        )
    if not allow_weak:
        weakness = passphrase_weakness(value)
        if weakness is not None:
            raise PassphraseError(
                f"the new passphrase is too weak: {weakness}; four or five random words make a "
                f"strong one (or pass {ALLOW_WEAK_FLAG} if you must)")
    return value
