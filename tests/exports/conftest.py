"""The recorded world of the live tests (real simulated cameras, the real recorder, SQLite and PostgreSQL),
shared by the export tests; and the web fixtures (an app on the test's rolled-back transaction) for the pages."""

from __future__ import annotations

from tests.live.conftest import recorded  # noqa: F401  (fixture)
from tests.recording.conftest import clip_h264, media_dir, sim_h264  # noqa: F401  (fixtures)
from tests.web.conftest import client  # noqa: F401  (fixture)
