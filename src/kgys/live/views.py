"""HTTP API of live view and playback: open a live stream or a recorded range (tickets), and a camera's
timeline of coverage and gaps. The streams themselves are served by :mod:`kgys.live.pages`."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Path, Query, Request

from kgys.db import utcnow
from kgys.errors import AuthenticationError
from kgys.live import service
from kgys.live.feed import LiveHub
from kgys.live.flows import viewing
from kgys.live.schemas import GapOut, Interval, LiveOpen, PlaybackOpen, StreamOut, TimelineOut
from kgys.recording import footage
from kgys.web.deps import DB, SESSION_COOKIE, CurrentPrincipal, Principal, runtime

router = APIRouter(tags=["live"])

CameraId = Annotated[int, Path(ge=1, le=2_147_483_647)]


def install(app: FastAPI) -> None:
    """Give the app its live hub (one per process: the live feeds all viewers share) and the segment store that
    playback and clips read."""
    settings = app.state.runtime.settings
    app.state.live_hub = LiveHub(footage.spool_dir(settings))
    app.state.footage_storage = footage.open_storage(settings)


def hub(request: Request) -> LiveHub:
    """The process's live hub."""
    found: LiveHub = request.app.state.live_hub
    return found


def storage(request: Request) -> footage.Storage:
    """The process's segment store."""
    found: footage.Storage = request.app.state.footage_storage
    return found


def request_credential(request: Request) -> service.Credential | None:
    """The credential a request carries (bearer token first, then the session cookie)."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer ") and auth[7:].strip():
        return service.Credential(auth[7:].strip(), "bearer", None)
    cookie = request.cookies.get(SESSION_COOKIE)
    return service.Credential(cookie, "cookie", None) if cookie else None


def principal_credential(request: Request, p: Principal) -> service.Credential:
    """The credential of a signed-in caller, with the time it expires when known."""
    cred = request_credential(request)
    if cred is None:
        raise AuthenticationError("sign in first")
    if cred.kind == "cookie" and p.login is not None:
        return service.Credential(cred.value, "cookie", p.login.expires_at)
    return cred


def ticket_key(request: Request) -> str:
    """The secret viewing tickets are signed with."""
    return runtime(request).settings.security.secret_key


@router.post("/cameras/{camera_id}/live", response_model=StreamOut)
def open_live(camera_id: CameraId, body: LiveOpen, request: Request, session: DB, p: CurrentPrincipal) -> StreamOut:
    """Open a camera's live stream: audited once; returns the playlist URL with its viewing ticket."""
    now = utcnow()
    cred = principal_credential(request, p)
    opened = viewing.open_live(
        session=session, actor=p.actor, key=ticket_key(request), camera_id=camera_id, reason=body.reason,
        credential=cred, now=now)
    return StreamOut(playlist=f"/live/{camera_id}/index.m3u8?t={quote(opened.ticket)}", expires=opened.expires)


@router.post("/cameras/{camera_id}/playback", response_model=StreamOut)
def open_playback(camera_id: CameraId, body: PlaybackOpen, request: Request, session: DB,
                  p: CurrentPrincipal) -> StreamOut:
    """Open a recorded range for playback (reason required, audited with the range): an HLS VOD playlist URL."""
    now = utcnow()
    start, end = service.parse_range(body.start.isoformat(), body.end.isoformat(), now=now)
    cred = principal_credential(request, p)
    opened = viewing.open_playback(
        session=session, actor=p.actor, key=ticket_key(request), camera_id=camera_id, start=start, end=end,
        reason=body.reason, credential=cred, now=now)
    return StreamOut(playlist=f"/cameras/{camera_id}/playback.m3u8?t={quote(opened.ticket)}",
                     expires=opened.expires)


@router.get("/cameras/{camera_id}/timeline", response_model=TimelineOut)
def get_timeline(camera_id: CameraId, session: DB, p: CurrentPrincipal,
                 start: Annotated[str | None, Query(alias="from")] = None,
                 end: Annotated[str | None, Query(alias="to")] = None) -> TimelineOut:
    """Coverage and gaps (with causes) of a camera over a range (default: the last hour; at most 7 days)."""
    now = utcnow()
    a, b = service.parse_range(start, end, now=now, limit=service.MAX_TIMELINE)
    tl = viewing.timeline(session=session, actor=p.actor, camera_id=camera_id, start=a, end=b, now=now)
    return TimelineOut(camera_id=camera_id, start=a, end=b, coverage=round(tl.coverage, 4),
                       recorded_seconds=round(tl.recorded_seconds, 3), segments=tl.segments,
                       recorded=[Interval(start=x.start, end=x.end) for x in tl.bars if x.kind == "recorded"],
                       gaps=[GapOut(start=g.start, end=g.end, cause=g.cause, detail=g.detail) for g in tl.gaps])
