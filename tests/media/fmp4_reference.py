"""The MPEG-TS to fragmented MP4 remuxer as it was before the bulk packet parser of :mod:`kgys.media.fmp4`: one
Python step per TS packet and one ``moof`` built box by box per frame. Kept unchanged as the reference the
tests compare the faster remuxer with, byte for byte."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from kgys.media import tsinfo
from kgys.media.sps import frame_size

PACKET = 188
SYNC = 0x47
TIMESCALE = 90_000
WRAP = 1 << 33
TRACK = 1
KEY_FLAGS = 0x02000000  # sample_depends_on = 2 (an I picture)
DELTA_FLAGS = 0x01010000  # depends on others, not a sync sample
NAL_AUD, NAL_SPS, NAL_PPS, NAL_IDR = 9, 7, 8, 5
_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def box(kind: bytes, *payload: bytes) -> bytes:
    """An ISO BMFF box of ``kind`` around ``payload``."""
    body = b"".join(payload)
    return struct.pack(">I", 8 + len(body)) + kind + body


def full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    """A full box (version and flags first)."""
    return box(kind, struct.pack(">I", (version << 24) | flags), *payload)


def nal_units(annexb: bytes) -> list[bytes]:
    """The NAL units of an Annex-B byte stream (start codes and trailing zero bytes removed)."""
    return [p.rstrip(b"\x00") for p in annexb.split(b"\x00\x00\x01")[1:] if p.strip(b"\x00")]


def avc_codec(sps: bytes) -> str:
    """The RFC 6381 codec string of an H.264 stream (``avc1.PPCCLL``) from its SPS NAL unit."""
    return f"avc1.{sps[1]:02x}{sps[2]:02x}{sps[3]:02x}"


def init_segment(sps: bytes, pps: bytes) -> bytes:
    """``ftyp`` + ``moov`` of a one-track H.264 stream at 90 kHz with no samples (they come in fragments)."""
    width, height = frame_size("h264", b"\x00\x00\x01" + sps)
    avcc = box(b"avcC", bytes([1, sps[1], sps[2], sps[3], 0xFF, 0xE1]), struct.pack(">H", len(sps)), sps,
               b"\x01", struct.pack(">H", len(pps)), pps)
    avc1 = box(b"avc1", b"\x00" * 6, struct.pack(">H", 1), b"\x00" * 16, struct.pack(">HH", width, height),
               struct.pack(">II", 0x00480000, 0x00480000), b"\x00" * 4, struct.pack(">H", 1), b"\x00" * 32,
               struct.pack(">Hh", 0x18, -1), avcc)
    stbl = box(b"stbl", full_box(b"stsd", 0, 0, struct.pack(">I", 1), avc1),
               full_box(b"stts", 0, 0, b"\x00" * 4), full_box(b"stsc", 0, 0, b"\x00" * 4),
               full_box(b"stsz", 0, 0, b"\x00" * 8), full_box(b"stco", 0, 0, b"\x00" * 4))
    minf = box(b"minf", full_box(b"vmhd", 0, 1, b"\x00" * 8),
               box(b"dinf", full_box(b"dref", 0, 0, struct.pack(">I", 1), full_box(b"url ", 0, 1))), stbl)
    mdia = box(b"mdia", full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, TIMESCALE, 0, 0x55C4, 0)),
               full_box(b"hdlr", 0, 0, b"\x00" * 4, b"vide", b"\x00" * 12, b"VideoHandler\x00"), minf)
    tkhd = full_box(b"tkhd", 0, 3, struct.pack(">IIIII", 0, 0, TRACK, 0, 0), b"\x00" * 8,
                    struct.pack(">hhhH", 0, 0, 0, 0), _MATRIX, struct.pack(">II", width << 16, height << 16))
    mvhd = full_box(b"mvhd", 0, 0, struct.pack(">IIIIIH", 0, 0, 1000, 0, 0x10000, 0x100), b"\x00" * 10, _MATRIX,
                    b"\x00" * 24, struct.pack(">I", TRACK + 1))
    mvex = box(b"mvex", full_box(b"trex", 0, 0, struct.pack(">IIIII", TRACK, 1, 0, 0, 0)))
    ftyp = box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isomiso6avc1mp41")
    return ftyp + box(b"moov", mvhd, box(b"trak", tkhd, mdia), mvex)


def fragment(seq: int, dts: int, duration: int, cto: int, key: bool, sample: bytes) -> bytes:
    """``moof`` + ``mdat`` of one sample: decode time ``dts``, ``duration`` and composition offset in 90 kHz."""
    trun_flags = 0x000001 | 0x000100 | 0x000200 | 0x000400 | 0x000800
    moof_len = 8 + 16 + 8 + 16 + 20 + 36  # moof, mfhd, traf, tfhd, tfdt (v1), trun (v1, one sample)
    trun = full_box(b"trun", 1, trun_flags, struct.pack(">Ii", 1, moof_len + 8),
                    struct.pack(">IIIi", duration, len(sample), KEY_FLAGS if key else DELTA_FLAGS, cto))
    traf = box(b"traf", full_box(b"tfhd", 0, 0x020000, struct.pack(">I", TRACK)),
               full_box(b"tfdt", 1, 0, struct.pack(">Q", dts)), trun)
    return box(b"moof", full_box(b"mfhd", 0, 0, struct.pack(">I", seq)), traf) + box(b"mdat", sample)


@dataclass(frozen=True)
class Fragment:
    """One access unit as a ``moof``+``mdat``; ``init`` when a (new) init segment must go before it."""

    data: bytes
    key: bool
    dts: int  # on the continuous timeline, 90 kHz
    duration: int
    init: bool = False


def _pes_times(head: bytes) -> tuple[int | None, int | None]:
    """(PTS, DTS) of a PES header (DTS equals PTS when absent)."""
    if len(head) < 14 or head[:3] != b"\x00\x00\x01" or not head[7] & 0x80:
        return None, None
    pts = tsinfo.pes_pts(head)
    if head[7] & 0x40 and len(head) >= 19:
        p = head[14:19]
        return pts, ((p[0] >> 1) & 0x07) << 30 | p[1] << 22 | (p[2] >> 1) << 15 | p[3] << 7 | p[4] >> 1
    return pts, pts


class Remuxer:
    """Follows one camera's TS files and turns each access unit into an fMP4 fragment (see the module text)."""

    def __init__(self) -> None:
        self.codec: str | None = None  # h264 | h265 once the PMT is read
        self.mime_codec: str | None = None  # avc1.PPCCLL once the first SPS is read
        self.init: bytes | None = None
        self.seq = 0
        self._pmt: int | None = None
        self._video: int | None = None
        self._rest = b""
        self._parts: list[bytes] = []
        self._want = self._have = 0  # length of the PES packet being gathered (0: unknown) and bytes so far
        self._sps = self._pps = b""
        self._new_init = False
        self._raw_last: int | None = None  # last raw DTS seen in this file (unwrapping)
        self._unwrapped = 0  # the same, unwrapped
        self._offset = 0  # added to this file's unwrapped DTS/PTS to land on the continuous timeline
        self._end: int | None = None  # where the timeline stands after the last emitted sample
        self._duration = TIMESCALE // 25  # the last sample duration seen

    def restart(self) -> list[Fragment]:
        """A new file begins: the last access unit of the old one leaves, the tables are read again and the new
        file's timestamps continue the timeline."""
        out = self._complete(None)
        self._rest, self._parts = b"", []
        self._want = self._have = 0
        self._pmt = self._video = None
        self._raw_last = None
        return out

    def feed(self, data: bytes) -> list[Fragment]:
        """Consume more of the current file; the fragments of the access units it completed."""
        buf = self._rest + data if self._rest else data
        whole = len(buf) - len(buf) % PACKET
        self._rest = buf[whole:]
        out: list[Fragment] = []
        video = self._video
        parts = self._parts
        want, have = self._want, self._have
        for pos in range(0, whole, PACKET):
            b1 = buf[pos + 1]
            pid = ((b1 & 0x1F) << 8) | buf[pos + 2]
            if pid != video or buf[pos] != SYNC:
                if buf[pos] == SYNC and video is None and b1 & 0x40:
                    self._table(pid, buf[pos:pos + PACKET])
                    video = self._video
                continue
            afc = buf[pos + 3] >> 4 & 0x3
            start = pos + 4 + (1 + buf[pos + 4] if afc & 2 else 0)
            end = pos + PACKET
            if not afc & 1 or start >= end:
                continue
            if b1 & 0x40:
                out += self._complete(buf[start:end])
                parts = self._parts
                length = (buf[start + 4] << 8 | buf[start + 5]) if end - start > 6 else 0
                want, have = (6 + length if length else 0), end - start
            elif parts:
                parts.append(buf[start:end])
                have += end - start
            else:
                continue
            if want and have >= want:  # a PES packet of known length is whole: no need to wait for the next
                out += self._complete(None)
                parts = self._parts
        self._want, self._have = want, have
        return out

    def _table(self, pid: int, pkt: bytes) -> None:
        afc = pkt[3] >> 4 & 0x3
        start = 4 + (1 + pkt[4] if afc & 2 else 0)
        payload = pkt[start:] if afc & 1 and start < PACKET else b""
        if pid == 0 and self._pmt is None:
            self._pmt = tsinfo.pmt_pid(payload)
        elif pid == self._pmt:
            found = tsinfo.video_stream(payload)
            if found is not None:
                self._video, self.codec = found

    def _complete(self, next_head: bytes | None) -> list[Fragment]:
        """The PES gathered so far is whole (``next_head`` starts the next one): its fragment."""
        out: list[Fragment] = []
        if self._parts:
            pes = b"".join(self._parts)
            pts, dts = _pes_times(pes)
            if pts is not None and dts is not None and self.codec == "h264":
                dts_t = self._timeline(dts)
                cto = (pts - dts) % WRAP
                out += self._emit(dts_t, cto if cto < WRAP // 2 else 0, tsinfo.pes_data(pes))
        self._parts = [next_head] if next_head is not None else []
        return out

    def _timeline(self, raw: int) -> int:
        if self._raw_last is None:
            self._unwrapped = raw
            self._offset = (self._end if self._end is not None else 0) - raw
        else:
            step = (raw - self._raw_last) % WRAP
            step = step if step < WRAP // 2 else step - WRAP
            if 0 < step < TIMESCALE * 5:
                self._duration = step  # a frame lasts as long as the one before it (the next is not here yet)
            self._unwrapped += step
        self._raw_last = raw
        return self._unwrapped + self._offset

    def _emit(self, dts: int, cto: int, annexb: bytes) -> list[Fragment]:
        sample, key = self._sample(annexb)
        self._end = dts + self._duration
        if not sample or self.init is None:
            return []
        self.seq += 1
        init, self._new_init = self._new_init, False
        return [Fragment(fragment(self.seq, dts, self._duration, cto, key, sample), key, dts, self._duration, init)]

    def _sample(self, annexb: bytes) -> tuple[bytes, bool]:
        """The access unit length-prefixed without delimiters and parameter sets; whether it is an IDR."""
        out: list[bytes] = []
        key = False
        sps, pps = self._sps, self._pps
        for nal in nal_units(annexb):
            kind = nal[0] & 0x1F
            if kind == NAL_SPS:
                sps = nal
            elif kind == NAL_PPS:
                pps = nal
            elif kind != NAL_AUD:
                key = key or kind == NAL_IDR
                out += (struct.pack(">I", len(nal)), nal)
        if sps and pps and (sps != self._sps or pps != self._pps):
            self._sps, self._pps = sps, pps
            self.init, self.mime_codec, self._new_init = init_segment(sps, pps), avc_codec(sps), True
        return b"".join(out), key
