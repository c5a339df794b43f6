"""The spool watch's kernel interface: inotify through ``inotify_simple`` against the same calls by hand.

kgys's :class:`~kgys.recording.spoolwatch.SpoolWatch` is told by inotify which camera directories of the
spool changed. It reads the kernel's events through ``inotify_simple``; the baseline here is the reader kgys
had before, written by hand with ``ctypes`` (``inotify_init1``, ``inotify_add_watch``, ``os.read`` until
``EAGAIN``, ``struct`` to unpack). Both watch the same ``--cameras`` directories at once, so they see the
same events. The recorder polls every 0.25 s and each camera's ffmpeg creates and closes a segment file
every ``--seconds``; each round creates that many files (spread over the cameras), then each reader reads
and unpacks what came, timed in CPU seconds of this process; half the rounds have no event at all (most
polls of a quiet spool). The set of cameras each reader names must be the same.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import random
import statistics
import struct
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from inotify_simple import INotify  # type: ignore[import-untyped]

from bench import common
from kgys.recording.spoolwatch import CAMERA_MASK

_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len (struct inotify_event)


class HandReader:
    """inotify by hand through ctypes: the baseline."""

    def __init__(self) -> None:
        self.libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        self.libc.inotify_init1.argtypes = [ctypes.c_int]
        self.libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        self.fd = int(self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC))
        assert self.fd >= 0

    def add_watch(self, path: Path, mask: int) -> int:
        wd = int(self.libc.inotify_add_watch(self.fd, os.fsencode(path), mask))
        assert wd >= 0
        return wd

    def read(self) -> list[tuple[int, int, str]]:
        out: list[tuple[int, int, str]] = []
        while True:
            try:
                data = os.read(self.fd, 64 * 1024)
            except BlockingIOError:
                return out
            pos = 0
            while pos + _HEADER.size <= len(data):
                wd, mask, _cookie, length = _HEADER.unpack_from(data, pos)
                pos += _HEADER.size
                out.append((wd, mask, data[pos:pos + length].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")))
                pos += length

    def close(self) -> None:
        os.close(self.fd)


class LibraryReader:
    """inotify through inotify_simple, as kgys reads it."""

    def __init__(self) -> None:
        self.ino = INotify(nonblocking=True)

    def add_watch(self, path: Path, mask: int) -> int:
        return int(self.ino.add_watch(path, mask))

    def read(self) -> list[tuple[int, int, str]]:
        return [(e.wd, e.mask, e.name) for e in self.ino.read(timeout=0)]

    def close(self) -> None:
        self.ino.close()


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0])
    p.add_argument("--cameras", type=int, default=128, help="camera directories (default 128)")
    p.add_argument("--seconds", type=float, default=10.0, help="segment length (default 10)")
    p.add_argument("--rounds", type=int, default=4000, help="polls (default 4000)")
    args = p.parse_args()
    poll = 0.25
    per_round = args.cameras * poll / args.seconds
    readers: dict[str, Callable[[], HandReader | LibraryReader]] = {
        "by hand (ctypes)": HandReader, "inotify_simple": LibraryReader}
    rng = random.Random(1)
    with tempfile.TemporaryDirectory(prefix="kgys-bench-watch-") as tmp:
        spool = Path(tmp)
        live = {name: make() for name, make in readers.items()}
        cams: dict[str, dict[int, int]] = {name: {} for name in readers}
        for cam in range(1, args.cameras + 1):
            (spool / str(cam)).mkdir()
            for name, reader in live.items():
                cams[name][reader.add_watch(spool / str(cam), CAMERA_MASK)] = cam
        idle: dict[str, list[float]] = {name: [] for name in readers}
        busy: dict[str, list[float]] = {name: [] for name in readers}
        events = {name: 0 for name in readers}
        mismatches, owed, created = 0, 0.0, 0
        for n in range(args.rounds):
            quiet = n % 2 == 0
            if not quiet:
                owed += 2 * per_round  # the quiet rounds' files come in the busy ones
                while owed >= 1:
                    cam = rng.randint(1, args.cameras)
                    created += 1
                    (spool / str(cam) / f"r1_{created:08d}.ts").write_bytes(b"\x47" * 188)
                    owed -= 1
            seen = {}
            for name, reader in live.items():
                t0 = time.process_time()
                got = reader.read()
                (idle if quiet else busy)[name].append(time.process_time() - t0)
                events[name] += len(got)
                seen[name] = {cams[name][wd] for wd, _m, _n in got}
            mismatches += len({frozenset(s) for s in seen.values()}) > 1
        for reader in live.values():
            reader.close()
    base = "by hand (ctypes)"
    rows = []
    for name in readers:
        rows.append([name, f"{statistics.mean(idle[name]) * 1e6:.1f}", f"{statistics.mean(busy[name]) * 1e6:.1f}",
                     f"{statistics.mean(busy[name]) / statistics.mean(busy[base]):.2f}×",
                     f"{(statistics.mean(idle[name]) + statistics.mean(busy[name])) / 2 / poll * 100:.3f} %",
                     f"{events[name]:,}"])
    body = common.table(["reader", "CPU µs per quiet poll", "CPU µs per poll with events", "÷ by hand",
                         "% of one core at 4 polls/s", "events read"], rows)
    common.report(f"spool watch — {args.cameras} camera directories, {per_round:.1f} segment files per poll, "
                  f"{args.rounds} polls", body, kinds=(), append=args.append_results,
                  notes=[f"Polls where the two readers named different cameras: {mismatches}. "
                         "CPU is this process's (user + system), the mean of each reader's calls."])


if __name__ == "__main__":
    main()
