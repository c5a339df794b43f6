"""Web UI of dispatch: the operator's live map of units and incidents (:file:`static/dispatch.js`).

The page embeds the dispatch board (:mod:`kgys.dispatch.flows.board`) with the newest event number, then follows
the events stream; ``/dispatch/board.json`` is the same board for a map that must read it again (after
``resync``)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from kgys.accounts.permissions import Perm
from kgys.dispatch.flows import board as board_flow
from kgys.dispatch.states import UnitStatus
from kgys.incidents.states import IncidentState
from kgys.web import i18n, labels
from kgys.web.deps import DB, CurrentPrincipal
from kgys.web.render import render
from kgys.web.routing import Router

router = Router(include_in_schema=False)


def _texts() -> dict[str, Any]:
    """The map's words in the request's language."""
    return {
        "statuses": {s.value: labels.unit_status_label(s) for s in UnitStatus},
        "states": {s.value: labels.incident_state_label(s) for s in IncidentState},
        "assignment_states": {k.value: i18n.gettext(v) for k, v in labels.ASSIGNMENT_STATE_LABELS.items()},
        "categories": {k.value: i18n.gettext(v) for k, v in labels.INCIDENT_CATEGORY_LABELS.items()},
        "kinds": {k.value: i18n.gettext(v) for k, v in labels.UNIT_KIND_LABELS.items()},
        "connected": i18n.gettext("Live"), "reconnecting": i18n.gettext("Reconnecting…"),
        "stale": i18n.gettext("stale"), "no_incidents": i18n.gettext("No open incidents."),
        "no_units": i18n.gettext("No units."), "none_sent": i18n.gettext("no unit sent"),
        "seconds": i18n.gettext("%(n)s s ago"), "minutes": i18n.gettext("%(n)s min ago"),
        "hours": i18n.gettext("%(n)s h ago"),
    }


@router.get("/dispatch")
def map_page(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """The dispatch map: units by status and open incidents of the user's scope, live."""
    p.actor.require(Perm.DISPATCH_READ)
    settings = request.app.state.runtime.settings
    data = board_flow.board(session=session, actor=p.actor, settings=settings.dispatch)
    return render(request, "dispatch/map.html", {
        "board": {**data, "texts": _texts(), "tile_url": settings.web.tile_url},
    }, p)


@router.get("/dispatch/board.json")
def board_json(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """The dispatch board as JSON (the page's data, read again after a resync)."""
    p.actor.require(Perm.DISPATCH_READ)
    settings = request.app.state.runtime.settings
    return JSONResponse(board_flow.board(session=session, actor=p.actor, settings=settings.dispatch))
