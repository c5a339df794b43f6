"""Web UI of the unit registry: the list of units with their status, position age and field login; registering
one; one unit with its status history and recent assignments, its changes (``units.manage``, with the version
seen) and its status set by hand. Plain forms; what is refused is shown on the page."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from kgys.accounts.permissions import Perm
from kgys.db import utcnow
from kgys.dispatch import assignments, service
from kgys.dispatch.schemas import StatusIn, UnitIn, UnitOut, UnitPatch
from kgys.dispatch.states import BY_HAND, UnitKind, UnitStatus
from kgys.errors import Conflict, ValidationFailed
from kgys.incidents import service as incident_service
from kgys.sites import service as site_service
from kgys.web import i18n, server_text
from kgys.web.deps import DB, CurrentPrincipal, Principal, runtime
from kgys.web.forms import FormFields, pydantic_errors, service_errors
from kgys.web.render import render
from kgys.web.routing import Router

router = Router(include_in_schema=False)

FIELDS = ("call_sign", "kind", "district", "station", "capabilities", "members", "field_user")


def _capabilities(text: str) -> list[str]:
    """Capabilities typed as words separated by commas or spaces."""
    return [c for c in text.replace(",", " ").split() if c]


def _out(request: Request, session: Session, p: Principal, call_sign: str) -> UnitOut:
    unit, position = service.get_unit(session=session, actor=p.actor, call_sign=call_sign)
    stale = timedelta(seconds=runtime(request).settings.dispatch.stale_after_seconds)
    return service.unit_out(unit, position, service.field_user_name(session, unit), now=utcnow(), stale_after=stale)


def _districts(session: Session, p: Principal) -> list[tuple[str, str]]:
    """(code, "province / district") for every district of the user's scope."""
    out, province = [], ""
    for j in site_service.list_jurisdictions(session=session, actor=p.actor):
        if j.kind == "province":
            province = j.name
        elif j.kind == "district" and p.actor.scope.covers_path(j.path):
            out.append((j.code, f"{province} / {j.name}" if province else j.name))
    return out


@router.get("/units")
def units_page(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """The units of the user's scope by call sign; filters status, kind, district and call sign."""
    q = request.query_params
    filters = {"status": q.get("status", "") if q.get("status") in {s.value for s in UnitStatus} else "",
               "kind": q.get("kind", "") if q.get("kind") in {k.value for k in UnitKind} else "",
               "district": q.get("district", "").strip()[:32], "q": q.get("q", "").strip()[:32]}
    stale = timedelta(seconds=runtime(request).settings.dispatch.stale_after_seconds)
    now = utcnow()
    rows = service.list_units(session=session, actor=p.actor, status=UnitStatus(filters["status"])
                              if filters["status"] else None, district=filters["district"] or None)
    units = [service.unit_out(u, pos, service.field_user_name(session, u), now=now, stale_after=stale)
             for u, pos in rows if (not filters["kind"] or u.kind == filters["kind"])
             and filters["q"].lower() in u.call_sign.lower()]
    return render(request, "units/list.html", {"units": units, "filters": filters, "now": now}, p)


def _form_page(request: Request, session: Session, p: Principal, *, unit: UnitOut | None, values: dict[str, str],
               errors: dict[str, str] | None = None, conflict: str | None = None, status_code: int = 200) -> Response:
    ctx: dict[str, object] = {"unit": unit, "values": values, "errors": errors or {}, "conflict": conflict,
                              "districts": _districts(session, p) if unit is None else [], "now": utcnow()}
    if unit is not None:
        row, _ = service.get_unit(session=session, actor=p.actor, call_sign=unit.call_sign)
        ctx |= {"history": service.history(session=session, actor=p.actor, call_sign=unit.call_sign, limit=50),
                "assignments": [(a, incident_service.number_of(session, a.incident_id))
                                for a in assignments.of_unit(session, row.id)],
                "by_hand": [s for s in UnitStatus if s in BY_HAND]}
    return render(request, "units/form.html" if unit is None else "units/detail.html", ctx, p,
                  status_code=status_code)


def _values(unit: UnitOut) -> dict[str, str]:
    return {"call_sign": unit.call_sign, "kind": unit.kind, "district": unit.district, "station": unit.station,
            "capabilities": ", ".join(unit.capabilities), "members": unit.members,
            "field_user": unit.field_user or "", "version": str(unit.version)}


@router.get("/units/new")
def new_unit_page(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """The form registering a unit."""
    p.actor.require(Perm.UNITS_MANAGE)
    return _form_page(request, session, p, unit=None, values={"kind": UnitKind.PATROL_CAR.value})


@router.post("/units/new")
def new_unit(request: Request, session: DB, p: CurrentPrincipal, form: FormFields) -> Response:
    """Register the unit and go to its page; the form again, with what was refused, otherwise."""
    p.actor.require(Perm.UNITS_MANAGE)
    values = {k: form.get(k, "") for k in FIELDS}
    try:
        data = UnitIn(call_sign=values["call_sign"], kind=values["kind"],
                      district=values["district"], station=values["station"],
                      capabilities=_capabilities(values["capabilities"]), members=values["members"],
                      field_user=values["field_user"].strip() or None)
        unit = service.create_unit(session=session, actor=p.actor, data=data)
    except ValidationError as exc:
        session.rollback()
        return _form_page(request, session, p, unit=None, values=values, errors=pydantic_errors(exc),
                          status_code=422)
    except ValidationFailed as exc:
        session.rollback()
        return _form_page(request, session, p, unit=None, values=values, errors=service_errors(exc.errors),
                          status_code=422)
    except Conflict as exc:
        session.rollback()
        return _form_page(request, session, p, unit=None, values=values, status_code=409,
                          conflict=i18n.gettext("Not done: %(reason)s", reason=server_text.text(exc.message)))
    return RedirectResponse(f"/units/{unit.call_sign}", status_code=303)


@router.get("/units/{call_sign}")
def unit_page(request: Request, call_sign: str, session: DB, p: CurrentPrincipal) -> Response:
    """One unit: what it is, its status and position, its status history and recent assignments."""
    unit = _out(request, session, p, call_sign)
    return _form_page(request, session, p, unit=unit, values=_values(unit))


def _refused(request: Request, session: Session, p: Principal, call_sign: str, values: dict[str, str] | None,
             exc: Exception) -> Response:
    """The unit's page again, saying what was refused (nothing of it kept)."""
    session.rollback()
    unit = _out(request, session, p, call_sign)
    values = values or _values(unit)
    if isinstance(exc, ValidationError):
        return _form_page(request, session, p, unit=unit, values=values, errors=pydantic_errors(exc), status_code=422)
    if isinstance(exc, ValidationFailed):
        return _form_page(request, session, p, unit=unit, values=values, errors=service_errors(exc.errors),
                          status_code=422)
    if not isinstance(exc, Conflict):
        raise exc
    return _form_page(request, session, p, unit=unit, values=values, status_code=409,
                      conflict=i18n.gettext("Not done: %(reason)s", reason=server_text.text(exc.message)))


@router.post("/units/{call_sign}")
def edit_unit(request: Request, call_sign: str, session: DB, p: CurrentPrincipal, form: FormFields) -> Response:
    """Change the unit, if it is still as the user saw it."""
    p.actor.require(Perm.UNITS_MANAGE)
    values = {k: form.get(k, "") for k in (*FIELDS, "version")} | {"call_sign": call_sign}
    try:
        patch = UnitPatch(version=values["version"] or 0, kind=values["kind"] or None,
                          station=values["station"], capabilities=_capabilities(values["capabilities"]),
                          members=values["members"], field_user=values["field_user"].strip())
        service.update_unit(session=session, actor=p.actor, call_sign=call_sign, patch=patch)
    except (ValidationError, ValidationFailed, Conflict) as exc:
        return _refused(request, session, p, call_sign, values, exc)
    return RedirectResponse(f"/units/{call_sign}", status_code=303)


@router.post("/units/{call_sign}/status")
def unit_status(request: Request, call_sign: str, session: DB, p: CurrentPrincipal, form: FormFields) -> Response:
    """Set the unit's status by hand (available, busy, off duty)."""
    try:
        data = StatusIn(status=form.get("status", ""), note=form.get("note", ""),
                        version=form.get("version") or None)
        service.set_status(session=session, actor=p.actor, call_sign=call_sign, status=data.status, note=data.note,
                           version=data.version)
    except (ValidationError, ValidationFailed, Conflict) as exc:
        return _refused(request, session, p, call_sign, None, exc)
    return RedirectResponse(f"/units/{call_sign}", status_code=303)
