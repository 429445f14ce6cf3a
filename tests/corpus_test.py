"""The shared corpus: analyze() over every file of cases/ gives exactly expected.json."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bkm_guard.static.pipeline import analyze

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
pytestmark = pytest.mark.skipif(not (CORPUS / "expected.json").is_file(),
                                reason=f"the shared corpus is not at {CORPUS}")


def _cases() -> list[Path]:
    # rglob reaches dotfiles (.env, .github/) and extension-less files (deploy/id_ed25519)
    return sorted(p for p in (CORPUS / "cases").rglob("*") if p.is_file())


def test_corpus_matches_expected_exactly() -> None:
    root = CORPUS / "cases"
    expected = {(f["path"], f["line"], f["code"])
                for findings in json.loads((CORPUS / "expected.json").read_text()).values() for f in findings}
    got: set[tuple[str, int, str]] = set()
    for path in _cases():
        rel = path.relative_to(root).as_posix()
        report = analyze(rel, path.read_bytes())
        assert not [n for n in report.notices if n.kind == "error"], report.notices
        got |= {(f.path, f.line, f.code) for f in report.findings}
    missing = sorted(expected - got)
    unexpected = sorted(got - expected)
    assert not missing, f"missing: {missing}\nunexpected: {unexpected}"
    assert not unexpected, f"unexpected: {unexpected}"


def test_corpus_reaches_dotfiles_and_files_without_extension() -> None:
    names = {p.relative_to(CORPUS / "cases").as_posix() for p in _cases()}
    assert {"text/.env", "text/deploy/id_ed25519", "negative/.env.example"} <= names


def test_corpus_findings_hold_no_secret() -> None:
    root = CORPUS / "cases"
    for path in _cases():
        text = path.read_text("utf-8", "replace")
        # every key-shaped run and every PEM body line of the file is a secret candidate
        secrets = set(re.findall(r"[A-Za-z0-9]{64}", text)) | set(re.findall(r"[A-Za-z0-9+/]{40,}", text))
        report = analyze(path.relative_to(root).as_posix(), path.read_bytes())
        for finding in report.findings + tuple(report.notices):  # type: ignore[operator]
            shown = " ".join(str(v) for v in vars(finding).values()) if hasattr(finding, "__dict__") else \
                " ".join(str(getattr(finding, f)) for f in finding.__slots__)
            for secret in secrets:
                leaked = any(secret[i:i + 8] in shown for i in range(len(secret) - 7))
                assert not leaked, (path.name, shown[:60])
