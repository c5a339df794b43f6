"""Measuring: the stream a camera sends (codec, resolution, frame rate, bit rate, keyframe interval),
measured on a stored segment every so often, off the indexing path.

The maintainer tells :class:`Measuring` of each segment it indexes; a camera's measurement is due on its
first segment, on the first segment of each new ffmpeg run and then every ``every`` seconds of recording.
:meth:`Measuring.measure_next` measures one due camera (a whole segment is parsed) and stores the result,
so a start with many cameras measures them one after another without delaying any index.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from kgys.db import transaction
from kgys.errors import KgysError
from kgys.media.probe import ProbeError
from kgys.media.tsinfo import measure
from kgys.recording import index
from kgys.recording.storage import Storage

log = logging.getLogger(__name__)


class Measuring:
    """Which cameras are due a measurement, and the measuring itself."""

    def __init__(self, *, sessions: sessionmaker[Session], storage: Storage, every: float = 600.0) -> None:
        self.sessions = sessions
        self.storage = storage
        self.every = every
        self._measured: dict[int, datetime] = {}  # camera -> when the segment it was last due on closed
        self._due: dict[int, str] = {}  # camera -> storage key of the segment to measure

    def indexed(self, camera_id: int, key: str, closed_at: datetime, *, new_run: bool) -> None:
        """Note a segment just indexed under ``key``; ``new_run``: the camera's first, or its ffmpeg's first."""
        measured = self._measured.get(camera_id)
        if new_run or measured is None or (closed_at - measured).total_seconds() >= self.every:
            self._measured[camera_id] = closed_at
            self._due[camera_id] = key

    def due(self) -> dict[int, str]:
        """The cameras due a measurement, each with the storage key of the segment to measure it on."""
        return dict(self._due)

    def measure_next(self) -> bool:
        """Measure the stream of one camera whose measurement is due and store it; whether one was stored."""
        if not self._due:
            return False
        camera_id = next(iter(self._due))
        key = self._due.pop(camera_id)
        try:
            stream = measure(self.storage.get_range(key))
        except (ProbeError, KgysError) as exc:
            log.warning("camera %s: measuring the stream on %s failed: %s", camera_id, key, exc.message)
            return False
        with transaction(self.sessions) as session:
            index.set_measured(session, camera_id=camera_id, info=stream)
        return True
