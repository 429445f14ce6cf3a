"""`--format sarif`: SARIF 2.1.0 as GitHub code scanning reads it.

One run; `tool.driver.rules` from the rule registry (id, name, descriptions, help text and
markdown); each result with `ruleId`/`ruleIndex`, a 1-based region, a URI relative to the
scan root (`%SRCROOT%`), and `partialFingerprints` from the masked fingerprint, so GitHub
tracks a finding across line moves. Skipped inputs are `toolExecutionNotifications`.
No field holds a secret: messages carry masked forms only.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from bkm_guard import __version__
from bkm_guard.static.baseline import finding_fingerprint
from bkm_guard.static.result import Reported, ScanResult

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/bkm-guard/bkm-guard"

_FALLBACK_RULES = {
    "BKM001": ("hardcoded-api-key", "Hardcoded Binance API key"),
    "BKM002": ("hardcoded-api-secret", "Hardcoded Binance API secret"),
    "BKM003": ("private-key", "Hardcoded or committed private key (Ed25519/RSA PEM)"),
    "BKM004": ("credential-in-text-file", "Binance-shaped credential in a non-Python text file"),
    "BKM101": ("insecure-endpoint", "http:// or ws:// Binance endpoint"),
    "BKM102": ("tls-verification-disabled", "TLS verification disabled on a request to Binance"),
    "BKM201": ("credential-logged", "A credential printed or logged"),
}
_LEVELS = {
    "BKM001": "error",
    "BKM002": "error",
    "BKM003": "error",
    "BKM004": "error",
    "BKM101": "warning",
    "BKM102": "error",
    "BKM201": "warning",
}
_SECURITY_SEVERITY = {"error": "8.0", "warning": "5.0", "note": "2.0"}


def _markdown(rule: Any) -> str:
    from bkm_guard.static.rules.base import render

    return "\n\n".join(
        [
            f"**{rule.CODE} {rule.NAME}**",
            f"**What it does.** {rule.WHAT}",
            f"**Why is this bad?** {rule.WHY}",
            "**Example**\n\n```python\n" + render(rule.EXAMPLE).rstrip() + "\n```",
            "**Use instead**\n\n```python\n" + render(rule.INSTEAD).rstrip() + "\n```",
            f"Run `bkm-guard rule {rule.CODE}` for the full documentation.",
        ]
    )


def rule_metadata() -> list[dict[str, Any]]:
    """SARIF reportingDescriptors of every rule, from the rule registry (ALL_RULES)."""
    from bkm_guard.static.rules import ALL_RULES

    out = []
    for code in sorted(ALL_RULES):
        rule = ALL_RULES[code]
        level = _LEVELS.get(code, "warning")
        what = str(getattr(rule, "WHAT", "") or _FALLBACK_RULES.get(code, ("", code))[1])
        short = _FALLBACK_RULES.get(code, ("", what.split(". ", maxsplit=1)[0]))[1]
        try:
            help_text, markdown = rule.doc(), _markdown(rule)
        except (AttributeError, TypeError):  # a rule without the four-part docs
            help_text = markdown = what
        out.append(
            {
                "id": code,
                "name": str(getattr(rule, "NAME", code)),
                "shortDescription": {"text": short},
                "fullDescription": {"text": what},
                "help": {"text": help_text, "markdown": markdown},
                "helpUri": f"{INFO_URI}#{code.lower()}",
                "defaultConfiguration": {"level": level},
                "properties": {
                    "tags": ["security", "binance"],
                    "precision": "high",
                    "security-severity": _SECURITY_SEVERITY[level],
                },
            }
        )
    return out


def uri(path: str) -> str:
    """A relative URI for a '/'-separated display path (bytes that are not UTF-8 are %-escaped)."""
    raw = path.encode("utf-8", "surrogateescape")
    return urllib.parse.quote(raw, safe="/-_.~")


def _result(item: Reported, index: dict[str, int]) -> dict[str, Any]:
    f = item.finding
    region: dict[str, int] = {"startLine": max(1, f.line), "startColumn": max(1, f.column)}
    if f.end_line >= f.line and f.end_line:
        region["endLine"] = f.end_line
        if f.end_column and (f.end_line > f.line or f.end_column > f.column):
            region["endColumn"] = f.end_column
    result: dict[str, Any] = {
        "ruleId": f.code,
        "level": _LEVELS.get(f.code, "warning"),
        "message": {"text": item.message()},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": uri(f.path), "uriBaseId": "%SRCROOT%"},
                    "region": region,
                }
            }
        ],
        "partialFingerprints": {"bkmFingerprint/v1": finding_fingerprint(item)},
        "properties": {"masked": f.masked, "confidence": f.confidence, "fixable": f.fixable},
    }
    if f.code in index:
        result["ruleIndex"] = index[f.code]
    if item.provenance is not None:
        p = item.provenance
        result["properties"]["history"] = {
            "commit": p.commit,
            "authorDate": p.author_date,
            "inHead": p.in_head,
        }
    return result


def render_sarif(result: ScanResult) -> str:
    rules = rule_metadata()
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    notifications = [
        {
            "level": "warning" if notice.kind == "error" else "note",
            "message": {"text": f"{notice.kind}: {notice.reason}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(notice.path), "uriBaseId": "%SRCROOT%"}
                    }
                }
            ],
        }
        for notice in result.notices
    ]
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "bkm-guard",
                        "version": __version__,
                        "informationUri": INFO_URI,
                        "rules": rules,
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "toolExecutionNotifications": notifications,
                        "properties": {
                            "scanned": result.scanned,
                            "skipped": dict(sorted(result.skipped.items())),
                            "baselined": result.baselined,
                        },
                    }
                ],
                "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "the scan root"}}},
                "columnKind": "unicodeCodePoints",
                "results": [_result(item, index) for item in result.reported],
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=True) + "\n"
