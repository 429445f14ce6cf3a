"""Baselines: the findings a team has accepted, so that only new ones fail a build.

An entry is (code, path, fingerprint, masked): no line numbers, so moving code around does
not make a finding new; paths relative to the baseline file's directory and '/'-separated,
so the file works on every machine and from any working directory. Never a secret value:
the fingerprint is a domain-separated hash and the masked form shows four characters.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from bkm_guard.errors import ConfigError
from bkm_guard.masking import fingerprint as make_fingerprint
from bkm_guard.static.result import Reported

FORMAT = "bkm-guard-baseline"
VERSION = 1

Key = tuple[str, str, str]


class BaselineError(ConfigError):
    """A baseline file that cannot be read as one."""


def finding_fingerprint(item: Reported) -> str:
    finding = item.finding
    if finding.fingerprint:
        return finding.fingerprint
    # a rule that gave no fingerprint: its message names the variable, never the value
    return make_fingerprint(f"{finding.code}:{finding.message}")


def baseline_path(item: Reported, root: str, baseline_dir: str) -> str:
    absolute = os.path.normpath(os.path.join(root, item.finding.path))
    rel = os.path.relpath(absolute, baseline_dir)
    return (rel if not rel.startswith(os.pardir) else absolute).replace(os.sep, "/")


def _key(item: Reported, root: str, baseline_dir: str) -> Key:
    return (item.finding.code, baseline_path(item, root, baseline_dir), finding_fingerprint(item))


def load(path: Path) -> Counter[Key]:
    """The accepted findings of a baseline file; BaselineError if it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise BaselineError(f"baseline {path}: cannot read it: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BaselineError(
            f"baseline {path}: not valid JSON ({exc}); regenerate it with "
            "`bkm-guard scan --baseline FILE --update-baseline`"
        ) from None
    if (
        not isinstance(data, dict)
        or data.get("format") != FORMAT
        or not isinstance(data.get("findings"), list)
    ):
        raise BaselineError(
            f'baseline {path}: not a bkm-guard baseline (no "format": "{FORMAT}"); regenerate '
            "it with `bkm-guard scan --baseline FILE --update-baseline`"
        )
    if data.get("version") != VERSION:
        raise BaselineError(
            f"baseline {path}: version {data.get('version')!r} is not supported "
            f"(this bkm-guard reads version {VERSION})"
        )
    accepted: Counter[Key] = Counter()
    for index, entry in enumerate(data["findings"]):
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(k), str) for k in ("code", "path", "fingerprint")
        ):
            raise BaselineError(f"baseline {path}: entry {index} lacks code, path or fingerprint")
        accepted[(entry["code"], entry["path"], entry["fingerprint"])] += 1
    return accepted


def split_new(
    items: Sequence[Reported], accepted: Counter[Key], *, root: str, baseline_file: Path
) -> tuple[list[Reported], int]:
    """(findings not in the baseline, how many were in it). Counts matter: a second copy of
    an accepted key in the same file is new."""
    remaining = Counter(accepted)
    baseline_dir = str(baseline_file.resolve().parent)
    new: list[Reported] = []
    known = 0
    for item in items:
        key = _key(item, root, baseline_dir)
        if remaining[key] > 0:
            remaining[key] -= 1
            known += 1
        else:
            new.append(item)
    return new, known


def write(path: Path, items: Sequence[Reported], *, root: str) -> None:
    """Write the baseline atomically: sorted, one entry per finding, no line numbers."""
    baseline_dir = str(path.resolve().parent)
    entries = sorted(
        (
            {"code": code, "path": rel, "fingerprint": fp, "masked": item.finding.masked}
            for item in items
            for code, rel, fp in [_key(item, root, baseline_dir)]
        ),
        key=lambda e: (e["path"], e["code"], e["fingerprint"]),
    )
    document = {"format": FORMAT, "version": VERSION, "findings": entries}
    text = json.dumps(document, indent=2, ensure_ascii=True) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".bkm-baseline-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
