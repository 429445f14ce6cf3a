"""What a scan produced, as the reporters and the baseline see it."""

from __future__ import annotations

import dataclasses
from collections import Counter

from bkm_guard.static.findings import Finding, Notice

CREDENTIAL_CODES = frozenset({"BKM001", "BKM002", "BKM003", "BKM004"})


@dataclasses.dataclass(frozen=True, slots=True)
class Provenance:
    """Where a blob with a finding came from. Never holds the author's name or e-mail."""

    commit: str
    author_date: str
    path: str
    in_head: bool


@dataclasses.dataclass(frozen=True, slots=True)
class Reported:
    """One finding as reported: for history scans, with where it came from."""

    finding: Finding
    provenance: Provenance | None = None

    def message(self) -> str:
        """The finding's message, plus the history and the rotate-it advice for git history."""
        finding, origin = self.finding, self.provenance
        if origin is None:
            return finding.message
        where = f"first committed in {origin.commit[:12]} ({origin.author_date})"
        if finding.code not in CREDENTIAL_CODES:
            return f"{finding.message} [{where}]"
        state = "still in HEAD" if origin.in_head else "removed from HEAD but still in the git history"
        return f"{finding.message} [{where}; {state}: a committed key is leaked, rotate it on Binance]"

    def text(self) -> str:
        f = self.finding
        return f"{printable(f.path)}:{f.line}:{f.column}: {f.code} {self.message()}"


def printable(path: str) -> str:
    """A path as text any terminal and JSON encoder accepts (undecodable bytes as \\x escapes)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return path


@dataclasses.dataclass
class ScanResult:
    root: str
    mode: str  # "files", "staged", "history"
    reported: list[Reported] = dataclasses.field(default_factory=list)
    notices: list[Notice] = dataclasses.field(default_factory=list)
    scanned: int = 0
    scanned_bytes: int = 0
    skipped: Counter[str] = dataclasses.field(default_factory=Counter)
    baselined: int = 0
    fixed_files: int = 0
    fixes_shown_only: bool = False  # --diff: the files were not written
    wall: float = 0.0

    def per_code(self) -> Counter[str]:
        return Counter(r.finding.code for r in self.reported)

    def summary(self) -> str:
        unit = "blobs" if self.mode == "history" else "files"
        size = (
            f"{self.scanned_bytes / 1e6:.1f} MB"
            if self.scanned_bytes >= 1e6
            else f"{self.scanned_bytes / 1e3:.1f} kB"
        )
        parts = [f"scanned {self.scanned:,} {unit} ({size})"]
        if self.skipped:
            reasons = ", ".join(f"{reason} {count:,}" for reason, count in sorted(self.skipped.items()))
            files = sum(n for reason, n in self.skipped.items() if not reason.endswith("directories"))
            parts.append(f"skipped {files:,} ({reasons})")
        codes = self.per_code()
        if codes:
            parts.append(
                f"{sum(codes.values()):,} findings ("
                + ", ".join(f"{code} {n}" for code, n in sorted(codes.items()))
                + ")"
            )
        else:
            parts.append("no findings")
        if self.baselined:
            parts.append(f"{self.baselined:,} in the baseline")
        if self.fixed_files:
            verb = "fixes shown for" if self.fixes_shown_only else "fixed"
            parts.append(f"{verb} {self.fixed_files:,} {'file' if self.fixed_files == 1 else 'files'}")
        if self.notices:
            parts.append(f"{len(self.notices):,} notices")
        return "bkm-guard: " + "; ".join(parts) + f" in {self.wall:.2f} s"
