"""Floor plans of a site: images (PNG, JPEG, WebP) kept in ``DATA_DIR/floor-plans/<sha256>.<ext>``, their
metadata in ``site_floor_plans`` (audited).

An upload is first written whole to a temporary file in that folder (:class:`Upload`, counting and hashing as it
goes and refusing more than the limit), then checked by its bytes (:mod:`kgys.sites.floorplan_images`) and only
then renamed to its final name, so that no half-written image is ever served; the same image uploaded twice is kept
once. Uploading and removing need the right to edit the site; reading, to read it. A site or plan outside the
scope is answered as one that does not exist. Services take keyword-only arguments and an explicit session, and
flush.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.db import utcnow
from kgys.errors import FieldError, NotFound, ValidationFailed
from kgys.said import _
from kgys.sites import service as site_service
from kgys.sites.floorplan_images import ImageInfo, ImageRefused, identify
from kgys.sites.models import FloorPlan, Site
from kgys.validation import unsafe_character

log = logging.getLogger(__name__)

FOLDER = "floor-plans"
TITLE_MAX = 120
MAX_PLANS = 50
LARGER_THAN = _("the image is larger than %(mb)s MB")
AT_MOST = _("at most %(max_length)s characters")
AT_MOST_PLANS = _("a site has at most %(most)s floor plans")
BETWEEN = _("between 1 and %(most)s")
CHUNK = 64 * 1024
CONTENT_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def folder(data_dir: Path) -> Path:
    """Where floor plan images are kept."""
    return data_dir / FOLDER


def image_path(data_dir: Path, plan: FloorPlan) -> Path:
    """The file of a plan's image."""
    return folder(data_dir) / f"{plan.sha256}.{CONTENT_TYPES[plan.content_type]}"


def _too_large(limit: int) -> ValidationFailed:
    return ValidationFailed([FieldError.said("image", LARGER_THAN, mb=limit // (1024 * 1024))])


@dataclass
class Upload:
    """An uploaded image written whole to a temporary file beside the kept ones: its size and SHA-256."""

    path: Path
    size: int
    sha256: str

    @classmethod
    def receive(cls, source: BinaryIO | Iterable[bytes], *, data_dir: Path, limit: int) -> Upload:
        """Copy ``source`` (a file or chunks) to a temporary file, refusing (and removing it) past ``limit``
        bytes."""
        target = folder(data_dir)
        target.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".upload-", dir=target)
        digest, size = hashlib.sha256(), 0
        chunks = iter(lambda: source.read(CHUNK), b"") if hasattr(source, "read") else iter(source)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        raise _too_large(limit)
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return cls(Path(name), size, digest.hexdigest())

    def discard(self) -> None:
        """Remove the temporary file (the upload was refused)."""
        self.path.unlink(missing_ok=True)


def _title(title: str) -> str:
    title = title.strip()
    if not title:
        raise ValidationFailed([FieldError("title", "give the plan a title (a floor or a building)")])
    if len(title) > TITLE_MAX:
        raise ValidationFailed([FieldError.said("title", AT_MOST, max_length=TITLE_MAX)])
    if unsafe_character(title) is not None:
        raise ValidationFailed([FieldError("title", "contains a control or invisible character")])
    return title


def _keep(upload: Upload, info: ImageInfo, data_dir: Path) -> None:
    """Rename the checked upload to its final name (atomically; the same image again replaces itself)."""
    final = folder(data_dir) / f"{upload.sha256}.{info.ext}"
    os.replace(upload.path, final)


def add(*, session: Session, actor: Actor, site_code: str, title: str, upload: Upload, data_dir: Path,
        now: datetime | None = None) -> FloorPlan:
    """Keep an uploaded floor plan of a site the actor may edit; the upload is removed if refused (the field
    ``image`` or ``title`` named)."""
    try:
        site = site_service.get_site(session=session, actor=actor, code=site_code, perm=Perm.SITES_EDIT)
        title = _title(title)
        try:
            info = identify(upload.path.read_bytes())
        except ImageRefused as exc:
            raise ValidationFailed([FieldError("image", str(exc))]) from None
        count, last = session.execute(select(func.count(FloorPlan.id), func.max(FloorPlan.position))
                                      .where(FloorPlan.site_id == site.id)).one()
        if count >= MAX_PLANS:
            raise ValidationFailed([FieldError.said("image", AT_MOST_PLANS, most=MAX_PLANS)])
        plan = FloorPlan(site_id=site.id, title=title, position=(last or 0) + 1, content_type=info.content_type,
                         size=upload.size, width=info.width, height=info.height, sha256=upload.sha256,
                         uploaded_at=now or utcnow(), uploaded_by=actor.username[:64])
        session.add(plan)
        session.flush()
        _keep(upload, info, data_dir)
    except BaseException:
        upload.discard()
        raise
    return plan


def list_plans(*, session: Session, actor: Actor, site_code: str) -> tuple[Site, list[FloorPlan]]:
    """A site's floor plans in their order, for one who may read the site."""
    site = site_service.get_site(session=session, actor=actor, code=site_code)
    plans = session.scalars(select(FloorPlan).where(FloorPlan.site_id == site.id)
                            .order_by(FloorPlan.position, FloorPlan.id)).all()
    return site, list(plans)


def get_plan(*, session: Session, actor: Actor, site_code: str, plan_id: int, perm: Perm = Perm.SITES_READ
             ) -> FloorPlan:
    """One floor plan of a site within scope; NotFound otherwise."""
    site = site_service.get_site(session=session, actor=actor, code=site_code, perm=perm)
    plan = session.scalar(select(FloorPlan).where(FloorPlan.id == plan_id, FloorPlan.site_id == site.id))
    if plan is None:
        raise NotFound("No such floor plan.", plan_id=plan_id)
    return plan


def remove(*, session: Session, actor: Actor, site_code: str, plan_id: int, data_dir: Path) -> FloorPlan:
    """Remove a floor plan of a site the actor may edit; its image file goes once the removal is committed and no
    other plan shows the same image."""
    plan = get_plan(session=session, actor=actor, site_code=site_code, plan_id=plan_id, perm=Perm.SITES_EDIT)
    path = image_path(data_dir, plan)
    session.delete(plan)
    session.flush()
    shared = session.scalar(select(func.count(FloorPlan.id)).where(FloorPlan.sha256 == plan.sha256))
    if not shared:
        event.listen(session, "after_commit", lambda _s: path.unlink(missing_ok=True), once=True)
    return plan



def change(*, session: Session, actor: Actor, site_code: str, plan_id: int, title: str | None = None,
           position: int | None = None) -> FloorPlan:
    """Rename a floor plan and/or put it at ``position`` (1 = first) among its site's, the others keeping their
    order."""
    plan = get_plan(session=session, actor=actor, site_code=site_code, plan_id=plan_id, perm=Perm.SITES_EDIT)
    if title is not None:
        plan.title = _title(title)
    if position is not None:
        _site, plans = list_plans(session=session, actor=actor, site_code=site_code)
        if not 1 <= position <= len(plans):
            raise ValidationFailed([FieldError.said("position", BETWEEN, value=str(position), most=len(plans))])
        plans.remove(plan)
        plans.insert(position - 1, plan)
        for i, each in enumerate(plans, start=1):
            if each.position != i:
                each.position = i
    session.flush()
    return plan
