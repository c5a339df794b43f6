"""Lockdown orders to a site's devices, decided on the alert queue: by an operator (from the console, an alert's
page or the API) or by a CAP message that orders one (:mod:`kgys.alerts.cap`).

Each order is written to the outbox (:func:`kgys.devices.service.order_lockdown`), to the audit log
(``site.lockdown``, with the reason) and, when it is about an alert, to the alert's history as a note — all in the
caller's transaction, so that either all of it is kept or none. The intake publishes the order once it commits.
Services here take keyword-only arguments and an explicit session, and flush.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.alerts import cap
from kgys.alerts import service as alert_service
from kgys.alerts.models import Alert
from kgys.alerts.states import Move
from kgys.audit import service as audit_service
from kgys.audit.actions import AuditAction
from kgys.db import utcnow
from kgys.devices import lockdown
from kgys.devices import service as device_service
from kgys.devices.lockdown import Action
from kgys.devices.models import Downlink
from kgys.errors import FieldError, NotFound, ValidationFailed
from kgys.said import Said, _
from kgys.sites import service as site_service
from kgys.sites.models import Site

# the alert's history note of an order given about it: the order, the sites, the reason typed
NOTES: dict[str, Said] = {"lockdown": _("Lockdown ordered (%(sites)s): %(reason)s"),
                          "all_clear": _("All clear ordered (%(sites)s): %(reason)s")}
AT_MOST = _("at most %(max_length)s characters")
NOT_SENDERS = _("no site %(code)s within the sender's scope")


@dataclass(frozen=True)
class LockdownState:
    """A site's lockdown state: its latest order (None if it never had one) and the ones before."""

    site: Site
    orders: list[Downlink]

    @property
    def current(self) -> Downlink | None:
        """The latest order, which says whether the site is locked down."""
        return self.orders[0] if self.orders else None

    @property
    def locked(self) -> bool:
        """Whether the latest order is a lockdown."""
        return self.current is not None and self.current.action == "lockdown"


def _action(value: str) -> Action:
    for action in lockdown.ACTIONS:
        if action == value:
            return action
    raise ValidationFailed([FieldError("action", "one of " + ", ".join(lockdown.ACTIONS), value=value[:40])])


def _write(session: Session, actor: Actor, site: Site, action: Action, reason: str, *, by: str,
           alert_id: int | None, now: datetime) -> Downlink:
    row = device_service.order_lockdown(session=session, site=site, action=action, reason=reason, by=by,
                                        alert_id=alert_id, now=now)
    audit_service.append(session, actor=actor, action=AuditAction.SITE_LOCKDOWN, object_type="site",
                         object_id=site.code, site_id=site.id, reason=row.reason or None,
                         details={"action": action, "alert_id": alert_id, "downlink_id": row.id, "by": by})
    return row


def order(*, session: Session, actor: Actor, site_code: str, action: str, reason: str, alert_id: int | None = None,
          now: datetime | None = None) -> Downlink:
    """An operator's lockdown order (or all clear) for a site within scope, with a reason; noted in the alert's
    history when ``alert_id`` is given. NotFound for a site (or alert) outside the scope."""
    actor.require(Perm.ALERTS_HANDLE)
    chosen = _action(action)
    reason = reason.strip()
    if not reason:
        raise ValidationFailed([FieldError("reason", "give the reason")])
    if len(reason) > lockdown.REASON_MAX:
        raise ValidationFailed([FieldError.said("reason", AT_MOST, max_length=lockdown.REASON_MAX)])
    site = site_service.get_site(session=session, actor=actor, code=site_code, perm=Perm.ALERTS_HANDLE)
    now = now or utcnow()
    if alert_id is not None:
        alert = alert_service.get_alert(session=session, actor=actor, alert_id=alert_id).alert
        if alert.site_id not in (None, site.id):
            raise ValidationFailed([FieldError("alert_id", "the alert is about another site", value=str(alert_id))])
    row = _write(session, actor, site, chosen, reason, by=actor.username, alert_id=alert_id, now=now)
    if alert_id is not None:
        alert_service.act(session=session, actor=actor, alert_id=alert_id, move=Move.NOTE,
                          note=NOTES[chosen].english(sites=site.code, reason=reason), now=now)
    return row


def state(*, session: Session, actor: Actor, site_code: str, limit: int = 5) -> LockdownState:
    """A site's lockdown state for someone who reads the alert queue; NotFound outside the scope."""
    site = site_service.get_site(session=session, actor=actor, code=site_code, perm=Perm.ALERTS_READ)
    return LockdownState(site, device_service.last_orders(session=session, site_id=site.id, limit=limit))


def take_cap(*, session: Session, actor: Actor, message: cap.CapMessage) -> tuple[Alert | None, int, list[str]]:
    """Take a CAP message into the queue (:func:`kgys.alerts.cap.take`) and write the lockdown orders it gives for
    its sites; the alert, how many alerts a Cancel closed, and the codes of the sites ordered. A site outside the
    sender's scope refuses the whole message (nothing is kept)."""
    alert, cleared = cap.take(session=session, actor=actor, message=message)
    if message.lockdown is None or not message.lockdown_sites:
        return alert, cleared, []
    chosen = _action(message.lockdown)
    sites: list[Site] = []
    for code in message.lockdown_sites:
        try:
            sites.append(site_service.get_site(session=session, actor=actor, code=code, perm=Perm.ALERTS_HANDLE))
        except NotFound:
            raise ValidationFailed([FieldError.said("area.geocode", NOT_SENDERS, code=code)]
                                   ) from None
    prefix = "[Exercise] " if message.status == "Exercise" else ""
    reason = f"{prefix}CAP {message.event}: {message.headline or message.identifier}"[:lockdown.REASON_MAX]
    by = f"cap:{message.sender}"[:80]
    now = utcnow()
    for site in sites:
        _write(session, actor, site, chosen, reason, by=by, alert_id=alert.id if alert else None, now=now)
    if alert is not None:
        alert_service.act(session=session, actor=actor, alert_id=alert.id, move=Move.NOTE,
                          note=NOTES[chosen].english(sites=", ".join(s.code for s in sites), reason=reason)[:2000],
                          now=now)
    return alert, cleared, [s.code for s in sites]
