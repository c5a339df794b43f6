"""A camera's recordings as a caller reads them: the camera found within the caller's scope
(:func:`kgys.cameras.flows.systems.get_camera`), its segments, gaps, coverage, health, alerts and the check of
its hash chain read by :mod:`kgys.recording.service`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.cameras.flows import systems as camera_flows
from kgys.cameras.models import CameraHealth
from kgys.recording import service
from kgys.recording.models import Gap, Segment
from kgys.recording.service import ChainReport
from kgys.recording.storage import Storage


def _camera(session: Session, actor: Actor, camera_id: int) -> None:
    camera_flows.get_camera(session=session, actor=actor, camera_id=camera_id)


def segments(*, session: Session, actor: Actor, camera_id: int, start: datetime, end: datetime) -> list[Segment]:
    """The camera's segments that overlap [start, end), oldest first."""
    service.check_range(start, end)
    _camera(session, actor, camera_id)
    return service.segments(session=session, camera_id=camera_id, start=start, end=end)


def gaps(*, session: Session, actor: Actor, camera_id: int, start: datetime, end: datetime) -> list[Gap]:
    """The camera's gaps that overlap [start, end) (open gaps reach to now), oldest first."""
    service.check_range(start, end)
    _camera(session, actor, camera_id)
    return service.gaps(session=session, camera_id=camera_id, start=start, end=end)


def coverage(*, session: Session, actor: Actor, camera_id: int, start: datetime,
             end: datetime) -> list[tuple[datetime, float]]:
    """Per UTC hour of [start, end): the fraction of time the camera has recorded footage for."""
    service.check_range(start, end)
    _camera(session, actor, camera_id)
    return service.coverage(session=session, camera_id=camera_id, start=start, end=end)


def health(*, session: Session, actor: Actor, camera_id: int) -> CameraHealth | None:
    """The camera's recording state and measured stream properties."""
    _camera(session, actor, camera_id)
    return service.health(session=session, camera_id=camera_id)




def verify(*, session: Session, actor: Actor, storage: Storage, camera_id: int, start: datetime,
           end: datetime) -> ChainReport:
    """Recompute every stored segment's hash in [start, end) and check each link of the chain."""
    service.check_range(start, end)
    _camera(session, actor, camera_id)
    return service.verify(session=session, storage=storage, camera_id=camera_id, start=start, end=end)
