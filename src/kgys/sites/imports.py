"""Importing site lists and camera inventories: validate every row, then apply all of them or none.

The file is read by :mod:`kgys.sites.import_parse`; each row is then checked with the same schemas the
API uses (``SiteCreate``, ``RecorderIn``, ``CameraIn``) and written through the same services, so scope,
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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.models import Jurisdiction
from kgys.accounts.permissions import Perm
from kgys.audit import service as audit_service
from kgys.audit.actions import AuditAction
from kgys.audit.mechanism import acting_as
from kgys.cameras import service as camera_service
from kgys.cameras.schemas import CameraIn, RecorderIn
from kgys.cameras.secrets import CredentialBox
from kgys.errors import Conflict, KgysError, NotFound, PermissionDenied, ValidationFailed
from kgys.sites import import_places, rollout
from kgys.sites import service as site_service
from kgys.sites.import_messages import FILE, ImportFieldError, Problem, _, schema_problem
from kgys.sites.import_parse import KEYS, ParsedFile, Row, parse
from kgys.sites.import_summary import ImportSummary, RowChange
from kgys.sites.models import RolloutEvent, Site
from kgys.sites.schemas import RolloutChange, SiteCreate, SitePatch

log = logging.getLogger(__name__)

__all__ = ["ImportSummary", "RowChange", "import_file"]

SITE_FIELDS = ("name", "type", "address", "latitude", "longitude", "student_count", "priority",
               "contact_name", "contact_phone", "contact_email")
RECORDER_FIELDS = ("name", "vendor", "model", "channels", "supported_storage_tb", "installed_storage_tb",
                   "remote_viewing", "continuous_recording", "retention_days", "host")
CAMERA_FIELDS = ("name", "recorder", "megapixels", "width", "height", "poe", "night_vision", "position",
                 "bitrate_kbps", "codec", "stream_url", "enabled")
# Fields services name in their errors → the file's column.
_SERVICE_FIELDS = {"status": "rollout_status", "effective_on": "rollout_date"}

Progress = Callable[[int, int], None]


class _RowFailed(Exception):
    """Problems of one row, already recorded."""


@dataclass
class _Context:
    session: Session
    actor: Actor
    box: CredentialBox
    parsed: ParsedFile
    today: date
    nodes: list[Jurisdiction] = field(default_factory=list)

    def stop_if_bad(self, row: Row) -> None:
        """Go no further than checking a row that already has problems."""
        if row.number in self.parsed.bad_cells:
            raise _RowFailed()

    def fail(self, row: Row, column: str, problem: Problem) -> _RowFailed:
        """Record a problem of ``row`` in ``column``; the exception that stops the row."""
        self.parsed.add_error(row.number, column, problem, value=row.values.get(column) or None)
        return _RowFailed()


def import_file(*, session: Session, actor: Actor, box: CredentialBox, data: bytes, filename: str = "",
                kind: str | None = None, dry_run: bool = False, progress: Progress | None = None,
                today: date | None = None) -> ImportSummary:
    """Validate and apply a CSV or XLSX file of sites, recorders or cameras, all rows or none.

    Raises ValidationFailed listing every problem (row, column, message) when any row is wrong; then
    nothing is written. With ``dry_run`` the summary tells what would change and nothing is kept.
    """
    actor.require(Perm.SITES_IMPORT)
    parsed = parse(data, filename, kind or None)
    if not parsed.header_ok:
        raise parsed.failure()
    ctx = _Context(session=session, actor=actor, box=box, parsed=parsed, today=today or date.today())
    apply = {"sites": _site_row, "recorders": _recorder_row, "cameras": _camera_row}[parsed.kind]
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


def _one_row(ctx: _Context, row: Row, apply: Callable[[_Context, Row], RowChange | None],
             summary: ImportSummary) -> None:
    key_column = KEYS[ctx.parsed.kind][0]
    savepoint = ctx.session.begin_nested()
    try:
        change = apply(ctx, row)
        savepoint.commit()
    except _RowFailed:
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
        ctx.parsed.add_error(row.number, _SERVICE_FIELDS.get(column, column), _service_problem(ctx, exc))
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


def _service_problem(ctx: _Context, exc: KgysError) -> Problem:
    """What a service's refusal means for a row, in words that can be translated."""
    if isinstance(exc, PermissionDenied) and "perm" in exc.params:
        return _("your role (%(role)s) may not do this: %(perm)s", role=ctx.actor.role, perm=exc.params["perm"])
    if isinstance(exc, Conflict) and exc.params.get("field") == "code":
        return _("a site with this code already exists outside your scope")
    return Problem.text(exc.message)


def _add_places(ctx: _Context) -> list[str]:
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


def _validate(ctx: _Context, row: Row, schema: type[BaseModel], data: dict[str, Any]) -> Any:
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
        raise _RowFailed() from exc
    ctx.stop_if_bad(row)
    return model


def _given(row: Row, names: tuple[str, ...]) -> dict[str, str]:
    """Non-empty cells of ``names``: an empty cell falls back to the schema's default."""
    return {k: v for k, v in row.values.items() if k in names and v != ""}


def _filled(value: Any) -> bool:
    return value is not None and value != ""


def _plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


# ---------------------------------------------------------------- sites


def _district(ctx: _Context, row: Row) -> Jurisdiction | None:
    """The row's district; None (and the problem recorded) when it cannot be told."""
    try:
        return import_places.district_of(ctx.nodes, ctx.actor, row)
    except import_places.PlaceProblem as exc:
        ctx.fail(row, exc.column, exc.problem)
        return None


def _existing_site(ctx: _Context, code: str) -> Site | None:
    try:
        return site_service.get_site(session=ctx.session, actor=ctx.actor, code=code)
    except NotFound:
        return None


def _site_row(ctx: _Context, row: Row) -> RowChange | None:
    district = _district(ctx, row)
    data: SiteCreate = _validate(ctx, row, SiteCreate, {**_given(row, SITE_FIELDS + ("code",)),
                                                         "district": district.code if district else "-"})
    if district is None:  # reported already; _validate stops such a row
        raise _RowFailed()
    new = data.model_dump(include=set(SITE_FIELDS))
    new["type"] = data.type.value
    new["contact_email"] = data.contact_email or ""
    present = [f for f in SITE_FIELDS if f in row.values]
    status = row.values.get("rollout_status", "")
    site = _existing_site(ctx, data.code)
    if site is None:
        site = site_service.create_site(session=ctx.session, actor=ctx.actor, data=data)
        fields: dict[str, tuple[Any, Any]] = {f: (None, new[f]) for f in present if _filled(new[f])}
        fields["district"] = (None, district.code)
        if status and status != site.rollout_status:
            if not ctx.actor.can(Perm.ROLLOUT_EDIT):
                raise ctx.fail(row, "rollout_status", _("your role (%(role)s) may not do this: %(perm)s",
                                                        role=ctx.actor.role, perm=Perm.ROLLOUT_EDIT.value))
            since = _step_date(ctx, row)
            ctx.session.add(RolloutEvent(site_id=site.id, from_status=site.rollout_status, to_status=status,
                                         effective_on=since, user_id=ctx.actor.id,
                                         username=ctx.actor.username, note="set by import"))
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
                                    change=RolloutChange(status=status, note="set by import",
                                                         effective_on=_step_date(ctx, row)))
        changed["rollout_status"] = (before, status)
    return RowChange(row.number, site.code, "updated", changed) if changed else None


def _check_step(ctx: _Context, row: Row, site: Site, status: str) -> None:
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


def _step_date(ctx: _Context, row: Row) -> date:
    """The date of the row's roll-out step: its ``rollout_date``, or today; never in the future."""
    text = row.values.get("rollout_date", "")
    when = date.fromisoformat(text) if text else ctx.today
    if when > ctx.today:
        raise ctx.fail(row, "rollout_date", _("the date %(date)s is in the future", date=when.strftime("%d.%m.%Y")))
    return when


# ---------------------------------------------------------------- recorders and cameras


def _system(ctx: _Context, row: Row) -> camera_service.SiteSystem | None:
    """The row's site with its devices; None (and the problem recorded) when it cannot be had."""
    code = row.values.get("site_code", "")
    if not code:
        ctx.fail(row, "site_code", _("a value is required"))
        return None
    try:
        return camera_service.get_system(session=ctx.session, actor=ctx.actor, code=code)
    except NotFound:
        ctx.fail(row, "site_code", _("no site '%(code)s' within your scope", code=code))
    except PermissionDenied as exc:
        ctx.fail(row, "site_code", _service_problem(ctx, exc))
    return None


def _merge(row: Row, base: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """Existing values overlaid with the row's cells; an empty cell drops the existing value."""
    data = {k: v for k, v in base.items() if row.values.get(k, None) != ""}
    return data | _given(row, names)


def _diff(before: dict[str, Any], after: dict[str, Any], names: tuple[str, ...]) -> dict[str, tuple[Any, Any]]:
    return {f: (before.get(f), after[f]) for f in names if before.get(f) != after[f]}


def _recorder_row(ctx: _Context, row: Row) -> RowChange | None:
    system = _system(ctx, row)
    name = row.values.get("name", "")
    existing = next((r for r in system.recorders if r.name == name), None) if system else None
    base = {f: getattr(existing, f) for f in RECORDER_FIELDS} if existing else {}
    data: RecorderIn = _validate(ctx, row, RecorderIn, _merge(row, base, RECORDER_FIELDS))
    if system is None:
        raise _RowFailed()
    if data.installed_storage_tb > data.supported_storage_tb:
        raise ctx.fail(row, "installed_storage_tb", _("more storage installed than the recorder supports"))
    after = data.model_dump(include=set(RECORDER_FIELDS))
    key = f"{system.site.code} / {data.name}"
    if existing is None:
        camera_service.save_recorder(session=ctx.session, actor=ctx.actor, box=ctx.box, code=system.site.code,
                                     data=data)
        present = [f for f in RECORDER_FIELDS if f in row.values]
        return RowChange(row.number, key, "created", {f: (None, after[f]) for f in present if _filled(after[f])})
    changed = _diff(base, after, RECORDER_FIELDS)
    if not changed:
        return None
    camera_service.save_recorder(session=ctx.session, actor=ctx.actor, box=ctx.box, code=system.site.code,
                                 data=data, recorder_id=existing.id)
    return RowChange(row.number, key, "updated", changed)


def _camera_row(ctx: _Context, row: Row) -> RowChange | None:
    system = _system(ctx, row)
    name = row.values.get("name", "")
    existing = next((c for c in system.cameras if c.name == name), None) if system else None
    base: dict[str, Any] = {}
    if system is not None and existing is not None:
        base = {f: getattr(existing, f) for f in CAMERA_FIELDS if f != "recorder"}
        base["recorder"] = next((r.name for r in system.recorders if r.id == existing.recorder_id), None)
    data: CameraIn = _validate(ctx, row, CameraIn, _merge(row, base, CAMERA_FIELDS))
    if system is None:
        raise _RowFailed()
    if data.recorder and all(r.name != data.recorder for r in system.recorders):
        raise ctx.fail(row, "recorder", _("site '%(code)s' has no recorder '%(recorder)s'", code=system.site.code,
                                          recorder=data.recorder))
    after = data.model_dump(include=set(CAMERA_FIELDS))
    key = f"{system.site.code} / {data.name}"
    if existing is None:
        camera_service.save_camera(session=ctx.session, actor=ctx.actor, box=ctx.box, code=system.site.code,
                                   data=data)
        present = [f for f in CAMERA_FIELDS if f in row.values]
        return RowChange(row.number, key, "created", {f: (None, after[f]) for f in present if _filled(after[f])})
    changed = _diff(base, after, CAMERA_FIELDS)
    if not changed:
        return None
    camera_service.save_camera(session=ctx.session, actor=ctx.actor, box=ctx.box, code=system.site.code,
                               data=data, camera_id=existing.id)
    return RowChange(row.number, key, "updated", changed)
