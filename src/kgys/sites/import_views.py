"""The HTTP face of imports: ``POST /api/v1/imports`` and the upload page ``/import``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import File, Form, Request, UploadFile
from fastapi.responses import Response

from kgys.accounts.permissions import Perm
from kgys.cameras.flows import imports as camera_imports
from kgys.errors import ValidationFailed
from kgys.sites import gazetteer
from kgys.sites import service as site_service
from kgys.sites.import_messages import _, file_error, translated
from kgys.sites.import_parse import COLUMNS, KINDS, REQUIRED
from kgys.web import i18n
from kgys.web.deps import DB, CurrentActor, CurrentPrincipal, runtime
from kgys.web.render import render
from kgys.web.routing import Router

router = Router(tags=["imports"])
pages = Router(include_in_schema=False)

SHOWN_CHANGES = 500


def _read(request: Request, file: UploadFile | None) -> tuple[bytes, str]:
    """The uploaded bytes and file name, refusing a missing or oversized file."""
    if file is None:
        raise file_error(_("choose a CSV or XLSX file to import"))
    limit = int(runtime(request).settings.web.max_upload_mb * 1024 * 1024)
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise file_error(_("the file is larger than %(mb)s MB; split it into smaller files", mb=limit // (1024 * 1024)))
    return data, file.filename or ""


@router.post("/imports", summary="Import sites, recorders or cameras from a CSV or XLSX file")
def import_api(
    request: Request,
    session: DB,
    actor: CurrentActor,
    file: Annotated[UploadFile, File(description="CSV (UTF-8, Windows-1254, ISO-8859-9 or UTF-16; ';', ',' or "
                                                 "tab) or XLSX; the header row names the columns")],
    kind: Annotated[str | None, Form(max_length=16, description="sites, recorders or cameras; "
                                                                "default: told from the header")] = None,
    dry_run: Annotated[bool, Form(description="check and report what would change, write nothing")] = False,
) -> dict[str, Any]:
    """Apply every row of the file, or none: 422 lists each problem by row and column."""
    actor.require(Perm.SITES_IMPORT)
    try:
        data, name = _read(request, file)
        summary = camera_imports.import_file(session=session, actor=actor, box=runtime(request).box, data=data,
                                      filename=name, kind=kind or None, dry_run=dry_run)
    except ValidationFailed as exc:
        raise translated(exc, i18n.gettext) from exc
    return summary.as_dict(i18n.gettext)


def _page(request: Request, p: Any, status_code: int = 200, **ctx: Any) -> Response:
    base: dict[str, Any] = {"kinds": KINDS, "columns": COLUMNS, "required": REQUIRED, "kind": "",
                            "check_first": True, "summary": None, "errors": [], "message": "", "total": 0,
                            "filename": "", "shown": SHOWN_CHANGES, "places": {}}
    return render(request, "import.html", base | ctx, p, status_code=status_code)


@pages.get("/import")
def import_form(request: Request, p: CurrentPrincipal) -> Response:
    """The upload form."""
    p.actor.require(Perm.SITES_IMPORT)
    return _page(request, p)


@pages.post("/import")
def import_submit(
    request: Request,
    session: DB,
    p: CurrentPrincipal,
    file: Annotated[UploadFile | None, File()] = None,
    kind: Annotated[str, Form(max_length=16)] = "",
    dry_run: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Run the import (or the dry run) and show its summary or every problem found."""
    p.actor.require(Perm.SITES_IMPORT)
    dry = dry_run.strip().lower() in {"1", "on", "true", "yes"}
    filename = (file.filename or "") if file is not None else ""
    try:
        data, filename = _read(request, file)
        summary = camera_imports.import_file(session=session, actor=p.actor, box=runtime(request).box, data=data,
                                      filename=filename, kind=kind or None, dry_run=dry)
    except ValidationFailed as exc:
        exc = translated(exc, i18n.gettext)
        return _page(request, p, 422, kind=kind, check_first=dry, filename=filename, message=exc.message,
                     errors=[e.as_dict() for e in exc.errors], total=exc.params.get("total", len(exc.errors)))
    # After a clean dry run the next submit imports; after an import, the next file is checked first.
    places = gazetteer.names_by_code() | {
        j.code: j.name for j in site_service.list_jurisdictions(session=session, actor=p.actor)}
    return _page(request, p, kind=kind, check_first=not dry, filename=filename,
                 summary=summary.as_dict(i18n.gettext), places=places)
