"""The units of work of a scan: a file on disk or a git blob (tiny records, cheap to pickle)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True, slots=True)
class FileJob:
    """One file to scan: where to read it and how to name it in reports."""

    abspath: str
    display: str
    size: int


@dataclasses.dataclass(frozen=True, slots=True)
class BlobJob:
    """One git blob to scan: its id, the path it is reported under, and its size."""

    sha: str
    display: str
    size: int


# git maps whole packs and keeps a 96 MB delta-base cache per process by default, which grows with
# the history: small windows and a small cache keep each git process of a scan to ~10-25 MB, at no
# measurable cost in speed
GIT_LOW_MEMORY = (
    "-c",
    "core.deltaBaseCacheLimit=8m",
    "-c",
    "core.packedGitWindowSize=1m",
    "-c",
    "core.packedGitLimit=16m",
)
