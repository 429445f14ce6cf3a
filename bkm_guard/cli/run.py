"""`bkm-guard run NAME [--env STYLE] -- COMMAND ...`: start any bot with a checked key.

Like `aws-vault exec` or `op run`: the guard's checks first (live by default, exactly as
`bkm_guard.load()`), then COMMAND runs with the credentials in environment variables named
as the bot expects (`bkm_guard.runtime.exec_env`). Nothing secret is put on a command line. A private
key the style wants as a file is written 0600 into a fresh 0700 directory that is removed
when COMMAND ends, on SIGINT/SIGTERM/SIGHUP/SIGQUIT too (forwarded to COMMAND, which
decides when to stop). The store's passphrase variables never reach COMMAND.

Exit status: COMMAND's own (128+N when a signal N ended it, as a shell reports it); 125 when
bkm-guard refused the key or could not start; 126 COMMAND cannot be executed; 127 not found.
The audit log gets a `run` line when COMMAND starts (its pid) and a `run-end` line with its
exit status, which `keys rotate` reads to name the bots still running with an old key.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from bkm_guard.errors import GuardError

if TYPE_CHECKING:
    from bkm_guard.runtime.exec_env import EnvStyle
    from bkm_guard.runtime.store import Credentials, KeyStore

PROG = "bkm-guard run"
EXIT_REFUSED: Final = 125
EXIT_CANNOT_EXECUTE: Final = 126
EXIT_NOT_FOUND: Final = 127
FORWARDED: Final = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
TEMP_PREFIX: Final = "bkm-guard-run-"
_SI_KERNEL: Final = 0x80  # Linux si_code of a signal the kernel (the tty driver) sent
_POLL_S: Final = 0.25


def _parser() -> argparse.ArgumentParser:
    from bkm_guard.cli.safety import SafeArgumentParser
    from bkm_guard.runtime.exec_env import STYLES

    parser = SafeArgumentParser(
        prog=PROG, usage=f"{PROG} NAME [--env STYLE] [--offline] [options] -- COMMAND [ARG ...]",
        description="Check the key NAME as bkm_guard.load() does (live on Binance unless "
                    "--offline), then run COMMAND with the credentials in environment variables "
                    "of the bot's convention. Exit status: COMMAND's (128+N for signal N); 125 "
                    "key refused or bkm-guard failed; 126 COMMAND not executable; 127 not found.",
        epilog="styles: " + "; ".join(f"{s.name}: {s.doc}" for s in STYLES.values()))
    parser.add_argument("name", metavar="NAME", help="the key in the store")
    parser.add_argument("--env", dest="style", default="generic", choices=list(STYLES),
                        help="the variables' names (default generic)")
    parser.add_argument("--offline", action="store_true",
                        help="skip the live check (permissions, decryption and age only)")
    parser.add_argument("--store", metavar="DIR", type=Path,
                        help="the key store directory (default: $BKM_GUARD_HOME, else the user "
                             "config directory)")
    parser.add_argument("--base-url", metavar="URL",
                        help="Binance REST base URL of the live check (default "
                             "https://api.binance.com); HTTPS only")
    parser.add_argument("--ca-bundle", metavar="FILE",
                        help="CA certificates to trust (default: REQUESTS_CA_BUNDLE, else the system's)")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="time budget of the live check (default 10)")
    return parser


def _error(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return EXIT_REFUSED


def exit_status(wait_status: int) -> int:
    """A waitpid status as a shell reports it: the exit code, or 128+N for signal N."""
    code = os.waitstatus_to_exitcode(wait_status)
    return 128 - code if code < 0 else code


def sweep_stale_dirs(tmp: str | None = None) -> int:
    """Remove key directories left by a `run` that was killed with SIGKILL (its pid is gone)."""
    tmp = tmp or tempfile.gettempdir()
    removed = 0
    with contextlib.suppress(OSError):
        for entry in os.scandir(tmp):
            if not entry.name.startswith(TEMP_PREFIX) or not entry.is_dir(follow_symlinks=False):
                continue
            try:
                pid = int(entry.name[len(TEMP_PREFIX):].split("-", 1)[0])
                if entry.stat(follow_symlinks=False).st_uid != os.getuid() or _alive(pid):
                    continue
            except (ValueError, OSError):
                continue
            shutil.rmtree(entry.path, ignore_errors=True)
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _program(command: Sequence[str]) -> str:
    """What the audit log names: the program only, never its arguments (they may be anything)."""
    return os.path.basename(command[0])[:200]


def _spawn(command: Sequence[str], env: dict[str, str]) -> int:
    """Start COMMAND with an empty signal mask and default SIGPIPE/SIGXFSZ (Python ignores them)."""
    reset = [signal.SIGPIPE] + ([signal.SIGXFSZ] if hasattr(signal, "SIGXFSZ") else [])
    return os.posix_spawnp(command[0], list(command), env, setsigmask=[], setsigdef=reset)


def _wait_forwarding(pid: int, *, precise: bool, on_forward: Callable[[int], None]) -> int:
    """Wait for COMMAND; forward SIGINT/SIGTERM/SIGHUP/SIGQUIT sent to us.

    With the signals blocked (Linux), `sigtimedwait` tells who sent each: a tty's Ctrl-C or
    hang-up already reached COMMAND (same foreground process group), so only a signal sent
    to this process (kill, systemd, docker stop) is passed on, and COMMAND gets each once.
    """
    if precise:
        waitset = {*FORWARDED, signal.SIGCHLD}
        while True:
            info = signal.sigtimedwait(waitset, _POLL_S)
            if info is not None and info.si_signo in FORWARDED and info.si_code != _SI_KERNEL:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, info.si_signo)
                on_forward(info.si_signo)
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return status
    # elsewhere: handlers forward every one (a tty's Ctrl-C may reach COMMAND twice)
    def forward(signum: int, frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
        on_forward(signum)

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    try:
        return os.waitpid(pid, 0)[1]  # PEP 475: retried after each handler
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run(name: str, command: Sequence[str], *, style_name: str = "generic", check: str = "live",
        store: KeyStore | None = None, base_url: str | None = None, ca_bundle: str | None = None,
        timeout: float = 10.0) -> int:
    """Check the key, run COMMAND with its credentials, and return the exit status."""
    from bkm_guard.runtime import exec_env
    from bkm_guard.runtime.guard import load
    from bkm_guard.runtime.store import KeyStore

    if not command:
        return _error("no COMMAND: put it after `--`, e.g. bkm-guard run NAME -- freqtrade trade")
    key_store = store if store is not None else KeyStore()
    try:
        env_style = exec_env.style(style_name)
        creds = load(name, check="offline" if check == "offline" else "live", store=key_store,
                     base_url=base_url, ca_bundle=ca_bundle, timeout=timeout)
        exec_env.refuse_unsupported(env_style, creds)
    except (GuardError, ValueError) as exc:
        with contextlib.suppress(GuardError, OSError):
            fingerprint = None
            with contextlib.suppress(GuardError, OSError):
                fingerprint = key_store.metadata(name).fingerprint
            key_store.audit_log.append("run", name, fingerprint=fingerprint, outcome="refused",
                                       reason=str(exc)[:2000], command=_program(command),
                                       env=style_name)
        return _error(f"{exc}; {_program(command)} was not started")
    sweep_stale_dirs()
    precise = sys.platform.startswith("linux") and hasattr(signal, "sigtimedwait")
    blocked = {*FORWARDED, signal.SIGCHLD}
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, blocked) if precise else None
    directory = tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-")  # 0700
    try:
        return _run_child(key_store, creds, env_style, command, directory, precise=precise)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        if old_mask is not None:
            # nothing may stay pending: an unblocked SIGINT would now end this process
            with contextlib.suppress(OSError):
                while signal.sigtimedwait(blocked, 0) is not None:
                    pass
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)


def _run_child(key_store: KeyStore, creds: Credentials, env_style: EnvStyle,
               command: Sequence[str], directory: str, *, precise: bool) -> int:
    from bkm_guard.runtime import exec_env

    key_path = (exec_env.write_private_key(directory, creds)
                if exec_env.needs_key_file(env_style, creds) else None)
    env = exec_env.child_environment(os.environ, env_style, creds, key_path)
    if precise:
        pending = signal.sigpending() & set(FORWARDED)
        if pending:  # asked to stop before COMMAND started: do not start it
            return 128 + int(min(pending))
    try:
        pid = _spawn(command, env)
    except FileNotFoundError:
        print(f"{PROG}: {_program(command)}: command not found", file=sys.stderr)
        return EXIT_NOT_FOUND
    except OSError as exc:
        print(f"{PROG}: {_program(command)}: cannot execute: {exc.strerror}", file=sys.stderr)
        return EXIT_CANNOT_EXECUTE
    started = time.monotonic()
    forwarded: list[int] = []
    _audit(key_store, "run", creds, outcome="ok", child_pid=pid, command=_program(command),
           env=env_style.name, key_file=key_path is not None)
    status = exit_status(_wait_forwarding(pid, precise=precise, on_forward=forwarded.append))
    _audit(key_store, "run-end", creds, outcome="ok" if status == 0 else "failed", child_pid=pid,
           exit_status=status, seconds=round(time.monotonic() - started, 3),
           signals=",".join(signal.Signals(s).name for s in forwarded) or None)
    return status


def _audit(key_store: KeyStore, action: str, creds: Credentials, *, outcome: str,
           **extra: Any) -> None:
    try:
        key_store.audit_log.append(action, creds.name, fingerprint=creds.fingerprint,
                                   outcome=outcome, **extra)
    except (GuardError, OSError) as exc:  # COMMAND runs (or ran) already: say so, go on
        print(f"{PROG}: warning: cannot write the audit log: {exc}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if "--" in args_list:
        split = args_list.index("--")
        options, command = args_list[:split], args_list[split + 1:]
    else:
        options, command = args_list, []
    try:
        args = _parser().parse_args(options)
    except SystemExit as exc:
        return 0 if exc.code in (0, None) else EXIT_REFUSED
    if not command:
        return _error("no COMMAND: put it after `--`, e.g. bkm-guard run NAME -- freqtrade trade")
    from bkm_guard.runtime.store import KeyStore

    try:
        return run(args.name, command, style_name=args.style,
                   check="offline" if args.offline else "live", store=KeyStore(args.store),
                   base_url=args.base_url, ca_bundle=args.ca_bundle, timeout=args.timeout)
    except KeyboardInterrupt:  # outside the blocked window (the live check)
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # the key file or its directory could not be written
        where = f" {exc.filename}" if exc.filename else ""
        return _error(f"{where.strip() or 'temporary directory'}: {exc.strerror or exc}")


if __name__ == "__main__":
    raise SystemExit(main())
