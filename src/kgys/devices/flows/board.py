"""The supervisor's board, assembled here because it reads the devices (the devices domain builds on the alert
queue, never the reverse): the queue's board (:func:`kgys.alerts.reports.board`), which operators'
consoles are connected (:mod:`kgys.alerts.consoles`; an operator holding alerts with no console connected is
flagged), and the devices offline in the supervisor's scope with the count of devices in each state (the devices
domain's :func:`~kgys.devices.service.offline_in_scope`).

Scope applies: a district's supervisor sees the district's alerts and devices, and the consoles of operators
whose whole scope lies within theirs (and of anyone holding one of the district's alerts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts import service as account_service
from kgys.accounts.actor import Actor
from kgys.accounts.models import User
from kgys.accounts.permissions import Perm
from kgys.alerts import consoles, reports
from kgys.db import utcnow
from kgys.devices import service as device_service
from kgys.devices.service import OfflineDevice


@dataclass(frozen=True)
class OperatorLoad:
    """An operator on the board: what they hold (:class:`~kgys.alerts.reports.Load`) and their consoles."""

    load: reports.Load
    consoles: int
    since: datetime | None  # when the oldest of their connected consoles connected

    @property
    def unattended(self) -> bool:
        """Holding alerts with no console connected."""
        return self.load.holding > 0 and self.consoles == 0


@dataclass(frozen=True)
class SupervisorBoard:
    """Everything on the supervisor's board."""

    queue: reports.Board
    operators: list[OperatorLoad]
    devices_offline: list[OfflineDevice]
    devices_by_state: dict[str, int]


def _covered(session: Session, actor: Actor, present: list[consoles.Present]) -> set[str]:
    """The operators of connected consoles whose whole scope lies within the actor's."""
    ids = sorted({c.user_id for c in present if c.user_id is not None})
    users = session.scalars(select(User).where(User.id.in_(ids))).all() if ids else []
    return {u.username for u in users if account_service.covers_user(session, actor, u)}


def board(*, session: Session, actor: Actor, heartbeat_seconds: float, offline_factor: float,
          now: datetime | None = None) -> SupervisorBoard:
    """The supervisor's board as the actor may see it (see the module)."""
    actor.require(Perm.ALERTS_SUPERVISE)
    now = now or utcnow()
    present = consoles.present(session=session, now=now, heartbeat_seconds=heartbeat_seconds)
    covered = _covered(session, actor, present)
    queue = reports.board(session=session, actor=actor, now=now, also=sorted(covered))
    holders = {x.operator for x in queue.loads if x.holding}
    seen = [c for c in present if c.username in covered or c.username in holders]
    by_user: dict[str, list[consoles.Present]] = {}
    for c in seen:
        by_user.setdefault(c.username, []).append(c)
    operators = [OperatorLoad(load=x, consoles=len(by_user.get(x.operator, [])),
                              since=min((c.opened_at for c in by_user.get(x.operator, [])), default=None))
                 for x in queue.loads]
    operators.sort(key=lambda o: (not o.unattended, -o.load.holding, o.load.operator))
    offline: list[OfflineDevice] = []
    counts: dict[str, int] = dict.fromkeys(device_service.DEVICE_STATES, 0)
    if actor.can(Perm.CAMERAS_READ):
        offline, counts = device_service.offline_in_scope(session=session, actor=actor, now=now,
                                                          factor=offline_factor)
    return SupervisorBoard(queue=queue, operators=operators, devices_offline=offline, devices_by_state=counts)
