"""The names of the segment files a recording ffmpeg writes. Pure.

File names are ``<run>_<UTC start, seconds>Z.ts``: ``run`` names one ffmpeg process (:func:`run_name`), so a
file is known finished once its run has ended or a newer file of the same run exists. The recorder writes
them (:mod:`kgys.recording.ffmpeg`), the maintainer and the live view read them.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime

SEGMENT_SUFFIX = ".ts"
_NAME = re.compile(r"^(?P<run>[A-Za-z0-9]+)_(?P<ts>\d{8}T\d{6})Z\.ts$")


@functools.lru_cache(maxsize=8192)  # a file is seen in several listings before it is stored; parsed once
def parse_segment_name(name: str) -> tuple[str, datetime] | None:
    """The run and UTC start time encoded in a segment file name, or None for any other file."""
    m = _NAME.match(name)
    if not m:
        return None
    try:
        start = datetime.strptime(m.group("ts"), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    return m.group("run"), start


def run_name(started: datetime) -> str:
    """A run identifier from the moment an ffmpeg process was started (milliseconds, sortable)."""
    return f"r{int(started.timestamp() * 1000):015d}"


def run_started(run: str) -> datetime | None:
    """When the ffmpeg of a run (named by :func:`run_name`) was started; None for other names."""
    if len(run) != 16 or run[0] != "r" or not run[1:].isdigit():
        return None
    return datetime.fromtimestamp(int(run[1:]) / 1000, UTC)
