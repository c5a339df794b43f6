"""The web pages of footage exports: the request form (cameras by name, the range typed in the reader's zone,
the reason once), an export's page with its progress bar and download button, and the reader's own list."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from kgys import localtime
from kgys.accounts.permissions import Perm
from kgys.db import utcnow
from kgys.errors import FieldError, ValidationFailed
from kgys.exports import texts
from kgys.exports.flows import requests
from kgys.exports.views import ExportId
from kgys.web import i18n
from kgys.web.deps import DB, CurrentPrincipal, Principal, runtime
from kgys.web.forms import FormFields
from kgys.web.render import reader_zone, render
from kgys.web.routing import Router

router = Router(include_in_schema=False)

DEFAULT_SPAN = timedelta(minutes=15)
Raw = Annotated[str, Query(max_length=800)]


def _ids(raw: list[str]) -> list[int]:
    """Camera ids from form or query text; what is not a positive number is left out."""
    out = []
    for part in ",".join(raw).split(","):
        part = part.strip()
        if part.isdigit() and 0 < int(part) < 2_147_483_648:
            out.append(int(part))
    return list(dict.fromkeys(out))[:64]


async def _chosen(request: Request) -> list[str]:
    """Every ``camera`` value of a submitted form (one checkbox per camera)."""
    form = await request.form()
    return [v for v in form.getlist("camera") if isinstance(v, str)]


def _messages(exc: ValidationFailed, max_minutes: int) -> dict[str, str]:
    texts_by_field = {
        "cameras": i18n.gettext("Choose between 1 and 16 cameras."),
        "from": i18n.gettext("Enter a date and time."),
        "to": i18n.gettext("The end must be after the start, at most %(minutes)s minutes later.", minutes=max_minutes),
        "reason": i18n.gettext("Please state a reason (at least 3 characters)."),
    }
    return {e.field: texts_by_field.get(e.field, e.message) for e in exc.errors}


def _form(request: Request, session: DB, p: Principal, ids: list[int], start: datetime | None,
          end: datetime | None, reason: str, errors: dict[str, str], status_code: int = 200) -> Response:
    cams = requests.camera_names(session=session, actor=p.actor, ids=ids)
    max_minutes = runtime(request).settings.exports.max_minutes
    return render(request, "exports/new.html", {"cameras": cams, "start": start, "end": end, "reason": reason,
                                                "errors": errors, "max_minutes": max_minutes,
                                                "unavailable": len(ids) - len(cams)}, p, status_code=status_code)


def _typed(raw: str | None, field: str, request: Request) -> datetime:
    try:
        return localtime.parse_local(raw or "", reader_zone(request))
    except ValueError:
        raise ValidationFailed([FieldError(field, "a date and time")]) from None


def _query_time(raw: str, request: Request) -> datetime | None:
    try:
        return localtime.parse_local(raw, reader_zone(request)) if raw.strip() else None
    except ValueError:
        return None


@router.get("/exports/new")
def export_form(request: Request, session: DB, p: CurrentPrincipal, cameras: Raw = "",
                start: Annotated[str, Query(alias="from", max_length=64)] = "",
                end: Annotated[str, Query(alias="to", max_length=64)] = "") -> Response:
    """The export form for ``?cameras=1,2&from=…&to=…`` (times with an offset, or in the reader's zone)."""
    p.actor.require(Perm.CLIP_EXPORT)
    b = _query_time(end, request) or utcnow().replace(microsecond=0)
    a = _query_time(start, request) or b - DEFAULT_SPAN
    return _form(request, session, p, _ids([cameras]), a, b, "", {})


@router.post("/exports/new")
def export_create(request: Request, session: DB, p: CurrentPrincipal, form: FormFields,
                  chosen: Annotated[list[str], Depends(_chosen)]) -> Response:
    """Queue the export (audited) and go to its page; the form again, with the problems named, when it is
    not sound."""
    p.actor.require(Perm.CLIP_EXPORT)
    settings = runtime(request).settings
    ids = _ids(chosen)
    shown = _ids([form.get("shown", "")]) or ids
    reason = form.get("reason", "")
    a: datetime | None = None
    b: datetime | None = None
    try:
        problems: list[FieldError] = []
        try:
            a = _typed(form.get("from"), "from", request)
        except ValidationFailed as exc:
            problems += exc.errors
        try:
            b = _typed(form.get("to"), "to", request)
        except ValidationFailed as exc:
            problems += exc.errors
        if problems:
            raise ValidationFailed(problems)
        assert a is not None and b is not None
        row = requests.request(session=session, actor=p.actor, cameras=ids, start=a, end=b, reason=reason,
                               max_span=timedelta(minutes=settings.exports.max_minutes), now=utcnow())
    except ValidationFailed as exc:
        session.rollback()
        return _form(request, session, p, shown, a, b, reason, _messages(exc, settings.exports.max_minutes),
                     status_code=422)
    return RedirectResponse(f"/exports/{row.id}", status_code=303)


def _row_context(session: DB, p: Principal, export_id: int) -> dict[str, Any]:
    row = requests.mine(session=session, actor=p.actor, export_id=export_id)
    names = {c.id: c for c in requests.camera_names(session=session, actor=p.actor, ids=list(row.cameras))}
    return {"export": row, "names": names, "state_label": texts.state_label(row.state),
            "error": texts.error_message(row.error_code, row.error_params)}


@router.get("/exports/{export_id}")
def export_page(request: Request, export_id: ExportId, session: DB, p: CurrentPrincipal) -> Response:
    """One of the reader's exports: progress while it is built, then the download button."""
    ctx = _row_context(session, p, export_id)
    ctx["states"] = {k: texts.state_label(k) for k in texts.STATES}
    return render(request, "exports/show.html", ctx, p)


@router.get("/exports")
def export_list(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """The reader's exports, newest first, with their state."""
    rows = requests.listing(session=session, actor=p.actor)
    return render(request, "exports/list.html", {"rows": rows, "state_label": texts.state_label,
                                                 "error_message": texts.error_message}, p)
