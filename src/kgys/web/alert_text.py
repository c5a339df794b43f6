"""An alert's details in the reader's language.

The server stores each alert's details as an English sentence (for the log, the API and the stream) and,
for most kinds, the values it was built from in ``data`` (a recording alarm: its code and values,
``data["said"]``, see :mod:`kgys.web.server_text`). A page rebuilds the sentence from the kind and
those values in the request's language where they are all there; otherwise it shows the stored text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from kgys.devices.kinds import DeviceAlertKind, PressType
from kgys.dispatch.kinds import DispatchAlertKind
from kgys.kades.service import KadesKind
from kgys.said import marked as _
from kgys.web import i18n, server_text


class AlertLike(Protocol):
    """What the sentence is built from."""

    kind: str
    details: str
    device: str | None
    data: dict[str, Any]



PRESS_LABELS: dict[PressType, str] = {PressType.PANIC: _("Panic"), PressType.MEDICAL: _("Medical emergency"),
                                      PressType.FIRE: _("Fire"), PressType.INTRUDER: _("Intruder")}


def _press(data: Mapping[str, Any]) -> str | None:
    message = PRESS_LABELS.get(str(data.get("press_type")))  # type: ignore[call-overload]
    if message is None:
        return None
    room = data.get("room")
    return i18n.gettext(message) + (f" — {room}" if room else "")


def _kades_flag(flag: str) -> str:
    if flag == "order not in force":
        return i18n.gettext("order not in force")
    if flag == "position outside Türkiye left out":
        return i18n.gettext("position outside Türkiye left out")
    if flag.startswith("phone clock off by ") and flag.endswith(" s"):
        return i18n.gettext("phone clock off by %(s)s s", s=flag.removeprefix("phone clock off by ")[:-2])
    return flag


def _rebuilt(kind: str, data: Mapping[str, Any], device: str | None) -> str | None:
    if kind == DispatchAlertKind.UNACKNOWLEDGED and {"unit", "incident", "waited_seconds"} <= data.keys():
        return i18n.gettext("Unit %(unit)s has not acknowledged incident %(incident)s for %(waited)s s",
                            unit=data["unit"], incident=data["incident"], waited=data["waited_seconds"])
    if kind == DeviceAlertKind.DEVICE_OFFLINE and device and data.get("last_seen_at"):
        return i18n.gettext("%(serial)s silent since %(since)s", serial=device,
                            since=server_text.when(data["last_seen_at"]))
    if kind == DeviceAlertKind.PANIC_PRESS:
        return _press(data)
    if kind == KadesKind.PRESS and data.get("person"):
        text = f"KADES — {data['person']}, {data.get('call_back') or ''}".rstrip(", ")
        flags = [_kades_flag(str(f)) for f in data.get("flags") or []]
        return text + (f" ({'; '.join(flags)})" if flags else "")
    return None


def details(alert: AlertLike) -> str:
    """The alert's details for a page: rebuilt in the request's language where the data allows (its code and
    values, or a sentence of the server's recognised in the stored text), else the stored text."""
    data = alert.data or {}
    return _rebuilt(str(alert.kind), data, alert.device) or server_text.text(alert.details, data)
