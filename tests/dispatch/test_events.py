"""Every change of a unit, an incident and an assignment is published once, in the API shape, in the transaction
of the change: registering, changing, status, position; opening, assigning and each step, escalation, closing. A
change refused or rolled back publishes nothing. A user of another district does not see them; a field login
sees only its own unit's unit and assignment events. On both engines."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from kgys.accounts.actor import Actor
from kgys.accounts.models import User
from kgys.accounts.permissions import Perm
from kgys.accounts.service import actor_for
from kgys.alerts.stream import Reader
from kgys.db import utcnow
from kgys.dispatch import service
from kgys.dispatch.flows import escalation
from kgys.dispatch.models import Unit
from kgys.dispatch.states import UnitStatus
from kgys.errors import Conflict
from kgys.events import bus
from kgys.events.bus import Published
from tests.dispatch.conftest import API, World

DISPATCH = ("unit", "incident", "assignment")


def _since(world: World, after: int) -> list[Published]:
    """The dispatch events published after ``after``."""
    world.session.commit()  # end the test session's read (the requests' transactions nest in it)
    return [e for e in bus.read_after(world.session, after, limit=10_000) if e.topic in DISPATCH]


def _moves(events: list[Published]) -> list[tuple[str, str]]:
    return [(e.topic, e.payload["move"]) for e in events]


def _people(world: World) -> dict[str, User]:
    """The world's users by the name the fixture gives them (op_a, op_b, field, other_field, …)."""
    users = list(world.session.scalars(select(User).order_by(User.id)).all())
    a, b = world.nodes["TR-99-A"].path, world.nodes["TR-99-B"].path

    def first(role: str, covers: str, not_covers: str | None = None) -> User:
        return next(u for u in users if u.role == role and actor_for(u).scope.covers_path(covers)
                    and (not_covers is None or not actor_for(u).scope.covers_path(not_covers)))

    field = world.field_user
    return {"op_a": first("operator", a, b), "op_b": first("operator", b, a), "field": field,
            "other_field": next(u for u in users if u.role == "field_unit" and u.id != field.id)}


def _last(world: World) -> int:
    world.session.commit()
    return bus.last_seq(world.session)


def _sent(world: World, number: str, unit: str = "NEAR") -> dict[str, Any]:
    r = world.client.post(f"{API}/incidents/{number}/assignments", headers=world.h["op_a"], json={"unit": unit})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _step(world: World, number: str, a: dict[str, Any], move: str, who: str = "field") -> dict[str, Any]:
    r = world.client.post(f"{API}/incidents/{number}/assignments/{a['id']}/{move}", headers=world.h[who], json={})
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_unit_registered_changed_and_set_busy_is_published_once_each(world: World) -> None:
    seq = _last(world)
    created = world.unit("NEAR", station="Merkez")
    [ev] = _since(world, seq)
    assert (ev.topic, ev.payload["move"]) == ("unit", "created")
    assert ev.payload["unit"] == created  # the API shape
    assert ev.scope_path == world.nodes["TR-99-A"].path and ev.site_id is None

    seq = _last(world)
    r = world.client.patch(f"{API}/units/NEAR", headers=world.h["sup"], json={"version": created["version"],
                                                                             "station": "Kuzey"})
    assert r.status_code == 200, r.text
    [ev] = _since(world, seq)
    assert ev.payload["move"] == "updated" and ev.payload["unit"]["station"] == "Kuzey"
    assert ev.payload["unit"]["version"] == r.json()["version"]

    seq = _last(world)
    r = world.client.post(f"{API}/units/NEAR/status", headers=world.h["op_a"], json={"status": "busy"})
    assert r.status_code == 200, r.text
    [ev] = _since(world, seq)
    assert ev.payload["move"] == "status" and ev.payload["unit"]["status"] == "busy"


def test_a_position_is_published_and_an_older_report_is_not(world: World) -> None:
    world.unit("NEAR")
    seq = _last(world)
    assert world.position("NEAR", 39.925, age_s=5).status_code == 200
    [ev] = _since(world, seq)
    assert ev.payload["move"] == "position"
    pos = ev.payload["unit"]["position"]
    assert (pos["latitude"], pos["stale"]) == (39.925, False)
    seq = _last(world)
    assert world.position("NEAR", 39.93, age_s=60).status_code == 200  # older than the one kept
    assert _since(world, seq) == []


def test_an_incident_and_its_assignment_publish_each_move_once(world: World) -> None:
    world.unit("NEAR", field_user=world.field_user.username)
    assert world.position("NEAR", 39.925).status_code == 200
    seq = _last(world)
    inc = world.incident(world.kades_alert())
    number = inc["number"]
    opened = [e for e in _since(world, seq) if e.topic == "incident"]
    assert [e.payload["move"] for e in opened] == ["opened"]
    assert opened[0].payload["incident"]["number"] == number
    assert opened[0].payload["incident"]["alerts"] == inc["alerts"]
    assert opened[0].scope_path == world.nodes["TR-99-A"].path

    seq = _last(world)
    a = _sent(world, number)
    events = _since(world, seq)
    assert sorted(_moves(events)) == [("assignment", "assigned"), ("incident", "updated"), ("unit", "status")]
    by_topic = {e.topic: e.payload for e in events}
    assert by_topic["assignment"]["assignment"] == a
    assert by_topic["unit"]["unit"]["status"] == "busy"
    assert by_topic["incident"]["incident"]["state"] == "dispatched"

    for move, state, unit_status in (("acknowledge", "acknowledged", None), ("en_route", "en_route", "en_route"),
                                     ("on_scene", "on_scene", "on_scene"), ("clear", "cleared", "available")):
        seq = _last(world)
        out = _step(world, number, a, move)
        events = _since(world, seq)
        assignment_events = [e for e in events if e.topic == "assignment"]
        assert [e.payload["move"] for e in assignment_events] == [state]
        assert assignment_events[0].payload["assignment"] == out
        units = [e.payload["unit"]["status"] for e in events if e.topic == "unit"]
        assert units == ([unit_status] if unit_status else []), move
        assert len([e for e in events if e.topic == "incident"]) <= 1

    seq = _last(world)
    r = world.client.post(f"{API}/incidents/{number}/close", headers=world.h["op_a"], json={"outcome": "resolved"})
    assert r.status_code == 200, r.text
    events = _since(world, seq)
    assert _moves(events) == [("incident", "closed")]
    assert events[0].payload["incident"]["state"] == "closed"


@pytest.mark.parametrize(("move", "who"), [("decline", "field"), ("cancel", "op_a")])
def test_a_declined_or_cancelled_assignment_is_published(world: World, move: str, who: str) -> None:
    world.unit("NEAR", field_user=world.field_user.username)
    number = world.incident(world.kades_alert())["number"]
    a = _sent(world, number)
    seq = _last(world)
    _step(world, number, a, move, who)
    events = _since(world, seq)
    state = {"decline": "declined", "cancel": "cancelled"}[move]
    assert [e.payload["assignment"]["state"] for e in events if e.topic == "assignment"] == [state]
    assert [e.payload["unit"]["status"] for e in events if e.topic == "unit"] == ["available"]
    assert [e.payload["incident"]["state"] for e in events if e.topic == "incident"] == ["open"]


def test_an_escalation_is_published_once(world: World) -> None:
    world.unit("NEAR")
    number = world.incident(world.kades_alert())["number"]
    a = _sent(world, number)
    seq = _last(world)
    now = utcnow()
    within = timedelta(seconds=60)
    escalation.escalate_unacknowledged(world.session, now=now + timedelta(seconds=61), ack_within=within)
    escalation.escalate_unacknowledged(world.session, now=now + timedelta(seconds=120), ack_within=within)
    world.session.commit()
    events = [e for e in _since(world, seq) if e.topic == "assignment"]
    assert _moves(events) == [("assignment", "escalated")]
    assert events[0].payload["assignment"]["id"] == a["id"] and events[0].payload["assignment"]["escalated_at"]


def test_a_refused_or_rolled_back_change_publishes_nothing(world: World) -> None:
    world.unit("NEAR")
    world.unit("FAR")
    number = world.incident(world.kades_alert())["number"]
    _sent(world, number)
    seq = _last(world)
    r = world.client.post(f"{API}/incidents/{number}/assignments", headers=world.h["op_a2"], json={"unit": "NEAR"})
    assert r.status_code == 409  # busy already
    r = world.client.post(f"{API}/units/NEAR/status", headers=world.h["op_a"], json={"status": "available"})
    assert r.status_code == 409  # on an assignment
    r = world.client.post(f"{API}/units/FAR/position", headers=world.h["op_a"], json={
        "latitude": 51.5, "longitude": -0.1, "reported_at": utcnow().isoformat()})
    assert r.status_code == 422  # outside Türkiye
    assert _since(world, seq) == []

    op: Actor = actor_for(_people(world)["op_a"])
    service.set_status(session=world.session, actor=op, call_sign="FAR", status=UnitStatus.OFF_DUTY)
    world.session.rollback()
    assert _since(world, seq) == []
    with pytest.raises(Conflict):
        service.set_status(session=world.session, actor=op, call_sign="NEAR", status=UnitStatus.AVAILABLE)
    world.session.rollback()
    assert _since(world, seq) == []


def _reader(world: World, who: User) -> Reader:
    """What the events stream decides for ``who`` (a field login: its own unit, looked up as the stream does)."""
    actor = actor_for(who)
    own = None if actor.can(Perm.DISPATCH_READ) else world.session.scalar(
        select(Unit.call_sign).where(Unit.field_user_id == who.id))
    return Reader(actor, frozenset(DISPATCH), own)


def test_another_district_does_not_see_them_and_a_field_login_sees_its_own_unit_only(world: World) -> None:
    world.unit("NEAR", field_user=world.field_user.username)
    world.unit("FAR")
    seq = _last(world)
    number = world.incident(world.kades_alert())["number"]
    a = _sent(world, number)
    _sent(world, number, "FAR")
    _step(world, number, a, "acknowledge")
    assert world.position("NEAR", 39.925).status_code == 200
    assert world.position("FAR", 39.99).status_code == 200
    events = _since(world, seq)
    people = _people(world)

    def seen(who: str) -> set[tuple[str, str, str]]:
        reader = _reader(world, people[who])
        out = set()
        for e in (e for e in events if reader.sees(e)):
            unit = e.payload["assignment"]["unit"] if e.topic == "assignment" else e.payload.get("unit", {}).get(
                "call_sign", "")
            out.add((e.topic, e.payload["move"], unit))
        return out

    everything = seen("op_a")
    assert ("incident", "opened", "") in everything and ("assignment", "assigned", "FAR") in everything
    assert ("unit", "position", "FAR") in everything
    assert seen("op_b") == set()
    assert seen("field") == {("assignment", "assigned", "NEAR"), ("unit", "status", "NEAR"),
                             ("assignment", "acknowledged", "NEAR"), ("unit", "position", "NEAR")}
    assert seen("other_field") == set()  # no unit of its own
