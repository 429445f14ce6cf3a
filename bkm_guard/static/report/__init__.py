"""Reports of a scan: `text` (path:line:col: CODE message), `json`, and SARIF 2.1.0."""

from __future__ import annotations

from bkm_guard.static.result import ScanResult

FORMATS = ("text", "json", "sarif")


def render(fmt: str, result: ScanResult) -> str:
    if fmt == "json":
        from bkm_guard.static.report.jsonfmt import render_json

        return render_json(result)
    if fmt == "sarif":
        from bkm_guard.static.report.sarif import render_sarif

        return render_sarif(result)
    return "".join(item.text() + "\n" for item in result.reported)
