"""The video wall's saved layouts within the live domain: the grid rules (pure) and the layout rows a user owns
or that are shared with their role.

A layout is a grid of ``rows`` × ``cols`` cells (each 1 to :data:`MAX_SIDE`) and its tiles, rectangles of cells
that must lie within the grid and not overlap. Which cameras a layout may show (those in the viewer's scope) is
checked by :mod:`kgys.live.flows.wall`; the changes themselves are written to the audit log by the mechanism
(``wall_layout.create``, ``.update``, ``.delete``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm, Role, allows
from kgys.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from kgys.live import refusals
from kgys.live.models import WallLayout

MAX_SIDE = 6
CHANGED = "This layout was changed meanwhile: load it again."


@dataclass(frozen=True)
class Tile:
    """A rectangle of cells (counted from 0) and the camera it shows (None: empty)."""

    row: int
    col: int
    rows: int = 1
    cols: int = 1
    camera_id: int | None = None

    def cells(self) -> set[tuple[int, int]]:
        """The cells the tile covers."""
        return {(r, c) for r in range(self.row, self.row + self.rows) for c in range(self.col, self.col + self.cols)}

    def as_dict(self) -> dict[str, Any]:
        """The stored form."""
        return {"row": self.row, "col": self.col, "rows": self.rows, "cols": self.cols, "camera_id": self.camera_id}


def check_grid(rows: int, cols: int, tiles: list[Tile]) -> None:
    """ValidationFailed naming the field when the grid is out of bounds or a tile lies outside it or overlaps
    another."""
    errors: list[FieldError] = []
    for name, value in (("rows", rows), ("cols", cols)):
        if not 1 <= value <= MAX_SIDE:
            errors.append(FieldError.said(name, refusals.SIDE, most=MAX_SIDE))
    if errors:
        raise ValidationFailed(errors)
    taken: dict[tuple[int, int], int] = {}
    for i, tile in enumerate(tiles):
        if tile.row < 0 or tile.col < 0 or tile.rows < 1 or tile.cols < 1 \
                or tile.row + tile.rows > rows or tile.col + tile.cols > cols:
            errors.append(FieldError.said(f"tiles[{i}]", refusals.OUTSIDE_GRID, rows=rows, cols=cols))
            continue
        clash = sorted({taken[c] for c in tile.cells() if c in taken})
        if clash:
            errors.append(FieldError.said(f"tiles[{i}]", refusals.OVERLAPS, tile=clash[0]))
        taken.update(dict.fromkeys(tile.cells(), i))
    if errors:
        raise ValidationFailed(errors)


def share_roles() -> list[str]:
    """The roles a layout may be shared with: those that watch live video."""
    return [r.value for r in Role if allows(r.value, Perm.LIVE_VIEW)]


def check_role(role: str | None) -> str | None:
    """A role to share with: one that may watch live video; ValidationFailed naming ``shared_role`` otherwise."""
    if role is None:
        return None
    if role not in share_roles():
        raise ValidationFailed([FieldError.said("shared_role", refusals.NOT_WATCHING, role=role)])
    return role


def visible(*, session: Session, actor: Actor) -> list[WallLayout]:
    """The actor's own layouts and those shared with their role, by name."""
    actor.require(Perm.LIVE_VIEW)
    return list(session.scalars(select(WallLayout).where(
        or_(WallLayout.owner_id == actor.id, WallLayout.shared_role == actor.role))
        .order_by(WallLayout.name, WallLayout.id)))


def get(*, session: Session, actor: Actor, layout_id: int) -> WallLayout:
    """A layout the actor sees (their own or shared with their role); NotFound otherwise."""
    actor.require(Perm.LIVE_VIEW)
    found = session.get(WallLayout, layout_id)
    if found is None or not (found.owner_id == actor.id or found.shared_role == actor.role):
        raise NotFound(f"no layout {layout_id}")
    return found


def get_own(*, session: Session, actor: Actor, layout_id: int) -> WallLayout:
    """A layout the actor may change: only its owner may; others who see it are refused."""
    found = get(session=session, actor=actor, layout_id=layout_id)
    if found.owner_id != actor.id:
        raise PermissionDenied("only the user who saved this layout may change it")
    return found


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(CHANGED) from exc
    except IntegrityError as exc:
        raise Conflict("the layout could not be saved") from exc


def create(*, session: Session, actor: Actor, name: str, rows: int, cols: int, tiles: list[Tile],
           shared_role: str | None) -> WallLayout:
    """Save a new layout of the actor's (grid and tiles already checked)."""
    actor.require(Perm.LIVE_VIEW)
    if actor.id is None:
        raise PermissionDenied("a layout belongs to a user")
    row = WallLayout(name=name, owner_id=actor.id, shared_role=shared_role, rows=rows, cols=cols,
                     tiles=[t.as_dict() for t in tiles])
    session.add(row)
    _flush(session)
    return row


def update(*, session: Session, layout: WallLayout, version: int, name: str, rows: int, cols: int,
           tiles: list[Tile], shared_role: str | None) -> WallLayout:
    """Change a layout read at ``version``; Conflict when it changed since."""
    if version != layout.version:
        raise Conflict(CHANGED, version=layout.version)
    layout.name, layout.rows, layout.cols, layout.shared_role = name, rows, cols, shared_role
    layout.tiles = [t.as_dict() for t in tiles]
    _flush(session)
    return layout


def delete(*, session: Session, layout: WallLayout, version: int | None) -> None:
    """Delete a layout (read at ``version``, when given)."""
    if version is not None and version != layout.version:
        raise Conflict(CHANGED, version=layout.version)
    session.delete(layout)
    _flush(session)


def tiles_of(layout: WallLayout) -> list[Tile]:
    """The stored tiles of a layout."""
    return [Tile(int(t["row"]), int(t["col"]), int(t.get("rows", 1)), int(t.get("cols", 1)),
                 int(t["camera_id"]) if t.get("camera_id") is not None else None) for t in layout.tiles]
