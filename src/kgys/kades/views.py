"""HTTP API of KADES: protection orders and phones for those who manage them, and the app's two calls.

The app authenticates with ``Authorization: Device <token>`` (the token shown once when the phone was registered)
and is answered ``202 {"received": true}`` — for a press, a repeat of one, or a position — and nothing else.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request

from kgys.accounts.actor import district_of
from kgys.db import utcnow
from kgys.errors import AuthenticationError
from kgys.kades import service
from kgys.kades.models import KadesPhone, ProtectionOrder
from kgys.kades.schemas import OrderDetailOut, OrderIn, OrderOut, PhoneIn, PhoneOut, PressIn, Received
from kgys.web.contract import errors
from kgys.web.deps import DB, CurrentActor
from kgys.web.routing import Router

router = Router(tags=["kades"])
app_router = Router(tags=["kades app"])

OrderId = Annotated[int, Path(ge=1, le=2_147_483_647)]


def order_out(order: ProtectionOrder, phones: int, today: date) -> OrderOut:
    """The listed shape of an order."""
    return OrderOut(id=order.id, number=order.number, court=order.court, valid_from=order.valid_from,
                    valid_until=order.valid_until, person_name=order.person_name, person_phone=order.person_phone,
                    district=district_of(order.jurisdiction_path) or "", phones=phones,
                    in_force=service.in_force(order, today))


@router.post("/kades/orders", response_model=OrderOut, status_code=201, responses=errors(409, 422))
def create_order(body: OrderIn, session: DB, actor: CurrentActor) -> OrderOut:
    """Register a protection order for a district within your scope (audited)."""
    return order_out(service.create_order(session=session, actor=actor, data=body), 0, utcnow().date())


@router.get("/kades/orders", response_model=list[OrderOut])
def list_orders(session: DB, actor: CurrentActor) -> list[OrderOut]:
    """The orders of your scope, newest first."""
    today = utcnow().date()
    return [order_out(o, n, today) for o, n in service.list_orders(session=session, actor=actor)]


@router.post("/kades/orders/{order_id}/read", response_model=OrderDetailOut, responses=errors(404, 422))
def read_order(order_id: OrderId, session: DB, actor: CurrentActor,
               reason: Annotated[str, Query(min_length=3, max_length=500, description="Why you read it")]
               ) -> OrderDetailOut:
    """An order with the description of the person it protects from; the reading is audited with the reason."""
    order = service.get_order(session=session, actor=actor, order_id=order_id, reason=reason)
    listed = order_out(order, service.phone_count(session, order.id), utcnow().date())
    return OrderDetailOut(**listed.model_dump(), aggressor=order.aggressor)


@router.post("/kades/orders/{order_id}/phones", response_model=PhoneOut, status_code=201, responses=errors(404))
def add_phone(order_id: OrderId, body: PhoneIn, session: DB, actor: CurrentActor) -> PhoneOut:
    """Register a phone against the order; the token is in this answer only."""
    phone, token = service.add_phone(session=session, actor=actor, order_id=order_id, label=body.label)
    return PhoneOut(id=phone.id, order_id=phone.order_id, label=phone.label, enabled=phone.enabled, token=token)


@router.post("/kades/phones/{phone_id}/disable", response_model=PhoneOut, responses=errors(404))
def disable_phone(phone_id: Annotated[int, Path(ge=1, le=2_147_483_647)], session: DB,
                  actor: CurrentActor) -> PhoneOut:
    """Stop taking the phone's messages (a lost phone, an order ended)."""
    phone = service.disable_phone(session=session, actor=actor, phone_id=phone_id)
    return PhoneOut(id=phone.id, order_id=phone.order_id, label=phone.label, enabled=phone.enabled)


# --- the app -------------------------------------------------------------------------------------------------------


def _phone(request: Request, session: DB) -> KadesPhone:
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth.lower().startswith("device ") else ""
    phone = service.phone_for(session, token) if token else None
    if phone is None:
        raise AuthenticationError("unknown or disabled device")
    return phone


Phone = Annotated[KadesPhone, Depends(_phone)]


DEVICE: dict[str, Any] = {"security": [{"device": []}]}


@app_router.post("/kades/app/press", response_model=Received, status_code=202, responses=errors(401, 422),
                 openapi_extra=DEVICE)
def app_press(body: PressIn, session: DB, phone: Phone) -> Received:
    """A press in the app: a P1 alert of the order's district, stored before this answer."""
    service.press(session=session, phone=phone, data=body)
    return Received()


@app_router.post("/kades/app/position", response_model=Received, status_code=202, responses=errors(401, 422),
                 openapi_extra=DEVICE)
def app_position(body: PressIn, session: DB, phone: Phone) -> Received:
    """The phone's position while its alert is open."""
    service.position(session=session, phone=phone, data=body)
    return Received()
