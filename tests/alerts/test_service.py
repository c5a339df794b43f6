"""An operator's moves on alerts: one claim wins, the holder works it, a supervisor may take over, every move
in the history and the audit log; scope applies. On both engines."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.service import actor_for
from kgys.alerts import raising, service
from kgys.alerts.models import Alert, AlertChange
from kgys.alerts.raising import Alarm
from kgys.alerts.states import Move, Priority, Source, State
from kgys.audit.models import AuditEntry
from kgys.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests import factories


@dataclass
class World:
    alert: Alert
    op1: Actor
    op2: Actor
    sup: Actor
    other_district: Actor


@pytest.fixture
def world(session: Session) -> World:
    factories.tree(session)
    site = factories.site(session)
    alert = raising.raise_alert(session, Alarm(source=Source.PANIC, kind="panic_press", priority=Priority.P1,
                                               site_id=site.id, device="PB-1", dedup_key="panic:PB-1"))
    return World(alert=alert,
                 op1=actor_for(factories.user(session, "operator")),
                 op2=actor_for(factories.user(session, "operator")),
                 sup=actor_for(factories.user(session, "supervisor")),
                 other_district=actor_for(factories.user(session, "operator", scope=["TR-99-B"])))


def test_one_claim_wins_and_the_other_is_told_who_has_it(session: Session, world: World) -> None:
    row = service.act(session=session, actor=world.op1, alert_id=world.alert.id, move=Move.CLAIM)
    assert (row.alert.state, row.alert.claimed_by_name) == ("claimed", world.op1.username)
    with pytest.raises(Conflict) as err:
        service.act(session=session, actor=world.op2, alert_id=world.alert.id, move=Move.CLAIM)
    assert world.op1.username in err.value.message
    with pytest.raises(Conflict):
        service.act(session=session, actor=world.op2, alert_id=world.alert.id, move=Move.ACKNOWLEDGE)


def test_a_move_on_what_the_operator_no_longer_sees_is_refused(session: Session, world: World) -> None:
    seen = world.alert.version
    service.act(session=session, actor=world.op1, alert_id=world.alert.id, move=Move.NOTE, note="arandı")
    with pytest.raises(Conflict):
        service.act(session=session, actor=world.op2, alert_id=world.alert.id, move=Move.CLAIM, version=seen)


def test_the_whole_handling_is_in_the_history_and_the_audit_log(session: Session, world: World) -> None:
    a = world.alert.id
    service.act(session=session, actor=world.op1, alert_id=a, move=Move.CLAIM)
    service.act(session=session, actor=world.op1, alert_id=a, move=Move.ACKNOWLEDGE, note="okul arandı")
    service.act(session=session, actor=world.op2, alert_id=a, move=Move.NOTE, note="ekip yolda")
    row = service.act(session=session, actor=world.op1, alert_id=a, move=Move.RESOLVE, outcome=State.FALSE_ALARM,
                      note="yanlışlıkla basıldı")
    assert row.alert.state == "false_alarm" and row.alert.closed_at is not None and row.alert.open_key is None
    steps = [(c.move, c.to_state, c.by) for c in service.history(session=session, actor=world.op1, alert_id=a)]
    assert steps == [("raise", "new", "panic:PB-1"), ("claim", "claimed", world.op1.username),
                     ("acknowledge", "acknowledged", world.op1.username),
                     ("note", "acknowledged", world.op2.username),
                     ("resolve", "false_alarm", world.op1.username)]
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "alert",
                                                              AuditEntry.object_id == str(a))
                              .order_by(AuditEntry.seq)).all()
    assert actions == ["alert.claim", "alert.acknowledge", "alert.note", "alert.resolve"]
    with pytest.raises(Conflict):
        service.act(session=session, actor=world.op1, alert_id=a, move=Move.CLAIM)


def test_a_supervisor_takes_over_a_claimed_alert(session: Session, world: World) -> None:
    service.act(session=session, actor=world.op1, alert_id=world.alert.id, move=Move.CLAIM)
    row = service.act(session=session, actor=world.sup, alert_id=world.alert.id, move=Move.ACKNOWLEDGE)
    assert (row.alert.state, row.alert.claimed_by_name) == ("acknowledged", world.sup.username)


def test_scope_applies(session: Session, world: World) -> None:
    with pytest.raises(NotFound):
        service.act(session=session, actor=world.other_district, alert_id=world.alert.id, move=Move.CLAIM)
    rows, total = service.list_alerts(session=session, actor=world.other_district)
    assert (rows, total) == ([], 0)
    seq, queue = service.queue(session=session, actor=world.op1)
    assert [r.alert.id for r in queue] == [world.alert.id] and seq >= 1


def test_roles_without_the_right_cannot_act(session: Session, world: World) -> None:
    auditor = actor_for(factories.user(session, "auditor"))
    with pytest.raises(PermissionDenied):
        service.list_alerts(session=session, actor=auditor)
    school = actor_for(factories.user(session, "school_admin"))
    assert service.get_alert(session=session, actor=school, alert_id=world.alert.id).alert.id == world.alert.id
    with pytest.raises(PermissionDenied):
        service.act(session=session, actor=school, alert_id=world.alert.id, move=Move.CLAIM)


@pytest.mark.parametrize(("move", "note", "outcome", "field"), [
    (Move.NOTE, "   ", None, "note"),
    (Move.RESOLVE, "", None, "outcome"),
    (Move.RESOLVE, "", State.CLAIMED, "outcome"),
    (Move.NOTE, "x" * 2001, None, "note"),
    (Move.RAISE, "", None, "move"),
])
def test_bad_moves_name_the_field(session: Session, world: World, move: Move, note: str, outcome: State | None,
                                  field: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        service.act(session=session, actor=world.op1, alert_id=world.alert.id, move=move, note=note, outcome=outcome)
    assert [e.field for e in err.value.errors] == [field]
    assert session.scalar(select(AlertChange.move).where(AlertChange.alert_id == world.alert.id)
                          .order_by(AlertChange.id.desc()).limit(1)) == "raise"
