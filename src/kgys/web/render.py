"""Rendering a page: the template plus what every page shows (user, navigation, CSRF token)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import Response

from kgys import localtime
from kgys.accounts.permissions import Perm
from kgys.web import checks, i18n, labels
from kgys.web.deps import Principal


def navigation(p: Principal) -> list[tuple[str, str, str]]:
    """The menu entries the user's role allows."""
    items = [
        ("/dashboard", i18n.gettext("Dashboard"), Perm.DASHBOARD_READ),
        ("/sites", i18n.gettext("Sites"), Perm.SITES_READ),
        ("/import", i18n.gettext("Import"), Perm.SITES_IMPORT),
        ("/holds", i18n.gettext("Legal holds"), Perm.HOLDS_READ),
        ("/console", i18n.gettext("Operations console"), Perm.ALERTS_HANDLE),
        ("/alerts", i18n.gettext("Alerts"), Perm.ALERTS_READ),
        ("/console/board", i18n.gettext("Supervisor board"), Perm.ALERTS_SUPERVISE),
        ("/dispatch", i18n.gettext("Dispatch"), Perm.DISPATCH_READ),
        ("/incidents", i18n.gettext("Incidents"), Perm.DISPATCH_READ),
        ("/units", i18n.gettext("Units"), Perm.DISPATCH_READ),
        ("/dispatch/reports", i18n.gettext("Dispatch reports"), Perm.DISPATCH_READ),
        ("/field", i18n.gettext("My unit"), Perm.UNITS_REPORT),
        ("/devices", i18n.gettext("Devices"), Perm.CAMERAS_READ),
        ("/wall", i18n.gettext("Video wall"), Perm.LIVE_VIEW),
        ("/exports", i18n.gettext("My exports"), Perm.CLIP_EXPORT),
        ("/evidence/requests", i18n.gettext("Footage requests"),
         Perm.EVIDENCE_READ if p.actor.can(Perm.EVIDENCE_READ) else Perm.EVIDENCE_REQUEST),
        ("/audit", i18n.gettext("Audit log"), Perm.AUDIT_READ),
        ("/users", i18n.gettext("Users"), Perm.USERS_MANAGE),
    ]
    return [(href, label, perm.value) for href, label, perm in items if p.actor.can(perm)]


def server_zone(request: Request) -> str:
    """The installation's zone (``web.time_zone``): the zone of every reader who chose none."""
    runtime = getattr(request.app.state, "runtime", None)
    return str(runtime.settings.web.time_zone) if runtime is not None else localtime.DEFAULT_ZONE


def reader_zone(request: Request) -> ZoneInfo:
    """The zone the reader sees and types times in: ``request.state.tz`` when set, else ``web.time_zone``."""
    chosen = getattr(request.state, "tz", None)
    if isinstance(chosen, ZoneInfo):
        return chosen
    return localtime.zone(server_zone(request))


def render(request: Request, name: str, context: dict[str, Any], principal: Principal | None = None,
           status_code: int = 200) -> Response:
    """Render ``name`` in the request's language, with the user's menu and CSRF token."""
    other_params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    tz = reader_zone(request)
    now = datetime.now(UTC)
    ctx: dict[str, Any] = {"lang": getattr(request.state, "lang", "tr"), "user": None, "csrf": "",
                           "tz": tz, "tz_label": localtime.label(tz, now), "tz_offset": localtime.offset(tz, now),
                           "default_zone": server_zone(request),
                           "nav": [], "role_label": "", "can": frozenset(), "labels": labels, "checks": checks,
                           "lang_query": urlencode(other_params)}
    if principal is not None:
        ctx |= {"user": principal.user, "nav": navigation(principal),
                "role_label": labels.role_label(principal.user.role),
                "csrf": principal.login.csrf_token if principal.login else "", "actor": principal.actor,
                "can": frozenset(perm.value for perm in Perm if principal.actor.can(perm))}
    ctx |= context
    with localtime.reading_in(tz):  # times inside server sentences, as the page shows every other time
        return request.app.state.templates.TemplateResponse(request, name, ctx, status_code=status_code)  # type: ignore[no-any-return]
