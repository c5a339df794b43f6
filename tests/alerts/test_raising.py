"""Raising alerts into the queue, merging repeats, clearing, and the events the consoles are told, on both
engines."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from kgys.accounts.actor import Scope
from kgys.alerts import raising
from kgys.alerts.models import Alert, AlertChange
from kgys.alerts.raising import Alarm, Position
from kgys.alerts.states import Priority, Source, State
from kgys.db import utcnow
from kgys.events import bus
from kgys.events.models import Event
from kgys.recording import alerts as recording_alerts
from tests import factories


def _panic(site_id: int, **kw: object) -> Alarm:
    base: dict[str, object] = {"source": Source.PANIC, "kind": "panic_press", "priority": Priority.P1,
                               "details": "Oda 12", "site_id": site_id, "device": "PB-0001",
                               "dedup_key": "panic:PB-0001", "window": timedelta(minutes=5)}
    base.update(kw)
    return Alarm(**base)  # type: ignore[arg-type]


def test_a_raised_alert_is_stored_with_its_first_step_and_an_event(session: Session) -> None:
    factories.tree(session)
    site = factories.site(session)
    before = bus.last_seq(session)
    alert = raising.raise_alert(session, _panic(site.id, position=Position(39.91, 32.85, 25.0)))
    assert (alert.state, alert.priority, alert.repeats, alert.site_id) == ("new", 1, 1, site.id)
    assert (alert.latitude, alert.longitude, alert.accuracy_m) == (39.91, 32.85, 25.0)
    [step] = session.scalars(select(AlertChange).where(AlertChange.alert_id == alert.id)).all()
    assert (step.move, step.to_state, step.by) == ("raise", "new", "panic:PB-0001")
    [event] = bus.read_after(session, before)
    assert event.topic == "alert" and event.site_id == site.id
    assert event.scope_path == site.jurisdiction_path
    assert event.payload["move"] == "raise"
    assert event.payload["alert"]["id"] == alert.id and event.payload["alert"]["site"] == site.code


def test_repeats_within_the_window_merge_into_the_open_alert(session: Session) -> None:
    factories.tree(session)
    site = factories.site(session)
    t0 = utcnow()
    first = raising.raise_alert(session, _panic(site.id), now=t0)
    again = raising.raise_alert(session, _panic(site.id, details="Oda 14", priority=Priority.P2),
                                now=t0 + timedelta(minutes=2))
    assert again.id == first.id
    assert (again.repeats, again.details, again.priority) == (2, "Oda 14", 1)  # never lowered by a repeat
    assert session.scalar(select(func.count()).select_from(Alert).where(Alert.dedup_key == "panic:PB-0001")) == 1
    moves = session.scalars(select(AlertChange.move).where(AlertChange.alert_id == first.id)
                            .order_by(AlertChange.id)).all()
    assert moves == ["raise", "repeat"]


def test_a_repeat_after_the_window_opens_a_new_alert_and_the_old_one_stays(session: Session) -> None:
    factories.tree(session)
    site = factories.site(session)
    t0 = utcnow()
    first = raising.raise_alert(session, _panic(site.id), now=t0)
    later = raising.raise_alert(session, _panic(site.id), now=t0 + timedelta(minutes=6))
    assert later.id != first.id
    session.refresh(first)
    assert first.state == "new" and first.open_key is None and later.open_key == "panic:PB-0001"
    third = raising.raise_alert(session, _panic(site.id), now=t0 + timedelta(minutes=7))
    assert third.id == later.id and third.repeats == 2


def test_a_closed_alert_takes_no_repeat(session: Session) -> None:
    factories.tree(session)
    site = factories.site(session)
    first = raising.raise_alert(session, _panic(site.id))
    assert raising.clear(session, kinds=["panic_press"], site_id=site.id) == 1
    session.refresh(first)
    assert first.state == State.RESOLVED and first.closed_at is not None and first.open_key is None
    second = raising.raise_alert(session, _panic(site.id))
    assert second.id != first.id


def test_recording_alarms_go_into_the_queue_as_technical_alerts(session: Session) -> None:
    factories.tree(session)
    site = factories.site(session)
    subject = recording_alerts.Subject(site_id=site.id)
    a = recording_alerts.raise_alert(session, kind=recording_alerts.AlertKind.STORAGE_ERROR,
                                     severity=recording_alerts.Severity.CRITICAL, subject=subject, details="disk",
                                     dedup=True)
    b = recording_alerts.raise_alert(session, kind=recording_alerts.AlertKind.STORAGE_ERROR,
                                     severity=recording_alerts.Severity.CRITICAL, subject=subject, details="disk 2",
                                     dedup=True)
    assert a.id == b.id and b.repeats == 2 and (a.source, a.priority) == ("recorder", 3)
    w = recording_alerts.raise_alert(session, kind=recording_alerts.AlertKind.STORAGE_FORECAST,
                                     severity=recording_alerts.Severity.WARNING,
                                     subject=recording_alerts.INSTALLATION, details="soon")
    assert w.priority == 4 and w.site_id is None
    assert recording_alerts.resolve_alerts(session, kinds=[recording_alerts.AlertKind.STORAGE_ERROR],
                                           subject=recording_alerts.Subject(site_id=site.id)) == 1
    assert recording_alerts.resolve_alerts(session, kinds=[], subject=subject) == 0


def test_a_repeated_recording_alarm_keeps_its_latest_sentence(session: Session) -> None:
    """The details are stored in English and as a code with values; a repeat refreshes both."""
    factories.tree(session)
    site = factories.site(session)
    said = recording_alerts.IN_SPOOL

    def spool(message: str) -> Alert:
        return recording_alerts.raise_alert(session, kind=recording_alerts.AlertKind.STORAGE_ERROR,
                                            severity=recording_alerts.Severity.CRITICAL,
                                            subject=recording_alerts.Subject(site_id=site.id), said=said,
                                            params={"message": message}, dedup=True)

    first = spool("disk full")
    assert first.details == "segments stay in the spool: disk full"
    assert first.data == {"said": {"code": said.msgid, "params": {"message": "disk full"}}}
    again = spool("read-only file system")
    assert again.id == first.id and again.repeats == 2
    assert again.details == "segments stay in the spool: read-only file system"
    assert again.data["said"]["params"] == {"message": "read-only file system"}


def test_events_are_seen_only_within_scope(session: Session) -> None:
    tree = factories.tree(session)
    a = factories.site(session, district="TR-99-A")
    before = bus.last_seq(session)
    raising.raise_alert(session, _panic(a.id))
    raising.raise_alert(session, Alarm(source=Source.RECORDER, kind="recorder_down", priority=Priority.P3))
    site_event, installation_event = bus.read_after(session, before)
    district_a = Scope(paths=(tree["TR-99-A"].path,))
    district_b = Scope(paths=(tree["TR-99-B"].path,))
    assert site_event.visible_to(district_a) and not site_event.visible_to(district_b)
    assert site_event.visible_to(Scope(site_ids=frozenset({a.id})))
    assert not installation_event.visible_to(district_a)
    assert installation_event.visible_to(Scope(is_global=True))


def test_old_events_are_purged(session: Session) -> None:
    factories.tree(session)
    site = factories.site(session)
    raising.raise_alert(session, _panic(site.id))
    newest = bus.last_seq(session)
    assert bus.purge(session, keep=timedelta(days=1), now=utcnow() + timedelta(days=2)) >= 1
    assert bus.read_after(session, 0) == []
    raising.raise_alert(session, _panic(site.id, dedup_key="panic:other"))
    assert bus.last_seq(session) > newest  # numbers are never given twice


def test_events_follow_their_transaction_and_savepoints(session: Session) -> None:
    factories.tree(session)
    site = factories.site(session)
    before = bus.last_seq(session)
    kept = raising.raise_alert(session, _panic(site.id))
    try:
        with session.begin_nested():
            raising.raise_alert(session, _panic(site.id, device="PB-0002", dedup_key="panic:PB-0002"))
            raise RuntimeError("the savepoint rolls back")
    except RuntimeError:
        pass
    with session.begin_nested():
        also = raising.raise_alert(session, _panic(site.id, device="PB-0003", dedup_key="panic:PB-0003"))
    events = bus.read_after(session, before)
    assert [e.payload["alert"]["id"] for e in events] == [kept.id, also.id]  # in order, the rolled back one gone
    assert [e.seq for e in events] == sorted(e.seq for e in events)


def test_events_are_written_at_commit_and_dropped_with_a_rollback(engine: Engine) -> None:
    factory = sessionmaker(bind=engine)
    with factory() as s:
        before = bus.last_seq(s)
        site_id = s.scalar(select(func.min(Alert.site_id)))
    with factory() as s:
        bus.publish(s, "test", {"n": 1}, site_id=site_id)
        s.rollback()
        bus.publish(s, "test", {"n": 2}, site_id=site_id)
        s.commit()
        bus.publish(s, "test", {"n": 3}, site_id=site_id)
    with factory() as s:  # closed without a commit: nothing published
        bus.publish(s, "test", {"n": 4}, site_id=site_id)
    with factory() as s:
        try:
            assert [e.payload for e in bus.read_after(s, before) if e.topic == "test"] == [{"n": 2}]
        finally:
            s.execute(delete(Event).where(Event.topic == "test"))
            s.commit()
