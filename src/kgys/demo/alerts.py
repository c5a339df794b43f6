"""Demo alerts, so that the operations console is alive on first start: a protected person's press with its
position, a school's panic button in drill mode, a door held open and a camera's recording trouble."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.alerts import raising
from kgys.alerts.raising import Alarm, Position
from kgys.alerts.states import Priority, Source
from kgys.demo.names import FIELD_UNIT_DISTRICT
from kgys.kades import service as kades_service
from kgys.kades.schemas import OrderIn, PressIn
from kgys.sites.models import Site


def seed(session: Session, actor: Actor, rng: random.Random, codes: list[str], today: date) -> None:
    """Raise the demo's alerts (see the module)."""
    order = kades_service.create_order(session=session, actor=actor, data=OrderIn(
        number=f"{today.year}/{rng.randint(1000, 9999)}", court="Merkez 2. Aile Mahkemesi",
        valid_from=today - timedelta(days=20), valid_until=today + timedelta(days=160),
        person_name="Elif Demir", person_phone="+90 555 010 20 30",
        aggressor="Eski eşi Murat D.; gri hafif ticari araç", district=FIELD_UNIT_DISTRICT))
    phone, _token = kades_service.add_phone(session=session, actor=actor, order_id=order.id, label="Elif'in telefonu")
    sites = session.scalars(select(Site).where(Site.code.in_(codes[:40])).order_by(Site.priority, Site.code)).all()
    near = next((s for s in sites if s.latitude is not None), None)
    lat, lon = (near.latitude or 39.93, near.longitude or 32.86) if near else (39.93, 32.86)
    now = datetime.now(UTC)
    kades_service.press(session=session, phone=phone, data=PressIn(
        msg_id="demo-1", at=now, latitude=lat + 0.004, longitude=lon - 0.003, accuracy_m=45, battery=58))
    if len(sites) >= 2:
        raising.raise_alert(session, Alarm(
            source=Source.PANIC, kind="panic_press", priority=Priority.P1, site_id=sites[0].id, device="PB-DEMO-1",
            details="Müdür yardımcısı odası — tatbikat", drill=True, dedup_key="panic:PB-DEMO-1",
            position=Position(sites[0].latitude, sites[0].longitude, 20.0)
            if sites[0].latitude is not None and sites[0].longitude is not None else None), by="demo")
        raising.raise_alert(session, Alarm(
            source=Source.ACCESS, kind="door_held_open", priority=Priority.P3, site_id=sites[1].id,
            device="AC-DEMO-7", details="Bahçe kapısı 4 dakikadır açık", dedup_key="access:AC-DEMO-7:door"), by="demo")
