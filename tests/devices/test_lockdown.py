"""Lockdown orders, on both engines: an operator's order goes into the outbox with what decided it (the alert's history,
the audit log) or not at all; a site out of scope is answered as one that does not exist; a bad action or reason is
refused naming the field; the outbox publisher sends orders in the order they were written, each once, marking each
sent only when the broker acknowledged it, and keeps them while the broker is away."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.models import User
from kgys.alerts import raising
from kgys.alerts.cap import CapKind
from kgys.alerts.models import AlertChange
from kgys.alerts.raising import Alarm
from kgys.alerts.states import Priority, Source
from kgys.audit.mechanism import acting_as
from kgys.audit.models import AuditEntry
from kgys.devices import lockdown, outbox
from kgys.devices.flows import lockdown as flow
from kgys.devices.link import FakeLink, Sent
from kgys.devices.models import Downlink
from kgys.runtime import Runtime
from tests import factories
from tests.web.conftest import browser_login, client, token_for  # noqa: F401  (the web fixtures)

API = "/api/v1/sites/{}/lockdown"


@pytest.mark.parametrize(("failures", "seconds"), [(0, 0.0), (1, 0.2), (2, 0.4), (3, 0.8), (5, 3.2), (6, 5.0),
                                                   (100, 5.0)])
def test_the_pause_before_trying_again_doubles_up_to_a_bound(failures: int, seconds: float) -> None:
    assert lockdown.retry_after(failures) == pytest.approx(seconds)


def test_the_message_carries_an_id_the_time_the_action_and_the_reason() -> None:
    at = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
    topic, body = lockdown.message(site_code="S1", action="all_clear", reason="x" * 300, at=at, msg_id="m1")
    assert topic == "kgys/v1/sites/S1/lockdown"
    assert json.loads(body) == {"msg_id": "m1", "at": "2026-12-06T10:00:00+00:00", "action": "all_clear",
                                "reason": "x" * 200}


@pytest.fixture
def world(session: Session, token_for: Callable[[User], dict[str, str]]) -> dict[str, object]:  # noqa: F811
    factories.tree(session)
    site = factories.site(session)
    other = factories.site(session, district="TR-98-C")
    alert = raising.raise_alert(session, Alarm(source=Source.CAP, kind=CapKind.ALERT, priority=Priority.P1,
                                               site_id=site.id, details="silah sesi"))
    operator = factories.user(session, "operator", scope=["TR-99-A"])
    reader = factories.user(session, "school_admin", scope=["TR-99-A"])  # sees alerts, handles none
    session.commit()
    return {"site": site, "other": other, "alert": alert, "h": token_for(operator),
            "reader": token_for(reader), "operator": operator}


def _downlinks(session: Session) -> list[Downlink]:
    session.expire_all()
    return list(session.scalars(select(Downlink).order_by(Downlink.id)).all())


def test_an_operator_orders_a_lockdown_about_an_alert(client: TestClient, session: Session,  # noqa: F811
                                                       world: dict[str, object]) -> None:
    site, alert, h = world["site"], world["alert"], world["h"]
    code = site.code  # type: ignore[attr-defined]
    body = {"action": "lockdown", "reason": "Bahçede silahlı kişi", "alert_id": alert.id}  # type: ignore[attr-defined]
    r = client.post(API.format(code), json=body, headers=h)  # type: ignore[arg-type]
    assert r.status_code == 202, r.text
    out = r.json()
    assert (out["site"], out["action"], out["reason"], out["sent_at"]) == (code, "lockdown", "Bahçede silahlı kişi",
                                                                           None)
    [row] = _downlinks(session)
    assert row.topic == f"kgys/v1/sites/{code}/lockdown" and row.alert_id == alert.id  # type: ignore[attr-defined]
    sent = json.loads(row.body)
    assert sent["action"] == "lockdown" and sent["reason"] == "Bahçede silahlı kişi"
    assert len(sent["msg_id"]) == 32 and sent["at"].startswith(row.created_at.isoformat()[:16])
    notes = session.scalars(select(AlertChange.note).where(AlertChange.alert_id == alert.id,  # type: ignore[attr-defined]
                                                           AlertChange.move == "note")).all()
    assert notes == [f"Lockdown ordered ({code}): Bahçede silahlı kişi"]
    [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "site.lockdown")).all()
    assert (entry.object_id, entry.site_id, entry.reason) == (code, site.id, "Bahçede silahlı kişi")  # type: ignore[attr-defined]
    details = json.loads(entry.details)
    assert details["action"] == "lockdown" and details["alert_id"] == alert.id  # type: ignore[attr-defined]
    state = client.get(API.format(code), headers=world["reader"]).json()  # type: ignore[arg-type]
    assert state["locked"] is True and state["current"]["reason"] == "Bahçede silahlı kişi"
    r = client.post(API.format(code), json={"action": "all_clear", "reason": "Tehlike geçti"}, headers=h)  # type: ignore[arg-type]
    assert r.status_code == 202, r.text
    state = client.get(API.format(code), headers=h).json()  # type: ignore[arg-type]
    assert state["locked"] is False and [o["action"] for o in state["orders"]] == ["all_clear", "lockdown"]


def test_out_of_scope_is_not_found_and_nothing_is_written(client: TestClient, session: Session,  # noqa: F811
                                                          world: dict[str, object]) -> None:
    other, h = world["other"], world["h"]
    body = {"action": "lockdown", "reason": "deneme"}
    for code in (other.code, "NO-SUCH-SITE"):  # type: ignore[attr-defined]
        r = client.post(API.format(code), json=body, headers=h)  # type: ignore[arg-type]
        assert r.status_code == 404, r.text
        assert client.get(API.format(code), headers=h).status_code == 404  # type: ignore[arg-type]
    # a reader of the queue may see the state but not order
    r = client.post(API.format(world["site"].code), json=body, headers=world["reader"])  # type: ignore[attr-defined,arg-type]
    assert r.status_code == 403, r.text
    assert _downlinks(session) == []


@pytest.mark.parametrize(("body", "field"), [
    ({"action": "evacuate", "reason": "x"}, "action"),
    ({"reason": "x"}, "action"),
    ({"action": "lockdown", "reason": "   "}, "reason"),
    ({"action": "lockdown", "reason": "x" * 201}, "reason"),
    ({"action": "lockdown", "reason": "x", "alert_id": 0}, "alert_id"),
])
def test_bad_orders_are_refused_naming_the_field(client: TestClient, session: Session,  # noqa: F811
                                                 world: dict[str, object], body: dict[str, object],
                                                 field: str) -> None:
    r = client.post(API.format(world["site"].code), json=body, headers=world["h"])  # type: ignore[attr-defined,arg-type]
    assert r.status_code == 422, r.text
    assert field in r.text
    assert _downlinks(session) == []


def test_an_alert_of_another_site_is_refused(client: TestClient, session: Session,  # noqa: F811
                                             world: dict[str, object]) -> None:
    site = factories.site(session)
    session.commit()
    body = {"action": "lockdown", "reason": "x", "alert_id": world["alert"].id}  # type: ignore[attr-defined]
    r = client.post(API.format(site.code), json=body, headers=world["h"])  # type: ignore[arg-type]
    assert r.status_code == 422 and "alert_id" in r.text, r.text
    assert _downlinks(session) == []


class Holding(FakeLink):
    """A fake link whose broker acknowledges only what the test lets through."""

    def __init__(self) -> None:
        super().__init__()
        self.let_through = 0

    def publish(self, topic: str, payload: bytes) -> Sent:
        super().publish(topic, payload)
        number = len(self.published)
        return Sent(lambda: number <= self.let_through)


def _order(rt: Runtime, site_code: str, action: lockdown.Action, reason: str) -> None:
    actor = factories.admin()
    with rt.sessions.begin() as s, acting_as(s, actor):
        flow.order(session=s, actor=actor, site_code=site_code, action=action, reason=reason)


def test_the_outbox_sends_in_order_once_and_keeps_what_the_broker_did_not_take(rt: Runtime, session: Session) -> None:
    factories.tree(session)
    site = factories.site(session)
    session.commit()
    link = Holding()
    box = outbox.Outbox(rt, link, threading.Event(), ack_wait=0.05)
    link.up = False
    _order(rt, site.code, "lockdown", "bir")
    _order(rt, site.code, "all_clear", "iki")
    assert box.drain() is False and link.published == []  # the broker is away: nothing handed over
    [first, second] = _downlinks(session)
    assert (first.attempts, first.sent_at, first.last_error) == (1, None, "broker not connected")
    link.up = True
    assert box.drain() is False  # handed over, not acknowledged
    assert len(link.published) == 1 and _downlinks(session)[0].sent_at is None
    assert box.drain() is False and len(link.published) == 1  # waiting for it, not sending it again
    link.let_through = 2
    assert box.drain() is True
    assert [json.loads(body)["reason"] for _topic, body in link.published] == ["bir", "iki"]
    assert all(row.sent_at is not None for row in _downlinks(session))
    assert box.drain() is True and len(link.published) == 2  # nothing sent twice
    assert box.counts["sent"] == 2


def test_the_alert_page_orders_a_lockdown_of_its_site(client: TestClient, session: Session,  # noqa: F811
                                                      world: dict[str, object]) -> None:
    alert = world["alert"]
    browser_login(client, world["operator"])  # type: ignore[arg-type]
    page = client.get(f"/alerts/{alert.id}")  # type: ignore[attr-defined]
    assert 'id="alert-lockdown"' in page.text and 'data-locked="false"' in page.text
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post(f"/alerts/{alert.id}/lockdown", data={"action": "lockdown", "reason": "Silah sesi",  # type: ignore[attr-defined]
                                                          "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get(f"/alerts/{alert.id}")  # type: ignore[attr-defined]
    assert 'data-locked="true"' in page.text and "Silah sesi" in page.text
    bad = client.post(f"/alerts/{alert.id}/lockdown", data={"action": "open_doors", "reason": "x",  # type: ignore[attr-defined]
                                                            "csrf_token": csrf}, follow_redirects=False)
    assert bad.status_code == 422 and "lockdown, all_clear" in bad.text
    empty = client.post(f"/alerts/{alert.id}/lockdown", data={"action": "all_clear", "reason": " ",  # type: ignore[attr-defined]
                                                              "csrf_token": csrf}, follow_redirects=False)
    assert empty.status_code == 422
    assert [d.action for d in _downlinks(session)] == ["lockdown"]
    console = client.get("/console")
    assert '"lockdown":' in console.text and '"floor_plans":' in console.text
