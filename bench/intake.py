"""A burst of device messages through the real broker into the alert queue: ``--count`` door events (20,000),
each at a door of its own so that each is an alert, published at ``--rate`` per second (1,000) with QoS 1 to a
Mosquitto started for the run, taken in by the intake worker (``kgys.devices.worker``, in this process) into a fresh
database; how fast they were stored, how long after the last was sent the last was stored, how many were lost.
Once with messages taken in together (the intake's batches, up to 100 per commit) and once one per commit, next to
the bare broker: a subscriber at QoS 1 receiving the same messages.

Goal (issue 10): a burst of 1,000 alerts/s with 0 lost.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
from sqlalchemy import func, select
from tests import factories

from bench import common
from kgys.alerts.models import Alert
from kgys.audit.mechanism import acting_as
from kgys.config import Settings
from kgys.devices import payloads
from kgys.devices import worker as intake_worker
from kgys.devices.flows import registry
from kgys.devices.schemas import DeviceIn
from kgys.runtime import make_runtime

SERIAL = "DC-BENCH-1"


def _broker(folder: Path, port: int) -> subprocess.Popen[bytes]:
    conf = folder / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "max_queued_messages 1000000\nmax_inflight_messages 0\n")
    proc = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
            c.connect("127.0.0.1", port)
            c.disconnect()
            return proc
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("mosquitto did not start")


def _publish(port: int, count: int, rate: float, tag: str) -> tuple[float, float]:
    """Publish ``count`` door events at ``rate``/s (QoS 1, each acknowledged by the broker); first and last send."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{tag}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    topic = payloads.uplink(SERIAL, "access")
    start = time.monotonic()
    infos = []
    for i in range(count):
        due = start + i / rate
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        body = json.dumps({"msg_id": f"{tag}-{i}", "at": datetime.now(UTC).isoformat(), "event": "forced_door",
                           "door": f"{tag} kapı {i}"})
        infos.append(client.publish(topic, body, qos=1))
    last = time.monotonic()
    for info in infos:
        info.wait_for_publish(timeout=60)
    client.loop_stop()
    client.disconnect()
    return start, last


def _alerts(rt: object) -> int:
    with rt.sessions() as s:  # type: ignore[attr-defined]
        return int(s.scalar(select(func.count()).select_from(Alert).where(Alert.device == SERIAL)) or 0)


def _intake_phase(kind: str, url: str, data: Path, port: int, args: object, batch: int, tag: str) -> list[object]:
    a = args
    settings = Settings(mode="dev", data_dir=data, database={"url": url}, security={"cookie_secure": False},
                        devices={"broker_port": port, "client_id": f"kgys-bench-{tag}",
                                 "access_window_seconds": 0})
    rt = make_runtime(settings, upgrade=True)
    try:
        before = _alerts(rt)
        stop = threading.Event()
        old = intake_worker.BATCH
        intake_worker.BATCH = batch
        worker_thread = threading.Thread(target=intake_worker.run, args=(rt, stop), daemon=True)
        worker_thread.start()
        time.sleep(1.0)  # let it subscribe (its session is new: what came before would be missed)
        cpu0 = time.process_time()
        first, last_sent = _publish(port, a.count, a.rate, tag)  # type: ignore[attr-defined]
        deadline = time.monotonic() + a.drain  # type: ignore[attr-defined]
        stored = _alerts(rt) - before
        while stored < a.count and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.2)
            stored = _alerts(rt) - before
        done = time.monotonic()
        cpu = time.process_time() - cpu0
        stop.set()
        worker_thread.join(timeout=60)
        intake_worker.BATCH = old
        seconds = done - first
        return [kind, f"intake, up to {batch} per commit", f"{a.count:,}", f"{a.count / (last_sent - first):,.0f}",  # type: ignore[attr-defined]
                f"{stored / seconds:,.0f}", f"{max(0.0, done - last_sent):.1f}", a.count - stored,  # type: ignore[attr-defined]
                f"{cpu / seconds:.0%}"]
    finally:
        rt.close()


def _bare_phase(port: int, args: object) -> list[object]:
    a = args
    got = threading.Event()
    n = [0]

    def on_message(_c: object, _u: object, _m: object) -> None:
        n[0] += 1
        if n[0] >= a.count:  # type: ignore[attr-defined]
            got.set()

    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-bare-sub")
    sub.on_message = on_message
    sub.connect("127.0.0.1", port)
    sub.subscribe("kgys/v1/devices/+/access", qos=1)
    sub.loop_start()
    time.sleep(0.5)
    first, last_sent = _publish(port, a.count, a.rate, "bare")  # type: ignore[attr-defined]
    got.wait(a.drain)  # type: ignore[attr-defined]
    done = time.monotonic()
    sub.loop_stop()
    sub.disconnect()
    return ["–", "bare: a QoS 1 subscriber", f"{a.count:,}", f"{a.count / (last_sent - first):,.0f}",  # type: ignore[attr-defined]
            f"{n[0] / (done - first):,.0f}", f"{max(0.0, done - last_sent):.1f}", a.count - n[0], "–"]  # type: ignore[attr-defined]


def main() -> None:
    """Run the benchmark."""
    p = common.base_parser(__doc__ or "")
    p.add_argument("--count", type=int, default=20000)
    p.add_argument("--rate", type=float, default=1000.0)
    p.add_argument("--drain", type=float, default=120.0, help="seconds to wait for the last to be stored")
    a = p.parse_args()
    common.install_signal_cleanup()
    kinds = common.engines(a.engine)
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="kgys-intake-") as tmp:
        port = common.free_port()
        broker = _broker(Path(tmp), port)
        try:
            rows.append(_bare_phase(port, a))
            for kind in kinds:
                with common.throwaway_db(kind) as db:
                    with db.rt.sessions.begin() as s:
                        factories.tree(s)
                        site = factories.site(s)
                        actor = factories.admin()
                        with acting_as(s, actor):
                            registry.provision(session=s, actor=actor, data=DeviceIn(
                                site=site.code, serial=SERIAL, kind="access", heartbeat_seconds=3600))
                    for batch in (intake_worker.BATCH, 1):
                        rows.append(_intake_phase(kind, db.url, db.data_dir, port, a, batch, f"{kind}-{batch}"))
        finally:
            broker.terminate()
            broker.wait(timeout=30)
    body = common.table(["engine", "taken in by", "messages", "sent /s", "stored /s", "last stored after the last "
                         "sent (s)", "lost", "intake CPU"], rows)
    common.report("Device messages in a burst", body, kinds=kinds, append=a.append_results, notes=[
        f"{a.count:,} door events of one controller, each at a door of its own (so each is an alert of its own), "
        f"published at {a.rate:,.0f}/s with QoS 1 to a Mosquitto of the run; the intake worker in this process stores "
        "each (device message row, alert, its history step, its event) and acknowledges it after the commit. "
        "'stored /s' from the first message sent to the last stored. 'lost' = sent but not stored within "
        f"{a.drain:.0f} s after the last was sent. 'intake CPU' = this process's CPU (intake and publisher) as a "
        "share of one core."])


if __name__ == "__main__":
    main()
