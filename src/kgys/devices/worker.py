"""The ``kgys worker intake`` process: messages from devices, taken from the broker into the alert queue.

Each message is parsed (:mod:`kgys.devices.payloads`), taken in (:mod:`kgys.devices.intake`) and committed, and
only then acknowledged to the broker, so that a message is never lost between the two: if the intake dies after
the commit, the broker delivers the message again and the intake recognises it by its ``msg_id``. A refused
message is logged with its reason, counted and acknowledged (a bad message would come back forever otherwise).
While the database is unavailable the message is tried again and not acknowledged. Messages that arrive faster
than they are stored (a burst) are taken in together, up to :data:`BATCH` in one transaction, each in a
savepoint of its own so that one that breaks the intake leaves the others stored; all are acknowledged after the
one commit.

The same process takes in the positions units' trackers publish (:mod:`kgys.devices.positions`, stored by
:mod:`kgys.devices.flows.tracking` in the same batches), and publishes the outboxes of lockdown orders to the sites'
devices and of assignments to units' trackers over the same broker connection (:mod:`kgys.devices.outbox`, in a
thread of its own).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from kgys.db import retrying, utcnow
from kgys.devices import intake, outbox, payloads, positions
from kgys.devices.flows import tracking
from kgys.devices.intake import Outcome, Rules
from kgys.devices.link import Link, Received
from kgys.devices.mqtt import MqttLink
from kgys.errors import Busy
from kgys.runtime import Runtime, stop_on_signals

log = logging.getLogger(__name__)

RETRY_MAX_SECONDS = 5.0
BATCH = 100  # messages taken in with one commit when they arrive faster than they are stored
Parsed = payloads.Message | payloads.Refusal | positions.Position


def rules_of(rt: Runtime) -> Rules:
    """The intake's limits from the settings."""
    cfg = rt.settings.devices
    return Rules(cancel_window=timedelta(seconds=cfg.cancel_window_seconds), max_wrong_pins=cfg.max_wrong_pins,
                 press_window=timedelta(seconds=cfg.press_window_seconds),
                 access_window=timedelta(seconds=cfg.access_window_seconds))


def link_of(rt: Runtime) -> MqttLink:
    """The MQTT link the settings describe."""
    cfg = rt.settings.devices
    return MqttLink(host=cfg.broker_host, port=cfg.broker_port, username=cfg.username, password=cfg.password,
                    client_id=cfg.client_id, keepalive=cfg.keepalive_seconds)


class Intake:
    """Takes messages in, those that arrived together in one transaction; ``counts`` holds how many were stored,
    seen again, refused (by reason) or broke the intake."""

    def __init__(self, rt: Runtime, link: Link, stop: threading.Event) -> None:
        self.rt, self.link, self.stop = rt, link, stop
        self.rules = rules_of(rt)
        self.skew = timedelta(seconds=rt.settings.devices.max_clock_skew_seconds)
        dispatch = rt.settings.dispatch
        self.position_skew = timedelta(seconds=dispatch.position_skew_seconds)
        self.position_max_age = timedelta(seconds=dispatch.position_max_age_seconds)
        self.counts: Counter[str] = Counter()

    def handle(self, msgs: Sequence[Received]) -> list[Outcome | Exception] | None:
        """Store ``msgs`` in one transaction, each in a savepoint of its own (trying again while the database is
        unavailable); what each gave, or the error that broke it alone; None if stopped first."""
        pause = 0.2
        while not self.stop.is_set():
            now = utcnow()
            parsed = [self._parse(m, now) for m in msgs]
            try:
                return retrying(self.rt.sessions, partial(self._take_all, parsed=parsed, msgs=msgs, now=now))
            except (Busy, OperationalError) as exc:
                log.warning("database unavailable, %d message(s) kept for later: %s", len(msgs), exc)
                self.stop.wait(pause)
                pause = min(pause * 2, RETRY_MAX_SECONDS)
        return None

    def _parse(self, msg: Received, now: datetime) -> Parsed:
        if payloads.parse_unit_topic(msg.topic) is not None:
            return positions.parse(msg.topic, msg.payload, now=now, skew=self.position_skew,
                                   max_age=self.position_max_age)
        return payloads.parse(msg.topic, msg.payload, now=now, max_skew=self.skew)

    def _take(self, session: Session, parsed: Parsed, now: datetime) -> Outcome:
        if isinstance(parsed, positions.Position):
            return tracking.take_position(session, parsed=parsed, settings=self.rt.settings.dispatch, now=now)
        return intake.take_in(session, parsed=parsed, rules=self.rules, now=now)

    def _take_all(self, session: Session, *, parsed: list[Parsed], msgs: Sequence[Received],
                  now: datetime) -> list[Outcome | Exception]:
        out: list[Outcome | Exception] = []
        for p, msg in zip(parsed, msgs, strict=True):
            try:
                with session.begin_nested():
                    out.append(self._take(session, p, now))
            except (Busy, OperationalError):
                raise  # the database, not the message: the whole batch is tried again
            except Exception as exc:  # this message breaks the intake: left out, the others kept
                log.exception("message on %s could not be taken in; dropped", msg.topic[:160])
                out.append(exc)
        return out

    def one(self, msg: Received) -> Outcome | None:
        """Store, then acknowledge, then reply (see :meth:`many`)."""
        done = self.many([msg])
        return done[0] if done else None

    def many(self, msgs: Sequence[Received]) -> list[Outcome | None]:
        """Store the messages (one commit), then acknowledge each, then reply; a message that breaks the intake is
        logged, counted and acknowledged; nothing is acknowledged when stopped before the commit (an empty list)."""
        try:
            results: list[Outcome | Exception] | None = self.handle(msgs)
        except Exception as exc:
            log.exception("%d message(s) could not be taken in; dropped", len(msgs))
            results = [exc] * len(msgs)
        if results is None:
            return []  # stopping: not acknowledged, the broker delivers them again
        out: list[Outcome | None] = []
        for msg, outcome in zip(msgs, results, strict=True):
            self.link.ack(msg)
            if isinstance(outcome, Exception):
                self.counts["error"] += 1
                out.append(None)
                continue
            self._count(msg, outcome)
            if outcome.reply is not None and outcome.serial is not None:
                self.link.publish(payloads.reply_topic(outcome.serial), json.dumps(outcome.reply).encode())
            out.append(outcome)
        return out

    def _count(self, msg: Received, outcome: Outcome) -> None:
        if outcome.refusal is not None:
            self.counts[f"refused:{outcome.refusal.reason}"] += 1
            log.warning("refused a message on %s: %s (%s)", msg.topic[:160], outcome.refusal.reason,
                        outcome.refusal.detail)
        elif outcome.duplicate:
            self.counts["duplicate"] += 1
        elif outcome.counted:
            self.counts[outcome.counted] += 1
        else:
            self.counts["stored"] += 1

    def run(self, poll_seconds: float = 0.5) -> None:
        """Until stopped: what has arrived meanwhile is taken in together, up to :data:`BATCH` at a time."""
        while not self.stop.is_set():
            msg = self.link.get(poll_seconds)
            if msg is None:
                continue
            batch = [msg]
            while len(batch) < BATCH:
                more = self.link.get(0)
                if more is None:
                    break
                batch.append(more)
            self.many(batch)


def run(rt: Runtime, stop: threading.Event | None = None, *, link: Link | None = None,
        outbox_poll_seconds: float = 0.5) -> Intake:
    """Run the intake and the outbox publisher until ``stop`` is set or SIGTERM/SIGINT arrives; the intake, with
    its counts (the outbox's under ``outbox:``)."""
    stop = stop_on_signals("intake worker", stop)
    link = link or link_of(rt)
    worker = Intake(rt, link, stop)
    cfg = rt.settings.devices
    log.info("intake starting: %s@%s:%s as client %s", cfg.username, cfg.broker_host, cfg.broker_port,
             cfg.client_id)
    link.start()
    publisher, thread = outbox.start(rt, link, stop, poll_seconds=outbox_poll_seconds,
                                     sources=(outbox.LOCKDOWNS, tracking.ASSIGNMENTS))
    try:
        worker.run()
    finally:
        thread.join(timeout=30)
        worker.counts.update({f"outbox:{k}": v for k, v in publisher.counts.items()})
        link.close()
        log.info("intake stopped: %s", dict(worker.counts))
    return worker
