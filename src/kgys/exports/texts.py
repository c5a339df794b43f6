"""What the export pages and API say about an export's state and failure, in the reader's language."""

from __future__ import annotations

from typing import Any

from kgys.said import marked as _
from kgys.web import i18n

STATES = {"queued": _("Queued"), "running": _("Running"), "done": _("Ready"), "failed": _("Failed"),
          "expired": _("Expired")}
ERRORS = {
    "no_recording": _("Nothing was recorded in this range by any of the cameras."),
    "ffmpeg_failed": _("The video of camera %(camera)s could not be joined."),
    "segment_missing": _("A recording of camera %(camera)s is missing from storage."),
    "internal": _("The export could not be built; ask again, or tell your administrator if it fails again."),
}
FALLBACK = ERRORS["internal"]


def state_label(state: str) -> str:
    """An export state as the reader reads it."""
    return i18n.gettext(STATES[state]) if state in STATES else state


def error_message(code: str | None, params: dict[str, Any] | None) -> str:
    """Why an export failed, in the reader's language."""
    if not code:
        return ""
    try:
        return i18n.gettext(ERRORS.get(code, FALLBACK), **(params or {}))
    except (KeyError, TypeError, ValueError):
        return i18n.gettext(FALLBACK)
