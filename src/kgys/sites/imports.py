"""Importing site lists and camera inventories: validate every row, then apply all of them or none.

The file is read by :mod:`kgys.sites.import_parse`; each row is then checked with the same schemas the
API uses (``SiteCreate`` here; ``RecorderIn`` and ``CameraIn`` in :mod:`kgys.cameras.flows.imports`, whose
``import_file`` is the entry point) and written through the same services, so scope,
permissions and the audit log apply exactly as for single edits. All rows are applied in one savepoint:
if any row fails, the savepoint is rolled back and every problem is reported with its row and column.
A dry run does the same work and then rolls back, so its summary is exactly what the import would do.

What a row means:

- Sites are matched by ``code``, recorders and cameras by (``site_code``, ``name``). A row whose key is new
  creates the object; otherwise only fields that differ are changed, so importing the same file twice
  changes nothing the second time (no update, no audit entry, no new version).
- A column present in the file is authoritative; an empty cell means the field's empty value or default.
  A column absent from the file leaves that field of existing objects as it is.
- ``district`` (and the optional ``province``) may be a code or a name; a site is never moved to another
  district by an import. Provinces and districts the file names that are not registered yet but are in
  Türkiye's list shipped with kgys are registered first (:mod:`kgys.sites.import_places`).
- ``rollout_status`` of a new site is set directly (with one dated roll-out step from ``none``), because
  sites often enter the registry part-way through their roll-out; for an existing site it moves the site
  as a roll-out change does (one step forward, or back), and an empty cell leaves it where it is;
  ``rollout_date`` dates the step (default: today).

Every problem is a message id with parameters (:mod:`kgys.sites.import_messages`), so the web UI and the
API show it in the reader's language.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from kgys import said
from kgys.accounts.actor import Actor
from kgys.accounts.models import Jurisdiction
from kgys.accounts.permissions import Perm
from kgys.audit import service as audit_service
from kgys.audit.actions import AuditAction
from kgys.audit.mechanism import acting_as
from kgys.errors import Conflict, KgysError, NotFound, PermissionDenied, ValidationFailed
from kgys.sites import import_places, rollout
from kgys.sites import service as site_service
from kgys.sites.import_messages import FILE, ImportFieldError, Problem, _, schema_problem
from kgys.sites.import_parse import KEYS, ParsedFile, Row, parse
from kgys.sites.import_summary import ImportSummary, RowChange
from kgys.sites.models import RolloutEvent, Site
from kgys.sites.schemas import RolloutChange, SiteCreate, SitePatch

log = logging.getLogger(__name__)

__all__ = ["Context", "ImportSummary", "RowApply", "RowChange", "RowFailed", "diff", "filled", "given", "import_file",
           "merge", "save_change", "service_problem", "validate_row"]

SET_BY_IMPORT = said._("set by import")  # the note of a roll-out step an import set
SITE_FIELDS = ("name", "type", "address", "latitude", "longitude", "student_count", "priority",
               "contact_name", "contact_phone", "contact_email")
# Fields services name in their errors → the file's column.
_SERVICE_FIELDS = {"status": "rollout_status", "effective_on": "rollout_date"}

Progress = Callable[[int, int], None]


class RowFailed(Exception):
    """Problems of one row, already recorded."""


@dataclass
class Context:
    session: Session
    actor: Actor
    parsed: ParsedFile
    today: date
    nodes: list[Jurisdiction] = field(default_factory=list)

    def stop_if_bad(self, row: Row) -> None:
        """Go no further than checking a row that already has problems."""
        if row.number in self.parsed.bad_cells:
            raise RowFailed()

    def fail(self, row: Row, column: str, problem: Problem) -> RowFailed:
        """Record a problem of ``row`` in ``column``; the exception that stops the row."""
        self.parsed.add_error(row.number, column, problem, value=row.values.get(column) or None)
        return RowFailed()


RowApply = Callable[[Context, Row], RowChange | None]
"""Check one row and apply it (through the domain's own service): the change, or None when nothing changed."""


def import_file(*, session: Session, actor: Actor, data: bytes, devices: Mapping[str, RowApply],
                filename: str = "", kind: str | None = None, dry_run: bool = False, progress: Progress | None = None,
                today: date | None = None) -> ImportSummary:
    """Validate and apply a CSV or XLSX file of sites, recorders or cameras, all rows or none.

    Rows of recorders and cameras are applied by ``devices`` (kind → row function), which the cameras
    domain provides (:func:`kgys.cameras.flows.imports.import_file` calls this with them). Raises
    ValidationFailed listing every problem (row, column, message) when any row is wrong; then nothing is
    written. With ``dry_run`` the summary tells what would change and nothing is kept.
    """
    actor.require(Perm.SITES_IMPORT)
    parsed = parse(data, filename, kind or None)
    if not parsed.header_ok:
        raise parsed.failure()
    ctx = Context(session=session, actor=actor, parsed=parsed, today=today or date.today())
    apply = {**devices, "sites": _site_row}[parsed.kind]
    summary = ImportSummary(kind=parsed.kind, dry_run=dry_run, rows=len(parsed.rows), encoding=parsed.encoding,
                            delimiter=parsed.delimiter, warnings=list(parsed.warnings))
    reason = f"import of {filename}" if filename else "import"
    with acting_as(session, actor, reason=reason[:200]):
        outer = session.begin_nested()
        try:
            if parsed.kind == "sites":
                ctx.nodes = list(session.scalars(select(Jurisdiction)
                                                 .where(Jurisdiction.kind.in_(("province", "district")))))
                summary.jurisdictions_created = _add_places(ctx)
            for done, row in enumerate(parsed.rows, start=1):
                _one_row(ctx, row, apply, summary)
                if progress is not None:
                    progress(done, len(parsed.rows))
            if parsed.error_count:
                raise parsed.failure()
            if (summary.created or summary.updated or summary.jurisdictions_created) and not dry_run:
                audit_service.append(
                    session, actor=actor, action=AuditAction.IMPORT_APPLY, object_type="import",
                    object_id=hashlib.sha256(data).hexdigest()[:16], reason=reason[:200],
                    details={"kind": parsed.kind, "file": filename, "rows": summary.rows,
                             "created": summary.created, "updated": summary.updated,
                             "unchanged": summary.unchanged,
                             "jurisdictions_created": len(summary.jurisdictions_created)})
        except BaseException:
            outer.rollback()
            raise
        if dry_run:
            outer.rollback()
        else:
            outer.commit()
    log.info("import of %s (%s): %s created, %s updated, %s unchanged%s", filename or "-", parsed.kind,
             summary.created, summary.updated, summary.unchanged, " (dry run)" if dry_run else "")
    return summary


def _one_row(ctx: Context, row: Row, apply: RowApply,
             summary: ImportSummary) -> None:
    key_column = KEYS[ctx.parsed.kind][0]
    savepoint = ctx.session.begin_nested()
    try:
        change = apply(ctx, row)
        savepoint.commit()
    except RowFailed:
        savepoint.rollback()
        return
    except ValidationFailed as exc:
        savepoint.rollback()
        for e in exc.errors:
            column = _SERVICE_FIELDS.get(e.field, e.field)
            problem = e.problem if isinstance(e, ImportFieldError) else Problem.text(e.message)
            ctx.parsed.add_error(row.number, column, problem, value=e.value)
        return
    except KgysError as exc:
        savepoint.rollback()
        column = str(exc.params.get("field") or key_column)
        ctx.parsed.add_error(row.number, _SERVICE_FIELDS.get(column, column), service_problem(ctx, exc))
        return
    except SQLAlchemyError as exc:
        savepoint.rollback()
        log.warning("import row %s refused by the database: %s", row.number, exc)
        first = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200]
        ctx.parsed.add_error(row.number, key_column, _("the database refused this row: %(reason)s", reason=first))
        return
    if change is None:
        summary.unchanged += 1
        return
    if change.action == "created":
        summary.created += 1
    else:
        summary.updated += 1
    summary.changes.append(change)


def service_problem(ctx: Context, exc: KgysError) -> Problem:
    """What a service's refusal means for a row, in words that can be translated."""
    if isinstance(exc, PermissionDenied) and "perm" in exc.params:
        return _("your role (%(role)s) may not do this: %(perm)s", role=ctx.actor.role, perm=exc.params["perm"])
    if isinstance(exc, Conflict) and exc.params.get("field") == "code":
        return _("a site with this code already exists outside your scope")
    return Problem.text(exc.message)


def _add_places(ctx: Context) -> list[str]:
    """Register the listed provinces and districts the file names; their codes.

    When that fails, nothing of it is kept and the rows naming those districts report them as unknown.
    """
    savepoint = ctx.session.begin_nested()
    try:
        made = import_places.add_missing(session=ctx.session, actor=ctx.actor, nodes=ctx.nodes,
                                         rows=ctx.parsed.rows)
    except (KgysError, SQLAlchemyError) as exc:
        savepoint.rollback()
        log.warning("districts of the import could not be registered: %s", exc)
        return []
    savepoint.commit()
    return made


def validate_row(ctx: Context, row: Row, schema: type[BaseModel], data: dict[str, Any]) -> Any:
    """The row as ``schema``; problems of cells already reported are not repeated."""
    try:
        model = schema.model_validate(data)
    except ValidationError as exc:
        known = ctx.parsed.bad_cells.get(row.number, set())
        for err in exc.errors():
            column = str(err["loc"][0]) if err.get("loc") else FILE
            if column in known:
                continue
            ctx.parsed.add_error(row.number, column, schema_problem(err), value=row.values.get(column) or None)
        raise RowFailed() from exc
    ctx.stop_if_bad(row)
    return model


def given(row: Row, names: tuple[str, ...]) -> dict[str, str]:
    """Non-empty cells of ``names``: an empty cell falls back to the schema's default."""
    return {k: v for k, v in row.values.items() if k in names and v != ""}


def filled(value: Any) -> bool:
    """Whether a cell's value says something (not None, not empty)."""
    return value is not None and value != ""


def merge(row: Row, base: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """Existing values overlaid with the row's cells; an empty cell drops the existing value."""
    data = {k: v for k, v in base.items() if row.values.get(k, None) != ""}
    return data | given(row, names)


def diff(before: dict[str, Any], after: dict[str, Any], names: tuple[str, ...]) -> dict[str, tuple[Any, Any]]:
    """The fields of ``names`` whose value changes, with their value before and after."""
    return {f: (before.get(f), after[f]) for f in names if before.get(f) != after[f]}


def save_change(row: Row, key: str, base: dict[str, Any] | None, after: dict[str, Any], fields: tuple[str, ...],
                save: Callable[[], object]) -> RowChange | None:
    """Create (``base`` None: nothing matched the row's key) or update what ``row`` describes through ``save``;
    the change, or None when no field differs."""
    if base is None:
        save()
        present = [f for f in fields if f in row.values]
        return RowChange(row.number, key, "created", {f: (None, after[f]) for f in present if filled(after[f])})
    changed = diff(base, after, fields)
    if not changed:
        return None
    save()
    return RowChange(row.number, key, "updated", changed)


def _plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


# ---------------------------------------------------------------- sites


def _district(ctx: Context, row: Row) -> Jurisdiction | None:
    """The row's district; None (and the problem recorded) when it cannot be told."""
    try:
        return import_places.district_of(ctx.nodes, ctx.actor, row)
    except import_places.PlaceProblem as exc:
        ctx.fail(row, exc.column, exc.problem)
        return None


def _existing_site(ctx: Context, code: str) -> Site | None:
    try:
        return site_service.get_site(session=ctx.session, actor=ctx.actor, code=code)
    except NotFound:
        return None


def _site_row(ctx: Context, row: Row) -> RowChange | None:
    district = _district(ctx, row)
    data: SiteCreate = validate_row(ctx, row, SiteCreate, {**given(row, SITE_FIELDS + ("code",)),
                                                         "district": district.code if district else "-"})
    if district is None:  # reported already; validate_row stops such a row
        raise RowFailed()
    new = data.model_dump(include=set(SITE_FIELDS))
    new["type"] = data.type.value
    new["contact_email"] = data.contact_email or ""
    present = [f for f in SITE_FIELDS if f in row.values]
    status = row.values.get("rollout_status", "")
    site = _existing_site(ctx, data.code)
    if site is None:
        site = site_service.create_site(session=ctx.session, actor=ctx.actor, data=data)
        fields: dict[str, tuple[Any, Any]] = {f: (None, new[f]) for f in present if filled(new[f])}
        fields["district"] = (None, district.code)
        if status and status != site.rollout_status:
            if not ctx.actor.can(Perm.ROLLOUT_EDIT):
                raise ctx.fail(row, "rollout_status", _("your role (%(role)s) may not do this: %(perm)s",
                                                        role=ctx.actor.role, perm=Perm.ROLLOUT_EDIT.value))
            since = _step_date(ctx, row)
            ctx.session.add(RolloutEvent(site_id=site.id, from_status=site.rollout_status, to_status=status,
                                         effective_on=since, user_id=ctx.actor.id,
                                         username=ctx.actor.username, note=SET_BY_IMPORT.english()))
            site.rollout_status, site.rollout_since = status, since
            ctx.session.flush()
            fields["rollout_status"] = (None, status)
        return RowChange(row.number, data.code, "created", fields)
    if site.jurisdiction_id != district.id:
        raise ctx.fail(row, "district", _("site '%(code)s' is in district '%(district)s'; an import does not "
                                          "move a site to another district", code=site.code,
                                          district=site.jurisdiction.code))
    changed = {f: (_plain(getattr(site, f)), new[f]) for f in present if _plain(getattr(site, f)) != new[f]}
    if changed:
        patch = SitePatch.model_validate({"version": site.version} | {f: b for f, (_a, b) in changed.items()})
        site_service.update_site(session=ctx.session, actor=ctx.actor, code=site.code, patch=patch)
    if status and status != site.rollout_status:
        before = site.rollout_status
        _check_step(ctx, row, site, status)
        site_service.change_rollout(session=ctx.session, actor=ctx.actor, code=site.code, today=ctx.today,
                                    change=RolloutChange(status=status, note=SET_BY_IMPORT.english(),
                                                         effective_on=_step_date(ctx, row)))
        changed["rollout_status"] = (before, status)
    return RowChange(row.number, site.code, "updated", changed) if changed else None


def _check_step(ctx: Context, row: Row, site: Site, status: str) -> None:
    """Refuse, in words that can be translated, a roll-out move the service would refuse."""
    order = [s.value for s in rollout.ORDER]
    if status in order and site.rollout_status in order and order.index(status) > order.index(site.rollout_status) + 1:
        raise ctx.fail(row, "rollout_status", _("a site moves one step at a time: from '%(current)s' the next step "
                                                "is '%(next)s'", current=site.rollout_status,
                                                next=order[order.index(site.rollout_status) + 1]))
    when = _step_date(ctx, row)
    if when < site.rollout_since:
        raise ctx.fail(row, "rollout_date", _("the date %(date)s is before the site's previous roll-out step "
                                              "(%(since)s)", date=when.strftime("%d.%m.%Y"),
                                              since=site.rollout_since.strftime("%d.%m.%Y")))


def _step_date(ctx: Context, row: Row) -> date:
    """The date of the row's roll-out step: its ``rollout_date``, or today; never in the future."""
    text = row.values.get("rollout_date", "")
    when = date.fromisoformat(text) if text else ctx.today
    if when > ctx.today:
        raise ctx.fail(row, "rollout_date", _("the date %(date)s is in the future", date=when.strftime("%d.%m.%Y")))
    return when
