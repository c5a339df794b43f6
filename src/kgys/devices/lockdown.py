"""Lockdown orders to a site's devices on ``kgys/v1/sites/{code}/lockdown`` (QoS 1): the message, and when to try
again.

An order (``lockdown`` or its end, ``all_clear``) is decided by an operator or by a CAP message
(:mod:`kgys.devices.flows.lockdown`) and written to the outbox (:class:`kgys.devices.models.Downlink`) in the same
transaction; the intake publishes it (:mod:`kgys.devices.outbox`). The body carries a ``msg_id`` by which a device
recognises an order it hears twice (QoS 1 delivers at least once).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Literal

from kgys.devices import payloads
from kgys.devices.link import Link

Action = Literal["lockdown", "all_clear"]
ACTIONS: tuple[Action, ...] = ("lockdown", "all_clear")
REASON_MAX = 200
RETRY_FIRST_SECONDS = 0.2
RETRY_MAX_SECONDS = 5.0


def message(*, site_code: str, action: Action, reason: str, at: datetime, msg_id: str | None = None
            ) -> tuple[str, bytes]:
    """The topic and JSON body of a lockdown order (or its end) for a site's devices."""
    body = {"msg_id": msg_id or uuid.uuid4().hex, "at": at.isoformat(), "action": action,
            "reason": reason[:REASON_MAX]}
    return payloads.lockdown_topic(site_code), json.dumps(body).encode()


def retry_after(failures: int) -> float:
    """Seconds to wait before trying again after ``failures`` failed attempts in a row: doubling from
    :data:`RETRY_FIRST_SECONDS` up to :data:`RETRY_MAX_SECONDS`."""
    if failures <= 0:
        return 0.0
    return float(min(RETRY_FIRST_SECONDS * 2 ** min(failures - 1, 16), RETRY_MAX_SECONDS))


def send(link: Link, *, site_code: str, action: Action, reason: str, at: datetime) -> str:
    """Send a lockdown order straight over ``link``, bypassing the outbox (for tools and tests); its topic."""
    topic, body = message(site_code=site_code, action=action, reason=reason, at=at)
    link.publish(topic, body)
    return topic
