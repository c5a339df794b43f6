"""The pure core of face redaction: growing boxes, merging detections with a reviewer's edits, reading edits and
detection lists, frame times, ffmpeg arguments and hiding pixels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kgys.errors import ValidationFailed
from kgys.evidence.redaction import (
    AddedRegion,
    Box,
    Detection,
    DetectionList,
    FrameDetections,
    Region,
    ReviewEdits,
    UnreadableVideo,
    detections_from_json,
    edits_from_json,
    final_regions,
    frame_times,
    scale_box,
)
from kgys.evidence.redaction_pipes import decode_args, encode_args, parse_probe
from kgys.evidence.redaction_render import redact_frame
from kgys.evidence.redaction_video import detect_size


def _list(frames: dict[int, list[tuple[float, float, float, float]]], *, count: int = 10, width: int = 200,
          height: int = 100) -> DetectionList:
    return DetectionList(
        source_sha256="0" * 64, width=width, height=height, fps=25.0, frame_count=count, model="test",
        threshold=0.2, detect_width=width,
        frames=tuple(FrameDetections(i, i / 25, tuple(Detection(f"{i}-{n}", Box(*b), 0.9) for n, b in enumerate(bs)))
                     for i, bs in sorted(frames.items())))


@pytest.mark.parametrize(("box", "scale", "expected"), [
    (Box(40, 40, 60, 60), 1.0, Region(40, 40, 60, 60, True)),
    # deface grows each side by (scale - 1) of the box's size: 20 px × 0.3 = 6 px
    (Box(40, 40, 60, 60), 1.3, Region(34, 34, 66, 66, True)),
    (Box(40.2, 40.7, 59.5, 60.1), 1.0, Region(40, 40, 60, 61, True)),  # outer edges rounded outwards
    (Box(0, 0, 20, 10), 1.5, Region(0, 0, 30, 15, True)),  # clipped at the top-left corner
    (Box(190, 90, 200, 100), 2.0, Region(180, 80, 200, 100, True)),  # clipped at the bottom-right corner
    (Box(250, 20, 260, 30), 1.3, None),  # wholly outside the frame
])
def test_scale_box(box: Box, scale: float, expected: Region | None) -> None:
    assert scale_box(box, scale, 200, 100) == expected


@pytest.mark.parametrize(("detected", "edits", "expected"), [
    ({}, ReviewEdits(), {}),
    ({3: [(10, 10, 30, 30)]}, ReviewEdits(), {3: (Region(10, 10, 30, 30, True),)}),
    # a removed detection is not hidden; the other one of the same frame still is
    ({3: [(10, 10, 30, 30), (50, 10, 70, 30)]}, ReviewEdits(removed=frozenset({"3-0"})),
     {3: (Region(50, 10, 70, 30, True),)}),
    ({3: [(10, 10, 30, 30)]}, ReviewEdits(removed=frozenset({"3-0"})), {}),
    # an added region covers its frame range inclusive, as a box, exactly as drawn
    ({}, ReviewEdits(added=(AddedRegion(2, 4, Box(100, 20, 140, 60)),)),
     {i: (Region(100, 20, 140, 60, False),) for i in (2, 3, 4)}),
    # added regions and kept detections add up on the same frame
    ({4: [(10, 10, 30, 30)]}, ReviewEdits(added=(AddedRegion(4, 4, Box(100, 20, 140, 60)),)),
     {4: (Region(10, 10, 30, 30, True), Region(100, 20, 140, 60, False))}),
    # a reviewer may both remove the detector's box and draw a better one
    ({5: [(10, 10, 30, 30)]}, ReviewEdits(added=(AddedRegion(5, 5, Box(5, 5, 40, 45)),), removed=frozenset({"5-0"})),
     {5: (Region(5, 5, 40, 45, False),)}),
])
def test_final_regions(detected: dict[int, list[tuple[float, float, float, float]]], edits: ReviewEdits,
                       expected: dict[int, tuple[Region, ...]]) -> None:
    assert final_regions(_list(detected), edits, mask_scale=1.0) == expected


def test_final_regions_grow_detections_and_can_use_boxes() -> None:
    dl = _list({0: [(40, 40, 60, 60)]})
    assert final_regions(dl, ReviewEdits()) == {0: (Region(34, 34, 66, 66, True),)}  # deface's 1.3 by default
    assert final_regions(dl, ReviewEdits(), mask_scale=1.0, ellipse=False) == {0: (Region(40, 40, 60, 60, False),)}


@pytest.mark.parametrize(("edits", "fields"), [
    (ReviewEdits(removed=frozenset({"9-0"})), ["removed"]),
    (ReviewEdits(added=(AddedRegion(-1, 2, Box(0, 0, 10, 10)),)), ["added[0].first_frame"]),
    (ReviewEdits(added=(AddedRegion(5, 10, Box(0, 0, 10, 10)),)), ["added[0].last_frame"]),
    (ReviewEdits(added=(AddedRegion(5, 4, Box(0, 0, 10, 10)),)), ["added[0].last_frame"]),
    (ReviewEdits(added=(AddedRegion(0, 0, Box(10, 0, 10, 10)),)), ["added[0].box"]),
    (ReviewEdits(added=(AddedRegion(0, 0, Box(0, 0, 201, 10)),)), ["added[0].box"]),
    (ReviewEdits(added=(AddedRegion(0, 0, Box(0, 50, 10, 40)),), removed=frozenset({"x"})),
     ["removed", "added[0].box"]),
])
def test_edits_that_do_not_fit_the_clip_are_refused_naming_the_field(edits: ReviewEdits, fields: list[str]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        final_regions(_list({3: [(10, 10, 30, 30)]}), edits)
    assert [e.field for e in caught.value.errors] == fields


def test_a_mask_scale_of_zero_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        final_regions(_list({}), ReviewEdits(), mask_scale=0)
    assert caught.value.errors[0].field == "mask_scale"


def test_edits_read_from_json_and_back() -> None:
    doc = {"added": [{"first_frame": 1, "last_frame": 3, "box": [1, 2.5, 30, 40]}], "removed": ["4-0", "5-1"]}
    edits = edits_from_json(doc)
    assert edits == ReviewEdits(added=(AddedRegion(1, 3, Box(1, 2.5, 30, 40)),), removed=frozenset({"4-0", "5-1"}))
    assert edits.count == 3
    assert edits_from_json(json.loads(json.dumps(edits.as_json()))) == edits
    assert edits_from_json({}) == ReviewEdits()


@pytest.mark.parametrize(("doc", "field"), [
    ([], "edits"),
    ({"added": [], "removed": [], "note": "x"}, "note"),
    ({"added": {}}, "added"),
    ({"added": [{"first_frame": 1, "last_frame": 2}]}, "added[0]"),
    ({"added": [{"first_frame": "1", "last_frame": 2, "box": [0, 0, 1, 1]}]}, "added[0].first_frame"),
    ({"added": [{"first_frame": 1, "last_frame": True, "box": [0, 0, 1, 1]}]}, "added[0].last_frame"),
    ({"added": [{"first_frame": 1, "last_frame": 2, "box": [0, 0, 1]}]}, "added[0].box"),
    ({"added": [{"first_frame": 1, "last_frame": 2, "box": [0, 0, 1, float("nan")]}]}, "added[0].box"),
    ({"added": [{"first_frame": 1, "last_frame": 2, "box": "0,0,1,1"}]}, "added[0].box"),
    ({"removed": "3-0"}, "removed"),
    ({"removed": [3]}, "removed"),
    ({"removed": ["3-0\x00"]}, "removed"),
])
def test_bad_edits_are_refused_naming_the_field(doc: Any, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        edits_from_json(doc)
    assert caught.value.errors[0].field == field


def test_a_detection_list_survives_json() -> None:
    dl = _list({0: [(1.5, 2, 30, 40)], 7: [(10, 10, 20, 20), (50, 50, 60, 70)]})
    assert detections_from_json(json.loads(json.dumps(dl.as_json()))) == dl
    assert dl.detection_ids() == {"0-0", "7-0", "7-1"}
    with pytest.raises(ValidationFailed) as caught:
        detections_from_json({"frames": []})
    assert caught.value.errors[0].field == "detections"


@pytest.mark.parametrize(("pts", "count", "fps", "expected"), [
    ([10.0, 10.04, 10.08], 3, 25.0, [0.0, 0.04, 0.08]),
    ([10.08, 10.0, 10.04], 3, 25.0, [0.0, 0.04, 0.08]),  # packets in decoding order (B-frames)
    ([10.0, 10.1], 3, 10.0, [0.0, 0.1, 0.2]),  # not one packet per frame: by the frame rate
    ([], 2, 4.0, [0.0, 0.25]),
])
def test_frame_times(pts: list[float], count: int, fps: float, expected: list[float]) -> None:
    assert frame_times(pts, count, fps) == expected


@pytest.mark.parametrize(("size", "detect_width", "expected"), [
    ((1280, 720), 640, (640, 352)),  # multiples of 32: 360 would be stretched to 384 by the detector
    ((1920, 1080), 640, (640, 352)),
    ((1280, 720), 0, (1280, 720)),
    ((640, 360), 1280, (640, 360)),  # never larger than the clip
    ((640, 360), 640, (640, 360)),
    ((1280, 720), 660, (640, 352)),
    ((704, 576), 352, (352, 288)),
    ((1280, 720), 10, (32, 32)),
])
def test_detect_size(size: tuple[int, int], detect_width: int, expected: tuple[int, int]) -> None:
    assert detect_size(*size, detect_width) == expected


def test_ffmpeg_arguments() -> None:
    dec = decode_args("ffmpeg", Path("in.mp4"), size=(640, 360))
    assert dec[dec.index("-i") + 1] == "in.mp4" and "scale=640:360:flags=area" in dec
    assert dec[-7:] == ["-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    seek = decode_args("ffmpeg", Path("in.mp4"), seek=1.5, frames=1)
    assert seek.index("-ss") < seek.index("-i") and "1.500000" in seek and seek[seek.index("-frames:v") + 1] == "1"
    enc = encode_args("ffmpeg", Path("out.mp4"), width=1280, height=720, rate="30000/1001")
    assert enc[enc.index("-s") + 1] == "1280x720" and enc[enc.index("-framerate") + 1] == "30000/1001"
    assert enc[enc.index("-c:v") + 1] == "libx264" and enc[-1] == "out.mp4" and "-an" in enc


@pytest.mark.parametrize(("doc", "message"), [
    ({"streams": []}, "no video stream"),
    ({"streams": [{"codec_type": "audio"}]}, "no video stream"),
    ({"streams": [{"codec_type": "video", "width": 0, "height": 0, "r_frame_rate": "25/1"}]}, "no size"),
    ({"streams": [{"codec_type": "video", "width": 64, "height": 64, "r_frame_rate": "0/0"}]}, "frame rate"),
])
def test_a_probe_without_a_usable_video_stream_is_unreadable(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(UnreadableVideo, match=message):
        parse_probe(doc)


def test_parse_probe() -> None:
    info = parse_probe({"streams": [{"codec_type": "video", "width": 64, "height": 48, "avg_frame_rate": "0/0",
                                     "r_frame_rate": "30000/1001"}],
                        "packets": [{"pts_time": "0.0"}, {"pts_time": "N/A"}, {"pts_time": "0.033"}]})
    assert (info.width, info.height, info.rate, info.pts) == (64, 48, "30000/1001", (0.0, 0.033))
    assert info.fps == pytest.approx(29.97, abs=0.01)


def _noise(h: int = 120, w: int = 160) -> np.ndarray[Any, np.dtype[np.uint8]]:
    return np.random.default_rng(7).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("method", ["blur", "mosaic"])
def test_hiding_a_box_changes_only_the_box(method: str) -> None:
    frame = _noise()
    before = frame.copy()
    redact_frame(frame, [Region(40, 20, 100, 80, False)], method=method)  # type: ignore[arg-type]
    inside, outside = frame[20:80, 40:100], frame.copy()
    outside[20:80, 40:100] = before[20:80, 40:100]
    assert inside.std() < before[20:80, 40:100].std() / 3  # the noise is smeared out
    assert np.array_equal(outside, before)


def test_an_ellipse_leaves_the_box_corners_alone() -> None:
    frame = _noise()
    before = frame.copy()
    redact_frame(frame, [Region(40, 20, 100, 80, True)], method="blur")
    assert np.array_equal(frame[20:24, 40:44], before[20:24, 40:44])  # top-left corner, outside the ellipse
    assert np.array_equal(frame[76:80, 96:100], before[76:80, 96:100])
    centre = frame[40:60, 60:80]
    assert centre.std() < before[40:60, 60:80].std() / 3
