"""HTTP API of the cameras domain: a site's recorders and cameras, and its compliance with the minimum."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request, Response

from kgys.cameras import service
from kgys.cameras.flows import systems as flows
from kgys.cameras.schemas import CameraIn, CameraOut, CheckOut, ComplianceOut, RecorderIn, RecorderOut, SystemOut
from kgys.web.deps import DB, CurrentActor, runtime
from kgys.web.routing import Router

router = Router(tags=["cameras"])

DeviceId = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.get("/sites/{code}/system", response_model=SystemOut)
def get_system(code: str, request: Request, session: DB, actor: CurrentActor) -> SystemOut:
    """A site's recorders and cameras; stored credentials are shown masked only."""
    box = runtime(request).box
    system = flows.get_system(session=session, actor=actor, code=code)
    return SystemOut(site=system.site.code,
                     recorders=[service.recorder_out(r, box) for r in system.recorders],
                     cameras=[service.camera_out(c, system.recorders, box) for c in system.cameras])


@router.get("/sites/{code}/compliance", response_model=ComplianceOut)
def get_compliance(code: str, session: DB, actor: CurrentActor) -> ComplianceOut:
    """Each item of the ministry's minimum, passed or not and why, with the storage figures behind it."""
    system, result = flows.compliance(session=session, actor=actor, code=code)
    days, per_camera = service.storage_figures(system)
    return ComplianceOut(site=system.site.code, status=result.status,
                         checks=[CheckOut(code=c.code, passed=c.passed, message=c.message, params=c.params)
                                 for c in result.checks],
                         storage_days=days, max_kbps_per_camera_for_30_days=per_camera,
                         cameras=service.measured_out(result))


@router.post("/sites/{code}/recorders", response_model=RecorderOut, status_code=201)
def add_recorder(code: str, body: RecorderIn, request: Request, session: DB, actor: CurrentActor) -> RecorderOut:
    """Add a recorder (NVR) to a site."""
    box = runtime(request).box
    return service.recorder_out(flows.save_recorder(session=session, actor=actor, box=box, code=code, data=body),
                                box)


@router.put("/sites/{code}/recorders/{recorder_id}", response_model=RecorderOut)
def replace_recorder(code: str, recorder_id: DeviceId, body: RecorderIn, request: Request, session: DB,
                     actor: CurrentActor) -> RecorderOut:
    """Replace a recorder's declared specs; credentials are kept unless new ones are given."""
    box = runtime(request).box
    rec = flows.save_recorder(session=session, actor=actor, box=box, code=code, data=body,
                              recorder_id=recorder_id)
    return service.recorder_out(rec, box)


@router.delete("/sites/{code}/recorders/{recorder_id}", status_code=204)
def delete_recorder(code: str, recorder_id: DeviceId, session: DB, actor: CurrentActor) -> Response:
    """Remove a recorder from a site (its cameras stay, unassigned)."""
    flows.delete_device(session=session, actor=actor, code=code, kind="recorder", device_id=recorder_id)
    return Response(status_code=204)


@router.post("/sites/{code}/cameras", response_model=CameraOut, status_code=201)
def add_camera(code: str, body: CameraIn, request: Request, session: DB, actor: CurrentActor) -> CameraOut:
    """Add a camera to a site."""
    box = runtime(request).box
    cam = flows.save_camera(session=session, actor=actor, box=box, code=code, data=body)
    return service.saved_camera_out(session=session, box=box, camera=cam)


@router.put("/sites/{code}/cameras/{camera_id}", response_model=CameraOut)
def replace_camera(code: str, camera_id: DeviceId, body: CameraIn, request: Request, session: DB,
                   actor: CurrentActor) -> CameraOut:
    """Replace a camera's declared specs; credentials are kept unless new ones are given."""
    box = runtime(request).box
    cam = flows.save_camera(session=session, actor=actor, box=box, code=code, data=body, camera_id=camera_id)
    return service.saved_camera_out(session=session, box=box, camera=cam)


@router.delete("/sites/{code}/cameras/{camera_id}", status_code=204)
def delete_camera(code: str, camera_id: DeviceId, session: DB, actor: CurrentActor) -> Response:
    """Remove a camera from a site."""
    flows.delete_device(session=session, actor=actor, code=code, kind="camera", device_id=camera_id)
    return Response(status_code=204)
