"""The per-file analyzer as the runner sees it: `bkm_guard.analyze`, imported on first use."""

from __future__ import annotations

import dataclasses
from typing import Any

from bkm_guard.findings import Finding, Notice


@dataclasses.dataclass(frozen=True, slots=True)
class EngineOptions:
    """What the runner needs to build the analyzer's options in any process (picklable)."""

    select: frozenset[str] | None = None
    ignore: frozenset[str] = frozenset()
    extra_client_names: tuple[str, ...] = ()
    extra_key_names: tuple[str, ...] = ()

    def wanted(self, code: str) -> bool:
        return (self.select is None or code in self.select) and code not in self.ignore


_ANALYZE: Any = None
_OPTIONS: dict[EngineOptions, Any] = {}


def _module() -> Any:
    global _ANALYZE  # noqa: PLW0603 (imported once per process)
    if _ANALYZE is None:
        from bkm_guard import analyze

        _ANALYZE = analyze
    return _ANALYZE


def analyzer_options(options: EngineOptions) -> Any:
    cached = _OPTIONS.get(options)
    if cached is None:
        cached = _module().AnalyzeOptions(
            select=options.select,
            ignore=options.ignore,
            extra_client_names=options.extra_client_names,
            extra_key_names=options.extra_key_names,
        )
        _OPTIONS[options] = cached
    return cached


def analyze(path: str, data: bytes, options: EngineOptions) -> tuple[tuple[Finding, ...], tuple[Notice, ...]]:
    report = _module().analyze(path, data, analyzer_options(options))
    return tuple(report.findings), tuple(report.notices)


def fix(path: str, data: bytes, *, unsafe: bool, options: EngineOptions) -> Any:
    return _module().fix(path, data, unsafe=unsafe, options=analyzer_options(options))


def preload() -> None:
    """Import the analyzer before worker processes fork, so each does not import it again."""
    _module()
