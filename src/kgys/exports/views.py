"""HTTP API of footage exports: ask for one, follow it, list your own, download its zip."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Path, Request
from fastapi.responses import FileResponse

from kgys import localtime
from kgys.db import utcnow
from kgys.exports import texts
from kgys.exports.flows import requests
from kgys.exports.models import FootageExport
from kgys.exports.schemas import ExportError, ExportIn, ExportOut
from kgys.web.contract import errors
from kgys.web.deps import DB, CurrentActor, runtime, writes
from kgys.web.routing import Router

router = Router(tags=["exports"])

ExportId = Annotated[int, Path(ge=1, le=2_147_483_647)]


def export_out(row: FootageExport) -> ExportOut:
    """The API shape of an export."""
    error = (ExportError(code=row.error_code, params=row.error_params or {},
                         message=texts.error_message(row.error_code, row.error_params))
             if row.error_code else None)
    return ExportOut(id=row.id, cameras=list(row.cameras), start=row.start, end=row.end, reason=row.reason,
                     state=row.state, progress=round(row.progress, 4), bytes=row.bytes, sha256=row.sha256,
                     error=error, created_at=row.created_at, started_at=row.started_at, finished_at=row.finished_at,
                     expires_at=row.expires_at,
                     download=f"/api/v1/exports/{row.id}/download" if row.state == "done" else None)


@router.post("/exports", response_model=ExportOut, response_model_by_alias=True, status_code=201,
             responses=errors(404, 422))
def create_export(body: ExportIn, request: Request, session: DB, actor: CurrentActor) -> ExportOut:
    """Ask for an export of up to 16 cameras over one range (at most `exports.max_minutes`), with one reason
    (audited). Every camera must be of your scope. The jobs worker builds it; follow it with GET."""
    settings = runtime(request).settings
    row = requests.request(session=session, actor=actor, cameras=body.cameras, start=localtime.as_utc(body.start),
                           end=localtime.as_utc(body.end), reason=body.reason,
                           max_span=timedelta(minutes=settings.exports.max_minutes), now=utcnow())
    return export_out(row)


@router.get("/exports", response_model=list[ExportOut], response_model_by_alias=True)
def list_exports(session: DB, actor: CurrentActor) -> list[ExportOut]:
    """Your exports, newest first."""
    return [export_out(r) for r in requests.listing(session=session, actor=actor)]


@router.get("/exports/{export_id}", response_model=ExportOut, response_model_by_alias=True, responses=errors(404))
def get_export(export_id: ExportId, session: DB, actor: CurrentActor) -> ExportOut:
    """One of your exports: its state and progress (0–1)."""
    return export_out(requests.mine(session=session, actor=actor, export_id=export_id))


@router.get("/exports/{export_id}/download", response_class=FileResponse, responses=errors(404, 409))
@writes  # each download is audited
def download_export(export_id: ExportId, request: Request, session: DB, actor: CurrentActor) -> FileResponse:
    """The zip of one of your finished exports: one MP4 per camera and manifest.json (audited). 409 while it is
    being built; 404 once it expired."""
    path, row = requests.download(session=session, actor=actor, export_id=export_id,
                                  data_dir=runtime(request).settings.data_dir)
    name = f"kgys-export-{row.id}-{row.start:%Y%m%dT%H%M%SZ}.zip"
    return FileResponse(path, media_type="application/zip", filename=name)
