"""Floor plan images told by their bytes: PNG, JPEG (made by ffmpeg) and WebP (lossy, lossless, extended) with their
sizes; other formats, SVG, files cut short and headers that lie are refused with the reason."""

from __future__ import annotations

import base64
import struct
import zlib

import pytest

from kgys.sites.floorplan_images import ImageInfo, ImageRefused, identify


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int) -> bytes:
    """A real PNG (grey, 8 bits) of the size given."""
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b""))


JPEG = base64.b64decode(  # 6×4, made by ffmpeg
    "/9j/4AAQSkZJRgABAgAAAQABAAD//gAQTGF2YzU5LjM3LjEwMAD/2wBDAAgEBAQEBAUFBQUFBQYGBgYGBgYGBgYGBgYHBwcICAgHBwcGBgcH"
    "CAgICAkJCQgICAgJCQoKCgwMCwsODg4RERT/xABNAAEBAAAAAAAAAAAAAAAAAAAABgEBAQEAAAAAAAAAAAAAAAAAAAYHEAEAAAAAAAAAAAAA"
    "AAAAAAAAEQEAAAAAAAAAAAAAAAAAAAAA/8AAEQgABAAGAwESAAISAAMSAP/aAAwDAQACEQMRAD8AixKDfx//2Q==")
WEBP_LOSSY = base64.b64decode(  # 8×4, made by ffmpeg
    "UklGRjgAAABXRUJQVlA4ICwAAACQAQCdASoIAAQAAgA0JaACdLoAA5gA/vmTb/+QH/+QH/+QH/8gP+IXeyAwAA==")
WEBP_LOSSLESS = base64.b64decode("UklGRhwAAABXRUJQVlA4TA8AAAAvB8AAAAcQ0f/+ByKi/wEA")  # 8×4, made by ffmpeg


def webp_extended(width: int, height: int) -> bytes:
    """A WebP whose first chunk is VP8X (canvas size given), followed by the lossy image."""
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little") \
        + (height - 1).to_bytes(3, "little")
    body = b"WEBP" + vp8x + WEBP_LOSSY[12:]
    return b"RIFF" + struct.pack("<I", len(body)) + body


def with_exif(jpeg: bytes, size: int) -> bytes:
    """The JPEG with an APP1 segment of ``size`` bytes before its frame header."""
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", size + 2) + b"E" * size + jpeg[2:]


@pytest.mark.parametrize(("data", "expected"), [
    (png(3, 2), ImageInfo("image/png", "png", 3, 2)),
    (png(640, 1), ImageInfo("image/png", "png", 640, 1)),
    (JPEG, ImageInfo("image/jpeg", "jpg", 6, 4)),
    (with_exif(JPEG, 60_000), ImageInfo("image/jpeg", "jpg", 6, 4)),
    (JPEG + b"\x00\x00", ImageInfo("image/jpeg", "jpg", 6, 4)),  # padded after its end
    (WEBP_LOSSY, ImageInfo("image/webp", "webp", 8, 4)),
    (WEBP_LOSSLESS, ImageInfo("image/webp", "webp", 8, 4)),
    (webp_extended(1920, 1080), ImageInfo("image/webp", "webp", 1920, 1080)),
], ids=["png", "png-wide", "jpeg", "jpeg-exif", "jpeg-padded", "webp", "webp-lossless", "webp-extended"])
def test_images_are_told_by_their_bytes(data: bytes, expected: ImageInfo) -> None:
    assert identify(data) == expected


def _lying_png(width: int, height: int) -> bytes:
    good = png(1, 1)
    return good[:16] + struct.pack(">II", width, height) + good[24:]


@pytest.mark.parametrize(("data", "words"), [
    (b"", "empty"),
    (b"hello, I am a text file named plan.png\n", "not a PNG, JPEG or WebP"),
    (b"GIF89a\x01\x00\x01\x00", "not a PNG, JPEG or WebP"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "SVG"),
    (b'\xef\xbb\xbf<?xml version="1.0"?>\n<svg/>', "SVG"),
    (b"<!DOCTYPE html><html><svg onload=alert(1)></svg>", "SVG"),
    (png(3, 2)[:20], "cut short"),
    (png(3, 2)[:-12], "cut short"),
    (png(3, 2)[:8], "cut short"),
    (_lying_png(0, 5), "no width or height"),
    (_lying_png(100_000, 1), "at most 20000"),
    (_lying_png(15_000, 15_000), "megapixels"),
    (JPEG[:40], "cut short"),
    (JPEG[:-2], "cut short"),
    (JPEG[:2] + b"\xff\xd9", "cut short"),
    (JPEG[:2] + b"\xff\xe1\x00\x00" + JPEG[2:], "no length"),
    (JPEG[:2] + b"\xff\xe1\xff\xff" + b"E" * 10, "cut short"),
    (JPEG[:2] + b"\xff\xda\x00\x08" + JPEG[2:], "no frame header"),
    (JPEG[:2] + b"\xff\xe0\x00\x04AB\x00\x10" + JPEG[2:], "malformed"),
    (WEBP_LOSSY[:-4], "cut short"),
    (WEBP_LOSSY + b"extra bytes", "after its end"),
    (WEBP_LOSSY[:20], "cut short"),
    (WEBP_LOSSY[:12] + b"ALPH" + WEBP_LOSSY[16:], "no VP8"),
    (WEBP_LOSSY[:23] + b"\x00\x00\x00" + WEBP_LOSSY[26:], "malformed"),
    (webp_extended(30_000, 2), "at most 20000"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_anything_else_is_refused_with_the_reason(data: bytes, words: str) -> None:
    with pytest.raises(ImageRefused, match=words):
        identify(data)
