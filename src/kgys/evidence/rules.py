"""The rules of a footage request, as pure functions: where a request may go from each state, whether footage
lies within a scope (asked for or granted), whether the ranges of a form are sound, and what kind of file a
scanned decision is (told by its first bytes). No I/O; ``tests/evidence/test_rules.py`` runs them over tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from kgys.errors import FieldError
from kgys.said import _

# state → event → next state; anything not listed is refused
TRANSITIONS: dict[str, dict[str, str]] = {
    "awaiting": {"grant": "granted", "refuse": "refused", "expire": "expired"},
    "granted": {"approve": "approved", "withhold": "withheld"},
}
STATES = ("awaiting", "granted", "refused", "expired", "approved", "withheld")
EVENTS = ("grant", "refuse", "expire", "approve", "withhold")
OPEN = frozenset({"awaiting", "granted"})  # states a request still moves on from

MAX_ITEMS = 32
MAX_SPAN = timedelta(days=7)
AT_MOST_ITEMS = _("at most %(most)s cameras × ranges in one request")
SPAN_DAYS = _("a range may be at most %(days)s days long")
OUTSIDE_ASKED = _("camera %(camera)s from %(start)s to %(end)s lies outside the footage asked for; a decision may "
                  "grant less than was asked, never more")

# the first bytes of each accepted kind of scanned decision, and its content type
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


@dataclass(frozen=True)
class Range:
    """Footage of one camera from ``start`` to ``end`` (aware UTC)."""

    camera_id: int
    start: datetime
    end: datetime


def next_state(state: str, event: str) -> str | None:
    """The state a request in ``state`` moves to on ``event``; None when the move is not allowed."""
    return TRANSITIONS.get(state, {}).get(event)


def merged(ranges: Iterable[Range], camera_id: int) -> list[tuple[datetime, datetime]]:
    """The ranges of one camera joined where they touch or overlap, in order."""
    spans = sorted((r.start, r.end) for r in ranges if r.camera_id == camera_id)
    out: list[tuple[datetime, datetime]] = []
    for start, end in spans:
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def covered(scope: Iterable[Range], camera_id: int, start: datetime, end: datetime) -> bool:
    """Whether the footage of ``camera_id`` from ``start`` to ``end`` lies wholly within ``scope`` (edges
    included; adjoining ranges of the scope count as one)."""
    return any(a <= start and end <= b for a, b in merged(scope, camera_id))


def outside(items: Sequence[Range], scope: Sequence[Range]) -> list[int]:
    """The positions of ``items`` not wholly within ``scope`` (a decision's grant beyond what was asked, a release
    beyond the grant)."""
    return [i for i, r in enumerate(items) if not covered(scope, r.camera_id, r.start, r.end)]


def range_errors(items: Sequence[Range], *, field: str = "scope") -> list[FieldError]:
    """What is wrong with the ranges of a form, each problem naming ``scope[i].start`` or ``scope[i].end``:
    none at all or too many, a time without a zone, an end not after its start, a range longer than
    :data:`MAX_SPAN`."""
    if not items:
        return [FieldError(field, "add at least one camera and range")]
    if len(items) > MAX_ITEMS:
        return [FieldError.said(field, AT_MOST_ITEMS, most=MAX_ITEMS)]
    errors: list[FieldError] = []
    for i, r in enumerate(items):
        at = f"{field}[{i}]"
        naive = [name for name, value in (("start", r.start), ("end", r.end)) if value.tzinfo is None]
        for name in naive:
            errors.append(FieldError(f"{at}.{name}", "needs a time zone (e.g. 2026-03-01T10:00:00+03:00)"))
        if naive:
            continue
        if r.end <= r.start:
            errors.append(FieldError(f"{at}.end", "must be after the start"))
        elif r.end - r.start > MAX_SPAN:
            errors.append(FieldError.said(f"{at}.end", SPAN_DAYS, days=MAX_SPAN.days))
    return errors


def beyond_errors(items: Sequence[Range], scope: Sequence[Range], *, field: str = "scope") -> list[FieldError]:
    """A problem naming ``scope[i]`` for every item lying outside ``scope``."""
    return [FieldError.said(f"{field}[{i}]", OUTSIDE_ASKED, camera=items[i].camera_id,
                            start=items[i].start.isoformat(), end=items[i].end.isoformat())
            for i in outside(items, scope)]


def document_type(head: bytes) -> str | None:
    """The content type of a scanned decision told by its first bytes (PDF, JPEG or PNG); None for any other."""
    for magic, kind in MAGIC:
        if head.startswith(magic):
            return kind
    return None


def percentile(values: Sequence[float], share: float) -> float | None:
    """The ``share`` (0–1) percentile of ``values`` by linear interpolation between the nearest ranks; None for
    no values (the median is ``share`` 0.5)."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * share
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)
