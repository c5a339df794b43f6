"""The ministry's minimum for school camera systems (letter of 22.11.2018), as a pure function.

Cameras: at least 2 MP, PoE, 1920×1080, night vision. Recorder: at least 16 channels, supports at least
12 TB, viewable over the internet, records 24/7 for at least 30 days. The school's front and its
surroundings are covered. Each item passes or fails with a reason a person can act on.

What the cameras really send, as the recorder measured it, is judged too: a camera that declares
1920×1080 but sends 640×480 (or another codec) fails ``stream.measured``, named with both values.
Cameras not measured yet are shown but not judged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

MIN_MEGAPIXELS = 2.0
MIN_WIDTH, MIN_HEIGHT = 1920, 1080
MIN_CHANNELS = 16
MIN_SUPPORTED_TB = 12.0
MIN_DAYS = 30
FRONT_POSITIONS = frozenset({"entrance", "street_front"})
SURROUNDING_POSITIONS = frozenset({"perimeter", "yard", "street_front"})
POSITIONS = ("entrance", "street_front", "perimeter", "yard", "corridor", "parking", "other")


@dataclass(frozen=True)
class CameraSpec:
    """What compliance needs to know of a camera."""

    name: str
    megapixels: float
    width: int
    height: int
    poe: bool
    night_vision: bool
    position: str
    bitrate_kbps: int
    recorder: str | None = None


@dataclass(frozen=True)
class RecorderSpec:
    """What compliance needs to know of a recorder."""

    name: str
    channels: int
    supported_storage_tb: float
    installed_storage_tb: float
    remote_viewing: bool
    continuous_recording: bool
    retention_days: int


@dataclass(frozen=True)
class StreamSpec:
    """One camera's stream as the recorder measured it, next to what was declared.

    ``failed`` holds the codes of the stream checks that did not pass (``resolution_declared``,
    ``resolution_minimum``, ``codec_declared``); it is empty when the stream matches or is not measured.
    """

    name: str
    declared_width: int
    declared_height: int
    declared_codec: str
    state: str = "unknown"
    reason: str = ""
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    bitrate_kbps: float | None = None
    keyframe_interval: float | None = None
    measured_at: datetime | None = None
    failed: tuple[str, ...] = ()

    @property
    def measured(self) -> bool:
        """Whether the stream's resolution has been measured."""
        return bool(self.width and self.height)

    @property
    def sent(self) -> str:
        """The measured resolution, e.g. ``640×480``."""
        return f"{self.width}×{self.height}" if self.measured else ""

    @property
    def declared(self) -> str:
        """The declared resolution, e.g. ``1920×1080``."""
        return f"{self.declared_width}×{self.declared_height}"

    def problems(self) -> list[str]:
        """What is wrong with the stream, one sentence per failed check, naming the camera."""
        out: list[str] = []
        if "resolution_declared" in self.failed:
            out.append(f"{self.name} sends {self.sent}, declared {self.declared}")
        elif "resolution_minimum" in self.failed:
            out.append(f"{self.name} sends {self.sent}, below the minimum {MIN_WIDTH}×{MIN_HEIGHT}")
        if "codec_declared" in self.failed:
            out.append(f"{self.name} sends {self.codec}, declared {self.declared_codec}")
        return out


@dataclass(frozen=True)
class Check:
    """One item of the minimum: passed or not, and why, with the values behind the message."""

    code: str
    passed: bool
    message: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ComplianceResult:
    """All items for one site."""

    checks: tuple[Check, ...]
    streams: tuple[StreamSpec, ...] = ()

    @property
    def status(self) -> str:
        """'no_system', 'compliant' or 'non_compliant'."""
        if any(c.code == "system.present" and not c.passed for c in self.checks):
            return "no_system"
        return "compliant" if all(c.passed for c in self.checks) else "non_compliant"

    @property
    def failed(self) -> tuple[Check, ...]:
        """The items that did not pass."""
        return tuple(c for c in self.checks if not c.passed)


def storage_days(installed_tb: float, total_bitrate_kbps: float) -> float:
    """Days of continuous recording that ``installed_tb`` holds at ``total_bitrate_kbps`` (decimal TB)."""
    if total_bitrate_kbps <= 0:
        return float("inf")
    bytes_per_day = total_bitrate_kbps * 1000 / 8 * 86400
    return installed_tb * 1e12 / bytes_per_day


def bitrate_for_days(installed_tb: float, cameras: int, days: float = MIN_DAYS) -> float:
    """The highest per-camera bitrate (kbit/s) at which ``cameras`` fit ``days`` into ``installed_tb``."""
    if cameras <= 0 or days <= 0:
        return 0.0
    return installed_tb * 1e12 * 8 / 1000 / (days * 86400) / cameras


def _names(cams: Sequence[CameraSpec]) -> str:
    shown = ", ".join(c.name for c in cams[:5])
    return shown + (f" (+{len(cams) - 5})" if len(cams) > 5 else "")


def stream_check(streams: Sequence[StreamSpec]) -> Check | None:
    """``stream.measured``: every measured stream sends what its camera declares, at least 1920×1080."""
    measured = [s for s in streams if s.measured]
    if not measured:
        return None
    bad = [s for s in measured if s.failed]
    if not bad:
        return Check("stream.measured", True,
                     f"{len(measured)} measured camera stream(s) send what was declared, at least "
                     f"{MIN_WIDTH}×{MIN_HEIGHT}.", {"measured": len(measured)})
    problems = [p for s in bad for p in s.problems()]
    return Check("stream.measured", False, "; ".join(problems) + ".", {
        "cameras": [s.name for s in bad],
        "problems": [{"camera": s.name, "sent": s.sent, "declared": s.declared, "codec": s.codec or "",
                      "declared_codec": s.declared_codec, "failed": list(s.failed)} for s in bad],
    })


def evaluate(cameras: Sequence[CameraSpec], recorders: Sequence[RecorderSpec],
             streams: Sequence[StreamSpec] = ()) -> ComplianceResult:
    """Judge a site's declared system, and what its cameras are measured to send, against the minimum."""
    result = _evaluate_declared(cameras, recorders)
    measured = stream_check(streams)
    checks = result.checks if measured is None else (*result.checks, measured)
    return ComplianceResult(checks, tuple(streams))


def _evaluate_declared(cameras: Sequence[CameraSpec], recorders: Sequence[RecorderSpec]) -> ComplianceResult:
    checks: list[Check] = []
    if not cameras and not recorders:
        return ComplianceResult((Check("system.present", False, "The site has no camera system registered."),))
    checks.append(Check("system.present", True, "A camera system is registered."))

    def camera_check(code: str, bad: list[CameraSpec], ok_msg: str, bad_msg: str) -> None:
        if not cameras:
            checks.append(Check(code, False, "No cameras are registered."))
        elif bad:
            checks.append(Check(code, False, bad_msg.format(names=_names(bad), n=len(bad)),
                                {"cameras": [c.name for c in bad]}))
        else:
            checks.append(Check(code, True, ok_msg))

    camera_check("camera.megapixels", [c for c in cameras if c.megapixels < MIN_MEGAPIXELS],
                 "Every camera is at least 2 MP.", "{n} camera(s) below 2 MP: {names}. Replace them.")
    camera_check("camera.resolution", [c for c in cameras if c.width < MIN_WIDTH or c.height < MIN_HEIGHT],
                 "Every camera records at least 1920×1080.",
                 "{n} camera(s) below 1920×1080: {names}. Set the stream to 1920×1080 or replace them.")
    camera_check("camera.poe", [c for c in cameras if not c.poe],
                 "Every camera is powered over Ethernet (PoE).",
                 "{n} camera(s) without PoE: {names}. Use PoE cameras and a PoE switch.")
    camera_check("camera.night_vision", [c for c in cameras if not c.night_vision],
                 "Every camera has night vision.", "{n} camera(s) without night vision: {names}.")

    positions = {c.position for c in cameras}
    checks.append(Check("coverage.front", bool(positions & FRONT_POSITIONS),
                        "The school's front (entrance or street) is covered."
                        if positions & FRONT_POSITIONS else
                        "No camera covers the entrance or the street in front of the school."))
    checks.append(Check("coverage.surroundings", bool(positions & SURROUNDING_POSITIONS),
                        "The surroundings (perimeter, yard or street) are covered."
                        if positions & SURROUNDING_POSITIONS else
                        "No camera covers the perimeter, yard or street around the school."))

    if not recorders:
        checks.append(Check("recorder.present", False, "No recorder (NVR) is registered."))
        return ComplianceResult(tuple(checks))
    checks.append(Check("recorder.present", True, "A recorder (NVR) is registered."))
    channels = sum(r.channels for r in recorders)
    supported = max(r.supported_storage_tb for r in recorders)
    installed = sum(r.installed_storage_tb for r in recorders)
    checks.append(Check("recorder.channels", channels >= MIN_CHANNELS,
                        f"Recorders have {channels} channels (minimum {MIN_CHANNELS}).",
                        {"channels": channels}))
    if len(cameras) > channels:
        checks.append(Check("recorder.capacity", False,
                            f"{len(cameras)} cameras but only {channels} recorder channels.",
                            {"cameras": len(cameras), "channels": channels}))
    checks.append(Check("recorder.storage_supported", supported >= MIN_SUPPORTED_TB,
                        f"Recorder supports {supported:g} TB (minimum {MIN_SUPPORTED_TB:g} TB).",
                        {"tb": supported}))
    no_remote = [r.name for r in recorders if not r.remote_viewing]
    checks.append(Check("recorder.remote_viewing", not no_remote,
                        "Recordings can be viewed over the internet." if not no_remote else
                        f"Remote (internet) viewing is off on: {', '.join(no_remote)}.",
                        {"recorders": no_remote}))
    not_247 = [r.name for r in recorders if not r.continuous_recording]
    checks.append(Check("recorder.continuous", not not_247,
                        "Recording is continuous (24/7)." if not not_247 else
                        f"Recording is not 24/7 on: {', '.join(not_247)}. Set continuous recording.",
                        {"recorders": not_247}))
    short = [r.name for r in recorders if r.retention_days < MIN_DAYS]
    checks.append(Check("recorder.retention", not short,
                        f"Recorders keep recordings for at least {MIN_DAYS} days." if not short else
                        f"Retention below {MIN_DAYS} days on: {', '.join(short)}.",
                        {"recorders": short}))
    total_kbps = sum(c.bitrate_kbps for c in cameras)
    days = storage_days(installed, total_kbps)
    if days >= MIN_DAYS:
        checks.append(Check("recorder.storage_days", True,
                            f"Installed {installed:g} TB holds {days:.0f} days at the declared bitrates.",
                            {"days": round(days, 1), "installed_tb": installed}))
    else:
        per_cam = bitrate_for_days(installed, len(cameras))
        checks.append(Check("recorder.storage_days", False,
                            f"Installed {installed:g} TB holds only {days:.1f} days at {total_kbps} kbit/s in "
                            f"all; add disks or lower each camera to {per_cam:.0f} kbit/s to reach {MIN_DAYS}.",
                            {"days": round(days, 1), "installed_tb": installed,
                             "max_kbps_per_camera": round(per_cam)}))
    return ComplianceResult(tuple(checks))


class Measured(Protocol):
    """What the recorder measured of a stream (a camera's health row)."""

    width: int | None
    height: int | None
    codec: str | None


@dataclass(frozen=True)
class StreamCheck:
    """One comparison of the measured stream with the declared spec or the ministry's minimum."""

    code: str
    passed: bool
    message: str


def stream_checks(*, declared_width: int, declared_height: int, declared_codec: str,
                  measured: Measured | None, min_width: int = 1920, min_height: int = 1080) -> list[StreamCheck]:
    """Compare what a camera sends with what its owner declared and with the 1920×1080 minimum. Pure."""
    if measured is None or not measured.width or not measured.height:
        return [StreamCheck("measured", False, "the stream has not been measured yet")]
    w, h = measured.width, measured.height
    return [
        StreamCheck("resolution_declared", (w, h) == (declared_width, declared_height),
                    f"sends {w}×{h}, declared {declared_width}×{declared_height}"),
        StreamCheck("resolution_minimum", w >= min_width and h >= min_height,
                    f"sends {w}×{h}, the minimum is {min_width}×{min_height}"),
        StreamCheck("codec_declared", (measured.codec or "") == declared_codec,
                    f"sends {measured.codec}, declared {declared_codec}"),
    ]
