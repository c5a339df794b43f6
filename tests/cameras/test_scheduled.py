"""Compliance from measured streams, refreshed by the jobs worker: a camera that sends less than declared
makes its site non-compliant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from kgys.cameras import scheduled as cameras_scheduled
from kgys.cameras.flows import systems as camera_flows
from kgys.recording import index
from kgys.runtime import Runtime
from tests import factories
from tests.recording.test_scheduled import recording_cameras

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
S = timedelta(seconds=1)


def test_measured_streams_refresh_the_stored_compliance(rt: Runtime, session: Session) -> None:
    site, (c1, _c2) = recording_cameras(rt, session, recorded_until=NOW - 60 * S)
    assert site.compliance_status == "compliant"
    h = index.health(session, c1.id)
    h.codec, h.width, h.height, h.measured_at = "h264", 640, 480, NOW
    session.flush()
    refresh = cameras_scheduled.refresh_measured_compliance
    assert refresh(session, since=NOW - S, actor=factories.admin()) == 1
    assert site.compliance_status == "non_compliant"
    assert refresh(session, since=NOW, actor=factories.admin()) == 0
    _system, result = camera_flows.compliance(session=session, actor=factories.admin(), code=site.code)
    assert "stream.measured" in [c.code for c in result.failed]


def test_each_pass_starts_where_the_last_committed_one_ended(rt: Runtime) -> None:
    task = cameras_scheduled.MeasuredCompliance(rt.sessions)
    assert task.since is None  # the first pass looks at every measured camera
    assert task(NOW) == 0
    assert task.since == NOW
