"""The web pages of evidence releases (the list is on the request's page, :func:`kgys.evidence.pages.release_context`):
the order, the one-time link shown once, the hand-over receipt, and the redaction review page (frames with
detections as thumbnails, detections removed, regions added, the review confirmed). Each step is the flow of
:mod:`kgys.evidence.flows.releases` inside :func:`kgys.evidence.views.audited_refusal`, as in the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from kgys.db import utcnow
from kgys.errors import FieldError, ValidationFailed
from kgys.evidence import service, texts
from kgys.evidence.flows import releases
from kgys.evidence.pages import show_page
from kgys.evidence.rules import Range
from kgys.evidence.views import RequestId, audited_refusal, settings_signer
from kgys.web import i18n
from kgys.web.deps import DB, CurrentPrincipal, Principal, runtime
from kgys.web.forms import FormFields, local_time, service_errors
from kgys.web.render import reader_zone, render
from kgys.web.routing import Router

router = Router(include_in_schema=False)

ReleaseId = Annotated[int, Path(ge=1, le=2_147_483_647)]
THUMBNAILS = 60  # frames with a detection shown per clip on the review page
ORDER_FIELDS = ("recipient", "organisation")


def _order_rows(form: dict[str, str], request: Request, granted: list[Range],
                errors: dict[str, str]) -> tuple[list[Range], list[int]]:
    where = reader_zone(request)
    items, origin = [], []
    for i, item in enumerate(granted):
        if not form.get(f"release_{i}"):
            continue
        start = local_time(form.get(f"rfrom_{i}"), where, f"rfrom_{i}", errors) or item.start
        end = local_time(form.get(f"rto_{i}"), where, f"rto_{i}", errors) or item.end
        items.append(Range(item.camera_id, start, end))
        origin.append(i)
    if not items:
        errors.setdefault("scope", i18n.gettext("Tick at least one camera and range."))
    return items, origin


def _renamed(exc: ValidationFailed, origin: list[int]) -> dict[str, str]:
    out = []
    for e in exc.errors:
        name = e.field
        if name.startswith("scope[") and "]" in name:
            k = int(name[6:name.index("]")])
            row = origin[k] if k < len(origin) else 0
            name = f"rfrom_{row}" if name.endswith("start") else f"rto_{row}"
        out.append(FieldError(name, e.message, msgid=e.msgid, params=e.params))
    return service_errors(out)


@router.post("/evidence/requests/{request_id}/releases")
def order_submit(request: Request, request_id: RequestId, session: DB, p: CurrentPrincipal,
                 form: FormFields) -> Response:
    """Order a release from the request's page (the requester; audited, a refusal too)."""
    errors: dict[str, str] = {}
    origin: list[int] = []
    try:
        with audited_refusal(session, p.actor, "release", request_id, settings_signer(request)):
            granted = service.ranges(service.detail(session=session, actor=p.actor, request_id=request_id).granted)
            items, origin = _order_rows(form, request, granted, errors)
            if errors:
                raise ValidationFailed([FieldError(k, v) for k, v in errors.items()])
            releases.order(session=session, actor=p.actor, request_id=request_id, items=items,
                           recipient=form.get("recipient", ""), organisation=form.get("organisation", ""),
                           redact=bool(form.get("redact")), watermark=bool(form.get("watermark")),
                           include_segments=bool(form.get("include_segments")), signer=settings_signer(request),
                           now=utcnow())
    except ValidationFailed as exc:
        shown = errors or _renamed(exc, origin)
        return show_page(request, session, p, request_id, errors=shown, values=dict(form) | {"ordering": "1"},
                         status_code=422)
    return RedirectResponse(f"/evidence/requests/{request_id}?saved=release#releases", status_code=303)


@router.post("/evidence/requests/{request_id}/releases/{release_id}/link")
def link_submit(request: Request, request_id: RequestId, release_id: ReleaseId, session: DB,
                p: CurrentPrincipal) -> Response:
    """Make the one-time download link (the orderer; audited) and show it once."""
    keep = timedelta(hours=runtime(request).settings.evidence.download_hours)
    with audited_refusal(session, p.actor, "link", request_id, settings_signer(request)):
        token, expires = releases.issue_link(session=session, actor=p.actor, request_id=request_id,
                                             release_id=release_id, signer=settings_signer(request), now=utcnow(),
                                             keep=keep)
    url = f"/api/v1/evidence/requests/{request_id}/releases/{release_id}/download/{token}"
    return render(request, "evidence/release_link.html", {"request_id": request_id, "release_id": release_id,
                                                          "url": url, "expires": expires}, p)


@router.post("/evidence/requests/{request_id}/releases/{release_id}/receipt")
def receipt_submit(request: Request, request_id: RequestId, release_id: ReleaseId, session: DB,
                   p: CurrentPrincipal, form: FormFields) -> Response:
    """Record the hand-over of a downloaded package (the orderer; audited)."""
    errors: dict[str, str] = {}
    at = local_time(form.get("at"), reader_zone(request), "at", errors)
    try:
        if errors:
            raise ValidationFailed([FieldError(k, v) for k, v in errors.items()])
        with audited_refusal(session, p.actor, "receipt", request_id, settings_signer(request)):
            releases.receipt(session=session, actor=p.actor, request_id=request_id, release_id=release_id,
                             name=form.get("name", ""), id_no=form.get("id_no", ""), at=at,
                             note=form.get("note", ""), signer=settings_signer(request), now=utcnow())
    except ValidationFailed as exc:
        shown = errors or service_errors(exc.errors)
        return show_page(request, session, p, request_id, errors=shown,
                         values=dict(form) | {"receipt_for": str(release_id)}, status_code=422)
    return RedirectResponse(f"/evidence/requests/{request_id}?saved=receipt#releases", status_code=303)


def _review(request: Request, session: Session, p: Principal, request_id: int, release_id: int,
            errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    settings = runtime(request).settings
    with audited_refusal(session, p.actor, "review", request_id, settings_signer(request)):
        rows = releases.review(session=session, actor=p.actor, request_id=request_id, release_id=release_id,
                               data_dir=settings.data_dir)
        rel = releases.visible(session=session, actor=p.actor, request_id=request_id, release_id=release_id)
    clips = []
    for row, dets in rows:
        frames = [] if dets is None else [f for f in dets.frames if f.detections]
        clips.append({"row": row, "frames": frames[:THUMBNAILS], "more": max(0, len(frames) - THUMBNAILS),
                      "removed": set(row.edits.get("removed", [])), "added": row.edits.get("added", []),
                      "size": None if dets is None else (dets.width, dets.height)})
    return render(request, "evidence/review.html", {
        "request_id": request_id, "rel": rel, "clips": clips, "errors": errors or {},
        "state_label": i18n.gettext(texts.RELEASE_STATES.get(rel.state, rel.state))}, p, status_code=status_code)


@router.get("/evidence/requests/{request_id}/releases/{release_id}/review")
def review_page(request: Request, request_id: RequestId, release_id: ReleaseId, session: DB,
                p: CurrentPrincipal) -> Response:
    """The redaction review: each clip's frames with a detection, with their boxes drawn."""
    return _review(request, session, p, request_id, release_id)


def _int(form: dict[str, str], name: str, errors: dict[str, str]) -> int | None:
    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    if not raw.lstrip("-").isdigit():
        errors.setdefault(name, i18n.gettext("Enter a whole number."))
        return None
    return int(raw)


def edits_from_form(form: dict[str, str], current: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The clip's edits as the review form leaves them: the ticked detections removed (those of frames not shown
    keep their mark), the regions kept unless ticked off, and the new region when its fields are filled."""
    errors: dict[str, str] = {}
    shown = {k[6:] for k in form if k.startswith("shown:")}
    ticked = {k[7:] for k, v in form.items() if k.startswith("remove:") and v}
    removed = sorted((set(current.get("removed", [])) - shown) | ticked)
    added = [a for i, a in enumerate(current.get("added", [])) if not form.get(f"drop_{i}")]
    names = ("first_frame", "last_frame", "x1", "y1", "x2", "y2")
    values = {n: _int(form, n, errors) for n in names}
    if any(v is not None for v in values.values()):
        for n in names:
            if values[n] is None:
                errors.setdefault(n, i18n.gettext("Enter a whole number."))
        if not errors:
            added.append({"first_frame": values["first_frame"], "last_frame": values["last_frame"],
                          "box": [values["x1"], values["y1"], values["x2"], values["y2"]]})
    return {"added": added, "removed": removed}, errors


def _edit_field(name: str) -> str:
    if name.startswith("added[") and "]." in name:
        part = name.split("].", 1)[1]
        return "x1" if part == "box" else part
    return name


@router.post("/evidence/requests/{request_id}/releases/{release_id}/clips/{position}/edits")
def edits_submit(request: Request, request_id: RequestId, release_id: ReleaseId, session: DB, p: CurrentPrincipal,
                 form: FormFields, position: Annotated[int, Path(ge=1, le=1000)]) -> Response:
    """Keep the reviewer's edits of one clip (audited) and show the review again."""
    data_dir = runtime(request).settings.data_dir
    current: dict[str, Any] = {}
    for row, _dets in releases.review(session=session, actor=p.actor, request_id=request_id, release_id=release_id,
                                      data_dir=data_dir):
        if row.position == position:
            current = dict(row.edits)
    edits, errors = edits_from_form(form, current)
    try:
        if errors:
            raise ValidationFailed([FieldError(k, v) for k, v in errors.items()])
        with audited_refusal(session, p.actor, "review", request_id, settings_signer(request)):
            releases.edit(session=session, actor=p.actor, request_id=request_id, release_id=release_id,
                          position=position, edits=edits, data_dir=data_dir, signer=settings_signer(request))
    except ValidationFailed as exc:
        shown = errors or service_errors([FieldError(_edit_field(e.field), e.message, msgid=e.msgid,
                                                     params=e.params) for e in exc.errors])
        return _review(request, session, p, request_id, release_id, errors=shown, status_code=422)
    return RedirectResponse(f"/evidence/requests/{request_id}/releases/{release_id}/review?saved={position}",
                            status_code=303)


@router.post("/evidence/requests/{request_id}/releases/{release_id}/confirm")
def confirm_submit(request: Request, request_id: RequestId, release_id: ReleaseId, session: DB,
                   p: CurrentPrincipal) -> Response:
    """Confirm the review (audited): the release is redacted as reviewed and packaged."""
    with audited_refusal(session, p.actor, "review", request_id, settings_signer(request)):
        releases.confirm(session=session, actor=p.actor, request_id=request_id, release_id=release_id,
                         signer=settings_signer(request), now=utcnow())
    return RedirectResponse(f"/evidence/requests/{request_id}?saved=review#releases", status_code=303)

