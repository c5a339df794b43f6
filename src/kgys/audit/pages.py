"""Web UI page of the audit log: the entries a reader's scope allows, and an on-demand verification of the
whole chain (country-wide readers only)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from kgys.accounts.permissions import Perm
from kgys.audit import service as audit_service
from kgys.audit import witness as witness_mod
from kgys.audit.checkpoints import TailPolicy
from kgys.audit.report import VerifyReport
from kgys.errors import NotFound
from kgys.sites.flows import audit as site_flows
from kgys.web import i18n
from kgys.web.deps import DB, CurrentPrincipal, Principal, runtime
from kgys.web.paging import page_number, pager
from kgys.web.render import render

router = APIRouter(include_in_schema=False)

PER_PAGE = 50
FILTERS = ("action", "actor", "site")


def _details(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {"value": text}
    return value if isinstance(value, dict) else {"value": value}


def _summary(details: dict[str, Any]) -> str:
    fields = details.get("fields")
    if isinstance(fields, list) and fields:
        return ", ".join(str(f) for f in fields)
    text = json.dumps(details, ensure_ascii=False, sort_keys=True) if details else ""
    return text if len(text) <= 160 else text[:157] + "…"


def _page(request: Request, session: Session, p: Principal, *, report: VerifyReport | None = None,
          witnesses_owed: int | None = None, status_code: int = 200) -> Response:
    p.actor.require(Perm.AUDIT_READ)
    q = request.query_params
    raw = {k: q.get(k, "").strip()[:120] for k in FILTERS}
    page = page_number(q.get("page"))
    errors: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    total = 0
    try:
        found, total = site_flows.audit_entries(
            session=session, actor=p.actor, page=page, per_page=PER_PAGE, action=raw["action"] or None,
            username=raw["actor"] or None, site=raw["site"] or None)
    except NotFound:
        errors["site"] = i18n.gettext("No site with this institution code within your scope.")
        found = []
    for entry, code in found:
        details = _details(entry.details)
        rows.append({"e": entry, "site": code, "summary": _summary(details)})
    return render(request, "audit.html", {
        "rows": rows, "filters": raw, "errors": errors, "can_verify": p.actor.scope.is_global, "report": report,
        "witnesses_owed": witnesses_owed,
        **pager("/audit", raw, page=page, total=total, per_page=PER_PAGE),
    }, p, status_code=status_code if not errors else 422)


@router.get("/audit")
def audit_log(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """Audit entries within the reader's scope, newest first, filtered and paged."""
    return _page(request, session, p)


@router.get("/audit/verify")
def audit_verify_page(request: Request) -> Response:
    """The verification result is only shown after a POST; a GET (a language link, a reload) goes to the log."""
    return RedirectResponse("/audit", status_code=303)


@router.post("/audit/verify")
def audit_verify(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """Recompute the whole hash chain and check the signed checkpoints now."""
    report = audit_service.verify_log(session=session, actor=p.actor, public_key=runtime(request).signer.public,
                                      tail=TailPolicy.from_settings(runtime(request).settings.audit),
                                      stop_at_first=False)
    configured = [w.name for w in runtime(request).settings.audit.witnesses]
    owed = witness_mod.pending_count(session=session, witnesses=configured) if configured else None
    return _page(request, session, p, report=report, witnesses_owed=owed)
