"""The intake loop on a fake broker link, on both engines: a message is committed before it is acknowledged, a
refused one is counted and acknowledged too, a reply goes to the device's reply topic, and a message that
arrives while the database is unavailable is neither stored nor acknowledged until it can be."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from kgys.devices import intake, payloads
from kgys.devices import worker as intake_worker
from kgys.devices.link import FakeLink, Received
from kgys.devices.models import DeviceMessage
from tests.devices.conftest import Live

pytestmark = pytest.mark.usefixtures("mqtt_broker")


class Watching(FakeLink):
    """A fake link that, at each acknowledgement, looks in the database (from a connection of its own) for
    what was stored."""

    def __init__(self, live: Live) -> None:
        super().__init__()
        self.live = live
        self.stored_at_ack: list[int] = []

    def ack(self, msg: Received) -> None:
        with Session(self.live.rt.engine) as s:
            self.stored_at_ack.append(int(s.scalar(select(func.count()).select_from(DeviceMessage)) or 0))
        super().ack(msg)


def _body(**kw: object) -> bytes:
    return json.dumps({"at": datetime.now(UTC).isoformat(), **kw}).encode()


def test_each_message_is_committed_before_it_is_acknowledged(live: Live) -> None:
    serial = live.provision()
    link = Watching(live)
    worker = intake_worker.Intake(live.rt, link, threading.Event())
    with Session(live.rt.engine) as s:
        before = int(s.scalar(select(func.count()).select_from(DeviceMessage)) or 0)
    link.put(payloads.uplink(serial, "press"), _body(msg_id="p1"))
    link.put(payloads.uplink(serial, "press"), b"{broken")
    link.put(payloads.uplink(serial, "press"), _body(msg_id="p1"))  # delivered again
    link.put(payloads.uplink(serial, "cancel"), _body(msg_id="c1", pin="0000"))
    for _ in range(4):
        msg = link.get(1)
        assert msg is not None
        worker.one(msg)
    assert [n - before for n in link.stored_at_ack] == [1, 1, 1, 2]  # each stored before its acknowledgement
    assert len(link.acked) == 4  # the broken one too: it would come back forever
    assert dict(worker.counts) == {"stored": 1, "refused:malformed": 1, "duplicate": 1, "refused:wrong_pin": 1}
    [(topic, reply)] = link.published
    assert topic == payloads.reply_topic(serial)
    assert json.loads(reply) == {"msg_id": "c1", "result": "refused", "reason": "wrong_pin"}


def test_a_message_waits_while_the_database_is_unavailable(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    serial = live.provision()
    link = FakeLink()
    stop = threading.Event()
    worker = intake_worker.Intake(live.rt, link, stop)
    real = intake.take_in
    failures = iter([True, True])

    def flaky(session: Session, **kw: object) -> intake.Outcome:
        if next(failures, False):
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        return real(session, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(intake, "take_in", flaky)
    link.put(payloads.uplink(serial, "press"), _body(msg_id=uuid.uuid4().hex))
    msg = link.get(1)
    assert msg is not None
    outcome = worker.one(msg)
    assert outcome is not None and outcome.alert_id is not None and len(link.acked) == 1
    # stopped while the database is away: the message is not acknowledged, the broker keeps it
    monkeypatch.setattr(intake, "take_in", lambda session, **kw: (_ for _ in ()).throw(
        OperationalError("SELECT 1", {}, Exception("down"))))
    link.put(payloads.uplink(serial, "press"), _body(msg_id=uuid.uuid4().hex))
    msg = link.get(1)
    assert msg is not None
    threading.Timer(0.5, stop.set).start()
    assert worker.one(msg) is None and len(link.acked) == 1


def test_what_arrives_together_is_stored_with_one_commit_and_a_broken_message_alone_is_dropped(
        live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    serial = live.provision()
    link = Watching(live)
    stop = threading.Event()
    worker = intake_worker.Intake(live.rt, link, stop)
    commits: list[int] = []
    real_retrying = intake_worker.retrying

    def counting(factory: object, work: object, **kw: object) -> object:
        commits.append(1)
        return real_retrying(factory, work, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(intake_worker, "retrying", counting)
    real = intake.take_in

    def breaks_on_p3(session: Session, **kw: object) -> intake.Outcome:
        parsed = kw["parsed"]
        if getattr(parsed, "msg_id", None) == "p3":
            raise ValueError("a message the intake cannot take")
        return real(session, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(intake, "take_in", breaks_on_p3)
    with Session(live.rt.engine) as s:
        before = int(s.scalar(select(func.count()).select_from(DeviceMessage)) or 0)
    for n in range(1, 6):
        link.put(payloads.uplink(serial, "press"), _body(msg_id=f"p{n}"))
    runner = threading.Thread(target=worker.run, kwargs={"poll_seconds": 0.05})
    runner.start()
    try:
        deadline = threading.Event()
        for _ in range(600):  # wait on the acknowledgements themselves, at most 60 s
            if len(link.acked) == 5:
                break
            deadline.wait(0.1)
    finally:
        stop.set()
        runner.join(timeout=30)
    assert len(link.acked) == 5 and len(commits) == 1  # five messages, one transaction
    assert [n - before for n in link.stored_at_ack] == [4] * 5  # all stored before the first acknowledgement
    assert dict(worker.counts) == {"stored": 4, "error": 1}
