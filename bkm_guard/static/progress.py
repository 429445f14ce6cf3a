"""A progress bar on a terminal for scans that take a while; nothing otherwise.

rich is imported only once a scan has run for `DELAY` seconds on a TTY, so short scans, pipes,
CI logs, `--quiet` and pre-commit never pay for it or see it.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

DELAY = 1.5


class Progress:
    def __init__(
        self,
        *,
        total_files: int | None,
        total_bytes: int | None,
        enabled: bool,
        unit: str = "files",
        stream: TextIO | None = None,
    ) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled and self.stream.isatty()
        self.total_files = total_files
        self.total_bytes = total_bytes
        self.unit = unit
        self.started = time.monotonic()
        self.files = 0
        self.bytes = 0
        self._bar: Any = None
        self._task: Any = None

    def advance(self, files: int, nbytes: int) -> None:
        self.files += files
        self.bytes += nbytes
        if not self.enabled:
            return
        if self._bar is None:
            if time.monotonic() - self.started < DELAY:
                return
            self._start()
        self._bar.update(
            self._task,
            completed=self.bytes if self.total_bytes else self.files,
            files=self.files,
            mb=self.bytes / 1e6,
            rate=self.rate(),
        )

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import (
            Progress as Bar,
        )

        by_bytes = bool(self.total_bytes)
        total = self.total_bytes if by_bytes else self.total_files
        of_files = f"/{self.total_files:,}" if self.total_files else ""
        of_mb = f"/{self.total_bytes / 1e6:.1f}" if self.total_bytes else ""
        columns = [
            TextColumn("bkm-guard scan"),
            BarColumn(),
            TextColumn(f"{{task.fields[files]:,}}{of_files} {self.unit}"),
            TextColumn(f"{{task.fields[mb]:.1f}}{of_mb} MB"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        ]
        self._bar = Bar(*columns, console=Console(file=self.stream), transient=True)
        self._task = self._bar.add_task("scan", total=total, files=0, mb=0.0, rate="")
        self._bar.start()

    def rate(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return f"{self.bytes / 1e6 / elapsed:.1f} MB/s"

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
