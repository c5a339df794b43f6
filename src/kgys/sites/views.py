"""HTTP API of the sites domain: the registry, roll-out, commissions, floor plans, dashboard, map and
jurisdictions."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import File, Form, Path, Query, Request, Response, UploadFile

from kgys.accounts import jurisdictions as account_jurisdictions
from kgys.accounts.schemas import JurisdictionCreate
from kgys.sites import floorplans, listing, service
from kgys.sites.models import Commission, FloorPlan, RolloutEvent
from kgys.sites.schemas import (
    CommissionOut,
    DashboardOut,
    FloorPlanOut,
    FloorPlanPatch,
    JurisdictionOut,
    MapPointOut,
    RolloutChange,
    RolloutEventOut,
    SiteCreate,
    SiteFilter,
    SiteOut,
    SitePatch,
)
from kgys.web.contract import errors
from kgys.web.deps import DB, CurrentActor, HandlerCaller, runtime
from kgys.web.limits import MB
from kgys.web.paging import Page, PageQuery, PerPageQuery, page_json
from kgys.web.routing import Router

router = Router(tags=["sites"])

PlanId = Annotated[int, Path(ge=1, le=2_147_483_647)]
JurisdictionCode = Annotated[str | None, Query(max_length=32, description="Province or district code")]


def _event_out(ev: RolloutEvent) -> RolloutEventOut:
    return RolloutEventOut.model_validate(ev)


def _commission_out(com: Commission) -> CommissionOut:
    return CommissionOut(jurisdiction=com.jurisdiction.code, jurisdiction_name=com.jurisdiction.name,
                         kind=com.jurisdiction.kind, chair=com.chair, police_member=com.police_member,
                         gendarmerie_member=com.gendarmerie_member, education_member=com.education_member,
                         contact_email=com.contact_email)


@router.get("/sites", response_model=Page[SiteOut])
def list_sites(
    request: Request,
    session: DB,
    caller: HandlerCaller,
    filters: Annotated[SiteFilter, Query()],
    page: PageQuery = 1,
    per_page: PerPageQuery = 50,
) -> Response:
    """Sites within the caller's scope that match the filters, by priority then name."""
    rows, total = listing.site_rows(session=session, actor=caller.actor(), filters=filters, page=page,
                                    per_page=per_page,
                                    overdue_limits=runtime(request).settings.rollout.max_days)
    # rows in SiteOut's shape, serialised once (a model returned would be validated and then serialised)
    return Response(page_json(rows, total=total, page=page, per_page=per_page), media_type="application/json")


@router.post("/sites", response_model=SiteOut, status_code=201)
def create_site(body: SiteCreate, session: DB, actor: CurrentActor) -> SiteOut:
    """Register a site in a district within the caller's scope."""
    return service.to_out(service.create_site(session=session, actor=actor, data=body))


@router.get("/sites/{code}", response_model=SiteOut)
def get_site(code: str, session: DB, caller: HandlerCaller) -> SiteOut:
    """One site."""
    return service.to_out(service.get_site(session=session, actor=caller.actor(), code=code))


@router.patch("/sites/{code}", response_model=SiteOut)
def update_site(code: str, body: SitePatch, session: DB, caller: HandlerCaller) -> SiteOut:
    """Change a site's fields; ``version`` must be the one the caller last saw."""
    return service.to_out(service.update_site(session=session, actor=caller.actor(), code=code, patch=body))


@router.post("/sites/{code}/rollout", response_model=RolloutEventOut, status_code=201)
def change_rollout(code: str, body: RolloutChange, session: DB, actor: CurrentActor) -> RolloutEventOut:
    """Move a site to another roll-out step."""
    return _event_out(service.change_rollout(session=session, actor=actor, code=code, change=body))


@router.get("/sites/{code}/rollout", response_model=list[RolloutEventOut])
def rollout_history(code: str, session: DB, actor: CurrentActor) -> list[RolloutEventOut]:
    """A site's roll-out steps, newest first."""
    return [_event_out(ev) for ev in service.rollout_history(session=session, actor=actor, code=code)]


@router.get("/sites/{code}/commission", response_model=CommissionOut | None)
def site_commission(code: str, session: DB, actor: CurrentActor) -> CommissionOut | None:
    """The commission responsible for the site (its district's, else its province's), or null."""
    com = service.site_commission(session=session, actor=actor, code=code)
    return _commission_out(com) if com is not None else None


def floor_plan_out(plan: FloorPlan, site_code: str) -> FloorPlanOut:
    """The API shape of a floor plan, with the address of its image."""
    return FloorPlanOut(id=plan.id, site=site_code, title=plan.title, position=plan.position,
                        content_type=plan.content_type, size=plan.size, width=plan.width, height=plan.height,
                        uploaded_at=plan.uploaded_at, uploaded_by=plan.uploaded_by,
                        url=f"/sites/{site_code}/floor-plans/{plan.id}")


@router.get("/sites/{code}/floor-plans", response_model=list[FloorPlanOut], responses=errors(404))
def list_floor_plans(code: str, session: DB, actor: CurrentActor) -> list[FloorPlanOut]:
    """A site's floor plans, in their order."""
    site, plans = floorplans.list_plans(session=session, actor=actor, site_code=code)
    return [floor_plan_out(p, site.code) for p in plans]


@router.post("/sites/{code}/floor-plans", response_model=FloorPlanOut, status_code=201, responses=errors(404, 413))
def add_floor_plan(
    request: Request, code: str, session: DB, actor: CurrentActor,
    title: Annotated[str, Form(max_length=400, description="What the plan shows: a floor, a building")],
    image: Annotated[UploadFile, File(description="PNG, JPEG or WebP (told by its bytes; SVG is refused)")],
) -> FloorPlanOut:
    """Upload a floor plan image of a site the caller may edit (at most ``web.max_floor_plan_mb`` MB)."""
    settings = runtime(request).settings
    upload = floorplans.Upload.receive(image.file, data_dir=settings.data_dir,
                                       limit=int(settings.web.max_floor_plan_mb * MB))
    plan = floorplans.add(session=session, actor=actor, site_code=code, title=title, upload=upload,
                          data_dir=settings.data_dir)
    return floor_plan_out(plan, code)


@router.patch("/sites/{code}/floor-plans/{plan_id}", response_model=FloorPlanOut, responses=errors(404))
def change_floor_plan(code: str, plan_id: PlanId, body: FloorPlanPatch, session: DB, actor: CurrentActor
                      ) -> FloorPlanOut:
    """Rename a floor plan or move it in its site's order."""
    plan = floorplans.change(session=session, actor=actor, site_code=code, plan_id=plan_id, title=body.title,
                             position=body.position)
    return floor_plan_out(plan, code)


@router.delete("/sites/{code}/floor-plans/{plan_id}", status_code=204, responses=errors(404))
def delete_floor_plan(request: Request, code: str, plan_id: PlanId, session: DB, actor: CurrentActor) -> Response:
    """Remove a floor plan of a site the caller may edit."""
    floorplans.remove(session=session, actor=actor, site_code=code, plan_id=plan_id,
                      data_dir=runtime(request).settings.data_dir)
    return Response(status_code=204)


@router.get("/dashboard", response_model=DashboardOut)
def dashboard(request: Request, session: DB, actor: CurrentActor, jurisdiction: JurisdictionCode = None
              ) -> DashboardOut:
    """Roll-out and compliance figures within the caller's scope."""
    data = service.dashboard(session=session, actor=actor, jurisdiction=jurisdiction,
                             max_days=runtime(request).settings.rollout.max_days)
    return DashboardOut.model_validate(data)


@router.get("/map", response_model=list[MapPointOut])
def map_points(session: DB, actor: CurrentActor, jurisdiction: JurisdictionCode = None) -> list[MapPointOut]:
    """Sites with coordinates within the caller's scope."""
    return [MapPointOut.model_validate(p)
            for p in service.map_points(session=session, actor=actor, jurisdiction=jurisdiction)]


@router.get("/jurisdictions", response_model=list[JurisdictionOut])
def list_jurisdictions(
    session: DB, actor: CurrentActor,
    kind: Annotated[Literal["country", "province", "district"] | None, Query()] = None,
) -> list[JurisdictionOut]:
    """Jurisdiction nodes the caller may see (its subtrees and their ancestors), in tree order."""
    return [JurisdictionOut.model_validate(j)
            for j in service.list_jurisdictions(session=session, actor=actor, kind=kind)]


@router.post("/jurisdictions", response_model=JurisdictionOut, status_code=201)
def create_jurisdiction(body: JurisdictionCreate, session: DB, actor: CurrentActor) -> JurisdictionOut:
    """Add a province under a country or a district under a province."""
    return JurisdictionOut.model_validate(
        account_jurisdictions.create_jurisdiction(session=session, actor=actor, data=body))
