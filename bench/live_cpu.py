"""The CPU part of ``bench/live.py``: the viewers' process (plain WebSocket clients counting what they
receive), and the table made of what was measured."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass

VIEWER = r"""
import json, sys, threading, httpx
from websockets.sync.client import connect
base, token, ids = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
h = {"Authorization": "Bearer " + token}
frames, messages = {}, {}
def fragments(message):  # a message holds one or more moof+mdat fragments (one a frame), or the init segment
    n = i = 0
    while isinstance(message, bytes) and i + 8 <= len(message):
        n += message[i + 4:i + 8] == b"moof"
        i += max(8, int.from_bytes(message[i:i + 4], "big"))
    return n
def watch(cam):
    playlist = httpx.post(f"{base}/api/v1/cameras/{cam}/live", json={}, headers=h).json()["playlist"]
    url = base.replace("http", "ws") + playlist.replace("index.m3u8", "ws")
    with connect(url, additional_headers=h, max_size=None) as ws:
        frames[cam] = messages[cam] = 0
        for message in ws:
            frames[cam] += fragments(message)
            messages[cam] += 1
threads = [threading.Thread(target=watch, args=(c,), daemon=True) for c in ids]
for t in threads: t.start()
for line in sys.stdin:
    print(json.dumps([sum(frames.values()), sum(messages.values())]), flush=True)
"""


@dataclass
class Served:
    """What the kgys part of the CPU measurement saw (CPU seconds over ``window`` seconds)."""

    web: float  # the web process: follow, remux, WebSockets
    web_sys: float  # part of ``web`` in the kernel (above all, handing the bytes to the viewers' sockets)
    idle: float  # the web process over ``idle_window`` before any viewer (its own rest: timers, health)
    idle_window: float
    ffmpegs: float  # the recorder's ffmpegs
    recorder: float  # the recorder's own Python
    window: float
    frames: int
    messages: int


def cpu_table(cameras: int, bare: float, got: Served) -> tuple[list[list[str]], list[str]]:
    """The rows and notes of the CPU table from the bare pulls' share of a core and what kgys used."""
    def pct(x: float) -> str:
        return f"{x * 100:.1f} %"

    web, ffm, win = got.web / got.window, got.ffmpegs / got.window, got.window
    total = web + ffm
    rows = [[f"{cameras} bare ffmpeg -c copy -f null pulls", pct(bare), "", "1.00 ×"],
            [f"**kgys: web process serving {cameras} tiles** (follow, remux, WebSockets)", f"**{pct(web)}**",
             f"{web * 100 / cameras:.2f} %", f"**{web / bare:.2f} ×**"],
            ["… of which in the kernel (sending to the viewers' sockets, reading the spool)",
             pct(got.web_sys / win), "", ""],
            ["… the same web process with no viewer (before they connect)", pct(got.idle / got.idle_window), "",
             ""],
            ["kgys: recorder's ffmpegs (record 24/7, watched or not)", pct(ffm), "", f"{ffm / bare:.2f} ×"],
            ["kgys: recorder ffmpegs + web", pct(total), "", f"{total / bare:.2f} ×"],
            ["kgys: recorder's Python (indexing; apart)", pct(got.recorder / win), "", ""]]
    notes = [f"frames received by the {cameras} viewers in the measured window: {got.frames:,} "
             f"({got.frames / win / cameras:.1f} per second per viewer) in {got.messages:,} WebSocket messages "
             f"({got.frames / max(1, got.messages):.1f} frames a message)",
             f"{cameras} cameras, one low-latency viewer each (a WebSocket client reading every frame, in a child "
             "process not counted). Goal: serving the tiles ≤ 1.2 × the bare pulls — the web process ÷ bare, in "
             "bold. The recorder's ffmpegs are not part of serving: they record every camera all the time, "
             "watched or not, and they also write the segment files, which the bare pulls do not. The "
             "recorder ffmpegs + web row is the whole live path from the camera to the tile against pulling "
             "the streams and throwing them away.",
             "The viewers are on the same machine: much of the kernel's work of delivering the bytes to their "
             "sockets (loopback TCP, done as the web process sends) is counted in the web process's kernel time; "
             "over a network card the receiving half of it would fall on the viewers' machines."]
    return rows, notes


def counter(proc: subprocess.Popen[str]) -> Callable[[], tuple[int, int]]:
    """Asks the viewers' process for the frames and messages they have received so far."""
    lock = threading.Lock()

    def count() -> tuple[int, int]:
        with lock:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write("\n")
            proc.stdin.flush()
            frames, messages = json.loads(proc.stdout.readline())
            return int(frames), int(messages)

    return count
