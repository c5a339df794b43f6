"""What the audit screen (``/audit``) and its exports show: the filters a reader types, read and checked, and
each entry as one row — its action in words, the changed fields with their old and new values, a link to its
object — the same for the page, the CSV file and the JSON Lines file.

Times are typed as local date-times (``<input type="datetime-local">``) in the reader's chosen zone (the
configured one by default, or UTC) and turned into an exact UTC range: the *from* moment is included, the *to*
moment is not. A local time that does not exist in the zone (skipped by a clock change) is refused.

Values of secret columns never reach the log (the audit mechanism records only that they changed); a change
whose field names a secret (a password, PIN, token or hash) is shown without its values all the same. Entries
of created or deleted rows hold only the SHA-256 digests of the row, which the row says.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from kgys import localtime
from kgys.audit.models import AuditEntry
from kgys.audit.service import EntryFilter
from kgys.validation import unsafe_character
from kgys.web import i18n, labels, server_text

LIMITS = {"action": 64, "actor": 120, "object_type": 64, "object_id": 64, "site": 32, "q": 120, "from": 40,
          "to": 40, "tz": 64}
FILTERS = tuple(LIMITS)
SECRET_FIELD = re.compile(r"(^|_)(password|secret|pin|token|credentials?|hash)(_|$)", re.IGNORECASE)
OBJECT_PAGES = {"site": "/sites/{id}", "alert": "/alerts/{id}", "incident": "/incidents/{id}",
                "unit": "/units/{id}", "user": "/users/{id}"}
SITE_SECTIONS = {"camera": "#camera-table", "recorder": "#recorder-table"}
OBJECT_TYPES = ("site", "rollout", "commission", "floor_plan", "recorder", "camera", "device", "legal_hold",
                "destruction", "retention_policy", "jurisdiction", "import", "user", "road_graph", "alert",
                "protection_order", "kades_phone", "unit", "incident", "assignment", "unit_tracker", "audit_log")


@dataclass(frozen=True)
class Filters:
    """The filters of one screen or export: the text as typed (for the form and the links), what they select,
    the site code and the zone the times are in; ``errors`` names each field that could not be read."""

    raw: dict[str, str]
    match: EntryFilter
    site: str | None
    zone: ZoneInfo
    errors: dict[str, str] = field(default_factory=dict)

    def given(self) -> dict[str, str]:
        """The filters that are set, as typed (what an export entry records)."""
        return {k: v for k, v in self.raw.items() if v}


def zones(default: str) -> list[str]:
    """The zones a reader may type times in: the configured one first, and UTC."""
    return [default] if default == "UTC" else [default, "UTC"]


def local_time(raw: str, zone: ZoneInfo) -> datetime:
    """A typed date and time in ``zone`` as an aware UTC time (:func:`kgys.localtime.parse_local`)."""
    return localtime.parse_local(raw, zone)


def parse(query: dict[str, str], default_zone: str) -> Filters:
    """The filters of a query string; each one that cannot be read is named in ``errors`` (and selects nothing)."""
    raw = {k: (query.get(k) or "").strip() for k in FILTERS}
    errors: dict[str, str] = {}
    for name, limit in LIMITS.items():
        problem = unsafe_character(raw[name])
        if problem is not None:
            errors[name] = i18n.gettext("Contains an invisible control character (%(char)s) at position "
                                        "%(position)s.", char=problem[1], position=problem[0])
        elif len(raw[name]) > limit:
            errors[name] = i18n.gettext("At most %(n)s characters.", n=limit)
        if name in errors:
            raw[name] = raw[name][:limit]
    allowed = zones(default_zone)
    raw["tz"] = raw["tz"] or default_zone
    if raw["tz"] not in allowed:
        errors["tz"] = i18n.gettext("Choose one of: %(zones)s.", zones=", ".join(allowed))
    zone = ZoneInfo(raw["tz"] if raw["tz"] in allowed else default_zone)
    bounds: dict[str, datetime | None] = {"from": None, "to": None}
    for name in ("from", "to"):
        if raw[name] and name not in errors:
            try:
                bounds[name] = local_time(raw[name], zone)
            except (ValueError, OverflowError):
                errors[name] = i18n.gettext("Not a date and time in %(zone)s (use 2026-12-01T08:00).",
                                            zone=zone.key)
    start, end = bounds["from"], bounds["to"]
    if start is not None and end is not None and end <= start:
        errors["to"] = i18n.gettext("Must be later than the start of the range.")
    match = EntryFilter(action=raw["action"] or None, username=raw["actor"] or None,
                        object_type=raw["object_type"] or None, object_id=raw["object_id"] or None,
                        start=start, end=end, text=raw["q"] or None)
    return Filters(raw=raw, match=match, site=raw["site"] or None, zone=zone, errors=errors)


@dataclass(frozen=True)
class Change:
    """One changed field: its old and new value as text, or ``shown`` False when the values are not in the log
    (a secret) or are not shown (a field naming a secret)."""

    field: str
    old: str
    new: str
    shown: bool = True

    @property
    def old_label(self) -> str:
        """The old value in the reader's words (a stored code by its label)."""
        return value_label(self.field, self.old)

    @property
    def new_label(self) -> str:
        """The new value in the reader's words."""
        return value_label(self.field, self.new)


# Fields whose values are stored codes with a label: shown by the label, the code as a tooltip.
VALUE_LABELS: dict[str, Callable[[str], str]] = {
    "compliance_status": labels.compliance_label, "rollout_status": labels.rollout_label,
    "type": labels.site_type_label, "position": labels.position_label, "role": labels.role_label,
}


def value_label(field: str, value: str) -> str:
    """``value`` of ``field`` as the screen shows it."""
    label = VALUE_LABELS.get(field)
    return label(value) if label is not None else value


@dataclass(frozen=True)
class Row:
    """One entry as the screen and the exports show it."""

    seq: int
    ts: datetime
    local: str
    actor: str
    action: str
    action_label: str
    object_type: str
    object_id: str
    object_url: str | None
    site: str | None
    reason: str
    legal_basis: str
    changes: list[Change]
    details: dict[str, Any]
    digest_only: bool

    def changes_text(self) -> str:
        """The changes in one line: ``field: old → new; …``."""
        return "; ".join(f"{c.field}: {c.old_label} → {c.new_label}" if c.shown else f"{c.field}: {not_recorded()}"
                         for c in self.changes)

    def details_text(self) -> str:
        """The other details in one line: ``key: value; …`` (or what a digest-only entry holds)."""
        parts = [f"{k}: {text(v)}" for k, v in self.details.items()]
        if self.digest_only:
            parts.insert(0, digest_note())
        return "; ".join(parts)


def not_recorded() -> str:
    """What a change without its values says."""
    return i18n.gettext("changed (value not shown)")


def digest_note() -> str:
    """What an entry of a created or deleted row says about its values."""
    return i18n.gettext("values not copied into the log: only the SHA-256 digest of the row")


def text(value: Any) -> str:
    """A stored value as text: strings as they are, nothing as an empty mark, the rest as JSON."""
    if value is None:
        return "∅"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _details(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {"value": raw}
    return value if isinstance(value, dict) else {"value": value}


def _changes(action: str, details: dict[str, Any]) -> tuple[list[Change], dict[str, Any]]:
    """The changed fields an entry records, and its other details.

    The mechanism records ``fields`` and ``changes`` (``{"from", "to"}`` per field, secrets left out); an alert's
    move records its state ``from`` and ``to``; a change of a user's access records ``before`` and ``after``."""
    rest = dict(details)
    out: list[Change] = []
    if isinstance(rest.get("fields"), list):
        changes = rest.pop("changes", None)
        changes = changes if isinstance(changes, dict) else {}
        for name in (str(f) for f in rest.pop("fields")):
            pair = changes.get(name)
            if isinstance(pair, dict) and not SECRET_FIELD.search(name):
                out.append(Change(name, text(pair.get("from")), text(pair.get("to"))))
            else:
                out.append(Change(name, "", "", shown=False))
    elif action.startswith("alert.") and "from" in rest and "to" in rest:
        out.append(Change("state", text(rest.pop("from")), text(rest.pop("to"))))
    elif isinstance(rest.get("before"), dict) and isinstance(rest.get("after"), dict):
        before, after = rest.pop("before"), rest.pop("after")
        for name in sorted(set(before) | set(after)):
            if before.get(name) != after.get(name):
                out.append(Change(name, text(before.get(name)), text(after.get(name))))
    for key in [k for k in rest if SECRET_FIELD.search(k)]:
        rest[key] = not_recorded()
    return out, rest


def object_url(e: AuditEntry, site: str | None, details: dict[str, Any]) -> str | None:
    """The page of the entry's object, where it has one: a site, alert, incident, unit or user by its name, a
    camera or recorder on its site's page."""
    pattern = OBJECT_PAGES.get(e.object_type)
    if pattern is not None and e.object_id:
        if e.object_type == "user" and details.get("why") == "unknown user":
            return None
        return pattern.format(id=quote(e.object_id, safe=""))
    if e.object_type in SITE_SECTIONS and site:
        return f"/sites/{quote(site, safe='')}{SITE_SECTIONS[e.object_type]}"
    return None


def row(e: AuditEntry, site: str | None, zone: ZoneInfo) -> Row:
    """One entry as shown, its time in ``zone``."""
    details = _details(e.details)
    changes, rest = _changes(e.action, details)
    if isinstance(rest.get("why"), str):  # why a step was refused: a sentence of the server's, in the reader's words
        rest["why"] = server_text.text(rest["why"])
    digest_only = not changes and not rest and (e.before_digest is None) != (e.after_digest is None)
    return Row(seq=e.seq, ts=e.ts, local=e.ts.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"), actor=e.actor,
               action=e.action, action_label=labels.action_label(e.action), object_type=e.object_type,
               object_id=e.object_id, object_url=object_url(e, site, details), site=site, reason=e.reason or "",
               legal_basis=e.legal_basis or "", changes=changes, details=rest, digest_only=digest_only)


def csv_header(zone: ZoneInfo) -> list[str]:
    """The column names of the CSV export, in the reader's language (the screen's columns)."""
    return ["#", i18n.gettext("Time (%(zone)s)", zone=zone.key), i18n.gettext("Time (UTC)"), i18n.gettext("User"),
            i18n.gettext("Action"), i18n.gettext("Action code"), i18n.gettext("Object type"),
            i18n.gettext("Object"), i18n.gettext("Site"), i18n.gettext("Reason"), i18n.gettext("Legal basis"),
            i18n.gettext("Changes"), i18n.gettext("Details")]


def csv_cells(r: Row) -> list[object]:
    """One row of the CSV export (each cell made formula-safe by the writer)."""
    return [r.seq, r.local, r.ts.isoformat(timespec="microseconds"), r.actor, r.action_label, r.action,
            r.object_type, r.object_id, r.site or "", r.reason, r.legal_basis, r.changes_text(), r.details_text()]


def json_line(r: Row) -> str:
    """One line of the JSON Lines export: the entry as shown, values as the log holds them."""
    return json.dumps({
        "seq": r.seq, "ts": r.ts.isoformat(timespec="microseconds"), "time_local": r.local, "actor": r.actor,
        "action": r.action, "action_label": r.action_label, "object_type": r.object_type, "object_id": r.object_id,
        "object_url": r.object_url, "site": r.site, "reason": r.reason or None, "legal_basis": r.legal_basis or None,
        "changes": [{"field": c.field, "from": c.old, "to": c.new} if c.shown else {"field": c.field, "shown": False}
                    for c in r.changes],
        "details": r.details, "digest_only": r.digest_only,
    }, ensure_ascii=False) + "\n"
