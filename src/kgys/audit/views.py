"""HTTP API of the audit domain: reading the log, verifying it, and the published checkpoint key."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import PlainTextResponse

from kgys.audit import service
from kgys.audit.checkpoints import TailPolicy
from kgys.audit.models import AuditEntry
from kgys.audit.schemas import AuditEntryOut, ProblemOut, VerifyOut
from kgys.audit.signing import public_pem
from kgys.sites.flows import audit as site_flows
from kgys.web.contract import errors
from kgys.web.deps import DB, CurrentActor, HandlerCaller, runtime
from kgys.web.paging import Page, PageQuery, PerPageQuery
from kgys.web.routing import Router

router = Router(tags=["audit"])


def _details(text: str) -> dict[str, Any]:
    value = json.loads(text) if text else {}
    return value if isinstance(value, dict) else {"value": value}


def _entry_out(e: AuditEntry, site: str | None) -> AuditEntryOut:
    return AuditEntryOut(seq=e.seq, ts=e.ts, actor_id=e.actor_id, actor=e.actor, action=e.action,
                         object_type=e.object_type, object_id=e.object_id, site=site, reason=e.reason,
                         legal_basis=e.legal_basis, details=_details(e.details), entry_hash=e.entry_hash)


@router.get("/audit", response_model=Page[AuditEntryOut], responses=errors(404))  # ?site= names a site
def list_entries(
    session: DB,
    caller: HandlerCaller,
    page: PageQuery = 1,
    per_page: PerPageQuery = 50,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor_name: Annotated[str | None, Query(alias="actor", max_length=120)] = None,
    site: Annotated[str | None, Query(max_length=32, description="Site code")] = None,
) -> Page[AuditEntryOut]:
    """Audit entries the caller may read, newest first (scoped users see entries of their sites only)."""
    rows, total = site_flows.audit_entries(session=session, actor=caller.actor(), page=page, per_page=per_page,
                                          action=action, username=actor_name, site=site or None)
    return Page[AuditEntryOut](items=[_entry_out(e, code) for e, code in rows], total=total, page=page,
                               per_page=per_page)


@router.get("/audit/verify", response_model=VerifyOut)
def verify(
    request: Request, session: DB, actor: CurrentActor,
    all_problems: Annotated[bool, Query(alias="all", description="List every problem, not only the first")] = False,
) -> VerifyOut:
    """Recompute the hash chain and check every signed checkpoint (country-wide auditors and admins)."""
    report = service.verify_log(session=session, actor=actor, public_key=runtime(request).signer.public,
                                tail=TailPolicy.from_settings(runtime(request).settings.audit),
                                stop_at_first=not all_problems)
    return VerifyOut(ok=report.ok, entries=report.entries, last_seq=report.last_seq, head_hash=report.head_hash,
                     checkpoints=report.checkpoints, last_checkpoint_seq=report.last_checkpoint_seq,
                     unsigned_tail=report.unsigned_tail,
                     problems=[ProblemOut(seq=p.seq, kind=p.kind, message=p.message) for p in report.problems])


@router.get("/audit/public-key", response_class=PlainTextResponse)
def public_key(request: Request) -> PlainTextResponse:
    """The PEM public key that verifies the signed checkpoints; published, so no sign-in is needed."""
    return PlainTextResponse(public_pem(runtime(request).signer.public))
