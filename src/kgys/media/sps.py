"""Picture size from an H.264 or H.265 sequence parameter set, read from an Annex-B access unit. Pure.

The segment reader (:mod:`kgys.media.tsinfo`) passes the start of a segment's first frame; the
sequence parameter set in it gives the coded size less the cropping window.
"""

from __future__ import annotations


class _Bits:
    """An RBSP bit reader (emulation-prevention bytes already removed)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def u(self, n: int) -> int:
        """Read ``n`` bits as an unsigned number."""
        value = 0
        for _ in range(n):
            byte = self.data[self.pos >> 3] if self.pos >> 3 < len(self.data) else 0
            value = (value << 1) | ((byte >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return value

    def ue(self) -> int:
        """Read an unsigned Exp-Golomb number."""
        zeros = 0
        while self.u(1) == 0 and zeros < 32:
            zeros += 1
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        """Read a signed Exp-Golomb number."""
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)


def _rbsp(nal: bytes) -> bytes:
    return nal.replace(b"\x00\x00\x03", b"\x00\x00")


def _nals(data: bytes) -> list[bytes]:
    parts = data.split(b"\x00\x00\x01")
    return [p.rstrip(b"\x00") for p in parts[1:] if p]


def _h264_size(sps: bytes) -> tuple[int, int]:
    b = _Bits(_rbsp(sps[1:]))
    profile = b.u(8)
    b.u(16)
    b.ue()
    chroma = 1
    if profile in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
        chroma = b.ue()
        if chroma == 3:
            b.u(1)
        b.ue()
        b.ue()
        b.u(1)
        if b.u(1):
            for i in range(8 if chroma != 3 else 12):
                if b.u(1):
                    last = nxt = 8
                    for _ in range(16 if i < 6 else 64):
                        if nxt:
                            nxt = (last + b.se() + 256) % 256
                        last = nxt or last
    b.ue()
    poc = b.ue()
    if poc == 0:
        b.ue()
    elif poc == 1:
        b.u(1)
        b.se()
        b.se()
        for _ in range(b.ue()):
            b.se()
    b.ue()
    b.u(1)
    w_mbs, h_units = b.ue() + 1, b.ue() + 1
    frame_mbs_only = b.u(1)
    if not frame_mbs_only:
        b.u(1)
    b.u(1)
    width, height = w_mbs * 16, (2 - frame_mbs_only) * h_units * 16
    if b.u(1):
        left, right, top, bottom = b.ue(), b.ue(), b.ue(), b.ue()
        cx = 1 if chroma == 0 else (2 if chroma in (1, 2) else 1)
        cy = (2 - frame_mbs_only) * (2 if chroma == 1 else 1)
        width -= cx * (left + right)
        height -= cy * (top + bottom)
    return width, height


def _h265_size(sps: bytes) -> tuple[int, int]:
    b = _Bits(_rbsp(sps[2:]))
    b.u(4)
    sub_layers = b.u(3)
    b.u(1)
    b.u(96)
    flags = [(b.u(1), b.u(1)) for _ in range(sub_layers)]
    if sub_layers:
        b.u(2 * (8 - sub_layers))
    for profile_present, level_present in flags:
        b.u(88 if profile_present else 0)
        b.u(8 if level_present else 0)
    b.ue()
    chroma = b.ue()
    if chroma == 3:
        b.u(1)
    width, height = b.ue(), b.ue()
    if b.u(1):
        left, right, top, bottom = b.ue(), b.ue(), b.ue(), b.ue()
        sx = 2 if chroma in (1, 2) else 1
        sy = 2 if chroma == 1 else 1
        width -= sx * (left + right)
        height -= sy * (top + bottom)
    return width, height


def frame_size(codec: str, data: bytes) -> tuple[int, int]:
    """Width and height from the first sequence parameter set in an Annex-B access unit (0, 0 if none)."""
    for nal in _nals(data):
        try:
            if codec == "h264" and nal[0] & 0x1F == 7:
                return _h264_size(nal)
            if codec == "h265" and (nal[0] >> 1) & 0x3F == 33:
                return _h265_size(nal)
        except IndexError:
            return 0, 0
    return 0, 0
