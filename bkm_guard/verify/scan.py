"""`bkm-guard scan --verify`: verify the credentials a scan reported, then add what Binance said.

Findings carry no value, only a fingerprint. After the scan (and the baseline), the files
with reported credential findings are read again inside this process and paired by
`pairing`; a pair is verified when one of its fingerprints is a reported finding's. The
values stay in this process: reports get the `Verification` (masked form, fingerprint,
status, permissions, next steps). The report enrichment works on the rendered documents, so
it does not depend on how the scan pipeline builds them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar

from bkm_guard.verify.model import Verification

if TYPE_CHECKING:
    from bkm_guard.verify.verifier import Verifier

#: rule codes of findings that hold a credential value
CREDENTIAL_CODES: Final = frozenset({"BKM001", "BKM002", "BKM003", "BKM004"})
_LEVEL_ORDER: Final = {"none": 0, "note": 1, "warning": 2, "error": 3}
_GIT_TIMEOUT_S: Final = 30


class FindingLike(Protocol):
    @property
    def path(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def column(self) -> int: ...
    @property
    def code(self) -> str: ...
    @property
    def fingerprint(self) -> str: ...


F = TypeVar("F", bound=FindingLike)


@dataclasses.dataclass(frozen=True)
class Source:
    """Where to read again the text a finding came from."""

    path: str  # the display path of the finding
    read: Callable[[], bytes | None]
    #: what makes two findings come from the same text (for --history: the revision too)
    ident: str = ""


@dataclasses.dataclass
class ScanVerification:
    """The verifications of one scan, by finding."""

    results: list[Verification]
    by_finding: dict[tuple[str, int, int, str], Verification]
    requests: int

    def for_finding(self, finding: FindingLike) -> Verification | None:
        return self.by_finding.get(_finding_key(finding))


class OriginLike(Protocol):
    @property
    def commit(self) -> str: ...
    @property
    def path(self) -> str: ...


class ReportedLike(Protocol):
    @property
    def finding(self) -> FindingLike: ...
    @property
    def provenance(self) -> OriginLike | None: ...


def verify_reported(
    root: str, reported: Sequence[ReportedLike], args: argparse.Namespace
) -> ScanVerification:
    """`scan --verify`: the scan's reported findings (files under `root`, or --history blobs)."""
    from bkm_guard.verify.options import make_verifier

    verifier = make_verifier(args.verify_max_requests, args.verify_rate, args.verify_timeout)
    origins = {id(item.finding): item.provenance for item in reported}

    def source(finding: FindingLike) -> Source:
        origin = origins.get(id(finding))
        if origin is not None:  # --history: the blob as first committed
            return git_source(root, origin.path, origin.commit)
        return file_source(root, finding.path)

    return verify_findings([item.finding for item in reported], source, verifier)


def file_source(root: str, path: str) -> Source:
    def read() -> bytes | None:
        try:
            with open(os.path.join(root, path), "rb") as handle:
                return handle.read()
        except OSError:
            return None

    return Source(path, read, path)


def git_source(repo: str, path: str, revision: str = "") -> Source:
    """A blob from git: `revision:path`, or the index (`:path`) when no revision is given."""

    def read() -> bytes | None:
        try:
            done = subprocess.run(
                ["git", "-C", repo, "cat-file", "blob", f"{revision}:{path}"],
                capture_output=True,
                timeout=_GIT_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout if done.returncode == 0 else None

    return Source(path, read, f"{revision}:{path}")


def verify_findings(
    findings: Sequence[F], sources: Callable[[F], Source], verifier: Verifier
) -> ScanVerification:
    """Verify every credential finding that can be paired; the others get "not verified"."""
    from bkm_guard.verify import pairing
    from bkm_guard.verify.verifier import unpaired_result

    credential = [f for f in findings if f.code in CREDENTIAL_CODES]
    results: list[Verification] = []
    by_finding: dict[tuple[str, int, int, str], Verification] = {}
    groups: dict[str, list[F]] = {}
    source_of: dict[str, Source] = {}
    for finding in credential:
        source = sources(finding)
        groups.setdefault(source.ident or source.path, []).append(finding)
        source_of.setdefault(source.ident or source.path, source)
    for ident, group in groups.items():
        path = source_of[ident].path
        data = source_of[ident].read()
        if data is None:
            reason = "the file could not be read again to pair its values"
            for finding in group:
                by_finding[_finding_key(finding)] = _not_verified(finding, reason, path, unpaired_result)
            continue
        pairs, unpaired = pairing.pair_text(data.decode("utf-8", "surrogateescape"))
        wanted = {finding.fingerprint for finding in group}
        for pair in pairs:
            if not pair.fingerprints & wanted:
                continue  # a pair the scan did not report (suppressed, baselined, not selected)
            result = dataclasses.replace(verifier.verify(pair), path=path)
            results.append(result)
            for finding in group:
                if finding.fingerprint in pair.fingerprints:
                    by_finding[_finding_key(finding)] = result
        reasons = {item.fingerprint: item.reason for item in unpaired}
        for finding in group:
            if _finding_key(finding) not in by_finding:
                reason = reasons.get(finding.fingerprint, "the value was not found again to pair it")
                result = _not_verified(finding, reason, path, unpaired_result)
                by_finding[_finding_key(finding)] = result
                results.append(result)
    return ScanVerification(results, by_finding, verifier.budget.used)


def _not_verified(
    finding: FindingLike, reason: str, path: str, make: Callable[[Any], Verification]
) -> Verification:
    from bkm_guard.verify.model import Unpaired

    masked = str(getattr(finding, "masked", "") or "")
    return dataclasses.replace(
        make(Unpaired(finding.fingerprint, masked, finding.line, finding.column, reason)), path=path
    )


def _finding_key(finding: FindingLike) -> tuple[str, int, int, str]:
    return (finding.path, finding.line, finding.column, finding.code)


# -- reports ------------------------------------------------------------------------------------


def enrich(fmt: str, document: str, findings: Sequence[FindingLike], verified: ScanVerification) -> str:
    """The scan's rendered report with the verifications added (text, json or sarif)."""
    if fmt == "json":
        return _enrich_json(document, findings, verified)
    if fmt == "sarif":
        return _enrich_sarif(document, findings, verified)
    return _enrich_text(document, findings, verified)


def _enrich_text(document: str, findings: Sequence[FindingLike], verified: ScanVerification) -> str:
    from bkm_guard.verify.report import headline

    lines = document.splitlines(keepends=True)
    out: list[str] = []
    shown: set[int] = set()
    for index, line in enumerate(lines):
        out.append(line)
        finding = findings[index] if index < len(findings) and len(lines) == len(findings) else None
        result = verified.for_finding(finding) if finding is not None else None
        if result is None or id(result) in shown:
            continue
        shown.add(id(result))
        out.append(f"  verified: {headline(result)}\n")
        out.append(f"  next: {result.next_steps}\n")
    return "".join(out)


def _enrich_json(document: str, findings: Sequence[FindingLike], verified: ScanVerification) -> str:
    from bkm_guard.verify.report import properties

    data = json.loads(document)
    for item, finding in zip(data.get("findings", []), findings, strict=False):
        result = verified.for_finding(finding)
        if result is not None:
            item["verification"] = properties(result)
    data["verification"] = {"requests": verified.requests, "summary": _counts(verified.results)}
    return json.dumps(data, indent=2, ensure_ascii=True) + "\n"


def _enrich_sarif(document: str, findings: Sequence[FindingLike], verified: ScanVerification) -> str:
    from bkm_guard.verify.report import message, properties, sarif_level

    data = json.loads(document)
    run = data["runs"][0]
    for item, finding in zip(run.get("results", []), findings, strict=False):
        result = verified.for_finding(finding)
        if result is None:
            continue
        item.setdefault("properties", {})["verification"] = properties(result)
        item["message"]["text"] = f"{item['message']['text']} [verified: {message(result)}]"
        level = sarif_level(result)
        if result.status in ("live", "rejected") and _LEVEL_ORDER[level] > _LEVEL_ORDER.get(
            item.get("level", ""), 0
        ):
            item["level"] = level
        if result.status == "live" and result.security_severity is not None:
            item["rank"] = round(result.security_severity * 10, 1)
            item["properties"]["security-severity"] = f"{result.security_severity:.1f}"
    invocation = run.setdefault("invocations", [{}])[0]
    invocation.setdefault("properties", {})["verification"] = {
        "requests": verified.requests,
        "summary": _counts(verified.results),
    }
    return json.dumps(data, indent=2, ensure_ascii=True) + "\n"


def _counts(results: Sequence[Verification]) -> dict[str, int]:
    from bkm_guard.verify.model import STATUSES

    return {status: sum(1 for r in results if r.status == status) for status in STATUSES}


def summary_line(verified: ScanVerification) -> str:
    from bkm_guard.verify.report import summary

    return summary(verified.results, requests_sent=verified.requests).replace(
        "bkm-guard verify:", "bkm-guard: verified"
    )
