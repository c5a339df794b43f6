"""Web UI of recording: the legal holds (list, place, release).

Times are shown and typed in the reader's zone (kgys.localtime) and stored in UTC; the playback page's link,
which carries UTC times, fills the form with them in the reader's zone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from kgys import localtime
from kgys.accounts.permissions import Perm
from kgys.db import utcnow
from kgys.errors import Conflict, NotFound, ValidationFailed
from kgys.recording import holds as hold_service
from kgys.recording import views
from kgys.recording.flows import holds as hold_flows
from kgys.web import i18n
from kgys.web.deps import DB, CurrentPrincipal, Principal
from kgys.web.forms import FormFields, blank, local_time, service_errors
from kgys.web.paging import page_number, pager
from kgys.web.render import reader_zone, render
from kgys.web.routing import Router

router = Router(include_in_schema=False)

PER_PAGE = 100
HOLD_FIELDS = ("site", "camera", "from", "to", "until", "reason", "legal_basis")


def _list_page(request: Request, session: Session, p: Principal, *, release_errors: Mapping[int, str] | None = None,
               release_reasons: Mapping[int, str] | None = None, status_code: int = 200) -> Response:
    q = request.query_params
    filters = {"site": q.get("site", "").strip()[:32], "camera": q.get("camera", "").strip()[:120],
               "state": "active" if q.get("state") == "active" else ""}
    page = page_number(q.get("page"))
    now = utcnow()
    errors: dict[str, str] = {}
    rows: Sequence[hold_service.HoldRow] = []
    total = 0
    try:
        rows, total = hold_flows.find_holds(session=session, actor=p.actor, site=blank(filters["site"]),
                                            camera=blank(filters["camera"]),
                                            active_only=filters["state"] == "active", now=now, page=page,
                                            per_page=PER_PAGE)
    except NotFound:
        errors["site"] = i18n.gettext("No site with this institution code within your scope.")
    except ValidationFailed as exc:
        errors = service_errors(exc.errors)
    return render(request, "recording/holds.html", {
        "rows": [{"hold": h, "site": s, "camera": c, "state": hold_service.hold_state(h, now)} for h, s, c in rows],
        "filters": filters, "errors": errors, "saved": q.get("saved", ""),
        "release_errors": release_errors or {}, "release_reasons": release_reasons or {},
        **pager("/holds", filters, page=page, total=total, per_page=PER_PAGE),
    }, p, status_code=422 if errors and status_code == 200 else status_code)


@router.get("/holds")
def holds_page(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """Legal holds within the user's scope, newest first, with a release form on each active one."""
    return _list_page(request, session, p)


def _form(request: Request, p: Principal, values: Mapping[str, str], errors: Mapping[str, str],
          status_code: int = 200) -> Response:
    return render(request, "recording/hold_form.html", {"values": values, "errors": errors}, p,
                  status_code=status_code)


@router.get("/holds/new")
def hold_new_form(request: Request, session: DB, p: CurrentPrincipal,
                  camera: Annotated[int | None, Query(ge=1, le=views.MAX_ID)] = None,
                  start: Annotated[str, Query(alias="from", max_length=64)] = "",
                  end: Annotated[str, Query(alias="to", max_length=64)] = "") -> Response:
    """The form to place a hold; ``?camera=ID&from=…&to=…`` (from the playback page) fills it in."""
    p.actor.require(Perm.HOLDS_MANAGE)
    where = reader_zone(request)
    values = dict.fromkeys(HOLD_FIELDS, "") | {"from": _picker(start, where), "to": _picker(end, where)}
    if camera is not None:
        site, cam = hold_flows.camera_place(session=session, actor=p.actor, camera_id=camera,
                                            perm=Perm.HOLDS_MANAGE)
        values |= {"site": site.code, "camera": cam.name}
    return _form(request, p, values, {})


def _picker(raw: str, where: ZoneInfo) -> str:
    """A time given in a link (UTC, with its offset) as the form's ``datetime-local`` value in ``where``."""
    try:
        return localtime.picker(localtime.parse_local(raw, where), where) if raw.strip() else ""
    except ValueError:
        return ""


def _times(form: Mapping[str, str], where: ZoneInfo) -> tuple[dict[str, Any], dict[str, str]]:
    """The range and the lapse typed in the reader's zone ``where``, as UTC; field → message for each refused."""
    times: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in ("from", "to", "until"):
        times[name] = local_time(form.get(name), where, name, errors)
        if times[name] is None and name != "until" and name not in errors:
            errors[name] = i18n.gettext("Required.")
    return times, errors


@router.post("/holds/new")
def hold_create(request: Request, session: DB, p: CurrentPrincipal, form: FormFields) -> Response:
    """Place the hold the form describes."""
    p.actor.require(Perm.HOLDS_MANAGE)
    values = {k: form.get(k, "") for k in HOLD_FIELDS}
    times, problems = _times(form, reader_zone(request))
    if problems:
        return _form(request, p, values, problems, 422)
    try:
        hold, _site, _cam = hold_flows.place_hold(
            session=session, actor=p.actor, site=blank(values["site"]), camera=blank(values["camera"]),
            camera_id=None, start=times["from"], end=times["to"], reason=values["reason"],
            legal_basis=values["legal_basis"], until=times["until"], now=utcnow())
    except ValidationFailed as exc:
        session.rollback()
        return _form(request, p, values, service_errors(exc.errors), 422)
    return RedirectResponse(f"/holds?saved=placed#hold-{hold.id}", status_code=303)


@router.post("/holds/{hold_id}/release")
def hold_release(request: Request, hold_id: views.HoldId, session: DB, p: CurrentPrincipal,
                 form: FormFields) -> Response:
    """Release a hold, stating why."""
    reason = form.get("reason", "")
    try:
        hold_flows.release_hold(session=session, actor=p.actor, hold_id=hold_id, reason=reason)
    except ValidationFailed as exc:
        session.rollback()
        message = service_errors(exc.errors).get("reason", i18n.gettext("Invalid value."))
        return _list_page(request, session, p, release_errors={hold_id: message},
                          release_reasons={hold_id: reason}, status_code=422)
    except Conflict:
        session.rollback()
        return _list_page(request, session, p, release_errors={
            hold_id: i18n.gettext("This hold was already released.")}, status_code=409)
    return RedirectResponse(f"/holds?saved=released#hold-{hold_id}", status_code=303)
