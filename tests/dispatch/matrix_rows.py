"""What the authorisation matrix (tests/web/test_authz_matrix.py) sends to the dispatch and incident routes: a
fresh unit, incident or assignment in the target site's district for each call, made by a global administrator.
Call signs carry the target's code, so that the matrix can ask for one that does not exist alike."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.models import Jurisdiction
from kgys.alerts import raising
from kgys.alerts.raising import Alarm, Position
from kgys.alerts.states import Priority, Source
from kgys.dispatch import service as unit_service
from kgys.dispatch import trackers
from kgys.dispatch.flows import sending
from kgys.dispatch.schemas import UnitIn
from kgys.incidents.flows import from_alerts
from kgys.incidents.schemas import IncidentIn
from tests import factories

API = "/api/v1"
DISTRICTS = {"IN-A": "TR-99-A", "OUT-B": "TR-99-B", "OUT-C": "TR-98-C"}
_n = itertools.count(1)


class HasSession(Protocol):
    """The matrix's world, as far as these rows need it."""

    session: Session


def fresh_unit(w: HasSession, code: str) -> str:
    """A new available unit in the district of site ``code``; its call sign."""
    call = f"{code}-U{next(_n)}"
    unit_service.create_unit(session=w.session, actor=factories.admin(), data=UnitIn(
        call_sign=call, kind="patrol_car", district=DISTRICTS[code]))
    w.session.commit()
    return call


def fresh_alert(w: HasSession, code: str) -> int:
    """A new protected person's alert in the district of site ``code``."""
    path = w.session.scalar(select(Jurisdiction.path).where(Jurisdiction.code == DISTRICTS[code]))
    alert = raising.raise_alert(w.session, Alarm(source=Source.KADES, kind="kades_press", priority=Priority.P1,
                                                 position=Position(39.92, 32.85), scope_path=path,
                                                 details=f"matrix {next(_n)}"))
    w.session.commit()
    return alert.id


def fresh_incident(w: HasSession, code: str) -> str:
    """A new incident in the district of site ``code``; its number."""
    alert_id = fresh_alert(w, code)
    incident = from_alerts.create_from_alerts(session=w.session, actor=factories.admin(),
                                              data=IncidentIn(alerts=[alert_id], category="violence"))
    w.session.commit()
    return incident.number


def fresh_assignment(w: HasSession, code: str) -> tuple[str, int]:
    """A unit just assigned to a new incident, both in the district of site ``code``."""
    number = fresh_incident(w, code)
    a, _, _ = sending.assign(session=w.session, actor=factories.admin(), number=number,
                             call_sign=fresh_unit(w, code))
    w.session.commit()
    return number, a.id


def tracker_url(w: HasSession, code: str) -> tuple[str, None]:
    """The tracker login of a fresh unit that has one."""
    call = fresh_unit(w, code)
    trackers.issue(session=w.session, actor=factories.admin(), call_sign=call)
    w.session.commit()
    return f"{API}/units/{call}/tracker", None


def new_unit(w: HasSession, code: str) -> tuple[str, dict[str, Any]]:
    """Registering a unit in the target's district."""
    return f"{API}/units", {"call_sign": f"M{next(_n)}", "kind": "motorcycle", "district": DISTRICTS[code]}


def unit_url(suffix: str = "", body: dict[str, Any] | None = None) -> Any:
    """A route of a fresh unit."""
    return lambda w, code: (f"{API}/units/{fresh_unit(w, code)}{suffix}", body)


def position(w: HasSession, code: str) -> tuple[str, dict[str, Any]]:
    """A position report of a fresh unit."""
    return f"{API}/units/{fresh_unit(w, code)}/position", {
        "latitude": 39.93, "longitude": 32.86, "reported_at": datetime.now(UTC).isoformat()}


def units_list(w: HasSession, code: str) -> tuple[str, None]:
    """The list itself for the in-scope target; filtered to the target's district otherwise."""
    fresh_unit(w, code)
    return (f"{API}/units", None) if code == "IN-A" else (f"{API}/units?district={DISTRICTS[code]}", None)


def new_incident(w: HasSession, code: str) -> tuple[str, dict[str, Any]]:
    """An incident of an alert of the target's district."""
    return f"{API}/incidents", {"alerts": [fresh_alert(w, code)], "category": "violence"}


def incident_url(suffix: str = "", body: dict[str, Any] | None = None) -> Any:
    """A route of a fresh incident."""
    return lambda w, code: (f"{API}/incidents/{fresh_incident(w, code)}{suffix}", body)


def assign(w: HasSession, code: str) -> tuple[str, dict[str, Any]]:
    """Sending a fresh unit to a fresh incident, both of the target's district."""
    return f"{API}/incidents/{fresh_incident(w, code)}/assignments", {"unit": fresh_unit(w, code)}


def acknowledge(w: HasSession, code: str) -> tuple[str, dict[str, Any]]:
    """Acknowledging a fresh assignment."""
    number, assignment_id = fresh_assignment(w, code)
    return f"{API}/incidents/{number}/assignments/{assignment_id}/acknowledge", {}
