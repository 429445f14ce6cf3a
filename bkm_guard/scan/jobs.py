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


# git's delta-base cache defaults to 96 MB per process and fills up on long histories: a small
# cache keeps every git process of a history scan flat at ~20 MB, at no measurable cost in speed
GIT_LOW_MEMORY = ("-c", "core.deltaBaseCacheLimit=8m")
