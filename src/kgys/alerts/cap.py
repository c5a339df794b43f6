"""OASIS CAP 1.2 messages from other systems as alerts in the queue.

A message is parsed with ``defusedxml`` (no DTD, no entities, no external references: an entity-expansion bomb or
an external entity is refused before it is expanded) and bounded in size. ``Alert`` and ``Update`` messages raise
(or refresh) an alert of the source ``cap``; an ``Update`` or ``Cancel`` names the message it follows in
``references``. ``Exercise`` messages are drills; ``Test`` messages are technical (P4); ``Draft`` messages are not
taken. The priority follows the first ``info``'s severity (Extreme P1, Severe P2, Moderate P3, else P4). The
alert's place is the site named by a geocode ``kgys:site`` (its institution code), and its position the centre of
the first ``circle`` (the radius as its accuracy) or of the first ``polygon``.

A message may also order a lockdown of sites (or its end): an ``Actual`` or ``Exercise`` ``Alert``/``Update`` whose
``info`` carries a ``parameter`` ``kgys:lockdown`` (value ``lockdown`` or ``all_clear``), or else a
``responseType`` ``Shelter`` (lockdown) or ``AllClear`` (its end), orders it for every site its ``area``s name with a
geocode ``kgys:site``. The explicit parameter needs at least one such site; a ``Shelter`` naming no site is an alert
only. The first ``info`` that orders something decides; the orders themselves are written by
:mod:`kgys.devices.flows.lockdown`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.alerts import raising
from kgys.alerts.models import Alert
from kgys.alerts.raising import Alarm, Position
from kgys.alerts.states import Priority, Source
from kgys.errors import FieldError, ValidationFailed
from kgys.said import _
from kgys.sites.models import Site

NS = "{urn:oasis:names:tc:emergency:cap:1.2}"
MAX_BYTES = 256 * 1024
CANCELLED_BY = _("cancelled by %(sender)s")  # the history note of an alert its sender cancelled
SITE_GEOCODE = "kgys:site"
STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
PRIORITY = {"Extreme": Priority.P1, "Severe": Priority.P2, "Moderate": Priority.P3}
LOCKDOWN_PARAMETER = "kgys:lockdown"
LOCKDOWN_VALUES = ("lockdown", "all_clear")
LOCKDOWN_RESPONSES = {"Shelter": "lockdown", "AllClear": "all_clear"}
LOCKDOWN_STATUSES = ("Actual", "Exercise")
MAX_LOCKDOWN_SITES = 100


class CapKind(StrEnum):
    """The kind of alert a CAP message raises (the stored value)."""

    ALERT = "cap_alert"


@dataclass(frozen=True)
class CapMessage:
    """What kgys takes from a CAP 1.2 message."""

    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    references: tuple[tuple[str, str], ...]  # (sender, identifier) of the messages it follows
    event: str
    severity: str
    urgency: str
    headline: str
    description: str
    site_code: str | None
    position: Position | None
    lockdown: str | None = None  # "lockdown" or "all_clear" when the message orders one
    lockdown_sites: tuple[str, ...] = ()  # the institution codes of the sites it orders it for


def _bad(field: str, message: str) -> ValidationFailed:
    return ValidationFailed([FieldError(field, message)])


def _text(el: Element, name: str, field: str, *, required: bool = True, max_len: int = 2000) -> str:
    found = el.find(NS + name)
    value = (found.text or "").strip() if found is not None else ""
    if required and not value:
        raise _bad(field, f"<{name}> is missing")
    if len(value) > max_len:
        raise _bad(field, f"<{name}> is longer than {max_len} characters")
    return value


def _point(text: str, field: str) -> tuple[float, float]:
    try:
        lat, lon = (float(x) for x in text.split(","))
    except ValueError:
        raise _bad(field, f"not a 'latitude,longitude' pair: {text[:40]!r}") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise _bad(field, f"out of range: {text[:40]!r}")
    return lat, lon


def _position(info: Element) -> tuple[str | None, Position | None]:
    """The site code and the position given by the info's first area."""
    area = info.find(NS + "area")
    if area is None:
        return None, None
    site = None
    for geocode in area.findall(NS + "geocode"):
        if _text(geocode, "valueName", "area.geocode", required=False) == SITE_GEOCODE:
            site = _text(geocode, "value", "area.geocode", max_len=32)
    circle = area.find(NS + "circle")
    if circle is not None and (circle.text or "").strip():
        try:
            centre, radius = (circle.text or "").strip().split(" ")
            lat, lon = _point(centre, "area.circle")
            return site, Position(lat, lon, float(radius) * 1000)
        except ValueError:
            raise _bad("area.circle", "not 'latitude,longitude radius'") from None
    polygon = area.find(NS + "polygon")
    if polygon is not None and (polygon.text or "").strip():
        points = [_point(p, "area.polygon") for p in (polygon.text or "").split()[:1000]]
        lat = sum(p[0] for p in points) / len(points)
        lon = sum(p[1] for p in points) / len(points)
        reach = max(math.dist((lat, lon), p) for p in points) * 111_000  # degrees to metres, roughly
        return site, Position(lat, lon, reach)
    return site, None


def _sites(info: Element) -> list[str]:
    """The site codes every area of the info names with a ``kgys:site`` geocode, each once, in order."""
    found: list[str] = []
    for area in info.findall(NS + "area"):
        for geocode in area.findall(NS + "geocode"):
            if _text(geocode, "valueName", "area.geocode", required=False) == SITE_GEOCODE:
                code = _text(geocode, "value", "area.geocode", max_len=32)
                if code not in found:
                    found.append(code)
    if len(found) > MAX_LOCKDOWN_SITES:
        raise _bad("area.geocode", f"more than {MAX_LOCKDOWN_SITES} sites")
    return found


def lockdown_of(info: Element) -> tuple[str | None, tuple[str, ...]]:
    """What lockdown an ``info`` orders (``lockdown``, ``all_clear`` or None) and for which sites (see the
    module)."""
    action = None
    explicit = False
    for param in info.findall(NS + "parameter"):
        if _text(param, "valueName", "info.parameter", required=False) == LOCKDOWN_PARAMETER:
            value = _text(param, "value", "info.parameter", max_len=20)
            if value not in LOCKDOWN_VALUES:
                raise _bad("info.parameter", f"{LOCKDOWN_PARAMETER} is one of {', '.join(LOCKDOWN_VALUES)}")
            action, explicit = value, True
    if action is None:
        for response in info.findall(NS + "responseType"):
            action = action or LOCKDOWN_RESPONSES.get((response.text or "").strip())
    if action is None:
        return None, ()
    sites = _sites(info)
    if not sites:
        if explicit:
            raise _bad("area.geocode", f"a lockdown names its sites with a geocode {SITE_GEOCODE}")
        return None, ()
    return action, tuple(sites)


def parse(data: bytes) -> CapMessage:
    """A CAP 1.2 message; ValidationFailed naming the element (or the byte position) at fault."""
    if len(data) > MAX_BYTES:
        raise _bad("body", f"larger than {MAX_BYTES} bytes")
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise _bad("body", f"refused: {type(exc).__name__} (no DTD, entities or external references)") from None
    except ParseError as exc:
        line, column = exc.position
        raise _bad("body", f"not well-formed XML at line {line}, column {column}") from None
    if root.tag != NS + "alert":
        raise _bad("body", "not a CAP 1.2 <alert> (namespace urn:oasis:names:tc:emergency:cap:1.2)")
    status = _text(root, "status", "status")
    msg_type = _text(root, "msgType", "msgType")
    if status not in STATUSES:
        raise _bad("status", f"one of {', '.join(STATUSES)}")
    if msg_type not in MSG_TYPES:
        raise _bad("msgType", f"one of {', '.join(MSG_TYPES)}")
    sent_text = _text(root, "sent", "sent")
    try:
        sent = datetime.fromisoformat(sent_text)
    except ValueError:
        raise _bad("sent", f"not a date and time: {sent_text[:40]!r}") from None
    if sent.tzinfo is None:
        raise _bad("sent", "needs a time zone offset")
    refs: list[tuple[str, str]] = []
    for ref in _text(root, "references", "references", required=False, max_len=8000).split():
        parts = ref.split(",")
        if len(parts) != 3:
            raise _bad("references", f"not 'sender,identifier,sent': {ref[:60]!r}")
        refs.append((parts[0], parts[1]))
    if msg_type in ("Update", "Cancel") and not refs:
        raise _bad("references", f"a {msg_type} names the message it follows")
    info = root.find(NS + "info")
    if info is None and msg_type in ("Alert", "Update"):
        raise _bad("info", "<info> is missing")
    site, position = _position(info) if info is not None else (None, None)
    lockdown: tuple[str | None, tuple[str, ...]] = (None, ())
    if status in LOCKDOWN_STATUSES and msg_type in ("Alert", "Update"):
        lockdown = next((found for found in map(lockdown_of, root.findall(NS + "info")) if found[0]), (None, ()))
    return CapMessage(
        identifier=_text(root, "identifier", "identifier", max_len=200),
        sender=_text(root, "sender", "sender", max_len=200), sent=sent, status=status, msg_type=msg_type,
        references=tuple(refs),
        event=_text(info, "event", "info.event", max_len=200) if info is not None else "",
        severity=_text(info, "severity", "info.severity", max_len=20) if info is not None else "",
        urgency=_text(info, "urgency", "info.urgency", max_len=20) if info is not None else "",
        headline=_text(info, "headline", "info.headline", required=False, max_len=500) if info is not None else "",
        description=_text(info, "description", "info.description", required=False, max_len=4000)
        if info is not None else "",
        site_code=site, position=position, lockdown=lockdown[0], lockdown_sites=lockdown[1])


def take(*, session: Session, actor: Actor, message: CapMessage) -> tuple[Alert | None, int]:
    """Put a parsed message into the queue as ``actor`` (a system's account): the alert raised or refreshed, and
    how many alerts a Cancel closed."""
    actor.require(Perm.ALERTS_HANDLE)
    if message.status == "Draft":
        raise _bad("status", "Draft messages are not taken")
    origin = message.references[0] if message.references else (message.sender, message.identifier)
    key = f"cap:{origin[0]}:{origin[1]}"[:160]
    if message.msg_type == "Cancel":
        found = session.scalars(select(Alert).where(Alert.open_key == key)).all()
        closed = sum(raising.clear(session, kinds=[CapKind.ALERT], site_id=a.site_id, source=Source.CAP,
                                   note=CANCELLED_BY.english(sender=message.sender)) for a in found)
        return None, closed
    if message.msg_type not in ("Alert", "Update"):
        return None, 0
    site_id = None
    if message.site_code is not None:
        site = session.scalar(select(Site).where(Site.code == message.site_code))
        if site is None or not actor.scope.covers(site.id, site.jurisdiction_path):
            raise _bad("area.geocode", f"no site {message.site_code} within the sender's scope")
        site_id = site.id
    priority = Priority.P4 if message.status in ("Test", "System") else PRIORITY.get(message.severity, Priority.P4)
    details = f"{message.event}: {message.headline or message.description}"[:2000]
    return raising.raise_alert(session, Alarm(
        source=Source.CAP, kind=CapKind.ALERT, priority=priority, details=details, site_id=site_id,
        position=message.position, raised_at=message.sent, drill=message.status == "Exercise", dedup_key=key,
        data={"sender": message.sender, "identifier": message.identifier, "status": message.status,
              "msg_type": message.msg_type, "event": message.event, "severity": message.severity,
              "urgency": message.urgency, "description": message.description[:2000]}),
        by=f"cap:{message.sender}"[:80]), 0
