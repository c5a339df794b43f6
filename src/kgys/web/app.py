"""The application factory: ``create_app(runtime)`` builds the HTTP API, the web UI and their errors."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from kgys import __version__
from kgys.audit import scheduled as audit_scheduled
from kgys.errors import (
    AuthenticationError,
    Busy,
    Conflict,
    KgysError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from kgys.runtime import Runtime
from kgys.web import i18n
from kgys.web.admission import Admission, size_thread_pool
from kgys.web.deps import LANG_COOKIE, Principal, optional_principal
from kgys.web.render import render
from kgys.web.templating import make_templates

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

STATUS = {
    NotFound: 404,
    PermissionDenied: 403,
    AuthenticationError: 401,
    ValidationFailed: 422,
    Conflict: 409,
    Busy: 503,
}


def _status_for(exc: KgysError) -> int:
    for cls, code in STATUS.items():
        if isinstance(exc, cls):
            return code
    return 500


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def error_body(kind: str, message: str, fields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The JSON shape of every API error."""
    body: dict[str, Any] = {"error": {"type": kind, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    return body


def _loc(loc: tuple[Any, ...] | list[Any], kind: str = "") -> str:
    if kind == "json_invalid":
        return "body"
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or "body"


def _principal_for_error(rt: Runtime, request: Request) -> Principal | None:
    """Who is looking at an error page, so it keeps the menu; None when that cannot be told."""
    try:
        with rt.sessions() as session:
            return optional_principal(request, session, None)
    except KgysError:
        return None


def create_app(rt: Runtime, *, checkpoint_timer: bool = True) -> FastAPI:
    """Build the ASGI app for ``rt``."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        size_thread_pool(rt.settings.web.threads)
        task = asyncio.create_task(audit_scheduled.run_in_server(rt)) if checkpoint_timer else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = FastAPI(
        title="kgys — Kent Güvenlik Yönetim Sistemi",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.runtime = rt
    app.state.templates = make_templates()
    app.state.catalogues = i18n.load_catalogues()
    max_body = int(rt.settings.web.max_upload_mb * 1024 * 1024)

    @app.middleware("http")
    async def per_request(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > max_body:
            return JSONResponse(error_body("too_large", f"request body over {max_body} bytes"), status_code=413)
        accept = request.headers.get("accept-language") if rt.settings.web.negotiate_locale else None
        lang = i18n.pick_locale(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE), accept,
                                rt.settings.web.default_locale)
        request.state.lang = lang
        i18n.activate(app.state.catalogues[lang])
        response = await call_next(request)
        if request.query_params.get("lang") in i18n.LOCALES:
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; "
            "frame-ancestors 'none'",
        )
        return response

    async def _html_error(request: Request, status: int, message: str, fields: list[dict[str, Any]]) -> Response:
        principal = await asyncio.to_thread(_principal_for_error, rt, request)
        return render(request, "error.html", {"status": status, "message": message, "fields": fields}, principal,
                      status_code=status)

    @app.exception_handler(KgysError)
    async def kgys_error(request: Request, exc: KgysError) -> Response:
        status = _status_for(exc)
        fields = [e.as_dict() for e in exc.errors] if isinstance(exc, ValidationFailed) else None
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Busy) else {}
        if _wants_json(request):
            if status == 401:
                headers["WWW-Authenticate"] = "Bearer"
            return JSONResponse(error_body(type(exc).__name__, exc.message, fields), status_code=status,
                                headers=headers)
        if status == 401:
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        if isinstance(exc, Busy):  # no second trip to a busy database for the page's menu
            return JSONResponse(error_body("Busy", exc.message), status_code=503, headers=headers)
        return await _html_error(request, status, exc.message, fields or [])

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = []
        for err in exc.errors():
            msg = str(err.get("msg", "invalid"))
            if err.get("type") == "json_invalid":
                ctx = err.get("ctx") or {}
                loc = list(err.get("loc", ()))
                at = f" at character {loc[-1]}" if loc and isinstance(loc[-1], int) else ""
                msg = f"malformed JSON{at}: {ctx.get('error', 'cannot parse')}"
            fields.append({"field": _loc(err.get("loc", ()), str(err.get("type", ""))), "message": msg})
        if _wants_json(request):
            return JSONResponse(error_body("ValidationFailed", "invalid input", fields), status_code=422)
        return await _html_error(request, 422, i18n.gettext("Please correct the input"), fields)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_json(request):
            return JSONResponse(error_body("http", str(exc.detail)), status_code=exc.status_code)
        return await _html_error(request, exc.status_code, str(exc.detail), [])

    _mount_vendor(app)  # before /static, which would otherwise answer /static/vendor/… with 404
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    from kgys.web.routes import include_routes

    include_routes(app)
    app.add_middleware(Admission, max_in_flight=rt.settings.web.max_in_flight,  # outermost: sheds before work
                       queue_seconds=rt.settings.web.queue_seconds)
    return app


def _mount_vendor(app: FastAPI) -> None:
    """Browser libraries installed from the package registry, served locally (no CDN)."""
    import swagger_ui_bundle
    import xstatic.pkg.leaflet as leaflet

    app.mount("/static/vendor/leaflet", StaticFiles(directory=leaflet.BASE_DIR), name="leaflet")
    app.mount("/static/vendor/swagger-ui", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger")
    from kgys.live.pages import hls_dir

    hls = hls_dir()  # npm-installed; the video pages say so when it is missing
    if hls is not None:
        app.mount("/static/vendor/hls", StaticFiles(directory=hls), name="hls")

    @app.get("/api/v1/docs", include_in_schema=False)
    def api_docs(request: Request) -> Response:
        """The interactive API reference, with no assets from outside."""
        return request.app.state.templates.TemplateResponse(request, "api_docs.html", {})  # type: ignore[no-any-return]
