"""Notebooks: the JSON text through the text scanner, and each code cell through the Python rules,
with findings mapped back to the cell's line in the JSON."""

from __future__ import annotations

import dataclasses
import json
from typing import Final

from bkm_guard.static import prefilter
from bkm_guard.static.findings import Notice
from bkm_guard.static.model import Hit
from bkm_guard.static.options import Options
from bkm_guard.static.suppression import Suppressions

_CELL_CODES: Final = {"BKM101", "BKM102", "BKM201"}


def notebook_hits(path: str, text: str, options: Options, notices: list[Notice]) -> list[Hit]:
    from bkm_guard.static.text import scan_text

    hits = [hit for hit in scan_text(text) if options.wanted(hit.code)]
    try:
        notebook = json.loads(text)
    except (ValueError, RecursionError):
        notices.append(Notice(path, "not valid notebook JSON; scanned as text", "truncated"))
        return hits
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    encoded = text.encode("utf-8", "replace")
    if not isinstance(cells, list) or not prefilter.mentions_binance(encoded, options.extra_client_names):
        return hits
    from bkm_guard.static.python.analyze import analyze_source

    seen = {(hit.line, hit.code) for hit in hits}
    cursor = 0
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", [])
        if isinstance(source, str):
            lines = [source]
        elif isinstance(source, list):
            lines = [s for s in source if isinstance(s, str)]
        else:
            continue  # `"source": null` in a hand-edited notebook: nothing to analyze
        json_lines, cursor = _locate(text, lines, cursor)
        code = "".join(line if not line.lstrip().startswith(("%", "!")) else "#" + line for line in lines)
        if isinstance(source, str):
            json_lines = [json_lines[0]] * (code.count("\n") + 1) if json_lines else []
        if not json_lines:
            continue
        # the notebook names Binance, so each cell's own candidates decide (no Binance word needed)
        codes, _ = prefilter.candidates(code.encode("utf-8", "surrogatepass"), python=True,
                                        extra_key_names=options.extra_key_names,
                                        binance=True)
        if not codes:
            continue
        result = analyze_source(code, parse=True, select=options.select, ignore=options.ignore,
                                extra_clients=options.extra_client_names,
                                extra_key_names=options.extra_key_names, codes=codes)
        cell_suppressions = Suppressions(code)
        for hit in result.hits:
            if cell_suppressions.suppressed(hit.code, hit.line, hit.string_lines):
                continue
            # a cell's key or secret is a credential in a text file (BKM004), as the JSON scan says
            code_name = "BKM004" if hit.code in ("BKM001", "BKM002") else hit.code
            if code_name not in _CELL_CODES and code_name != "BKM004":
                continue
            line = json_lines[min(hit.line, len(json_lines)) - 1]
            if (line, code_name) in seen:
                continue
            seen.add((line, code_name))
            hits.append(dataclasses.replace(hit, code=code_name, line=line, column=1, end_line=line,
                                            end_column=1, fixable="no", fix=(), string_lines=None))
    return hits


def _locate(text: str, lines: list[str], cursor: int) -> tuple[list[int], int]:
    """The JSON line of each source line of a cell, searching forward from `cursor`."""
    found: list[int] = []
    for line in lines:
        position = -1
        for encoded in (json.dumps(line, ensure_ascii=False), json.dumps(line)):
            position = text.find(encoded, cursor)
            if position >= 0:
                cursor = position + len(encoded)
                break
        if position < 0:
            found.append(found[-1] if found else text.count("\n", 0, cursor) + 1)
        else:
            found.append(text.count("\n", 0, position) + 1)
    return found, cursor
