"""The corpus contract: `bkm-guard scan cases --format sarif` reports exactly expected.json.

Compared the way ../shared/tools/corpus-check compares: (path, line, code) sets from the SARIF
results, URIs relative to the scan root.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def expected() -> set[tuple[str, int, str]]:
    data = json.loads((CORPUS / "expected.json").read_text())
    rows = data.get("findings", data) if isinstance(data, dict) else data
    out: set[tuple[str, int, str]] = set()
    if isinstance(rows, dict):
        for path, items in rows.items():
            out.update((path, int(item["line"]), item["code"]) for item in items)
    else:
        out.update((item["path"], int(item["line"]), item["code"]) for item in rows)
    return out


@pytest.mark.skipif(not (CORPUS / "expected.json").is_file(), reason=f"the shared corpus is not at {CORPUS}")
def test_corpus_sarif_matches_expected_exactly(tmp_path: Path) -> None:
    root = CORPUS / "cases"
    out_file = tmp_path / "scan.sarif"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bkm_guard",
            "scan",
            str(root),
            "--format",
            "sarif",
            "--output",
            str(out_file),
            "--exit-zero",
        ],
        capture_output=True,
        text=True,
        cwd=root,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    sarif = json.loads(out_file.read_text())
    got: set[tuple[str, int, str]] = set()
    for run in sarif["runs"]:
        for result in run["results"]:
            for loc in result["locations"]:
                phys = loc["physicalLocation"]
                uri = phys["artifactLocation"]["uri"].removeprefix("file://").removeprefix(str(root) + "/")
                got.add((uri, int(phys["region"]["startLine"]), result["ruleId"]))
    want = expected()
    missing = sorted(want - got)
    unexpected = sorted(got - want)
    assert (missing, unexpected) == ([], []), (
        f"{len(missing)} missing, {len(unexpected)} unexpected\n"
        + "\n".join(f"missing    {p}:{n}: {c}" for p, n, c in missing)
        + "\n"
        + "\n".join(f"unexpected {p}:{n}: {c}" for p, n, c in unexpected)
    )
    # the corpus is not a git repository: the walk must reach dotfiles and extension-less files
    paths = {p for p, _, _ in got}
    assert {"text/.env", "text/deploy/id_ed25519"} <= paths
