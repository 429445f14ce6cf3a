"""The progress bar: drawn on a terminal for long scans, never on a pipe or with --quiet."""

from __future__ import annotations

import io

import pytest

from bkm_guard.static import progress


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("totals", [(10, 10_000_000), (None, None)])
def test_bar_on_a_terminal_after_the_delay(
    monkeypatch: pytest.MonkeyPatch, totals: tuple[int | None, int | None]
) -> None:
    monkeypatch.setattr(progress, "DELAY", 0.0)
    term = FakeTerminal()
    bar = progress.Progress(total_files=totals[0], total_bytes=totals[1], enabled=True, stream=term)
    for _ in range(10):
        bar.advance(1, 1_000_000)
    bar.close()
    assert "bkm-guard scan" in term.getvalue()
    assert "MB" in term.getvalue()


def test_nothing_on_a_pipe_or_when_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "DELAY", 0.0)
    pipe = io.StringIO()
    for stream, enabled in ((pipe, True), (FakeTerminal(), False)):
        bar = progress.Progress(total_files=3, total_bytes=3, enabled=enabled, stream=stream)
        bar.advance(3, 3)
        bar.close()
        assert stream.getvalue() == ""


def test_short_scans_draw_nothing() -> None:
    term = FakeTerminal()
    bar = progress.Progress(total_files=3, total_bytes=3, enabled=True, stream=term)
    bar.advance(3, 3)
    bar.close()
    assert term.getvalue() == ""
