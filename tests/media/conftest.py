"""Real media for the media tools' tests: the test clips and simulated RTSP cameras the recording tests use."""

from __future__ import annotations

from tests.recording.conftest import (  # noqa: F401  (fixtures used here)
    clip_h264,
    media_dir,
    sim_h264,
)
