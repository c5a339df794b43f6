"""What a floor plan image is, told from its bytes alone: PNG, JPEG or WebP, with its width and height read from
its header (no image library). The file's name and the type the browser claims count for nothing.

:func:`identify` accepts a whole image and refuses anything else with a reason people can read: another format (SVG
above all: it may carry script), a file cut short (a PNG must end with its IEND chunk, a JPEG with its end-of-image
marker, a WebP must be as long as its RIFF header says), a header that lies (a zero or absurd size).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
JPEG_START = b"\xff\xd8\xff"
JPEG_END = b"\xff\xd9"
# start-of-frame markers (baseline, progressive, lossless, arithmetic...), not DHT (C4), JPG (C8), DAC (CC)
JPEG_FRAMES = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
MAX_SIDE = 20_000
MAX_PIXELS = 100_000_000


class ImageRefused(ValueError):
    """The bytes are not an image kgys keeps as a floor plan; the message says why."""


@dataclass(frozen=True)
class ImageInfo:
    """An image's stored type, the extension its file is kept under, and its size in pixels."""

    content_type: str
    ext: str
    width: int
    height: int


def _sized(content_type: str, ext: str, width: int, height: int) -> ImageInfo:
    if width <= 0 or height <= 0:
        raise ImageRefused("the image header gives no width or height")
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise ImageRefused(f"the image is {width}×{height} pixels; at most {MAX_SIDE} a side and "
                           f"{MAX_PIXELS // 1_000_000} megapixels")
    return ImageInfo(content_type, ext, width, height)


def png(data: bytes) -> ImageInfo:
    """A PNG's size from its IHDR chunk (which must come first), the file whole to its IEND chunk."""
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise ImageRefused("the PNG is cut short or has no IHDR header")
    length, = struct.unpack(">I", data[8:12])
    if length != 13:
        raise ImageRefused("the PNG header is malformed")
    width, height = struct.unpack(">II", data[16:24])
    if not data.endswith(PNG_END):
        raise ImageRefused("the PNG is cut short (no IEND chunk at its end)")
    return _sized("image/png", "png", width, height)


def jpeg(data: bytes) -> ImageInfo:
    """A JPEG's size from its first start-of-frame segment, the file whole to its end-of-image marker."""
    at = 2
    while True:
        while at < len(data) and data[at] == 0xFF and at + 1 < len(data) and data[at + 1] == 0xFF:
            at += 1  # fill bytes
        if at + 4 > len(data):
            raise ImageRefused("the JPEG is cut short before its frame header")
        if data[at] != 0xFF:
            raise ImageRefused("the JPEG is malformed (a segment does not start with a marker)")
        marker = data[at + 1]
        if marker in JPEG_STANDALONE:
            at += 2
            continue
        if marker in (0xD9, 0xDA):
            raise ImageRefused("the JPEG has no frame header before its image data")
        length, = struct.unpack(">H", data[at + 2:at + 4])
        if length < 2:
            raise ImageRefused("the JPEG is malformed (a segment of no length)")
        if marker in JPEG_FRAMES:
            if at + 9 > len(data) or length < 7:
                raise ImageRefused("the JPEG is cut short in its frame header")
            height, width = struct.unpack(">HH", data[at + 5:at + 9])
            break
        at += 2 + length
    if not data.rstrip(b"\x00").endswith(JPEG_END):
        raise ImageRefused("the JPEG is cut short (no end-of-image marker)")
    return _sized("image/jpeg", "jpg", width, height)


def webp(data: bytes) -> ImageInfo:
    """A WebP's size from its first chunk (VP8, VP8L or VP8X), the file as long as its RIFF header says."""
    if len(data) < 30:
        raise ImageRefused("the WebP is cut short")
    riff_size, = struct.unpack("<I", data[4:8])
    if riff_size + 8 != len(data) and riff_size + 9 != len(data):
        raise ImageRefused("the WebP is cut short or has bytes after its end")
    chunk = data[12:16]
    if chunk == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            raise ImageRefused("the WebP (lossy) frame header is malformed")
        w, h = struct.unpack("<HH", data[26:30])
        width, height = w & 0x3FFF, h & 0x3FFF
    elif chunk == b"VP8L":
        if data[20] != 0x2F:
            raise ImageRefused("the WebP (lossless) header is malformed")
        bits, = struct.unpack("<I", data[21:25])
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    elif chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
    else:
        raise ImageRefused("the WebP has no VP8, VP8L or VP8X chunk first")
    return _sized("image/webp", "webp", width, height)


def identify(data: bytes) -> ImageInfo:
    """What the bytes are (PNG, JPEG or WebP) and their size; ImageRefused naming the reason otherwise."""
    if not data:
        raise ImageRefused("the file is empty")
    if data.startswith(PNG_SIGNATURE):
        return png(data)
    if data.startswith(JPEG_START):
        return jpeg(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return webp(data)
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<svg", b"<?xml", b"<!doctype svg")) or b"<svg" in head:
        raise ImageRefused("SVG images are not accepted (they may carry script); use PNG, JPEG or WebP")
    raise ImageRefused("not a PNG, JPEG or WebP image")
