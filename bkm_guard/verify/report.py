"""Verification results as text, JSON and SARIF 2.1.0: masked forms and fingerprints only.

SARIF: every result has a `verification` property bag (status, environment, permissions,
IP restriction, creation time, next steps), a level from the result's severity (a live key
with withdrawals on is `error` with `security-severity` 10.0 and `rank` 100), and the
message says what was found and what to do.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any, Final

from bkm_guard.verify.model import STATUSES, Verification
from bkm_guard.verify.verifier import label

LEVELS: Final = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "none": "note"}

#: the standalone report's rules (`bkm-guard verify --format sarif`), one per outcome
RULES: Final = (
    ("live-key-withdrawals", "A live Binance key that can withdraw or transfer funds", "10.0"),
    ("live-key", "A live Binance key", "8.5"),
    ("rejected-key", "A Binance key that Binance rejects from here", "2.0"),
    ("not-verified", "A Binance key that could not be verified", "1.0"),
)


def headline(result: Verification) -> str:
    """One line: what verification found, never the value."""
    who = f"{result.masked} {result.fingerprint}"
    if result.status == "live":
        parts = [", ".join(label(p) for p in result.enabled) or "no permission enabled"]
        if result.ip_restricted is not None:
            parts.append("IP-restricted" if result.ip_restricted else "no IP restriction")
        if result.created:
            parts.append(f"created {result.created}")
        if result.trading_authority_expiration:
            parts.append(f"trading authority until {result.trading_authority_expiration}")
        where = f"{result.environment_label} ({result.host})"
        return f"{who}: LIVE on {where} [{result.severity}]: " + "; ".join(parts)
    if result.status == "rejected":
        return f"{who}: rejected: {result.reason}"
    if result.status == "error":
        return f"{who}: could not verify: {result.reason}"
    return f"{who}: not verified: {result.reason}"


def message(result: Verification) -> str:
    return f"{headline(result)}. Next: {result.next_steps}"


def render_text(results: Sequence[Verification], *, requests_sent: int | None = None) -> str:
    lines = []
    for result in results:
        where = f"{result.path}:{result.line}:{result.column}: " if result.path else ""
        lines.append(f"{where}{headline(result)}")
        lines.append(f"  next: {result.next_steps}")
    lines.append(summary(results, requests_sent=requests_sent))
    return "\n".join(lines) + "\n"


def summary(results: Sequence[Verification], *, requests_sent: int | None = None) -> str:
    counts = Counter(result.status for result in results)
    parts = [f"{counts[status]} {status}" for status in STATUSES if counts[status]]
    sent = f"; {requests_sent} request(s) sent" if requests_sent is not None else ""
    return f"bkm-guard verify: {len(results)} key(s): {', '.join(parts) or 'none'}{sent}"


def render_json(results: Sequence[Verification], *, requests_sent: int = 0) -> str:
    counts = Counter(result.status for result in results)
    totals: dict[str, int] = {status: counts[status] for status in STATUSES}
    totals["requests"] = requests_sent
    document = {
        "tool": "bkm-guard",
        "version": 1,
        "verifications": [result.to_dict() for result in results],
        "summary": totals,
    }
    return json.dumps(document, indent=2, ensure_ascii=True) + "\n"


def properties(result: Verification) -> dict[str, Any]:
    """The SARIF property bag of one result (also merged into `scan --verify` results)."""
    data = result.to_dict()
    for name in ("path", "line", "column", "masked", "fingerprint"):
        data.pop(name, None)
    return data


def sarif_level(result: Verification) -> str:
    return LEVELS[result.severity]


def rule_id(result: Verification) -> str:
    if result.status == "live":
        return "live-key-withdrawals" if result.severity == "critical" else "live-key"
    return "rejected-key" if result.status == "rejected" else "not-verified"


def render_sarif(results: Sequence[Verification], *, requests_sent: int = 0) -> str:
    from bkm_guard import __version__
    from bkm_guard.static.report.sarif import INFO_URI, SCHEMA, uri

    rules = [
        {
            "id": rid,
            "name": rid,
            "shortDescription": {"text": text},
            "helpUri": f"{INFO_URI}#is-a-found-key-live-bkm-guard-verify-and-scan---verify",
            "properties": {"tags": ["security", "binance"], "security-severity": score},
        }
        for rid, text, score in RULES
    ]
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    out = []
    for result in results:
        rid = rule_id(result)
        item: dict[str, Any] = {
            "ruleId": rid,
            "ruleIndex": index[rid],
            "level": sarif_level(result),
            "message": {"text": message(result)},
            "partialFingerprints": {"bkmFingerprint/v1": result.fingerprint},
            "properties": {"masked": result.masked, "verification": properties(result)},
        }
        if result.security_severity is not None:
            item["rank"] = round(result.security_severity * 10, 1)
            item["properties"]["security-severity"] = f"{result.security_severity:.1f}"
        if result.path:
            item["locations"] = [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(result.path), "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": max(1, result.line), "startColumn": max(1, result.column)},
                    }
                }
            ]
        out.append(item)
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "bkm-guard verify",
                        "version": __version__,
                        "informationUri": INFO_URI,
                        "rules": rules,
                    }
                },
                "invocations": [{"executionSuccessful": True, "properties": {"requests": requests_sent}}],
                "results": out,
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=True) + "\n"
