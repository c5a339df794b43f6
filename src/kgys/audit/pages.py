"""Web UI page of the audit log: the entries a reader's scope allows, filtered (time range in the reader's zone,
action, user, object, site, text) and paged, each with its changes and a link to its object; the same entries as
CSV or JSON Lines (the export itself audited); and an on-demand verification of the whole chain (country-wide
readers only). What a row shows is :mod:`kgys.audit.screen`."""

from __future__ import annotations

import contextvars
import csv
import io
from collections.abc import Callable, Generator, Iterator
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.audit import screen
from kgys.audit import service as audit_service
from kgys.audit import witness as witness_mod
from kgys.audit.checkpoints import TailPolicy
from kgys.audit.report import VerifyReport
from kgys.audit.service import EntryFilter
from kgys.db import reading, utcnow
from kgys.errors import NotFound
from kgys.figures import csv_cell
from kgys.sites.flows import audit as site_flows
from kgys.web import i18n
from kgys.web.admission import keep_place
from kgys.web.deps import DB, CurrentPrincipal, Principal, runtime, writes
from kgys.web.paging import page_number, pager
from kgys.web.render import render
from kgys.web.routing import Router

router = Router(include_in_schema=False)

PER_PAGE = 50
EXPORT_BATCH = 500  # rows read and sent at a time
FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}


def _filters(request: Request) -> screen.Filters:
    return screen.parse(dict(request.query_params), runtime(request).settings.dispatch.time_zone)


def _site_error() -> str:
    return i18n.gettext("No site with this institution code within your scope.")


def _page(request: Request, session: Session, p: Principal, *, report: VerifyReport | None = None,
          witnesses_owed: int | None = None, filters: screen.Filters | None = None) -> Response:
    p.actor.require(Perm.AUDIT_READ)
    f = filters or _filters(request)
    errors = dict(f.errors)
    page = page_number(request.query_params.get("page"))
    rows: list[screen.Row] = []
    total = 0
    if not errors:
        try:
            found, total = site_flows.audit_entries(session=session, actor=p.actor, page=page, per_page=PER_PAGE,
                                                    site=f.site, match=f.match)
            rows = [screen.row(entry, code, f.zone) for entry, code in found]
        except NotFound:
            errors["site"] = _site_error()
    default_zone = runtime(request).settings.dispatch.time_zone
    return render(request, "audit.html", {
        "rows": rows, "filters": f.raw, "errors": errors, "can_verify": p.actor.scope.is_global, "report": report,
        "witnesses_owed": witnesses_owed, "zone": f.zone.key, "zones": screen.zones(default_zone),
        "offset": utcnow().astimezone(f.zone).strftime("%z"), "export_query": urlencode(f.given()),
        "digest_note": screen.digest_note(), "not_recorded": screen.not_recorded(), "text": screen.text,
        "object_types": screen.OBJECT_TYPES,
        **pager("/audit", f.raw, page=page, total=total, per_page=PER_PAGE),
    }, p, status_code=422 if errors else 200)


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


def _csv_line(cells: list[object]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([csv_cell(v) for v in cells])
    return out.getvalue()


def _lines(request: Request, actor: Actor, f: screen.Filters, match: EntryFilter, fmt: str) -> Generator[bytes]:
    """The export's bytes, a batch of rows at a time, read in a unit of work of its own (the request's has ended
    by the time the body is sent)."""
    sessions = runtime(request).sessions
    if fmt == "csv":
        yield ("\ufeff" + _csv_line(list(screen.csv_header(f.zone)))).encode("utf-8")
    with reading(sessions) as session:
        chunk: list[str] = []
        for entry, code in site_flows.each_audit_entry(session=session, actor=actor, site=f.site, match=match,
                                                       batch=EXPORT_BATCH):
            r = screen.row(entry, code, f.zone)
            chunk.append(_csv_line(screen.csv_cells(r)) if fmt == "csv" else screen.json_line(r))
            if len(chunk) >= EXPORT_BATCH:
                yield "".join(chunk).encode("utf-8")
                chunk = []
        if chunk:
            yield "".join(chunk).encode("utf-8")


def _in_context(ctx: contextvars.Context, make: Callable[[], Generator[bytes]]) -> Iterator[bytes]:
    """Run a body generator in the request's context (its language), however the server steps through it."""
    body = ctx.run(make)
    try:
        while True:
            try:
                yield ctx.run(next, body)
            except StopIteration:
                return
    finally:
        ctx.run(body.close)


def _export(request: Request, session: Session, p: Principal, fmt: str) -> Response:
    p.actor.require(Perm.AUDIT_READ)
    f = _filters(request)
    if f.errors:
        return _page(request, session, p, filters=f)
    try:
        match = site_flows.record_export(session=session, actor=p.actor, site=f.site, match=f.match, fmt=fmt,
                                         filters=f.given())
    except NotFound:
        return _page(request, session, p, filters=screen.Filters(f.raw, f.match, f.site, f.zone,
                                                                 {"site": _site_error()}))
    name = f"kgys-audit-{utcnow():%Y%m%d-%H%M%S}-to-{match.through_seq}.{fmt}"
    actor: Actor = p.actor
    body: Any = _in_context(contextvars.copy_context(), lambda: _lines(request, actor, f, match, fmt))
    keep_place(request.scope)  # the body holds a connection of its own while it is sent
    return StreamingResponse(body, media_type=FORMATS[fmt],
                             headers={"Content-Disposition": f'attachment; filename="{name}"',
                                      "Cache-Control": "no-store"})


@router.get("/audit/export.csv")
@writes  # the export is audited
def audit_export_csv(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """The entries the same filters select, every page of them, as CSV for a spreadsheet (UTF-8 with a
    byte-order mark, formula-safe cells)."""
    return _export(request, session, p, "csv")


@router.get("/audit/export.jsonl")
@writes  # the export is audited
def audit_export_jsonl(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """The entries the same filters select, every page of them, as JSON Lines (one entry a line)."""
    return _export(request, session, p, "jsonl")
