"""Web UI pages of the sites domain: the site list, a site's page, editing, the roll-out, floor plans (upload,
removal, the image itself), compliance and the dashboard with its map. Scope and permissions are enforced by the
services these pages call."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import File, Form, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.cameras import compliance as rules
from kgys.cameras import service as camera_service
from kgys.cameras.flows import systems as camera_flows
from kgys.errors import Conflict, FieldError, NotFound, ValidationFailed
from kgys.sites import floorplans, rollout
from kgys.sites import service as site_service
from kgys.sites.models import Site
from kgys.sites.schemas import RolloutChange, SiteCreate, SiteFilter, SitePatch
from kgys.web import i18n, labels
from kgys.web.deps import DB, CurrentPrincipal, Principal, runtime
from kgys.web.forms import FormFields, blank, pydantic_errors, service_errors, submit
from kgys.web.limits import MB
from kgys.web.paging import page_number, pager
from kgys.web.render import render
from kgys.web.routing import Router

MAP_EMBED = 500  # map points embedded in the dashboard page; above this the page fetches them

router = Router(include_in_schema=False)

PER_PAGE = 50
FILTER_FIELDS = ("q", "type", "jurisdiction", "rollout_status", "compliance_status", "priority", "overdue")
EDIT_FIELDS = ("name", "type", "address", "latitude", "longitude", "student_count", "priority", "contact_name",
               "contact_phone", "contact_email")


def _jurisdiction_options(session: Session, actor: Actor) -> list[tuple[str, str]]:
    """(code, indented name) for every province and district the actor may see, in tree order."""
    out = []
    for j in site_service.list_jurisdictions(session=session, actor=actor):
        if j.kind == "province":
            out.append((j.code, j.name))
        elif j.kind == "district":
            out.append((j.code, f"\u00a0\u00a0\u00a0{j.name}"))
    return out


def _names_by_code(session: Session, actor: Actor) -> dict[str, str]:
    return {j.code: j.name for j in site_service.list_jurisdictions(session=session, actor=actor)}


def _province_code(site: Site) -> str:
    parts = [p for p in site.jurisdiction_path.split("/") if p]
    return parts[1] if len(parts) > 1 else ""


@router.get("/sites")
def site_list(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """Sites within scope, filtered and paged."""
    p.actor.require(Perm.SITES_READ)
    rt = runtime(request)
    raw = {k: request.query_params.get(k, "").strip() for k in FILTER_FIELDS}
    values: dict[str, Any] = {k: v for k, v in raw.items() if v and k != "overdue"}
    values["overdue"] = raw["overdue"] in {"1", "on", "true"}
    page = page_number(request.query_params.get("page"))
    errors: dict[str, str] = {}
    sites: list[Site] = []
    total = 0
    try:
        filters = SiteFilter(**values)
        found, total = site_service.list_sites(session=session, actor=p.actor, filters=filters, page=page,
                                               per_page=PER_PAGE, overdue_limits=rt.settings.rollout.max_days)
        sites = list(found)
    except ValidationError as exc:
        errors = pydantic_errors(exc)
    except ValidationFailed as exc:
        errors = service_errors(exc.errors)
    today = date.today()
    names = _names_by_code(session, p.actor)
    rows = [
        {"site": s, "province": names.get(_province_code(s), _province_code(s)),
         "overdue": rollout.overdue_days(s.rollout_status, s.rollout_since, today, rt.settings.rollout.max_days)}
        for s in sites
    ]
    return render(request, "sites/list.html", {
        "rows": rows, "filters": raw, "errors": errors, "jurisdictions": _jurisdiction_options(session, p.actor),
        **pager("/sites", raw, page=page, total=total, per_page=PER_PAGE),
    }, p, status_code=422 if errors else 200)


def _site_form_values(site: Site | None, form: Mapping[str, str] | None) -> dict[str, str]:
    if form is not None:
        return {k: form.get(k, "") for k in (*EDIT_FIELDS, "code", "district", "version")}
    assert site is not None
    values = {k: "" if getattr(site, k) is None else str(getattr(site, k)) for k in EDIT_FIELDS}
    values |= {"code": site.code, "district": site.jurisdiction.code, "version": str(site.version)}
    return values


def _site_data(form: Mapping[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {k: form.get(k, "") for k in EDIT_FIELDS}
    for k in ("latitude", "longitude", "student_count", "contact_email"):
        data[k] = blank(data[k])
    if not data["priority"]:
        data["priority"] = "3"
    return data


def _district_options(session: Session, actor: Actor) -> list[tuple[str, str]]:
    out = []
    province = ""
    for j in site_service.list_jurisdictions(session=session, actor=actor):
        if j.kind == "province":
            province = j.name
        elif j.kind == "district" and actor.scope.covers_path(j.path):
            out.append((j.code, f"{province} / {j.name}" if province else j.name))
    return out


def _form_page(request: Request, session: Session, p: Principal, *, site: Site | None, values: dict[str, str],
               errors: dict[str, str], conflict: str | None = None, status_code: int = 200) -> Response:
    return render(request, "sites/edit.html", {
        "site": site, "values": values, "errors": errors, "conflict": conflict,
        "districts": _district_options(session, p.actor) if site is None else [],
    }, p, status_code=status_code)


@router.get("/sites/new")
def site_new_form(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """The form for registering a new site."""
    p.actor.require(Perm.SITES_CREATE)
    values = {k: "" for k in (*EDIT_FIELDS, "code", "district", "version")} | {"priority": "3"}
    return _form_page(request, session, p, site=None, values=values, errors={})


@router.post("/sites/new")
def site_create(request: Request, session: DB, p: CurrentPrincipal, form: FormFields) -> Response:
    """Register a new site."""
    p.actor.require(Perm.SITES_CREATE)
    values = _site_form_values(None, form)
    created: list[Site] = []

    def save() -> None:
        data = SiteCreate(**_site_data(form), code=form.get("code", ""), district=form.get("district", ""))
        created.append(site_service.create_site(session=session, actor=p.actor, data=data))

    try:
        errors = submit(session, save)
    except Conflict:
        session.rollback()
        msg = i18n.gettext("A site with this institution code already exists.")
        return _form_page(request, session, p, site=None, values=values, errors={"code": msg}, status_code=409)
    if errors:
        return _form_page(request, session, p, site=None, values=values, errors=errors, status_code=422)
    return RedirectResponse(f"/sites/{created[0].code}?saved=created", status_code=303)


def _detail(request: Request, session: Session, p: Principal, code: str, *,
            rollout_values: dict[str, str] | None = None, rollout_errors: dict[str, str] | None = None,
            plan_errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    actor = p.actor
    site = site_service.get_site(session=session, actor=actor, code=code)
    history = site_service.rollout_history(session=session, actor=actor, code=code)
    commission = site_service.commission_for(session=session, site=site)
    names = _names_by_code(session, actor)
    system = result = None
    if actor.can(Perm.COMPLIANCE_READ):
        system, result = camera_flows.compliance(session=session, actor=actor, code=code)
    elif actor.can(Perm.CAMERAS_READ):
        system = camera_flows.get_system(session=session, actor=actor, code=code)
    box = runtime(request).box
    devices = None
    if system is not None and actor.can(Perm.CAMERAS_READ):
        devices = {"recorders": [camera_service.recorder_out(r, box) for r in system.recorders],
                   "cameras": [camera_service.camera_out(c, system.recorders, box) for c in system.cameras]}
    days, kbps = camera_service.storage_figures(system) if system is not None else (None, None)
    max_days = runtime(request).settings.rollout.max_days
    allowed = [(value, label) for value, label in labels.rollout_options()
               if rollout.transition_error(site.rollout_status, value) is None]
    next_steps = allowed[::-1]  # the step forward first, then back towards the start
    step_index = next((i for i, s in enumerate(rollout.ORDER) if s.value == site.rollout_status), 0)
    return render(request, "sites/detail.html", {
        "site": site, "province_code": _province_code(site),
        "province_name": names.get(_province_code(site), _province_code(site)),
        "history": history, "commission": commission, "devices": devices, "result": result,
        "storage_days": days, "kbps_for_30": kbps, "min_days": rules.MIN_DAYS,
        "overdue": rollout.overdue_days(site.rollout_status, site.rollout_since, date.today(), max_days),
        "next_steps": next_steps, "step_index": step_index, "today": date.today().isoformat(),
        "rollout_values": rollout_values or {"status": next_steps[0][0] if next_steps else "", "effective_on": "",
                                             "note": ""},
        "rollout_errors": rollout_errors or {}, "saved": request.query_params.get("saved", ""),
        "floor_plans": floorplans.list_plans(session=session, actor=actor, site_code=code)[1],
        "plan_errors": plan_errors or {},
    }, p, status_code=status_code)


@router.get("/sites/{code}")
def site_detail(request: Request, code: str, session: DB, p: CurrentPrincipal) -> Response:
    """One site: its fields, commission, roll-out history, camera system and compliance."""
    return _detail(request, session, p, code)


@router.get("/sites/{code}/edit")
def site_edit_form(request: Request, code: str, session: DB, p: CurrentPrincipal) -> Response:
    """The form for editing a site."""
    site = site_service.get_site(session=session, actor=p.actor, code=code, perm=Perm.SITES_EDIT)
    return _form_page(request, session, p, site=site, values=_site_form_values(site, None), errors={})


@router.post("/sites/{code}/edit")
def site_edit(request: Request, code: str, session: DB, p: CurrentPrincipal, form: FormFields) -> Response:
    """Save a site's edited fields (audited); a stale version is refused."""
    site = site_service.get_site(session=session, actor=p.actor, code=code, perm=Perm.SITES_EDIT)
    values = _site_form_values(None, form) | {"code": site.code}
    try:
        errors = submit(session, lambda: site_service.update_site(
            session=session, actor=p.actor, code=code,
            patch=SitePatch(version=form.get("version", ""), **_site_data(form))))
    except Conflict:
        session.rollback()
        msg = i18n.gettext("Someone else changed this site while you were editing it. Reload the page to see "
                           "their change, then make yours again.")
        return _form_page(request, session, p, site=site, values=values, errors={}, conflict=msg, status_code=409)
    if errors:
        return _form_page(request, session, p, site=site, values=values, errors=errors, status_code=422)
    return RedirectResponse(f"/sites/{code}?saved=site", status_code=303)


@router.post("/sites/{code}/floor-plans")
def floor_plan_upload(request: Request, code: str, session: DB, p: CurrentPrincipal,
                      title: Annotated[str, Form(max_length=400)] = "",
                      image: Annotated[UploadFile | None, File()] = None) -> Response:
    """Upload a floor plan from the site's page."""
    settings = runtime(request).settings
    site_service.get_site(session=session, actor=p.actor, code=code, perm=Perm.SITES_EDIT)
    try:
        if image is None or not image.filename:
            raise ValidationFailed([FieldError("image", "choose a PNG, JPEG or WebP image")])
        upload = floorplans.Upload.receive(image.file, data_dir=settings.data_dir,
                                           limit=int(settings.web.max_floor_plan_mb * MB))
        floorplans.add(session=session, actor=p.actor, site_code=code, title=title, upload=upload,
                       data_dir=settings.data_dir)
    except ValidationFailed as exc:
        session.rollback()
        return _detail(request, session, p, code, plan_errors=service_errors(exc.errors), status_code=422)
    return RedirectResponse(f"/sites/{code}?saved=plan#floor-plans", status_code=303)


@router.post("/sites/{code}/floor-plans/{plan_id:int}/delete")
def floor_plan_delete(request: Request, code: str, plan_id: int, session: DB, p: CurrentPrincipal) -> Response:
    """Remove a floor plan from the site's page."""
    floorplans.remove(session=session, actor=p.actor, site_code=code, plan_id=plan_id,
                      data_dir=runtime(request).settings.data_dir)
    return RedirectResponse(f"/sites/{code}#floor-plans", status_code=303)


@router.get("/sites/{code}/floor-plans/{plan_id:int}")
def floor_plan_image(request: Request, code: str, plan_id: int, session: DB, p: CurrentPrincipal) -> Response:
    """A floor plan's image, as the type it was stored as (never sniffed by the browser, never run)."""
    plan = floorplans.get_plan(session=session, actor=p.actor, site_code=code, plan_id=plan_id)
    path = floorplans.image_path(runtime(request).settings.data_dir, plan)
    if not path.is_file():
        raise NotFound("No such floor plan.", plan_id=plan_id)
    return FileResponse(path, media_type=plan.content_type, headers={
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600",
        "Content-Security-Policy": "default-src 'none'; sandbox", "Content-Disposition": "inline"})


@router.get("/sites/{code}/rollout")
def site_rollout_page(code: str) -> Response:
    """The roll-out form lives on the site's page (a GET here comes from a language link or a reload)."""
    return RedirectResponse(f"/sites/{code}#rollout", status_code=303)


@router.post("/sites/{code}/rollout")
def site_rollout(request: Request, code: str, session: DB, p: CurrentPrincipal, form: FormFields) -> Response:
    """Move a site to another roll-out step."""
    values = {k: form.get(k, "") for k in ("status", "effective_on", "note")}
    errors = submit(session, lambda: site_service.change_rollout(
        session=session, actor=p.actor, code=code,
        change=RolloutChange(status=values["status"], effective_on=blank(values["effective_on"]), note=values["note"])))
    if errors:
        return _detail(request, session, p, code, rollout_values=values, rollout_errors=errors, status_code=422)
    return RedirectResponse(f"/sites/{code}?saved=rollout#rollout", status_code=303)


def _calc_input(raw: str | None, default: float, low: float, high: float) -> tuple[float, bool]:
    if raw is None or not raw.strip():
        return default, True
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        return default, False
    return value, math.isfinite(value) and low <= value <= high


@router.get("/sites/{code}/compliance")
def site_compliance(request: Request, code: str, session: DB, p: CurrentPrincipal) -> Response:
    """Every item of the ministry's minimum for one site, and the storage calculator."""
    system, result = camera_flows.compliance(session=session, actor=p.actor, code=code)
    cams, recs = camera_service.specs(system)
    installed = sum(r.installed_storage_tb for r in recs)
    avg_kbps = round(sum(c.bitrate_kbps for c in cams) / len(cams)) if cams else 4096
    q = request.query_params
    channels, ok_channels = _calc_input(q.get("channels"), float(len(cams) or rules.MIN_CHANNELS), 1, 1024)
    kbps, ok_kbps = _calc_input(q.get("kbps"), float(avg_kbps), 16, 100_000)
    tb, ok_tb = _calc_input(q.get("tb"), installed or rules.MIN_SUPPORTED_TB, 0.01, 10_000)
    calc_errors: dict[str, str] = {}
    if not ok_channels or channels != int(channels):
        calc_errors["channels"] = i18n.gettext("Enter a whole number from 1 to 1024.")
    if not ok_kbps:
        calc_errors["kbps"] = i18n.gettext("Enter a bitrate from 16 to 100000 kbit/s.")
    if not ok_tb:
        calc_errors["tb"] = i18n.gettext("Enter a size from 0.01 to 10000 TB.")
    calc: dict[str, Any] = {"channels": q.get("channels") or f"{channels:g}", "kbps": q.get("kbps") or f"{kbps:g}",
                            "tb": q.get("tb") or f"{tb:g}", "days": None, "kbps_for_days": None}
    if not calc_errors:
        calc["days"] = round(rules.storage_days(tb, channels * kbps), 1)
        calc["kbps_for_days"] = round(rules.bitrate_for_days(tb, int(channels), rules.MIN_DAYS))
    days, kbps_for_30 = camera_service.storage_figures(system)
    return render(request, "sites/compliance.html", {
        "site": system.site, "result": result, "calc": calc, "calc_errors": calc_errors,
        "min_days": rules.MIN_DAYS, "storage_days": days, "kbps_for_30": kbps_for_30,
        "camera_count": len(cams), "recorder_count": len(recs), "installed_tb": installed,
    }, p, status_code=422 if calc_errors else 200)


@router.get("/dashboard")
def dashboard(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """Roll-out figures, compliance by district, sites without a system, overdue steps and the map."""
    p.actor.require(Perm.DASHBOARD_READ)
    rt = runtime(request)
    code = request.query_params.get("jurisdiction", "").strip() or None
    errors: dict[str, str] = {}
    try:
        data = site_service.dashboard(session=session, actor=p.actor, jurisdiction=code,
                                      max_days=rt.settings.rollout.max_days)
    except ValidationFailed as exc:
        errors = service_errors(exc.errors)
        code = None
        data = site_service.dashboard(session=session, actor=p.actor, jurisdiction=None,
                                      max_days=rt.settings.rollout.max_days)
    map_data: dict[str, Any] = {"points": [], "count": 0, "tile_url": rt.settings.web.tile_url,
                                "labels": {k: labels.compliance_label(k) for k in labels.COMPLIANCE_STATUSES},
                                "wall": i18n.gettext("Open its cameras on the video wall")
                                if p.actor.can(Perm.LIVE_VIEW) else ""}
    if p.actor.can(Perm.SITES_READ):
        # a few points travel in the page; many are fetched as compact rows once the page has loaded
        points = site_service.map_points(session=session, actor=p.actor, jurisdiction=code, limit=MAP_EMBED + 1)
        if len(points) <= MAP_EMBED:
            map_data["points"], map_data["count"] = points, len(points)
        else:
            map_data["src"] = "/dashboard/map.json" + (f"?{urlencode({'jurisdiction': code})}" if code else "")
            map_data["count"] = site_service.map_count(session=session, actor=p.actor, jurisdiction=code)
    names = _names_by_code(session, p.actor)
    return render(request, "dashboard.html", {
        "d": data, "jurisdiction": code or "", "jurisdiction_name": names.get(code or "", ""),
        "jurisdictions": _jurisdiction_options(session, p.actor), "errors": errors,
        "names": names,
        "map": map_data,
    }, p, status_code=422 if errors else 200)


@router.get("/dashboard/map.json")
def dashboard_map(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """The dashboard map's points as compact rows: {"fields": [...], "rows": [[...], ...]}."""
    code = request.query_params.get("jurisdiction", "").strip() or None
    rows = site_service.map_rows(session=session, actor=p.actor, jurisdiction=code)
    body = json.dumps({"fields": site_service.MAP_FIELDS, "rows": rows}, ensure_ascii=False, separators=(",", ":"))
    return Response(body.encode("utf-8"), media_type="application/json")
