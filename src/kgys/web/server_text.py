"""The server's own sentences in the reader's language: a gap's reason, a camera's state, a recording alarm's
details, a unit's status note, an alert's history note, an incident's timeline line.

The domains write them from fixed English messages (:class:`kgys.said.Said`, listed in :data:`SOURCES`) with
values. :func:`text` says a stored sentence again in the request's language: from its code and values where the
row keeps them (``data["said"]``), else from the stored English it recognises as one of the messages; a text of
no known message (a note a person typed, ffmpeg's own words, an old row of another wording) is shown as stored.
The values that are codes are shown by their labels (a gap's cause, an assignment's state, an incident's
outcome), the ones that are sentences of their own are said again in turn, and times are shown with their zone.
A code no message has (written by a newer server), or whose values do not fit it, is shown as the stored text;
a row with neither a code we know nor a text says there are no further details. Never an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

from kgys import localtime
from kgys.alerts import cap
from kgys.alerts import service as alert_service
from kgys.devices import intake
from kgys.devices.flows import lockdown
from kgys.dispatch import assignments as dispatch_assignments
from kgys.dispatch import service as dispatch_service
from kgys.dispatch import states as dispatch_states
from kgys.dispatch.flows import escalation, sending
from kgys.incidents import service as incident_service
from kgys.incidents.flows import from_alerts
from kgys.kades import service as kades_service
from kgys.live import refusals as live_refusals
from kgys.recording import alerts as recording_alerts
from kgys.recording import gaps, retention
from kgys.said import Said
from kgys.sites import imports as site_imports
from kgys.web import i18n, labels

SOURCES: tuple[ModuleType, ...] = (gaps, recording_alerts, retention, incident_service, from_alerts, sending,
                                   escalation, dispatch_service, dispatch_assignments, intake, lockdown, cap,
                                   kades_service, dispatch_states, alert_service, site_imports, live_refusals)
UTC = ZoneInfo("UTC")

# an assignment's step, by the state it leads to (a unit's status note names the step)
STEP_STATE = {"acknowledge": "acknowledged", "en_route": "en_route", "on_scene": "on_scene", "clear": "cleared",
              "decline": "declined", "cancel": "cancelled"}


def _(msgid: str) -> str:
    """A message id, marked for the catalogues and translated where it is shown."""
    return msgid


NO_DETAILS = _("No further details.")


@cache
def known() -> tuple[Said, ...]:
    """Every sentence the server says, the longest first (so that the most particular one recognises a text)."""
    values = [v for m in SOURCES for v in vars(m).values()]
    values += [v for table in values if isinstance(table, dict) for v in table.values()]  # a table of sentences
    found = {v.msgid: v for v in values if isinstance(v, Said)}
    return tuple(sorted(found.values(), key=lambda s: -s.literal()))


@cache
def _by_code() -> dict[str, Said]:
    return {s.msgid: s for s in known()}


def when(value: Any) -> str:
    """A stored time (ISO 8601) as a reader reads it: in the zone of the page being rendered (which the page names),
    else in UTC and saying so; anything else as it is."""
    where = localtime.reader()
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return localtime.shown(moment, where) if where is not None else localtime.shown(moment, UTC) + " UTC"


def _outcome(value: Any) -> str:
    message = labels.INCIDENT_OUTCOME_LABELS.get(str(value))  # type: ignore[call-overload]
    return i18n.gettext(message) if message is not None else str(value)


def _sentence(value: Any) -> str:
    return text(str(value))


SHOWN: dict[str, Callable[[Any], str]] = {
    "cause": lambda v: labels.gap_cause_label(str(v)),
    "state": lambda v: labels.assignment_state_label(str(v)),
    "alert_state": lambda v: labels.alert_state_label(str(v)),
    "unit_status": lambda v: labels.unit_status_label(str(v)),
    "step": lambda v: labels.assignment_state_label(STEP_STATE.get(str(v), str(v))),
    "outcome": _outcome,
    "detail": _sentence,
    "first": _sentence,
    "latest": _sentence,
    "at": when,
}


def shown(params: Mapping[str, Any]) -> dict[str, Any]:
    """The values of a sentence as a reader sees them: codes by their labels, sentences said again, times zoned."""
    return {k: SHOWN[k](v) if k in SHOWN else v for k, v in params.items()}


def say(said: Said, params: Mapping[str, Any]) -> str | None:
    """``said`` with ``params`` in the request's language; None when a value is missing or a count is none."""
    values = shown(params)
    try:
        if said.plural is not None:
            return i18n.plural_form(said.msgid, said.plural, int(params[said.count])) % values
        return i18n.gettext(said.msgid) % values
    except (KeyError, TypeError, ValueError):
        return None


def recognised(stored: str) -> tuple[Said, dict[str, str]] | None:
    """The sentence a stored English text was made of, and its values; None for any other text."""
    for said in known():
        values = said.match(stored)
        if values is not None:
            return said, values
    return None


def coded(code: Any) -> str | None:
    """A stored ``{"code": …, "params": …}`` in the request's language; None when it is not one we know or its
    values do not fit it."""
    if not isinstance(code, Mapping):
        return None
    said = _by_code().get(str(code.get("code")))
    params = code.get("params")
    if said is None or not isinstance(params, Mapping):
        return None
    return say(said, params)


def text(stored: str | None, data: Mapping[str, Any] | None = None) -> str:
    """A stored sentence of the server's in the request's language (see the module); a person's text as it is."""
    said = coded((data or {}).get("said"))
    if said is not None:
        return said
    if not stored:
        return i18n.gettext(NO_DETAILS) if data and "said" in data else ""
    found = recognised(stored)
    return (say(*found) if found is not None else None) or stored
