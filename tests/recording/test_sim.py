"""Simulated cameras: the clip command, the RTSP server's control, and recording H.265 end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.actor import system_actor
from kgys.audit.mechanism import set_actor
from kgys.cameras.flows import systems as camera_flows
from kgys.cameras.models import CameraHealth
from kgys.cameras.schemas import CameraIn
from kgys.config import RecordingSettings
from kgys.errors import ConfigurationError
from kgys.media.probe import ProbeError, probe_url
from kgys.recording.flows import reads
from kgys.recording.maintainer import Indexed, Limits, Maintainer
from kgys.recording.models import Gap, Segment
from kgys.recording.recorder import Recorder
from kgys.recording.storage import LocalStorage
from kgys.runtime import Runtime
from kgys.sim.cameras import SimCameras, clip_args, ensure_clip
from tests import factories
from tests.waiting import wait_for


@pytest.mark.parametrize(
    ("codec", "clock", "has", "lacks"),
    [
        ("h264", True, ["libx264", "-bf", "0", "-g", "25", "drawtext", "testsrc2=size=1920x1080:rate=25:duration=10"],
         ["libx265"]),
        ("h264", False, ["libx264"], ["-vf"]),
        ("h265", True, ["libx265", "bframes=0:keyint=25:min-keyint=25:scenecut=0:log-level=error", "hvc1"],
         ["libx264"]),
    ],
)
def test_clip_args(codec: str, clock: bool, has: list[str], lacks: list[str]) -> None:
    args = clip_args(ffmpeg="ffmpeg", codec=codec, seconds=10, out=Path("/x.mp4"), clock=clock)
    text = " ".join(args)
    assert all(h in text for h in has) and not any(x in args for x in lacks)
    assert args[args.index("-b:v") + 1] == "4M" and args[-1] == "/x.mp4"


def test_unknown_codec_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        clip_args(ffmpeg="ffmpeg", codec="mjpeg", seconds=10, out=Path("/x.mp4"), clock=False)


def test_clip_is_made_once(clip_h264: Path) -> None:
    before = clip_h264.stat().st_mtime_ns
    assert ensure_clip(data_dir=clip_h264.parent.parent, codec="h264", seconds=4) == clip_h264
    assert clip_h264.stat().st_mtime_ns == before


def test_a_camera_goes_offline_and_comes_back(sim_h264: SimCameras) -> None:
    sim_h264.stop_camera(5)
    with pytest.raises(ProbeError):
        probe_url(sim_h264.url(5), seconds=1)
    sim_h264.start_camera(5)
    assert probe_url(sim_h264.url(5), seconds=1.5).width == 1920


def test_records_h265(rt: Runtime, session: Session, tmp_path: Path, sim_h265: SimCameras) -> None:
    factories.tree(session)
    site = factories.site(session)
    set_actor(session, factories.admin())
    camera_flows.save_camera(session=session, actor=factories.admin(), box=rt.box, code=site.code, data=CameraIn(
        name="HEVC", megapixels=2.0, width=1920, height=1080, codec="h265", stream_url=sim_h265.url(1)))
    session.commit()
    spool = tmp_path / "spool"
    maintainer = Maintainer(sessions=rt.sessions, storage=LocalStorage(tmp_path / "rec"), spool_dir=spool,
                            quarantine_dir=tmp_path / "q", limits=Limits())
    cfg = RecordingSettings(segment_seconds=1, poll_seconds=0.1, rtsp_timeout_seconds=3)
    recorder = Recorder(cfg=cfg, sessions=rt.sessions, box=rt.box, maintainer=maintainer, spool_dir=spool)
    recorder.start()
    done: list[Indexed] = []

    def three_indexed() -> bool:
        done.extend(recorder.poll())
        return len(done) >= 3

    try:
        wait_for("three H.265 segments indexed", three_indexed, 30, every=0.1)
    finally:
        recorder.shutdown()
    segs = session.scalars(select(Segment).order_by(Segment.id)).all()
    assert len(segs) >= 3
    assert {(s.codec, s.width, s.height) for s in segs} == {("h265", 1920, 1080)}
    cam_id = segs[0].camera_id
    report = reads.verify(session=session, actor=system_actor(), storage=maintainer.storage, camera_id=cam_id,
                          start=segs[0].start, end=segs[-1].end)
    assert report.ok and report.checked == len(segs)
    health = session.get(CameraHealth, cam_id)
    assert health is not None and (health.codec, health.width, health.height) == ("h265", 1920, 1080)
    assert session.scalars(select(Gap)).all() == []  # first start of a new camera: nothing was missed
