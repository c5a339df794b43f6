"""CAP 1.2 messages from other systems: an Alert raises an alert at the named site with its circle, an Update
refreshes it, a Cancel closes it, an Exercise is a drill; hostile XML (entity expansion, external entities, a DTD,
a huge document), malformed XML and missing parts are refused with the element or position named; nothing is
half stored. A message that orders a lockdown (parameter kgys:lockdown, response type Shelter or AllClear) writes the
orders for the sites it names, all of them within the sender's scope or none. On both engines."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kgys.accounts.models import User
from kgys.alerts.cap import MAX_BYTES
from kgys.alerts.models import Alert, AlertChange
from kgys.audit.models import AuditEntry
from kgys.devices.models import Downlink
from tests import factories

API = "/api/v1/alerts/cap"
XML = {"Content-Type": "application/cap+xml"}


def cap(identifier: str = "AFAD-2026-1", msg_type: str = "Alert", status: str = "Actual", site: str = "",
        severity: str = "Extreme", references: str = "", area: str | None = None) -> bytes:
    geocode = f"<geocode><valueName>kgys:site</valueName><value>{site}</value></geocode>" if site else ""
    if area is None:
        area = f"<area><areaDesc>Okul</areaDesc><circle>39.92,32.85 0.5</circle>{geocode}</area>"
    refs = f"<references>{references}</references>" if references else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier><sender>afad@example.gov.tr</sender><sent>2026-12-06T10:00:00+03:00</sent>
  <status>{status}</status><msgType>{msg_type}</msgType><scope>Public</scope>{refs}
  <info><category>Safety</category><event>Deprem</event><urgency>Immediate</urgency><severity>{severity}</severity>
    <certainty>Observed</certainty><headline>Okulda tahliye</headline>{area}</info>
</alert>""".encode()


@pytest.fixture
def world(session: Session, token_for: Callable[[User], dict[str, str]]) -> dict[str, object]:
    factories.tree(session)
    site = factories.site(session)
    system = factories.user(session, "operator", scope=["TR-99"])
    session.commit()
    return {"site": site, "h": token_for(system) | XML}


def test_alert_update_cancel(client: TestClient, session: Session, world: dict[str, object]) -> None:
    site, h = world["site"], world["h"]
    r = client.post(API, content=cap(site=site.code), headers=h)  # type: ignore[attr-defined,arg-type]
    assert r.status_code == 202, r.text
    alert = session.get(Alert, r.json()["alert_id"])
    assert alert is not None
    assert (alert.source, alert.kind, alert.priority, alert.site_id) == ("cap", "cap_alert", 1, site.id)  # type: ignore[attr-defined]
    assert (alert.latitude, alert.longitude, alert.accuracy_m) == (39.92, 32.85, 500.0)
    update = cap("AFAD-2026-2", "Update", site=site.code, severity="Severe",  # type: ignore[attr-defined]
                 references="afad@example.gov.tr,AFAD-2026-1,2026-12-06T10:00:00+03:00")
    assert client.post(API, content=update, headers=h).json()["alert_id"] == alert.id  # type: ignore[arg-type]
    session.refresh(alert)
    assert alert.repeats == 2 and alert.priority == 1
    cancel = cap("AFAD-2026-3", "Cancel", references="afad@example.gov.tr,AFAD-2026-1,2026-12-06T10:00:00+03:00")
    r = client.post(API, content=cancel, headers=h)  # type: ignore[arg-type]
    assert r.json()["cleared"] == 1
    session.refresh(alert)
    assert alert.state == "resolved"


def test_an_exercise_is_a_drill_and_a_draft_is_not_taken(client: TestClient, session: Session,
                                                        world: dict[str, object]) -> None:
    r = client.post(API, content=cap("EX-1", status="Exercise"), headers=world["h"])  # type: ignore[arg-type]
    alert = session.get(Alert, r.json()["alert_id"])
    assert alert is not None and alert.drill and alert.site_id is None
    r = client.post(API, content=cap("DR-1", status="Draft"), headers=world["h"])  # type: ignore[arg-type]
    assert r.status_code == 422 and "status" in r.text


BOMB = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">&lol3;</alert>"""
EXTERNAL = b"""<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&x;</identifier></alert>"""


@pytest.mark.parametrize(("body", "field", "words"), [
    (BOMB, "body", "refused"),
    (EXTERNAL, "body", "refused"),
    (b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>x</identifier>", "body", "line 1"),
    (b"<alert><identifier>x</identifier></alert>", "body", "CAP 1.2"),
    (b"x" * (MAX_BYTES + 1), "body", "larger"),
    (cap().replace(b"<sender>afad@example.gov.tr</sender>", b""), "sender", "missing"),
    (cap().replace(b"2026-12-06T10:00:00+03:00", b"2026-12-06T10:00:00"), "sent", "offset"),
    (cap(area="<area><circle>95,32.85 1</circle></area>"), "area.circle", "range"),
    (cap(msg_type="Cancel"), "references", "names the message"),
    (cap(site="NO-SUCH"), "area.geocode", "NO-SUCH"),
])
def test_hostile_and_broken_messages_are_refused_naming_the_part(client: TestClient, session: Session,
                                                                 world: dict[str, object], body: bytes, field: str,
                                                                 words: str) -> None:
    r = client.post(API, content=body, headers=world["h"])  # type: ignore[arg-type]
    assert r.status_code == 422, r.text
    problem = r.json()["error"]["fields"][0]
    assert problem["field"] == field and words in problem["message"], problem
    assert session.scalar(select(func.count()).select_from(Alert)) == 0


def test_only_those_who_handle_alerts_may_send(client: TestClient, session: Session,
                                               token_for: Callable[[User], dict[str, str]],
                                               world: dict[str, object]) -> None:
    auditor = factories.user(session, "auditor", scope=["TR"])
    session.commit()
    assert client.post(API, content=cap(), headers=token_for(auditor) | XML).status_code == 403
    assert client.post(API, content=cap(), headers=XML).status_code == 401


def lockdown_cap(identifier: str, sites: list[str], *, parameter: str = "", response: str = "",
                 status: str = "Actual", msg_type: str = "Alert", references: str = "") -> bytes:
    """A message whose info orders a lockdown (by parameter or response type) for the sites named by geocodes,
    each in an area of its own."""
    areas = "".join(f"<area><areaDesc>{code}</areaDesc><geocode><valueName>kgys:site</valueName><value>{code}"
                    "</value></geocode></area>" for code in sites)
    extra = f"<responseType>{response}</responseType>" if response else ""
    if parameter:
        extra += f"<parameter><valueName>kgys:lockdown</valueName><value>{parameter}</value></parameter>"
    return cap(identifier, msg_type=msg_type, status=status, references=references,
               area=areas).replace(b"<category>Safety</category>", b"<category>Safety</category>" + extra.encode())


def _orders(session: Session) -> list[tuple[int, str, str, int | None]]:
    return [(d.site_id, d.action, d.reason, d.alert_id)
            for d in session.scalars(select(Downlink).order_by(Downlink.id)).all()]


def test_a_lockdown_message_orders_the_named_sites_devices(client: TestClient, session: Session,
                                                           world: dict[str, object]) -> None:
    site = world["site"]
    second = factories.site(session, district="TR-99-B")
    session.commit()
    r = client.post(API, content=lockdown_cap("LD-1", [site.code, second.code], parameter="lockdown"),  # type: ignore[attr-defined]
                    headers=world["h"])  # type: ignore[arg-type]
    assert r.status_code == 202, r.text
    out = r.json()
    assert out["lockdown_sites"] == [site.code, second.code]  # type: ignore[attr-defined]
    reason = "CAP Deprem: Okulda tahliye"
    assert _orders(session) == [(site.id, "lockdown", reason, out["alert_id"]),  # type: ignore[attr-defined]
                                (second.id, "lockdown", reason, out["alert_id"])]
    notes = session.scalars(select(AlertChange.note).where(AlertChange.alert_id == out["alert_id"],
                                                           AlertChange.move == "note")).all()
    assert notes == [f"Lockdown ordered ({site.code}, {second.code}): {reason}"]  # type: ignore[attr-defined]
    assert session.scalar(select(func.count()).select_from(AuditEntry)
                          .where(AuditEntry.action == "site.lockdown")) == 2
    # the response type AllClear ends it
    r = client.post(API, content=lockdown_cap("LD-2", [site.code], response="AllClear"), headers=world["h"])  # type: ignore[attr-defined,arg-type]
    assert r.status_code == 202 and r.json()["lockdown_sites"] == [site.code], r.text  # type: ignore[attr-defined]
    assert _orders(session)[-1][:2] == (site.id, "all_clear")  # type: ignore[attr-defined]


@pytest.mark.parametrize(("kw", "sites"), [
    ({"response": "Shelter"}, 1),  # a shelter order for a site: lockdown
    ({"response": "Shelter", "status": "Test"}, 0),  # a test orders nothing
    ({"response": "Evacuate"}, 0),  # not a lockdown
    ({"parameter": "lockdown", "status": "Exercise"}, 1),  # a drill: the devices hear it, marked as one
])
def test_which_messages_order_a_lockdown(client: TestClient, session: Session, world: dict[str, object],
                                         kw: dict[str, str], sites: int) -> None:
    r = client.post(API, content=lockdown_cap("LD-3", [world["site"].code], **kw), headers=world["h"])  # type: ignore[attr-defined,arg-type]
    assert r.status_code == 202, r.text
    assert len(r.json()["lockdown_sites"]) == len(_orders(session)) == sites
    if kw.get("status") == "Exercise":
        assert _orders(session)[0][2].startswith("[Exercise] CAP")


@pytest.mark.parametrize(("sites", "parameter", "field", "words"), [
    ([], "lockdown", "area.geocode", "names its sites"),
    (["SITE"], "evacuate", "info.parameter", "one of lockdown, all_clear"),
    (["OTHER"], "lockdown", "area.geocode", "within the sender's scope"),
    (["SITE", "NO-SUCH"], "lockdown", "area.geocode", "NO-SUCH"),
])
def test_a_lockdown_for_sites_beyond_the_sender_is_refused_whole(client: TestClient, session: Session,
                                                                 world: dict[str, object], sites: list[str],
                                                                 parameter: str, field: str, words: str) -> None:
    other = factories.site(session, district="TR-98-C")
    session.commit()
    codes = [{"SITE": world["site"].code, "OTHER": other.code}.get(c, c) for c in sites]  # type: ignore[attr-defined]
    r = client.post(API, content=lockdown_cap("LD-4", codes, parameter=parameter), headers=world["h"])  # type: ignore[arg-type]
    assert r.status_code == 422, r.text
    problem = r.json()["error"]["fields"][0]
    assert problem["field"] == field and words in problem["message"], problem
    session.expire_all()
    assert _orders(session) == [] and session.scalar(select(func.count()).select_from(Alert)) == 0
