"""Protection orders and the phones registered against them (staff), and what the app sends (a press, positions).

A press is never dropped: it becomes a P1 alert of the order's district, with the phone's position (a position
outside Turkey is left out and the alert says so), the protected person to call back, and flags for an order no
longer in force or a phone clock far off (the alert then carries our time). Repeated presses of one phone within
half an hour merge into its open alert. A position update moves the open alert's position. The app is told only
that the message arrived: nothing it could show to someone holding the phone.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kgys import tokens
from kgys.accounts.actor import Actor
from kgys.accounts.models import Jurisdiction
from kgys.accounts.permissions import Perm
from kgys.alerts import raising
from kgys.alerts.models import Alert
from kgys.alerts.raising import Alarm, Position
from kgys.alerts.states import OPEN, Move, Priority, Source
from kgys.audit import service as audit_service
from kgys.audit.actions import AuditAction
from kgys.audit.mechanism import acting_as
from kgys.db import utcnow
from kgys.errors import Conflict, FieldError, NotFound, ValidationFailed
from kgys.geo import in_turkey
from kgys.kades.models import KadesMessage, KadesPhone, ProtectionOrder
from kgys.kades.schemas import OrderIn, PressIn
from kgys.said import _

log = logging.getLogger(__name__)

POSITION_NOTE = _("position")  # the history note of a newer position sent for a press


class KadesKind(StrEnum):
    """The kinds of alert a protected person's phone raises (the stored value)."""

    PRESS = "kades_press"


KIND = KadesKind.PRESS
MERGE_WINDOW = timedelta(minutes=30)
CLOCK_SLACK = timedelta(hours=1)
def in_force(order: ProtectionOrder, today: date) -> bool:
    """Whether the order is in force on ``today``."""
    return order.valid_from <= today <= order.valid_until


# --- staff ---------------------------------------------------------------------------------------------------------


def create_order(*, session: Session, actor: Actor, data: OrderIn) -> ProtectionOrder:
    """Register an order for a district within the actor's scope."""
    actor.require(Perm.KADES_MANAGE)
    district = session.scalar(select(Jurisdiction).where(Jurisdiction.code == data.district,
                                                         Jurisdiction.kind == "district"))
    if district is None or not actor.scope.covers_path(district.path):
        raise ValidationFailed([FieldError("district", "no such district within your scope")])
    if session.scalar(select(ProtectionOrder.id).where(ProtectionOrder.number == data.number)) is not None:
        raise Conflict(f"An order numbered {data.number} is registered already.", number=data.number)
    order = ProtectionOrder(number=data.number, court=data.court, valid_from=data.valid_from,
                            valid_until=data.valid_until, person_name=data.person_name,
                            person_phone=data.person_phone, aggressor=data.aggressor, jurisdiction_id=district.id,
                            jurisdiction_path=district.path, created_by=actor.username)
    with acting_as(session, actor):
        session.add(order)
        session.flush()
    return order


def list_orders(*, session: Session, actor: Actor) -> list[tuple[ProtectionOrder, int]]:
    """The orders of the actor's scope with how many phones each has, newest first."""
    actor.require(Perm.KADES_MANAGE)
    phones = (select(func.count()).select_from(KadesPhone).where(KadesPhone.order_id == ProtectionOrder.id)
              .scalar_subquery())
    rows = session.execute(select(ProtectionOrder, phones)
                           .where(actor.scope.clause(ProtectionOrder.jurisdiction_path))
                           .order_by(ProtectionOrder.id.desc())).all()
    return [(o, int(n)) for o, n in rows]


def phone_count(session: Session, order_id: int) -> int:
    """How many phones are registered against the order."""
    return int(session.scalar(select(func.count()).select_from(KadesPhone).where(KadesPhone.order_id == order_id))
               or 0)


def get_order(*, session: Session, actor: Actor, order_id: int, reason: str | None = None) -> ProtectionOrder:
    """One order of the actor's scope; with ``reason``, the reading of its sensitive parts is audited."""
    actor.require(Perm.KADES_MANAGE)
    order = session.scalar(select(ProtectionOrder).where(
        ProtectionOrder.id == order_id, actor.scope.clause(ProtectionOrder.jurisdiction_path)))
    if order is None:
        raise NotFound("No such protection order.", order_id=order_id)
    if reason is not None:
        audit_service.record_access(session, actor=actor, action=AuditAction.PROTECTION_ORDER_VIEW,
                                    object_type="protection_order", object_id=order.id, site_id=None,
                                    reason=reason)
    return order


def add_phone(*, session: Session, actor: Actor, order_id: int, label: str = "") -> tuple[KadesPhone, str]:
    """Register a phone against the order; the phone and its token (to be shown once)."""
    order = get_order(session=session, actor=actor, order_id=order_id)
    token = tokens.new_token()
    phone = KadesPhone(order_id=order.id, label=label, token_hash=tokens.token_hash(token))
    session.add(phone)
    session.flush()
    audit_service.append(session, actor=actor, action=AuditAction.KADES_PHONE_REGISTER, object_type="kades_phone",
                         object_id=phone.id, details={"order": order.number, "label": label})
    return phone, token


def disable_phone(*, session: Session, actor: Actor, phone_id: int) -> KadesPhone:
    """Stop taking the phone's messages."""
    phone = session.get(KadesPhone, phone_id)
    if phone is None:
        raise NotFound("No such phone.", phone_id=phone_id)
    get_order(session=session, actor=actor, order_id=phone.order_id)  # scope
    phone.enabled = False
    audit_service.append(session, actor=actor, action=AuditAction.KADES_PHONE_DISABLE, object_type="kades_phone",
                         object_id=phone.id)
    session.flush()
    return phone


# --- the app -------------------------------------------------------------------------------------------------------


def phone_for(session: Session, token: str) -> KadesPhone | None:
    """The enabled phone holding ``token``."""
    return session.scalar(select(KadesPhone).where(KadesPhone.token_hash == tokens.token_hash(token),
                                                   KadesPhone.enabled.is_(True)))


def _first_time(session: Session, phone: KadesPhone, msg_id: str, now: datetime) -> bool:
    """Note the message; False when it was taken before (the app sent it again)."""
    try:
        with session.begin_nested():
            session.add(KadesMessage(phone_id=phone.id, msg_id=msg_id, received_at=now))
            session.flush()
    except IntegrityError:
        return False
    return True


def _seen(phone: KadesPhone, data: PressIn, now: datetime) -> None:
    phone.last_seen_at = now
    if data.latitude is not None and data.longitude is not None and in_turkey(data.latitude, data.longitude):
        phone.last_latitude, phone.last_longitude = data.latitude, data.longitude
    if data.battery is not None:
        phone.battery = data.battery


def press(*, session: Session, phone: KadesPhone, data: PressIn, now: datetime | None = None) -> Alert | None:
    """Take a press (see the module); the alert, or None when this message was taken before."""
    now = now or utcnow()
    if not _first_time(session, phone, data.msg_id, now):
        return None
    order = session.get(ProtectionOrder, phone.order_id)
    assert order is not None
    flags: list[str] = []
    position = None
    if data.latitude is not None and data.longitude is not None:
        if in_turkey(data.latitude, data.longitude):
            position = Position(data.latitude, data.longitude, data.accuracy_m)
        else:
            flags.append("position outside Türkiye left out")
            log.warning("KADES phone %s: position %s,%s outside Türkiye", phone.id, data.latitude, data.longitude)
    raised_at = data.at
    if abs(data.at - now) > CLOCK_SLACK:
        flags.append(f"phone clock off by {int(abs((data.at - now).total_seconds()))} s")
        raised_at = now
    if not in_force(order, now.date()):
        flags.append("order not in force")
    _seen(phone, data, now)
    details = f"KADES — {order.person_name}, {order.person_phone}" + (f" ({'; '.join(flags)})" if flags else "")
    return raising.raise_alert(session, Alarm(
        source=Source.KADES, kind=KIND, priority=Priority.P1, details=details, device=f"kades-{phone.id}",
        position=position, raised_at=raised_at, scope_path=order.jurisdiction_path,
        dedup_key=f"kades:{phone.id}", window=MERGE_WINDOW,
        data={"order": order.number, "court": order.court, "person": order.person_name,
              "call_back": order.person_phone, "order_in_force": in_force(order, now.date()),
              "battery": data.battery, "flags": flags}), by=f"kades-phone:{phone.id}", now=now)


def position(*, session: Session, phone: KadesPhone, data: PressIn, now: datetime | None = None) -> Alert | None:
    """Take a position update; the open alert it moved, if any. A position outside Türkiye is refused."""
    now = now or utcnow()
    if data.latitude is None or data.longitude is None:
        raise ValidationFailed([FieldError("latitude", "a position update needs latitude and longitude")])
    if not in_turkey(data.latitude, data.longitude):
        raise ValidationFailed([FieldError("latitude", "outside Türkiye")])
    if not _first_time(session, phone, data.msg_id, now):
        return None
    _seen(phone, data, now)
    alert = session.scalar(select(Alert).where(Alert.open_key == f"kades:{phone.id}",
                                               Alert.state.in_(sorted(OPEN))))
    if alert is None:
        return None
    alert.latitude, alert.longitude, alert.accuracy_m = data.latitude, data.longitude, data.accuracy_m
    alert.last_at, alert.version = now, alert.version + 1
    if data.battery is not None:
        alert.data = {**alert.data, "battery": data.battery}
    session.flush()
    raising.record(session, alert, Move.UPDATE, by=f"kades-phone:{phone.id}", before=alert.state, at=now,
                   note=POSITION_NOTE.english())
    raising.tell(session, alert, Move.UPDATE)
    return alert
