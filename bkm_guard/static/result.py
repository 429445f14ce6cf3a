"""What a scan produced, as the reporters and the baseline see it."""

from __future__ import annotations

import dataclasses
import re
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
        from bkm_guard.masking import scrub_message

        finding, origin = self.finding, self.provenance
        if origin is None:
            return scrub_message(finding.message)
        where = f"first committed in {origin.commit[:12]} ({origin.author_date})"
        if finding.code not in CREDENTIAL_CODES:
            return f"{scrub_message(finding.message)} [{where}]"
        state = "still in HEAD" if origin.in_head else "removed from HEAD but still in the git history"
        advice = "a committed key is leaked, rotate it on Binance"
        return f"{scrub_message(finding.message)} [{where}; {state}: {advice}]"

    def text(self) -> str:
        f = self.finding
        return f"{printable(f.path)}:{f.line}:{f.column}: {f.code} {printable(self.message())}"


def json_safe(path: str) -> str:
    """A path any JSON encoder accepts (undecodable bytes as \\x escapes); JSON itself escapes
    control characters, so a machine reader gets the name back exactly."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return path


# C0 and C1 controls, DEL, and the bidirectional overrides that reorder what a terminal shows
_UNSAFE_CHARS_RE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED_ESCAPES = {"\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f",
                  "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    code = ord(char)
    return f"\\{code:03o}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """Untrusted text (a file name, a message quoting a file) as one safe line for a terminal or a
    log, as git's quotePath does: control characters and bidi overrides escaped
    (`\\n`, `\\033`, `\\u202e`), undecodable bytes as `\\x` escapes. A name holding a newline can
    no longer forge a report line, nor an escape sequence rewrite the terminal."""
    text = json_safe(text)
    if not _UNSAFE_CHARS_RE.search(text):
        return text
    return _UNSAFE_CHARS_RE.sub(_escape, text)


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
