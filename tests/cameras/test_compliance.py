"""The ministry's minimum, item by item, and the storage calculator, with figures worked out by hand."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from kgys.cameras.compliance import CameraSpec, RecorderSpec, bitrate_for_days, evaluate, storage_days


def cam(name: str = "Giriş", **kw: object) -> CameraSpec:
    """A camera that meets every camera item."""
    base = CameraSpec(name=name, megapixels=2.0, width=1920, height=1080, poe=True, night_vision=True,
                      position="entrance", bitrate_kbps=4096, recorder="NVR-1")
    return replace(base, **kw)  # type: ignore[arg-type]


def rec(name: str = "NVR-1", **kw: object) -> RecorderSpec:
    """A recorder that meets every recorder item."""
    base = RecorderSpec(name=name, channels=16, supported_storage_tb=16.0, installed_storage_tb=12.0,
                        remote_viewing=True, continuous_recording=True, retention_days=30)
    return replace(base, **kw)  # type: ignore[arg-type]


GOOD_CAMERAS = [cam("Giriş", position="entrance"), cam("Çevre", position="perimeter")]

ALL_CODES = ["system.present", "camera.megapixels", "camera.resolution", "camera.poe", "camera.night_vision",
             "coverage.front", "coverage.surroundings", "recorder.present", "recorder.channels",
             "recorder.storage_supported", "recorder.remote_viewing", "recorder.continuous",
             "recorder.retention", "recorder.storage_days"]


def test_a_system_meeting_the_minimum_is_compliant() -> None:
    result = evaluate(GOOD_CAMERAS, [rec()])
    assert result.status == "compliant"
    assert [c.code for c in result.checks] == ALL_CODES
    assert result.failed == ()


def test_nothing_registered_is_no_system() -> None:
    result = evaluate([], [])
    assert result.status == "no_system"
    assert [(c.code, c.passed) for c in result.checks] == [("system.present", False)]
    assert "no camera system" in result.checks[0].message


@pytest.mark.parametrize(
    ("cameras", "recorders", "failing", "reason"),
    [
        pytest.param([cam("Giriş", megapixels=1.3), cam("Çevre", position="yard")], [rec()],
                     {"camera.megapixels"}, "1 camera(s) below 2 MP: Giriş", id="1.3 MP camera"),
        pytest.param([cam("Giriş", width=1280, height=720), cam("Çevre", position="yard")], [rec()],
                     {"camera.resolution"}, "below 1920×1080: Giriş", id="720p camera"),
        pytest.param([cam("Giriş", height=1079), cam("Çevre", position="yard")], [rec()],
                     {"camera.resolution"}, "below 1920×1080: Giriş", id="one line short"),
        pytest.param([cam("Giriş"), cam("Çevre", position="yard", poe=False)], [rec()],
                     {"camera.poe"}, "without PoE: Çevre", id="no PoE"),
        pytest.param([cam("Giriş", night_vision=False), cam("Çevre", position="yard", night_vision=False)],
                     [rec()], {"camera.night_vision"}, "2 camera(s) without night vision: Giriş, Çevre",
                     id="no night vision"),
        pytest.param([cam("Koridor", position="corridor")], [rec()],
                     {"coverage.front", "coverage.surroundings"}, "entrance or the street", id="only corridor"),
        pytest.param([cam("Giriş", position="entrance")], [rec()],
                     {"coverage.surroundings"}, "perimeter, yard or street", id="front only"),
        pytest.param([cam("Sokak", position="street_front")], [rec()], set(), "",
                     id="street front covers both"),
        pytest.param(GOOD_CAMERAS, [rec(channels=8)], {"recorder.channels"}, "8 channels (minimum 16)",
                     id="8 channels"),
        pytest.param([cam(f"K{i}", position="perimeter" if i else "entrance", bitrate_kbps=1024) for i in range(17)],
                     [rec()], {"recorder.capacity"}, "17 cameras but only 16 recorder channels",
                     id="more cameras than channels"),
        pytest.param(GOOD_CAMERAS, [rec(supported_storage_tb=8, installed_storage_tb=8)],
                     {"recorder.storage_supported"}, "supports 8 TB (minimum 12 TB)", id="supports 8 TB"),
        pytest.param(GOOD_CAMERAS, [rec(remote_viewing=False)], {"recorder.remote_viewing"},
                     "Remote (internet) viewing is off on: NVR-1", id="not viewable remotely"),
        pytest.param(GOOD_CAMERAS, [rec(continuous_recording=False)], {"recorder.continuous"},
                     "not 24/7 on: NVR-1", id="motion-only recording"),
        pytest.param(GOOD_CAMERAS, [rec(retention_days=14)], {"recorder.retention"},
                     "Retention below 30 days on: NVR-1", id="14 days retention"),
        pytest.param([cam(f"K{i}", position="perimeter" if i else "entrance") for i in range(16)],
                     [rec(installed_storage_tb=8)], {"recorder.storage_days"},
                     "holds only 11.3 days at 65536 kbit/s in all; add disks or lower each camera to 1543 kbit/s",
                     id="16 cameras at 4 Mbit/s on 8 TB"),
        pytest.param(GOOD_CAMERAS, [], {"recorder.present"}, "No recorder (NVR) is registered",
                     id="cameras without a recorder"),
        pytest.param([], [rec()], {"camera.megapixels", "camera.resolution", "camera.poe", "camera.night_vision",
                                   "coverage.front", "coverage.surroundings"}, "No cameras are registered",
                     id="recorder without cameras"),
    ],
)
def test_each_item_fails_for_its_own_reason(cameras: list[CameraSpec], recorders: list[RecorderSpec],
                                            failing: set[str], reason: str) -> None:
    result = evaluate(cameras, recorders)
    assert {c.code for c in result.failed} == failing
    assert result.status == ("non_compliant" if failing else "compliant")
    if failing:
        assert any(reason in c.message for c in result.failed), [c.message for c in result.failed]


def test_failed_items_carry_the_values_behind_the_message() -> None:
    cams = [cam("Giriş", megapixels=1.0), cam("Çevre", position="perimeter", megapixels=1.0)]
    result = evaluate(cams, [rec(channels=8, remote_viewing=False)])
    by_code = {c.code: c for c in result.checks}
    assert by_code["camera.megapixels"].params == {"cameras": ["Giriş", "Çevre"]}
    assert by_code["recorder.channels"].params == {"channels": 8}
    assert by_code["recorder.remote_viewing"].params == {"recorders": ["NVR-1"]}


def test_many_failing_cameras_are_named_five_at_most() -> None:
    cams = [cam(f"K{i}", megapixels=1.0) for i in range(8)]
    message = {c.code: c for c in evaluate(cams, [rec()]).checks}["camera.megapixels"].message
    assert "8 camera(s) below 2 MP: K0, K1, K2, K3, K4 (+3)" in message


def test_storage_is_judged_over_all_recorders() -> None:
    """Channels and installed disks add up; the largest recorder must support 12 TB."""
    cams = [cam(f"K{i}", position="perimeter" if i else "entrance", bitrate_kbps=2048) for i in range(20)]
    recs = [rec("NVR-1", channels=16, installed_storage_tb=12), rec("NVR-2", channels=8, installed_storage_tb=12)]
    result = evaluate(cams, recs)
    assert result.status == "compliant", [c.message for c in result.failed]
    by_code = {c.code: c for c in result.checks}
    assert by_code["recorder.channels"].params == {"channels": 24}
    assert by_code["recorder.storage_days"].params["installed_tb"] == 24


@pytest.mark.parametrize(
    ("installed_tb", "total_kbps", "days"),
    [
        # 16 cameras × 4096 kbit/s = 65 536 kbit/s = 8 192 000 B/s = 707 788 800 000 B/day
        (12, 16 * 4096, 16.95),  # 12e12 / 707.7888e9
        (8, 16 * 4096, 11.30),  # 8e12 / 707.7888e9
        # 2 cameras × 4096 kbit/s = 88 473 600 000 B/day
        (12, 2 * 4096, 135.63),
        # 1000 kbit/s = 125 000 B/s = 10.8 GB/day
        (1, 1000, 92.59),
        (0, 4096, 0.0),
    ],
)
def test_storage_days(installed_tb: float, total_kbps: int, days: float) -> None:
    assert storage_days(installed_tb, total_kbps) == pytest.approx(days, abs=0.005)


def test_storage_days_without_bitrate_is_unbounded() -> None:
    assert math.isinf(storage_days(12, 0))


@pytest.mark.parametrize(
    ("installed_tb", "cameras", "days", "kbps"),
    [
        # 12e12 B × 8 / 1000 = 9.6e10 kbit over 30 × 86 400 s = 37 037.04 kbit/s, shared by 16
        (12, 16, 30, 2314.81),
        (8, 16, 30, 1543.21),
        (12, 1, 30, 37037.04),
        (12, 16, 10, 6944.44),
        (12, 0, 30, 0.0),
        (12, 16, 0, 0.0),
    ],
)
def test_bitrate_for_days(installed_tb: float, cameras: int, days: float, kbps: float) -> None:
    assert bitrate_for_days(installed_tb, cameras, days) == pytest.approx(kbps, abs=0.005)


def test_the_bitrate_for_30_days_fills_the_disks_in_exactly_30_days() -> None:
    per_camera = bitrate_for_days(12, 16)
    assert storage_days(12, per_camera * 16) == pytest.approx(30)
