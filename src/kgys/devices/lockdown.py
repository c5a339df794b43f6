"""The downlink to a site's devices: a lockdown order on ``kgys/v1/sites/{code}/lockdown`` (QoS 1).

A stub for now: the message is built and sent through the intake's broker link; the step that decides to send
it (a CAP lockdown message, an operator's order) is still to come.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Literal

from kgys.devices import payloads
from kgys.devices.link import Link

Action = Literal["lockdown", "all_clear"]


def message(*, site_code: str, action: Action, reason: str, at: datetime, msg_id: str | None = None
            ) -> tuple[str, bytes]:
    """The topic and JSON body of a lockdown order (or its end) for a site's devices."""
    body = {"msg_id": msg_id or uuid.uuid4().hex, "at": at.isoformat(), "action": action, "reason": reason[:200]}
    return payloads.lockdown_topic(site_code), json.dumps(body).encode()


def send(link: Link, *, site_code: str, action: Action, reason: str, at: datetime) -> str:
    """Send a lockdown order to the site's devices; its topic."""
    topic, body = message(site_code=site_code, action=action, reason=reason, at=at)
    link.publish(topic, body)
    return topic
