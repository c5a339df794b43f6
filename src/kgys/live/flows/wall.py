"""The video wall as it builds on sites, cameras and the recorder's health: the camera tree of the viewer's
scope with each camera's state, the cameras a layout may show (those in scope, needing ``live.view``), the
layouts as a viewer sees them (cameras outside their scope shown as not available, never named) and a site's
cameras to open the wall with.

Flows flush, never commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.models import Jurisdiction
from kgys.accounts.permissions import Perm
from kgys.cameras.models import Camera, CameraHealth
from kgys.errors import FieldError, ValidationFailed
from kgys.live import layouts, refusals
from kgys.live.models import WallLayout
from kgys.sites import service as site_service
from kgys.sites.models import Site

MAX_STATUS = 64


def camera_state(*, enabled: bool, stream_url: str, health: str | None, reason: str | None) -> tuple[str, str]:
    """A camera's state on the wall and its reason: ``recording``, ``offline`` (with the recorder's reason),
    ``unconnected`` (no stream address), ``disabled`` (recording switched off) or ``unknown`` (not yet seen)."""
    if not stream_url:
        return "unconnected", ""
    if not enabled:
        return "disabled", ""
    if health == "online":
        return "recording", ""
    if health == "offline":
        return "offline", reason or ""
    return "unknown", ""


def _camera_rows(session: Session, actor: Actor, ids: Iterable[int] | None = None) -> list[Any]:
    stmt = (select(Camera.id, Camera.name, Camera.site_id, Camera.enabled, Camera.stream_url, Camera.codec,
                   CameraHealth.state, CameraHealth.reason, CameraHealth.codec)
            .join(Site, Site.id == Camera.site_id).outerjoin(CameraHealth, CameraHealth.camera_id == Camera.id)
            .where(actor.scope.clause(Site.jurisdiction_path, Site.id)))
    if ids is not None:
        stmt = stmt.where(Camera.id.in_(sorted(set(ids))))
    return list(session.execute(stmt.order_by(Camera.site_id, Camera.name, Camera.id)))


def tree(*, session: Session, actor: Actor) -> dict[str, list[list[Any]]]:
    """Every site of the actor's scope with its cameras, compact: ``provinces`` [code, name], ``districts``
    [code, name, province index], ``sites`` [code, name, district index], ``cameras`` [id, name, site index,
    state, reason, codec]."""
    actor.require(Perm.LIVE_VIEW)
    sites = list(session.execute(select(Site.id, Site.code, Site.name, Site.jurisdiction_id)
                                 .where(actor.scope.clause(Site.jurisdiction_path, Site.id))
                                 .order_by(Site.name, Site.code)))
    nodes = {j.id: j for j in session.scalars(select(Jurisdiction).where(Jurisdiction.kind.in_(
        ["province", "district"])))}
    districts = sorted({s.jurisdiction_id for s in sites}, key=lambda i: nodes[i].name if i in nodes else "")
    provinces = sorted({p for d in districts if (p := nodes[d].parent_id if d in nodes else None) is not None},
                       key=lambda i: nodes[i].name if i in nodes else "")
    p_index = {p: n for n, p in enumerate(provinces)}
    d_index = {d: n for n, d in enumerate(districts)}
    s_index = {s.id: n for n, s in enumerate(sites)}
    cams = [[r[0], r[1], s_index[r[2]], *camera_state(enabled=r[3], stream_url=r[4], health=r[6], reason=r[7]),
             r[8] or r[5]] for r in _camera_rows(session, actor) if r[2] in s_index]
    return {"provinces": [[nodes[p].code, nodes[p].name] for p in provinces if p in nodes],
            "districts": [[nodes[d].code, nodes[d].name, p_index.get(nodes[d].parent_id or 0, -1)]
                          for d in districts],
            "sites": [[s.code, s.name, d_index[s.jurisdiction_id]] for s in sites],
            "cameras": cams}


@dataclass(frozen=True)
class CameraStatus:
    """A camera's state for a wall tile."""

    camera_id: int
    name: str
    site_code: str
    state: str
    reason: str
    codec: str


def statuses(*, session: Session, actor: Actor, ids: list[int]) -> list[CameraStatus]:
    """The state of each of ``ids`` the actor may watch (others are left out, as if they did not exist)."""
    actor.require(Perm.LIVE_VIEW)
    if len(ids) > MAX_STATUS:
        raise ValidationFailed([FieldError.said("ids", refusals.CAMERAS_AT_A_TIME, most=MAX_STATUS)])
    rows = _camera_rows(session, actor, ids)
    codes = {row[0]: row[1] for row in session.execute(select(Site.id, Site.code).where(
        Site.id.in_({r[2] for r in rows})))} if rows else {}
    return [CameraStatus(r[0], r[1], codes.get(r[2], ""),
                         *camera_state(enabled=r[3], stream_url=r[4], health=r[6], reason=r[7]), r[8] or r[5])
            for r in rows]


def watchable(*, session: Session, actor: Actor, ids: Iterable[int]) -> set[int]:
    """Those of ``ids`` that are cameras in the actor's scope."""
    wanted = set(ids)
    if not wanted:
        return set()
    return {r[0] for r in _camera_rows(session, actor, wanted)}


def check_tiles(*, session: Session, actor: Actor, tiles: list[layouts.Tile]) -> None:
    """Every camera a tile shows exists and is in the actor's scope; ValidationFailed naming the tile otherwise
    (a camera outside the scope is refused exactly as one that does not exist)."""
    ok = watchable(session=session, actor=actor, ids=[t.camera_id for t in tiles if t.camera_id is not None])
    errors = [FieldError.said(f"tiles[{i}].camera_id", refusals.NO_CAMERA, camera=t.camera_id)
              for i, t in enumerate(tiles) if t.camera_id is not None and t.camera_id not in ok]
    if errors:
        raise ValidationFailed(errors)


@dataclass(frozen=True)
class ShownLayout:
    """A layout as one viewer sees it: tiles whose camera is outside their scope lose the camera."""

    layout: WallLayout
    tiles: list[tuple[layouts.Tile, bool]]  # the tile (camera None when not available) and whether it is


def shown(*, session: Session, actor: Actor, rows: list[WallLayout]) -> list[ShownLayout]:
    """The layouts with each tile's camera kept only where the actor may watch it."""
    all_tiles = [(row, layouts.tiles_of(row)) for row in rows]
    ok = watchable(session=session, actor=actor,
                   ids=[t.camera_id for _row, ts in all_tiles for t in ts if t.camera_id is not None])
    out = []
    for row, ts in all_tiles:
        items = [(t, True) if t.camera_id is None or t.camera_id in ok
                 else (layouts.Tile(t.row, t.col, t.rows, t.cols, None), False) for t in ts]
        out.append(ShownLayout(row, items))
    return out


def save(*, session: Session, actor: Actor, layout_id: int | None, version: int | None, name: str, rows: int,
         cols: int, tiles: list[layouts.Tile], shared_role: str | None) -> WallLayout:
    """Create (``layout_id`` None) or change a layout after checking its grid, the role it is shared with and
    that each camera is in the actor's scope."""
    actor.require(Perm.LIVE_VIEW)
    layouts.check_grid(rows, cols, tiles)
    role = layouts.check_role(shared_role)
    if layout_id is None:
        check_tiles(session=session, actor=actor, tiles=tiles)
        return layouts.create(session=session, actor=actor, name=name, rows=rows, cols=cols, tiles=tiles,
                              shared_role=role)
    row = layouts.get_own(session=session, actor=actor, layout_id=layout_id)
    check_tiles(session=session, actor=actor, tiles=tiles)
    return layouts.update(session=session, layout=row, version=version or 0, name=name, rows=rows, cols=cols,
                          tiles=tiles, shared_role=role)


def site_camera_ids(*, session: Session, actor: Actor, code: str) -> list[int]:
    """The cameras of a site in scope, to open the wall with (NotFound when the site is not in scope)."""
    site = site_service.get_site(session=session, actor=actor, code=code, perm=Perm.LIVE_VIEW)
    return list(session.scalars(select(Camera.id).where(Camera.site_id == site.id).order_by(Camera.name, Camera.id)))


def listing(*, session: Session, actor: Actor) -> list[ShownLayout]:
    """The actor's own layouts and those shared with their role, as they may see them."""
    return shown(session=session, actor=actor, rows=layouts.visible(session=session, actor=actor))


def one(*, session: Session, actor: Actor, layout_id: int) -> ShownLayout:
    """One layout the actor sees, as they may see it."""
    return shown(session=session, actor=actor, rows=[layouts.get(session=session, actor=actor,
                                                                 layout_id=layout_id)])[0]


def remove(*, session: Session, actor: Actor, layout_id: int, version: int | None) -> None:
    """Delete one of the actor's own layouts."""
    layouts.delete(session=session, layout=layouts.get_own(session=session, actor=actor, layout_id=layout_id),
                   version=version)
