"""`--format json`: findings, notices and the summary as one JSON document."""

from __future__ import annotations

import json
from typing import Any

from bkm_guard.static.result import Reported, ScanResult, json_safe


def finding_dict(item: Reported) -> dict[str, Any]:
    f = item.finding
    out: dict[str, Any] = {
        "path": json_safe(f.path),
        "line": f.line,
        "column": f.column,
        "end_line": f.end_line or f.line,
        "end_column": f.end_column or f.column,
        "code": f.code,
        "message": item.message(),
        "fingerprint": f.fingerprint,
        "masked": f.masked,
        "confidence": f.confidence,
        "fixable": f.fixable,
    }
    if item.provenance is not None:
        p = item.provenance
        out["history"] = {
            "commit": p.commit,
            "author_date": p.author_date,
            "path": json_safe(p.path),
            "in_head": p.in_head,
        }
    return out


def render_json(result: ScanResult) -> str:
    document = {
        "tool": "bkm-guard",
        "version": 1,
        "mode": result.mode,
        "findings": [finding_dict(item) for item in result.reported],
        "notices": [{"path": json_safe(n.path), "kind": n.kind, "reason": n.reason} for n in result.notices],
        "summary": {
            "scanned": result.scanned,
            "scanned_bytes": result.scanned_bytes,
            "skipped": dict(sorted(result.skipped.items())),
            "findings": dict(sorted(result.per_code().items())),
            "baselined": result.baselined,
            "fixed_files": result.fixed_files,
            "wall_seconds": round(result.wall, 3),
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=True) + "\n"
