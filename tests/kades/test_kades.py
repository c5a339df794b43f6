"""Protected persons' panic alerts over the API, on both engines: a press with its position becomes a P1 alert of
the order's district (stored before the answer, which says nothing more than "received"); repeats merge; a message
sent again is taken once; positions follow; an order out of force still alerts, flagged; a position outside Türkiye
or a clock far off is flagged, never a reason to drop the press; the sensitive part of an order is read only with a
reason, audited; scope applies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.models import User
from kgys.alerts.models import Alert, AlertChange
from kgys.audit.mechanism import acting_as
from kgys.audit.models import AuditEntry
from kgys.kades.models import ProtectionOrder
from tests import factories

API = "/api/v1"
Auth = Callable[[User], dict[str, str]]


@pytest.fixture
def world(session: Session, client: TestClient, token_for: Auth) -> dict[str, Any]:
    factories.tree(session)
    sup = factories.user(session, "supervisor", scope=["TR-99"])
    op_a = factories.user(session, "operator", scope=["TR-99-A"])
    op_b = factories.user(session, "operator", scope=["TR-99-B"])
    session.commit()
    h = {"sup": token_for(sup), "op_a": token_for(op_a), "op_b": token_for(op_b)}
    today = datetime.now(UTC).date()
    r = client.post(f"{API}/kades/orders", headers=h["sup"], json={
        "number": "2026/4411", "court": "Merkez 1. Aile Mahkemesi", "valid_from": str(today - timedelta(days=10)),
        "valid_until": str(today + timedelta(days=80)), "person_name": "Ayşe Yılmaz",
        "person_phone": "+90 555 111 22 33", "aggressor": "Eski eş; gri Doblo 06 ABC 123", "district": "TR-99-A"})
    assert r.status_code == 201, r.text
    order = r.json()
    r = client.post(f"{API}/kades/orders/{order['id']}/phones", headers=h["sup"], json={"label": "Ayşe'nin telefonu"})
    assert r.status_code == 201, r.text
    return {"h": h, "order": order, "device": {"Authorization": f"Device {r.json()['token']}"}, "phone": r.json()}


def _press(msg: str, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"msg_id": msg, "at": datetime.now(UTC).isoformat(), "latitude": 39.92,
                            "longitude": 32.85, "accuracy_m": 35, "battery": 64}
    body.update(kw)
    return body


def test_a_press_becomes_a_p1_alert_of_the_district_and_the_app_learns_nothing(
        client: TestClient, session: Session, world: dict[str, Any]) -> None:
    r = client.post(f"{API}/kades/app/press", headers=world["device"], json=_press("m1"))
    assert (r.status_code, r.json()) == (202, {"received": True})
    alert = session.scalars(select(Alert).where(Alert.source == "kades")).one()
    assert (alert.priority, alert.kind, alert.state) == (1, "kades_press", "new")
    assert (alert.latitude, alert.longitude, alert.accuracy_m) == (39.92, 32.85, 35)
    assert alert.data["call_back"] == "+90 555 111 22 33" and alert.data["order_in_force"] is True
    assert alert.scope_path.endswith("/TR-99-A/") and alert.site_id is None  # type: ignore[union-attr]
    queue_a = client.get(f"{API}/alerts/queue", headers=world["h"]["op_a"]).json()
    assert [a["id"] for a in queue_a["items"]] == [alert.id]
    assert client.get(f"{API}/alerts/queue", headers=world["h"]["op_b"]).json()["items"] == []  # another district
    assert "Doblo" not in str(alert.data) and "Doblo" not in alert.details  # the aggressor stays in the order


def test_repeats_merge_and_a_message_sent_again_is_taken_once(client: TestClient, session: Session,
                                                              world: dict[str, Any]) -> None:
    for msg in ("m1", "m1", "m2"):
        assert client.post(f"{API}/kades/app/press", headers=world["device"], json=_press(msg)).status_code == 202
    alert = session.scalars(select(Alert).where(Alert.source == "kades")).one()
    assert alert.repeats == 2


def test_positions_follow_while_the_alert_is_open(client: TestClient, session: Session,
                                                  world: dict[str, Any]) -> None:
    client.post(f"{API}/kades/app/press", headers=world["device"], json=_press("m1"))
    r = client.post(f"{API}/kades/app/position", headers=world["device"],
                    json=_press("p1", latitude=39.93, longitude=32.86, accuracy_m=12, battery=60))
    assert r.status_code == 202
    alert = session.scalars(select(Alert).where(Alert.source == "kades")).one()
    session.refresh(alert)
    assert (alert.latitude, alert.longitude, alert.accuracy_m, alert.data["battery"]) == (39.93, 32.86, 12, 60)
    moves = session.scalars(select(AlertChange.move).where(AlertChange.alert_id == alert.id)).all()
    assert list(moves) == ["raise", "update"]
    r = client.post(f"{API}/kades/app/position", headers=world["device"],
                    json=_press("p2", latitude=48.85, longitude=2.35))
    assert r.status_code == 422 and "latitude" in r.text  # Paris is not a position kgys takes


def test_bad_parts_are_flagged_and_the_press_still_alerts(client: TestClient, session: Session,
                                                          world: dict[str, Any]) -> None:
    far_clock = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    r = client.post(f"{API}/kades/app/press", headers=world["device"],
                    json=_press("m1", latitude=51.5, longitude=-0.12, at=far_clock))
    assert r.status_code == 202
    alert = session.scalars(select(Alert).where(Alert.source == "kades")).one()
    assert alert.latitude is None
    flags = " ".join(alert.data["flags"])
    assert "outside Türkiye" in flags and "clock off" in flags
    assert abs((alert.raised_at - alert.received_at).total_seconds()) < 5  # our time, not the phone's


def test_an_order_out_of_force_still_alerts_flagged(client: TestClient, session: Session, world: dict[str, Any],
                                                     token_for: Auth) -> None:
    order = session.get(ProtectionOrder, world["order"]["id"])
    assert order is not None
    with acting_as(session, factories.admin()):
        order.valid_from, order.valid_until = date(2019, 1, 1), date(2020, 1, 1)  # it ran out
        session.commit()
    assert client.post(f"{API}/kades/app/press", headers=world["device"], json=_press("m1")).status_code == 202
    alert = session.scalars(select(Alert).where(Alert.source == "kades")).one()
    assert alert.data["order_in_force"] is False and "order not in force" in alert.details


@pytest.mark.parametrize("auth", [{}, {"Authorization": "Device nope"}, {"Authorization": "Bearer x"}])
def test_strangers_and_bad_bodies_are_refused(client: TestClient, world: dict[str, Any],
                                              auth: dict[str, str]) -> None:
    assert client.post(f"{API}/kades/app/press", headers=auth, json=_press("m1")).status_code == 401
    bad = client.post(f"{API}/kades/app/press", headers=world["device"], json={"msg_id": "x", "at": "yesterday"})
    assert bad.status_code == 422 and "at" in bad.text
    half = client.post(f"{API}/kades/app/press", headers=world["device"], json=_press("m9", longitude=None))
    assert half.status_code == 422


def test_a_disabled_phone_is_refused(client: TestClient, world: dict[str, Any]) -> None:
    r = client.post(f"{API}/kades/phones/{world['phone']['id']}/disable", headers=world["h"]["sup"])
    assert r.status_code == 200 and r.json()["enabled"] is False
    assert client.post(f"{API}/kades/app/press", headers=world["device"], json=_press("m1")).status_code == 401


def test_the_sensitive_part_is_read_with_a_reason_and_audited(client: TestClient, session: Session,
                                                              world: dict[str, Any]) -> None:
    listed = client.get(f"{API}/kades/orders", headers=world["h"]["sup"]).json()
    assert [o["number"] for o in listed] == ["2026/4411"] and "aggressor" not in listed[0]
    oid = world["order"]["id"]
    assert client.post(f"{API}/kades/orders/{oid}/read", headers=world["h"]["sup"]).status_code == 422
    r = client.post(f"{API}/kades/orders/{oid}/read", params={"reason": "ihbar 155-2211"}, headers=world["h"]["sup"])
    assert r.status_code == 200 and "Doblo" in r.json()["aggressor"]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "protection_order.view")).one()
    assert entry.reason == "ihbar 155-2211"
    created = session.scalars(select(AuditEntry).where(AuditEntry.action == "protection_order.create")).one()
    assert "Doblo" not in created.details and "555" not in created.details  # secrets are not copied into the log
    assert client.get(f"{API}/kades/orders", headers=world["h"]["op_a"]).status_code == 403


def test_orders_are_registered_only_within_scope_and_once(client: TestClient, world: dict[str, Any]) -> None:
    base = {"number": "2026/9", "court": "C", "valid_from": "2026-01-01", "valid_until": "2026-12-31",
            "person_name": "X", "person_phone": "+90 555 000 00 00", "district": "TR-98-C"}
    r = client.post(f"{API}/kades/orders", headers=world["h"]["sup"], json=base)
    assert r.status_code == 422 and "district" in r.text
    again = client.post(f"{API}/kades/orders", headers=world["h"]["sup"], json=base | {"number": "2026/4411",
                                                                                     "district": "TR-99-A"})
    assert again.status_code == 409
    backwards = client.post(f"{API}/kades/orders", headers=world["h"]["sup"],
                            json=base | {"district": "TR-99-A", "valid_until": "2025-01-01"})
    assert backwards.status_code == 422
