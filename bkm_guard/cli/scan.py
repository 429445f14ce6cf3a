"""`bkm-guard scan`: find hardcoded Binance credentials and insecure endpoints.

Exit status: 0 nothing found, 1 findings (or files changed by --fix), 2 usage, configuration
or I/O error. Reports go to stdout (or --output); notices and the summary go to stderr.
Imports stay light: the analyzer (and libcst) load only when a file needs them.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bkm_guard.errors import ConfigError, GuardError
from bkm_guard.static import config as config_mod
from bkm_guard.static.findings import Finding, Notice
from bkm_guard.static.options import Options
from bkm_guard.static.result import CREDENTIAL_CODES, Reported, ScanResult, printable

if TYPE_CHECKING:
    from collections.abc import Iterable

    from bkm_guard.static.progress import Progress
    from bkm_guard.static.runner import Outcome, Settings
    from bkm_guard.verify.scan import ScanVerification

PROG = "bkm-guard scan"


def build_parser() -> argparse.ArgumentParser:
    from bkm_guard.cli.safety import RaisingArgumentParser  # argparse echoes what it refuses

    p = RaisingArgumentParser(
        prog=PROG,
        description="Find hardcoded Binance API keys, secrets and private keys, and "
        "insecure Binance endpoints, in files, the git index or the git history.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="files and directories (default: .)")
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--staged", action="store_true", help="scan the git index (what the next commit holds)"
    )
    source.add_argument("--history", action="store_true", help="scan every blob ever committed")
    p.add_argument("--since", metavar="REV", help="with --history: only blobs new since REV")
    p.add_argument(
        "--branch",
        action="append",
        default=[],
        metavar="REF",
        help="with --history: walk these refs instead of all (repeatable)",
    )
    p.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    p.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    p.add_argument("--baseline", metavar="FILE", help="report only findings that are not in FILE")
    p.add_argument(
        "--update-baseline", action="store_true", help="write every current finding to the baseline"
    )
    p.add_argument(
        "--select", action="append", metavar="CODES", help="only these rule codes (comma-separated)"
    )
    p.add_argument(
        "--ignore", action="append", metavar="CODES", help="not these rule codes (comma-separated)"
    )
    p.add_argument("--fix", action="store_true", help="apply safe fixes (https/wss, drop verify=False)")
    p.add_argument(
        "--unsafe-fixes",
        action="store_true",
        help="also move hardcoded keys to environment lookups (implies --fix; rotate the key!)",
    )
    p.add_argument("--diff", action="store_true", help="show the fixes as a diff, change no file")
    p.add_argument("--jobs", "-j", type=int, metavar="N", help="worker processes (default: every core)")
    p.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar, notices or summary")
    p.add_argument("--show-config", action="store_true", help="print the effective configuration and exit")
    p.add_argument(
        "--pre-commit",
        action="store_true",
        help="hook mode: PATHs are the files to scan (no discovery), concise output; "
        "without PATHs, the index is scanned",
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="ask Binance whether each found key (with its secret or private key) is live and what it "
        "may do; sends the keys to Binance over HTTPS, so never in hooks (see `bkm-guard verify`)",
    )
    from bkm_guard.verify.options import add_budget_options

    add_budget_options(p, prefix="verify-")
    return p


@dataclasses.dataclass
class _Run:
    args: argparse.Namespace
    config: config_mod.Config
    options: Options
    root: str
    jobs: int


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except GuardError as exc:
        print(f"bkm-guard: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bkm-guard: interrupted", file=sys.stderr)
        return 2


def _main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.jobs is not None and args.jobs < 1:
        raise ConfigError("--jobs must be at least 1")
    if args.unsafe_fixes:
        args.fix = True
    if (args.since or args.branch) and not args.history:
        raise ConfigError("--since and --branch go with --history")
    if args.pre_commit and not args.paths and not args.history:
        args.staged = True
    if args.fix and (args.staged or args.history):
        raise ConfigError(
            "--fix rewrites files in the work tree; it cannot be used with --staged or --history"
        )
    if args.diff and not args.fix:
        args.fix = True
    from bkm_guard.verify.options import check_scan_args

    check_scan_args(args)

    from bkm_guard.static import runner

    git_mode = args.staged or args.history
    if git_mode:
        from bkm_guard.static.gitsource import toplevel

        root = toplevel(args.paths[0] if args.history and args.paths else os.getcwd())
    elif len(args.paths) == 1 and os.path.isdir(args.paths[0]) and not args.pre_commit:
        root = os.path.abspath(args.paths[0])
    else:
        root = os.getcwd()
    for path in args.paths if not git_mode and not args.pre_commit else ():
        if not os.path.lexists(path):
            raise ConfigError(f"{path}: no such file or directory")

    cfg = config_mod.resolve(Path(root), select=args.select, ignore=args.ignore)
    if args.show_config:
        print(cfg.render())
        return 0
    select = cfg.selected_codes()
    if args.history and select is None:
        select = CREDENTIAL_CODES  # history is about leaked keys; --select widens it
    options = Options(
        select=select,
        ignore=cfg.ignored_codes(),
        extra_client_names=cfg.extra_client_names,
        extra_key_names=cfg.extra_key_names,
    )
    run = _Run(args, cfg, options, root, args.jobs or runner.default_jobs())

    started = time.perf_counter()
    result = ScanResult(root=root, mode="history" if args.history else "staged" if args.staged else "files")
    settings = runner.Settings(options, cfg.per_file_ignores, repo=root if git_mode else "")
    if args.history:
        _scan_history(run, settings, result)
    elif args.staged:
        _scan_staged(run, settings, result)
    else:
        _scan_files(run, settings, result)
    result.reported.sort(key=lambda r: (r.finding.path, r.finding.line, r.finding.column, r.finding.code))
    result.wall = time.perf_counter() - started

    code = _apply_baseline(run, result)
    if code is not None:
        return code
    verified = None
    if args.verify:
        from bkm_guard.verify.scan import verify_reported

        verified = verify_reported(run.root, result.reported, args)
    _emit(run, result, verified)
    if args.exit_zero:
        return 0
    return 1 if result.reported or result.fixed_files else 0


# --- sources --------------------------------------------------------------------------------


def _progress(run: _Run, total_files: int | None, total_bytes: int | None, unit: str) -> Progress:
    from bkm_guard.static.progress import Progress

    return Progress(
        total_files=total_files,
        total_bytes=total_bytes,
        unit=unit,
        enabled=not (run.args.quiet or run.args.pre_commit),
    )


def _collect(
    outcomes_iter: Iterable[list[Outcome]], result: ScanResult, progress: Progress
) -> list[tuple[str, Finding]]:

    refs: list[tuple[str, Finding]] = []
    try:
        for outcomes in outcomes_iter:
            nbytes = 0
            for outcome in outcomes:
                result.notices.extend(outcome.notices)
                nbytes += outcome.nbytes
                if outcome.skipped:
                    result.skipped[outcome.skipped] += 1
                    continue
                result.scanned += 1
                result.scanned_bytes += outcome.nbytes
                refs.extend((outcome.ref, f) for f in outcome.findings)
            progress.advance(len(outcomes), nbytes)
    finally:
        progress.close()
    return refs


def _scan_files(run: _Run, settings: Settings, result: ScanResult) -> None:
    from bkm_guard.static import runner
    from bkm_guard.static.discovery import discover

    found = discover(
        run.args.paths or ["."], root=run.root, exclude=run.config.exclude, explicit_files=run.args.pre_commit
    )
    result.notices.extend(found.notices)
    result.skipped.update(found.skipped)
    total = sum(job.size for job in found.files)
    progress = _progress(run, len(found.files), total, "files")
    refs = _collect(runner.scan_files(found.files, settings, run.jobs), result, progress)
    result.reported = [Reported(f) for _, f in refs]
    if run.args.fix:
        _fix(run, settings, result, {job.display: job.abspath for job in found.files})


def _scan_staged(run: _Run, settings: Settings, result: ScanResult) -> None:
    from bkm_guard.static import gitsource, runner

    pathspecs = [os.path.relpath(os.path.abspath(p), run.root) for p in run.args.paths]
    blobs = gitsource.staged_blobs(run.root, pathspecs, run.config.exclude)
    total = sum(b.size for b in blobs)
    small = len(blobs) <= runner.SMALL_SCAN_FILES and total <= runner.SMALL_SCAN_BYTES
    progress = _progress(run, len(blobs), total, "files")
    refs = _collect(runner.scan_blob_jobs(blobs, settings, run.jobs, small=small), result, progress)
    result.reported = [Reported(f) for _, f in refs]


def _scan_history(run: _Run, settings: Settings, result: ScanResult) -> None:
    from bkm_guard.static import gitsource, runner

    result.notices.extend(gitsource.history_notices(run.root))
    revs = gitsource.rev_args(run.root, run.args.since, run.args.branch)
    blobs = gitsource.history_blobs(run.root, revs, run.config.exclude)
    progress = _progress(run, None, None, "blobs")
    refs = _collect(runner.scan_blob_jobs(blobs, settings, run.jobs, small=False), result, progress)
    origins = gitsource.provenance(run.root, {sha for sha, _ in refs}, revs)
    reported = []
    for sha, finding in refs:
        origin = origins.get(sha)
        shown = finding
        if origin is not None and origin.path != finding.path:
            shown = dataclasses.replace(finding, path=origin.path)
        reported.append(Reported(shown, origin))
    result.reported = reported


# --- fixes ----------------------------------------------------------------------------------

_LONG_TOKEN_RE = re.compile(r"[A-Za-z0-9+/=_\-]{32,}")


def _mask_line(line: str) -> str:
    """Diff lines may show context around a key: never print anything key-like."""
    from bkm_guard.masking import mask

    def repl(match: re.Match[str]) -> str:
        token = match.group()
        if any(c.isdigit() for c in token) and any(c.isalpha() for c in token):
            return f"<{mask(token)}>"
        return token

    return _LONG_TOKEN_RE.sub(repl, line)


def _fix(run: _Run, settings: Settings, result: ScanResult, abspaths: dict[str, str]) -> None:
    import difflib

    from bkm_guard.static import pipeline, runner
    from bkm_guard.static.discovery import FileJob

    allowed = {"safe", "unsafe"} if run.args.unsafe_fixes else {"safe"}
    targets = sorted({r.finding.path for r in result.reported if r.finding.fixable in allowed})
    changed: list[str] = []
    for display in targets:
        abspath = abspaths.get(display)
        if abspath is None:
            continue
        try:
            data = Path(abspath).read_bytes()
        except OSError as exc:
            result.notices.append(Notice(display, f"not fixed: cannot read ({exc.strerror})", "error"))
            continue
        try:
            fixed = pipeline.fix(display, data, unsafe=run.args.unsafe_fixes, options=settings.options)
        except Exception as exc:
            result.notices.append(
                Notice(display, f"not fixed: internal error ({type(exc).__name__})", "error")
            )
            continue
        for warning in fixed.warnings:
            print(f"bkm-guard: {printable(display)}: {printable(warning)}", file=sys.stderr)
        if fixed.data is None or fixed.data == data:
            continue
        changed.append(display)
        if run.args.diff:
            before = data.decode("utf-8", "replace").splitlines(keepends=True)
            after = fixed.data.decode("utf-8", "replace").splitlines(keepends=True)
            shown = printable(display)
            for line in difflib.unified_diff(before, after, f"a/{shown}", f"b/{shown}"):
                sys.stdout.write(_mask_line(line) if line[:1] in "+- " else line)
            continue
        _write_atomic(abspath, fixed.data)
        print(f"bkm-guard: fixed {printable(display)} ({len(fixed.applied)} fixes)", file=sys.stderr)
    result.fixed_files = len(changed)
    result.fixes_shown_only = bool(run.args.diff)
    if changed and not run.args.diff:
        # report what is left in the fixed files
        keep = [r for r in result.reported if r.finding.path not in set(changed)]
        for display in changed:
            outcome = runner.scan_file(FileJob(abspaths[display], display, 0), settings)
            keep.extend(Reported(f) for f in outcome.findings)
        result.reported = keep


def _write_atomic(path: str, data: bytes) -> None:
    import tempfile

    directory = os.path.dirname(path) or "."
    mode = os.stat(path).st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix=".bkm-fix-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# --- baseline and output --------------------------------------------------------------------


def _apply_baseline(run: _Run, result: ScanResult) -> int | None:
    from bkm_guard.static import baseline

    name = run.args.baseline or run.config.baseline
    if run.args.update_baseline:
        if not name:
            raise ConfigError("--update-baseline needs --baseline FILE (or `baseline` in [tool.bkm-guard])")
        baseline.write(Path(name), result.reported, root=result.root)
        if not run.args.quiet:
            print(f"bkm-guard: wrote {len(result.reported)} findings to the baseline {name}", file=sys.stderr)
        return 0
    if not name:
        return None
    try:
        accepted = baseline.load(Path(name))
    except FileNotFoundError:
        print(
            f"bkm-guard: warning: baseline {name} does not exist yet: every finding is new "
            "(create it with --update-baseline)",
            file=sys.stderr,
        )
        return None
    result.reported, result.baselined = baseline.split_new(
        result.reported, accepted, root=result.root, baseline_file=Path(name)
    )
    return None


def _emit(run: _Run, result: ScanResult, verified: ScanVerification | None = None) -> None:
    from bkm_guard.static.report import render

    args = run.args
    if not args.diff or args.format != "text":
        report = render(args.format, result)
        if verified is not None:
            from bkm_guard.verify.scan import enrich

            report = enrich(args.format, report, [r.finding for r in result.reported], verified)
        if args.output:
            Path(args.output).write_text(report, encoding="utf-8")
        elif report:
            sys.stdout.write(report)
            sys.stdout.flush()
    if args.quiet:
        return
    for notice in result.notices:
        reason = printable(notice.reason)
        print(f"bkm-guard: {printable(notice.path)}: {notice.kind}: {reason}", file=sys.stderr)
    if args.pre_commit:
        if any(r.finding.code in CREDENTIAL_CODES for r in result.reported):
            print(
                "bkm-guard: remove the credentials above (use environment variables or `bkm-guard keys`); "
                "a key that was ever committed or pushed must be rotated on Binance",
                file=sys.stderr,
            )
        return
    print(result.summary(), file=sys.stderr)
    if verified is not None:
        from bkm_guard.verify.scan import summary_line

        print(summary_line(verified), file=sys.stderr)
