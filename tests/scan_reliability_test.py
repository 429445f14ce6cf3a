"""No crash and no silent loss: vanishing, changing, unreadable, binary, oddly named and huge inputs."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import string
from pathlib import Path

import pytest
from conftest import make_key
from hypothesis import given, settings
from hypothesis import strategies as st

from bkm_guard.cli.scan import main
from bkm_guard.static import runner
from bkm_guard.static import text as textscan
from bkm_guard.static.discovery import FileJob, discover
from bkm_guard.static.options import Options as EngineOptions

SETTINGS = runner.Settings(EngineOptions())


def scan_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object], str]:
    code = main([*argv, "--format", "json"])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def test_file_deleted_after_discovery(tmp_path: Path) -> None:
    for i in range(5):
        (tmp_path / f"f{i}.env").write_text(f"API_KEY={make_key()}\n")
    found = discover([str(tmp_path)], root=str(tmp_path))
    os.unlink(tmp_path / "f2.env")
    outcomes = [o for batch in runner.scan_files(found.files, SETTINGS, 1) for o in batch]
    gone = [o for o in outcomes if o.display == "f2.env"]
    assert gone[0].skipped == "vanished"
    assert "deleted during the scan" in gone[0].notices[0].reason
    assert sum(len(o.findings) for o in outcomes) == 4


def test_file_changed_while_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "grow.env"
    path.write_text(f"API_KEY={make_key()}\n")
    real_read = os.read

    def read_and_append(fd: int, n: int) -> bytes:
        data = real_read(fd, n)
        if data:
            with open(path, "a") as handle:  # another process writes while we read
                handle.write("MORE=1\n")
        return data

    monkeypatch.setattr(runner.os, "read", read_and_append)
    outcome = runner.scan_file(FileJob(str(path), "grow.env", path.stat().st_size), SETTINGS)
    assert any("changed while it was being read" in n.reason for n in outcome.notices)
    assert len(outcome.findings) == 1  # what was read is still reported


def test_unreadable_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ok.env").write_text(f"API_KEY={make_key()}\n")
    locked = tmp_path / "locked.env"
    locked.write_text(f"API_KEY={make_key()}\n")
    if os.geteuid() == 0:  # root reads anything: make the kernel's answer the one a user would get
        real_open = os.open

        def deny(path: str, flags: int, *args: int) -> int:
            if str(path).endswith("locked.env"):
                raise PermissionError(13, "Permission denied", path)
            return real_open(path, flags, *args)

        monkeypatch.setattr(runner.os, "open", deny)
    else:
        locked.chmod(0)
    code, doc, err = scan_json(capsys, str(tmp_path), "-j", "1")
    assert code == 1
    assert [f["path"] for f in doc["findings"]] == ["ok.env"]
    assert doc["summary"]["skipped"] == {"unreadable": 1}
    assert "locked.env: skipped: unreadable: permission denied" in err


def test_nul_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0" + make_key().encode())
    (tmp_path / "late-nul.env").write_bytes(f"API_KEY={make_key()}\n".encode() + b"x" * 9000 + b"\0tail\n")
    code, doc, _ = scan_json(capsys, str(tmp_path))
    assert doc["summary"]["skipped"] == {"binary": 1}
    assert doc["summary"]["scanned"] == 1
    assert code in (0, 1)  # the analyzer decides about a NUL late in a text file; no crash either way


def test_non_utf8_file_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = os.fsencode(str(tmp_path)) + b"/caf\xe9-\xff.env"
    with open(name, "wb") as handle:
        handle.write(f"API_KEY={make_key()}\n".encode())
    code, doc, _ = scan_json(capsys, str(tmp_path))
    assert code == 1
    assert doc["findings"][0]["path"] == "caf\\xe9-\\xff.env"
    assert main([str(tmp_path), "--format", "sarif"]) == 1
    sarif = json.loads(capsys.readouterr().out)
    assert sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "caf%E9-%FF.env"
    )
    assert main([str(tmp_path)]) == 1
    assert "caf\\xe9" in capsys.readouterr().out


@pytest.mark.slow
def test_50_mb_single_line_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(7)
    filler = "".join(rng.choice(string.ascii_lowercase + " ,:") for _ in range(1 << 16))
    keys = [make_key(), make_key()]
    parts = []
    for _ in range(25 << 4):  # 25 MB
        parts.append(filler)
    head = "".join(parts)
    line = head + f' "apiKey": "{keys[0]}", ' + head + f' "secret": "{keys[1]}"'
    (tmp_path / "bundle.min.js").write_text(line)
    assert len(line) > 50_000_000
    code, doc, err = scan_json(capsys, str(tmp_path))
    assert code == 1
    found = sorted((f["line"], f["column"]) for f in doc["findings"])
    assert found == [(1, len(head) + 13), (1, 2 * len(head) + 92)]
    assert any(n["kind"] == "truncated" and "analysis cap" in n["reason"] for n in doc["notices"])
    assert keys[0] not in json.dumps(doc) + err


@pytest.mark.slow
def test_100000_tiny_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "many"
    for d in range(100):
        sub = root / f"d{d:03}"
        sub.mkdir(parents=True)
        for f in range(1000):
            (sub / f"f{f:04}.txt").write_text("x = 1\n")
    (root / "d042" / "f0042.txt").write_text(f"API_SECRET={make_key()}\n")
    code, doc, _ = scan_json(capsys, str(root))
    assert code == 1
    assert doc["summary"]["scanned"] == 100_000
    assert [f["path"] for f in doc["findings"]] == ["d042/f0042.txt"]


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=4096), st.sampled_from(["a.py", "b.env", "c.json", "d", "e.ipynb"]))
def test_arbitrary_bytes_never_crash(data: bytes, name: str) -> None:
    outcome = runner.scan_data(name, data, SETTINGS)
    assert outcome.skipped in ("", "binary")


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=3 * textscan.CORE), st.integers(min_value=0, max_value=2))
def test_windowed_scan_finds_keys_across_window_edges(offset: int, lines_before: int) -> None:
    key = make_key()
    text = "\n" * lines_before + "a" * offset + f" {key} " + "b" * 1000
    found = textscan.scan_bytes(text.encode(), "x.txt", python=False, wanted=lambda _: True)
    assert [(f.line, f.column) for f in found] == [(lines_before + 1, offset + 2)]


@pytest.mark.parametrize("path", ["big.py", "big.env"])
def test_windowed_scan_agrees_with_the_analyzer_without_a_parse(path: str) -> None:
    """A file over the cap gets the same codes, messages and suppressions as the text rules."""
    from bkm_guard.static.pipeline import analyze

    key, secret, quiet = make_key(), make_key(), make_key()
    http = "http" + "://"
    text = (f'API_KEY = "{key}"\n'
            f'API_SECRET = "{secret}"\n'
            f'OTHER_KEY = "{quiet}"  # bkm: ignore\n'
            f'STREAM = "{"ws" + "://"}stream.binance.com:9443"\n'
            f'BASE = "{http}api.binance.com"  # bkm: ignore[BKM101]\n')
    windowed = textscan.scan_bytes(text.encode(), path, python=path.endswith(".py"), wanted=lambda _: True)
    analyzed = analyze(path, text.encode()).findings
    assert [(f.line, f.code) for f in windowed] == [(f.line, f.code) for f in analyzed]
    if not path.endswith(".py"):  # a Python file under the cap is parsed: richer messages
        assert [f.message for f in windowed] == [f.message for f in analyzed]
    assert [f.code for f in windowed] == (["BKM001", "BKM002", "BKM101"] if path.endswith(".py")
                                          else ["BKM004", "BKM004", "BKM101"])


@dataclasses.dataclass(frozen=True)
class _Input:
    display: str


def _crash_on_poison(batch: list[_Input]) -> list[runner.Outcome]:
    """A worker that dies the way a native crash or the OOM killer ends a process."""
    if any(item.display == "poison" for item in batch):
        os._exit(3)
    return [runner.Outcome(item.display, nbytes=1) for item in batch]


def test_an_input_that_kills_its_worker_is_reported_and_the_scan_goes_on() -> None:
    inputs = [_Input(f"f{i:02}") for i in range(40)]
    inputs.insert(17, _Input("poison"))
    work = [inputs[i : i + 3] for i in range(0, len(inputs), 3)]
    outcomes = [o for batch in runner.execute(iter(work), _crash_on_poison, SETTINGS, 2, in_process=False)
                for o in batch]
    by_name = {outcome.display: outcome for outcome in outcomes}
    assert len(outcomes) == len(inputs)
    assert set(by_name) == {item.display for item in inputs}
    assert by_name["poison"].skipped == "error"
    assert "died on this input" in by_name["poison"].notices[0].reason
    assert [o.display for o in outcomes if o.skipped] == ["poison"]
