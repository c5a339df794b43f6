"""A real RTSP server for simulated cameras, run under the system Python (GStreamer via ``gi``).

``/usr/bin/python3 rtsp_server.py CLIP CODEC PORT N`` serves ``rtsp://127.0.0.1:PORT/cam1`` … ``camN``.
The clip's access units are read once into memory; one clock pushes the same frame to every stream
that has a client, through an ``appsrc`` that stamps each buffer with the pipeline's running time, so
the loop never breaks timestamps and no stream is re-encoded. A new client starts on a keyframe.

Control lines on standard input: ``stop camN`` (end the stream and remove the mount: the camera is
offline), ``start camN`` (serve it again), ``pause camN`` (keep connections open but send nothing: a hung
camera), ``resume camN``, ``quit``. End of standard input also stops the server.
Prints ``ready PORT`` on standard output once the server listens.

This file imports only ``gi`` and the standard library: it runs outside kgys's virtual environment.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import gi  # type: ignore[import-not-found, unused-ignore]

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # type: ignore[import-not-found, unused-ignore]  # noqa: E402

PARSE = {"h264": "h264parse", "h265": "h265parse"}
PAY = {"h264": "rtph264pay", "h265": "rtph265pay"}
CAPS = {"h264": "video/x-h264", "h265": "video/x-h265"}


def load_clip(path: str, codec: str) -> tuple[list[tuple[bytes, bool]], Any, float]:
    """Read every access unit of the clip: (data, is_keyframe), the caps, and frames per second."""
    demux = "qtdemux" if path.endswith(".mp4") else "tsdemux"
    desc = (f"filesrc location={path} ! {demux} ! {PARSE[codec]} config-interval=-1 ! "
            f"{CAPS[codec]},stream-format=byte-stream,alignment=au ! appsink name=sink sync=false")
    pipeline = Gst.parse_launch(desc)
    sink = pipeline.get_by_name("sink")
    pipeline.set_state(Gst.State.PLAYING)
    frames: list[tuple[bytes, bool]] = []
    caps = None
    while True:
        sample = sink.emit("pull-sample")
        if sample is None:
            break
        buf = sample.get_buffer()
        ok, info = buf.map(Gst.MapFlags.READ)
        if ok:
            frames.append((bytes(info.data), not buf.has_flags(Gst.BufferFlags.DELTA_UNIT)))
            buf.unmap(info)
        caps = caps or sample.get_caps()
    pipeline.set_state(Gst.State.NULL)
    if not frames or caps is None:
        raise SystemExit(f"no frames in {path}")
    ok, num, den = caps.get_structure(0).get_fraction("framerate")
    fps = num / den if ok and num and den else 25.0
    first_key = next(i for i, (_, key) in enumerate(frames) if key)
    return frames[first_key:], caps, fps


class Sim:
    """The server, its mounts and the frame clock."""

    def __init__(self, clip: str, codec: str, port: int, count: int) -> None:
        self.frames, self.caps, self.fps = load_clip(clip, codec)
        self.codec = codec
        self.server = GstRtspServer.RTSPServer()
        self.server.set_address("127.0.0.1")
        self.server.set_service(str(port))
        # One thread per connecting client (the default is one for all): a new stream's media is prepared only
        # once its next keyframe has been pushed, and clients waiting in line for that thread would make a
        # camera take seconds to answer DESCRIBE, which real cameras answer at once.
        self.server.get_thread_pool().set_max_threads(-1)
        self.mounts = self.server.get_mount_points()
        self.active: dict[str, list[list[Any]]] = {}  # name -> [[appsrc, started], ...]
        self.names = [f"cam{i}" for i in range(1, count + 1)]
        for name in self.names:
            self.add(name)
        self.paused: set[str] = set()
        self.index = 0
        self.t0 = time.monotonic()
        self.pushed = 0

    def add(self, name: str) -> None:
        """Serve ``/name``."""
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(
            f"( appsrc name=src is-live=true do-timestamp=true format=time ! "
            f"{PARSE[self.codec]} config-interval=-1 ! {PAY[self.codec]} name=pay0 pt=96 config-interval=-1 )")
        factory.set_shared(True)
        factory.connect("media-configure", self.on_configure, name)
        self.mounts.add_factory(f"/{name}", factory)
        self.active.setdefault(name, [])

    def on_configure(self, _factory: Any, media: Any, name: str) -> None:
        """A media pipeline was built for a client: register its appsrc."""
        src = media.get_element().get_by_name_recurse_up("src")
        src.set_property("caps", self.caps)
        entry = [src, False]
        self.active.setdefault(name, []).append(entry)
        media.connect("unprepared", self.on_unprepared, name, entry)

    def on_unprepared(self, _media: Any, name: str, entry: list[Any]) -> None:
        """The pipeline went away (last client left)."""
        entries = self.active.get(name, [])
        if entry in entries:
            entries.remove(entry)

    def stop(self, name: str) -> None:
        """Take a camera offline: end its streams and remove its mount."""
        self.mounts.remove_factory(f"/{name}")
        for src, _started in self.active.pop(name, []):
            src.emit("end-of-stream")

    def tick(self) -> bool:
        """Push every frame that is due to every started stream."""
        due = int((time.monotonic() - self.t0) * self.fps)
        steps = 0
        while self.pushed < due and steps < 5:
            data, key = self.frames[self.index]
            for name, entries in self.active.items():
                if name in self.paused:
                    continue
                for entry in entries:
                    if not entry[1] and key:
                        entry[1] = True
                    if entry[1]:
                        entry[0].emit("push-buffer", Gst.Buffer.new_wrapped(data))
            self.index = (self.index + 1) % len(self.frames)
            self.pushed += 1
            steps += 1
        if self.pushed < due:
            self.pushed = due
        return True

    def command(self, channel: Any, _cond: Any) -> bool:
        """Handle one control line from standard input."""
        line = sys.stdin.readline()
        if not line:
            loop.quit()
            return False
        words = line.split()
        if words[:1] == ["quit"]:
            loop.quit()
        elif len(words) == 2 and words[0] == "stop" and words[1] in self.names:
            self.stop(words[1])
        elif len(words) == 2 and words[0] == "start" and words[1] in self.names:
            self.add(words[1])
        elif len(words) == 2 and words[0] == "pause" and words[1] in self.names:
            self.paused.add(words[1])
        elif len(words) == 2 and words[0] == "resume" and words[1] in self.names:
            self.paused.discard(words[1])
            for entry in self.active.get(words[1], []):
                entry[1] = False  # restart on a keyframe
        print(f"ok {line.strip()}", flush=True)
        return True


if __name__ == "__main__":
    Gst.init(None)
    clip_path, codec_name, port_text, count_text = sys.argv[1:5]
    sim = Sim(clip_path, codec_name, int(port_text), int(count_text))
    loop = GLib.MainLoop()
    if sim.server.attach(None) == 0:
        raise SystemExit(f"cannot listen on 127.0.0.1:{port_text}")
    GLib.timeout_add(max(1, int(500 / sim.fps)), sim.tick)
    GLib.io_add_watch(sys.stdin.fileno(), GLib.PRIORITY_DEFAULT, GLib.IO_IN | GLib.IO_HUP, sim.command)
    print(f"ready {port_text}", flush=True)
    loop.run()
