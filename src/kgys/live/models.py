"""Tables of the live domain: the video wall's saved layouts and the bookmarks investigators put on recordings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kgys.audit.mechanism import Audited
from kgys.db import Base, UTCDateTime, utcnow


class WallLayout(Audited, Base):
    """A video wall layout a user saved: a grid of ``rows`` × ``cols`` cells and the tiles on it, each a
    rectangle of cells with the camera it shows (``tiles``: a list of ``{"row", "col", "rows", "cols",
    "camera_id"}``, cells counted from 0). Its owner sees it; when ``shared_role`` is set, so does every user
    of that role (each only with the cameras of their own scope)."""

    __tablename__ = "wall_layouts"
    __audit_type__ = "wall_layout"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    shared_role: Mapped[str | None] = mapped_column(String(32), index=True)
    rows: Mapped[int] = mapped_column(Integer)
    cols: Mapped[int] = mapped_column(Integer)
    tiles: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class Bookmark(Audited, Base):
    """A mark a viewer put on a camera's recording: a moment (``end`` None) or a stretch, with a note. Whoever may
    play the camera back sees it; its author (or a supervisor) deletes it. Creating and deleting are audited."""

    __tablename__ = "bookmarks"
    __audit_type__ = "bookmark"

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(Integer)
    start: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def audit_site_id(self) -> int | None:
        """Entries about a bookmark belong to its camera's site."""
        return self.site_id
