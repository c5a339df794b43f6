"""Times for people: shown and typed in the reader's time zone, stored and exchanged in UTC. Pure.

Every time in the database and the API is UTC. A page shows it in the reader's zone (``web.time_zone``,
Europe/Istanbul by default) with the zone named once on the page, and a form's ``datetime-local`` field is read
in the same zone (:func:`parse_local`). A time typed with an offset (``…+00:00`` or ``…Z``) keeps its offset.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DEFAULT_ZONE = "Europe/Istanbul"
SHOWN = "%Y-%m-%d %H:%M:%S"
PICKER = "%Y-%m-%dT%H:%M:%S"

_READER: ContextVar[ZoneInfo | None] = ContextVar("kgys_reader_zone", default=None)


@contextmanager
def reading_in(where: ZoneInfo) -> Iterator[None]:
    """While a page is rendered: the zone its reader reads times in (:func:`reader`)."""
    token = _READER.set(where)
    try:
        yield
    finally:
        _READER.reset(token)


def reader() -> ZoneInfo | None:
    """The zone of the page being rendered (:func:`reading_in`); None outside one (an API answer, a log)."""
    return _READER.get()


def zone(name: str) -> ZoneInfo:
    """The zone called ``name`` (an IANA name); ValueError naming it when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as {DEFAULT_ZONE})") from None


@functools.cache
def zone_names() -> tuple[str, ...]:
    """Every IANA zone name this machine knows, sorted (the choices of a zone field)."""
    return tuple(sorted(available_timezones()))


def as_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC time; a naive one is taken to be UTC already (as the database stores it)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def to_local(value: datetime, where: ZoneInfo) -> datetime:
    """``value`` (aware, or naive UTC) in ``where``."""
    return as_utc(value).astimezone(where)


def shown(value: datetime | None, where: ZoneInfo, fmt: str = SHOWN) -> str:
    """``value`` as a reader in ``where`` reads it (``2026-12-06 08:10:32``); a dash for no time."""
    return "–" if value is None else to_local(value, where).strftime(fmt)


def picker(value: datetime | None, where: ZoneInfo) -> str:
    """The value of a ``datetime-local`` field showing ``value`` in ``where``; empty for no time."""
    return "" if value is None else to_local(value, where).strftime(PICKER)


def offset(where: ZoneInfo, at: datetime) -> str:
    """The zone's offset from UTC at ``at`` as ``UTC+03:00``."""
    delta = to_local(at, where).utcoffset()
    minutes = int(delta.total_seconds() // 60) if delta is not None else 0
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def label(where: ZoneInfo, at: datetime) -> str:
    """The zone as a page names it: ``Europe/Istanbul (UTC+03:00)``."""
    return f"{where.key} ({offset(where, at)})"


def parse_local(raw: str, where: ZoneInfo) -> datetime:
    """A typed date and time (``2026-12-01T08:00``, seconds optional, a space for the ``T`` allowed) in ``where``
    as an aware UTC time; an offset typed with it wins over the zone. ValueError when it is not one, or when the
    local time does not exist in the zone (skipped by a clock change)."""
    text = raw.strip()
    if not text:
        raise ValueError("empty")
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    moment = value.replace(tzinfo=where).astimezone(UTC)
    if moment.astimezone(where).replace(tzinfo=None) != value:
        raise ValueError("skipped by a clock change")
    return moment


# The columns an export adds to each line so that it states its period both ways: in UTC and in a named zone.
PERIOD_COLUMNS = ("from_utc", "to_utc", "from_local", "to_local", "time_zone")


def utc_text(value: datetime) -> str:
    """``value`` as an ISO 8601 UTC text ending in ``Z`` (``2026-12-06T05:10:32Z``)."""
    return as_utc(value).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def period_cells(start: datetime, end: datetime, where: ZoneInfo) -> list[str]:
    """The :data:`PERIOD_COLUMNS` of a period [start, end): UTC, then local in ``where``, then the zone named."""
    return [utc_text(start), utc_text(end), shown(start, where), shown(end, where), label(where, start)]


def local_period(start: datetime, end: datetime, where: ZoneInfo) -> dict[str, str]:
    """A JSON export's local statement of its period: ``from_local``, ``to_local`` and ``local_time_zone``."""
    return {"from_local": shown(start, where), "to_local": shown(end, where), "local_time_zone": label(where, start)}
