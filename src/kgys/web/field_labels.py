"""The names of input fields in the reader's language, for the lists of what to correct (a form's summary, the
error page of invalid input).

A field is named by the API's field name (``call_sign``, ``alerts.0``, ``body`` for the request as a whole); a
page shows its label instead, with the position of a list's item after it. A name with no label (a field added
since) is shown as it is, never an error.
"""

from __future__ import annotations

from collections.abc import Mapping

from kgys.said import marked as _
from kgys.web import i18n

FIELD_LABELS: dict[str, str] = {
    "accuracy_m": _("Accuracy (m)"), "action": _("Action"), "address": _("Address"), "alert": _("Alert"),
    "alert_id": _("Alert"), "alerts": _("Alerts"), "body": _("The request"), "call_sign": _("Call sign"),
    "camera": _("Camera"), "camera_id": _("Camera"), "capabilities": _("Capabilities"), "category": _("Category"),
    "chair": _("Chair"), "code": _("Institution code"), "contact_name": _("Contact person"),
    "contact_phone": _("Contact phone"), "details": _("Details"), "district": _("District"),
    "effective_on": _("Effective date"), "end": _("To"), "field_user": _("Field login"), "file": _("File"),
    "from": _("From"), "image": _("Image"), "incident": _("Incident"),
    "installed_storage_tb": _("Installed storage (TB)"), "jurisdiction": _("Province / district"),
    "kind": _("Kind"), "latitude": _("Latitude"), "legal_basis": _("Legal basis"), "longitude": _("Longitude"),
    "members": _("Members"), "name": _("Name"), "note": _("Note"), "outcome": _("Outcome"),
    "password": _("Password"), "position": _("Position"), "priority": _("Priority"), "province": _("Province"),
    "reason": _("Reason"), "recorder": _("Recorder"), "role": _("Role"), "scope": _("Scope"), "serial": _("Serial"),
    "site": _("Site"), "sites": _("Sites"), "start": _("From"), "station": _("Station"), "status": _("Status"),
    "title": _("Title"), "to": _("To"), "type": _("Type"), "tz": _("Time zone"), "unit": _("Unit"),
    "unit_version": _("Version"), "username": _("Username"), "version": _("Version"),
}


def field_label(name: str, names: Mapping[str, str] | None = None) -> str:
    """The label of the field called ``name`` in the request's language (a page's own ``names`` first)."""
    if names and name in names:
        return names[name]
    head, _dot, rest = str(name).partition(".")
    message = FIELD_LABELS.get(head)
    if message is None:
        return str(name)
    label = i18n.gettext(message)
    if rest.isdigit():  # an item of a list, counted from one
        return f"{label} #{int(rest) + 1}"
    return f"{label} {rest}" if rest else label
