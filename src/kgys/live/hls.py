"""HLS for the browser, built from what the recorder already writes. Pure: bytes and rows in, text out.

Live: the recorder's ffmpeg writes ~10 s MPEG-TS files into the spool; :class:`TsScanner` reads each file as it
grows and finds its keyframes, so every keyframe-to-keyframe stretch (about one second with the usual GOP) is
served as one live HLS segment as soon as the next keyframe is on disk. No second ffmpeg output is needed.
Each file restarts its timestamps (the recorder uses ``-reset_timestamps``), so a new file is a
discontinuity. A segment cut from the middle of a file gets the file's program tables (PAT/PMT) put in
front of it, so a player can start on any segment.

Playback: one HLS segment per indexed recording segment, durations from the index, a discontinuity before
every file (timestamps restart) and therefore at every gap, and ``#EXT-X-PROGRAM-DATE-TIME`` so the page
can map the player's time to wall-clock time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from kgys.media import tsinfo

PACKET = 188
SYNC = 0x47
PTS_HZ = 90_000


def _payload(pkt: bytes) -> tuple[int, bool, bool, bytes]:
    """(pid, payload unit start, random access indicator, payload) of one TS packet."""
    pid = ((pkt[1] & 0x1F) << 8) | pkt[2]
    pusi = bool(pkt[1] & 0x40)
    afc = (pkt[3] >> 4) & 0x3
    pos, rai = 4, False
    if afc in (2, 3):
        length = pkt[4]
        rai = length > 0 and bool(pkt[5] & 0x40)
        pos += 1 + length
    if afc in (0, 2) or pos >= PACKET:
        return pid, pusi, rai, b""
    return pid, pusi, rai, pkt[pos:]


@dataclass(frozen=True)
class Keyframe:
    """Where a keyframe's first TS packet sits in a file, and its presentation time (seconds)."""

    offset: int
    pts: float


@dataclass
class TsScanner:
    """Follows one growing MPEG-TS file: program tables, keyframes and the latest timestamp seen.

    Feed it the file's bytes in order with :meth:`feed` (any split); it keeps the partial packet.
    """

    scanned: int = 0  # bytes of whole packets consumed
    header: bytes = b""  # the first PAT and PMT packets, to put in front of a segment cut mid-file
    codec: str | None = None
    keyframes: list[Keyframe] = field(default_factory=list)
    last_pts: float | None = None
    frame_interval: float = 0.04
    _pmt: int | None = None
    _video: int | None = None
    _pat_pkt: bytes = b""
    _rest: bytes = b""

    @property
    def consumed(self) -> int:
        """Bytes of the file fed so far (whole packets and the partial one kept)."""
        return self.scanned + len(self._rest)

    def feed(self, data: bytes) -> None:
        """Consume more of the file."""
        buf = self._rest + data
        whole = len(buf) // PACKET * PACKET
        for pos in range(0, whole, PACKET):
            self._packet(buf[pos:pos + PACKET], self.scanned + pos)
        self.scanned += whole
        self._rest = buf[whole:]

    def _packet(self, pkt: bytes, offset: int) -> None:
        if pkt[0] != SYNC:
            return
        pid, pusi, rai, payload = _payload(pkt)
        if pid == 0 and self._pmt is None and pusi:
            self._pmt = tsinfo.pmt_pid(payload)
            self._pat_pkt = pkt
        elif pid == self._pmt and self._video is None and pusi:
            found = tsinfo.video_stream(payload)
            if found is not None:
                self._video, self.codec = found
                self.header = self._pat_pkt + pkt
        elif pid == self._video and pusi and self.codec is not None:
            raw = tsinfo.pes_pts(payload)
            if raw is None:
                return
            pts = raw / PTS_HZ
            if self.last_pts is not None and 0 < pts - self.last_pts < 1.0:
                self.frame_interval = pts - self.last_pts
            self.last_pts = pts if self.last_pts is None else max(self.last_pts, pts)
            if rai or tsinfo.is_keyframe(self.codec, tsinfo.pes_data(payload)):
                self.keyframes.append(Keyframe(offset, pts))


@dataclass(frozen=True)
class Chunk:
    """One keyframe-to-keyframe stretch of a file: a live HLS segment."""

    offset: int
    length: int
    pts: float
    duration: float
    needs_header: bool  # cut from the middle of the file: prepend the program tables


def chunks(scan: TsScanner, *, finished: bool, size: int) -> list[Chunk]:
    """The complete chunks of a file scanned so far; the last one only once the file is ``finished``.

    The first chunk starts at byte 0 (it carries the file's own program tables); the others start at
    their keyframe. ``size`` is the file's length when finished.
    """
    keys = scan.keyframes
    out: list[Chunk] = []
    for i, key in enumerate(keys):
        start = 0 if i == 0 else key.offset
        if i + 1 < len(keys):
            end, dur = keys[i + 1].offset, keys[i + 1].pts - key.pts
        elif finished and scan.last_pts is not None:
            end, dur = size, scan.last_pts - key.pts + scan.frame_interval
        else:
            break
        if end > start and dur > 0:
            out.append(Chunk(start, end - start, key.pts, dur, needs_header=i > 0))
    return out


@dataclass(frozen=True)
class LiveSegment:
    """A live segment as listed in the playlist."""

    sn: int  # media sequence number
    cc: int  # discontinuity count: increases with each new file
    duration: float
    wall: datetime  # when its first frame was received


@dataclass(frozen=True)
class VodSegment:
    """A recorded segment as listed in a playback playlist."""

    id: int
    start: datetime
    end: datetime
    duration: float


def _pdt(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def live_playlist(segments: Sequence[LiveSegment], uri: Callable[[LiveSegment], str]) -> str:
    """A live media playlist (no end list) for ``segments``, oldest first; at least one segment."""
    if not segments:
        raise ValueError("a live playlist needs at least one segment")
    target = max(1, round(max(s.duration for s in segments)))  # EXTINF rounded must not exceed it
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{target}",
             f"#EXT-X-MEDIA-SEQUENCE:{segments[0].sn}", f"#EXT-X-DISCONTINUITY-SEQUENCE:{segments[0].cc}"]
    prev: LiveSegment | None = None
    for s in segments:
        if prev is not None and s.cc != prev.cc:
            lines.append("#EXT-X-DISCONTINUITY")
        lines += [f"#EXT-X-PROGRAM-DATE-TIME:{_pdt(s.wall)}", f"#EXTINF:{s.duration:.3f},", uri(s)]
        prev = s
    return "\n".join(lines) + "\n"


def vod_playlist(segments: Sequence[VodSegment], uri: Callable[[VodSegment], str], *,
                 restart_each: bool = True, tolerance: float = 1.5) -> str:
    """A VOD playlist over recorded segments (oldest first).

    A discontinuity goes before a segment that does not follow the previous one within ``tolerance``
    seconds (a gap), and before every segment when each file restarts its timestamps (``restart_each``).
    """
    if not segments:
        raise ValueError("a playback playlist needs at least one segment")
    target = max(1, round(max(s.duration for s in segments)))  # EXTINF rounded must not exceed it
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{target}", "#EXT-X-MEDIA-SEQUENCE:0",
             "#EXT-X-PLAYLIST-TYPE:VOD"]
    prev: VodSegment | None = None
    for s in segments:
        if prev is not None and (restart_each or (s.start - prev.end).total_seconds() > tolerance):
            lines.append("#EXT-X-DISCONTINUITY")
        lines += [f"#EXT-X-PROGRAM-DATE-TIME:{_pdt(s.start)}", f"#EXTINF:{s.duration:.3f},", uri(s)]
        prev = s
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


Interval = tuple[datetime, datetime]


def merge(intervals: Sequence[Interval], tolerance: float = 1.5) -> list[Interval]:
    """Sorted intervals joined where they touch or are less than ``tolerance`` seconds apart."""
    out: list[Interval] = []
    slack = timedelta(seconds=tolerance)
    for start, end in sorted(intervals):
        if out and start <= out[-1][1] + slack:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


@dataclass(frozen=True)
class Bar:
    """One coloured stretch of the timeline, in per cent of its width."""

    kind: str  # recorded | gap
    start: datetime
    end: datetime
    left: float
    width: float
    cause: str = ""
    detail: str = ""


def timeline(start: datetime, end: datetime, recorded: Sequence[Interval],
             gaps: Sequence[tuple[datetime, datetime | None, str, str]], now: datetime) -> list[Bar]:
    """Bars for [start, end): recorded stretches (merged) and gaps (open gaps reach ``now``), clipped."""
    total = (end - start).total_seconds()
    if total <= 0:
        raise ValueError("the timeline needs end after start")

    def bar(kind: str, a: datetime, b: datetime, cause: str = "", detail: str = "") -> Bar | None:
        a, b = max(a, start), min(b, end)
        if b <= a:
            return None
        left = (a - start).total_seconds() / total * 100
        return Bar(kind, a, b, round(left, 3), round((b - a).total_seconds() / total * 100, 3), cause, detail)

    bars = [bar("recorded", a, b) for a, b in merge(recorded)]
    bars += [bar("gap", a, b or now, cause, detail) for a, b, cause, detail in gaps]
    return sorted((b for b in bars if b is not None), key=lambda b: (b.start, b.kind))
