"""The application factory: ``create_app(runtime)`` builds the HTTP API, the web UI and their errors."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

import xstatic.pkg.leaflet as leaflet
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from kgys import __version__
from kgys.db import reading
from kgys.errors import (
    AuthenticationError,
    Busy,
    Conflict,
    Gone,
    KgysError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from kgys.live.pages import hls_dir
from kgys.runtime import Runtime
from kgys.web import contract, error_text, i18n
from kgys.web.admission import Admission, size_thread_pool
from kgys.web.contract import error_body
from kgys.web.deps import Principal, signed_in
from kgys.web.limits import BodyLimit, BodyTooLarge, body_limits, too_large_in
from kgys.web.per_request import PerRequest
from kgys.web.push import Push
from kgys.web.render import render
from kgys.web.routes import include_routes
from kgys.web.templating import make_templates

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

RETRY_AFTER_SECONDS = 2  # what a 503 asks the client to wait

STATUS = {
    NotFound: 404,
    PermissionDenied: 403,
    AuthenticationError: 401,
    ValidationFailed: 422,
    Conflict: 409,
    Gone: 410,
    Busy: 503,
}


def _status_for(exc: KgysError) -> int:
    for cls, code in STATUS.items():
        if isinstance(exc, cls):
            return code
    return 500


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def _loc(loc: tuple[Any, ...] | list[Any], kind: str = "") -> str:
    if kind == "json_invalid":
        return "body"
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or "body"


def _principal_for_error(rt: Runtime, request: Request) -> Principal | None:
    """Who is looking at an error page, so it keeps the menu; None when that cannot be told."""
    try:
        with reading(rt.sessions) as session:
            p = signed_in(request, session, None)
            if p is not None:
                _ = p.user  # the page shows the user's name after this unit of work has ended
            return p
    except KgysError:
        return None


def create_app(rt: Runtime) -> FastAPI:
    """Build the ASGI app for ``rt``. The server does no periodic work of its own: audit checkpoints and
    every other periodic task are the jobs worker's (``kgys worker jobs``)."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        size_thread_pool(rt.settings.web.threads)
        yield
        await app.state.push.stop()

    app = FastAPI(
        title="kgys — Kent Güvenlik Yönetim Sistemi",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.runtime = rt
    app.state.push = Push(rt)
    app.state.templates = make_templates()
    app.state.catalogues = i18n.load_catalogues()

    async def _html_error(request: Request, status: int, message: str, fields: list[dict[str, Any]],
                          params: dict[str, Any] | None = None) -> Response:
        principal = await asyncio.to_thread(_principal_for_error, rt, request)
        lang = getattr(request.state, "lang", "tr")
        said, detail = error_text.page_message(status, message, lang, params)
        return render(request, "error.html", {"status": status, "message": said, "detail": detail,
                                              "fields": error_text.field_messages(fields, lang)}, principal,
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
        if isinstance(exc, Busy):
            return _busy_page(request, headers)
        return await _html_error(request, status, exc.message, fields or [], exc.params)

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError) -> Response:
        """The database refused or dropped the work (locked, restarting, unreachable): 503, try again."""
        log.warning("database unavailable for %s %s: %s", request.method, request.url.path, exc.orig)
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        if _wants_json(request):
            return JSONResponse(error_body("Unavailable", "the database is busy or unavailable; try again shortly"),
                                status_code=503, headers=headers)
        return _busy_page(request, headers)

    def _busy_page(request: Request, headers: dict[str, str]) -> Response:
        response = render(request, "error.html", {  # no menu: finding the user needs the database
            "status": 503, "message": error_text.status_sentence(503), "detail": "", "fields": []},
            None, status_code=503)
        response.headers.update(headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> Response:
        fields, shown = [], []
        for err in exc.errors():
            msg = str(err.get("msg", "invalid"))
            if err.get("type") == "json_invalid":
                ctx = err.get("ctx") or {}
                loc = list(err.get("loc", ()))
                at = f" at character {loc[-1]}" if loc and isinstance(loc[-1], int) else ""
                msg = f"malformed JSON{at}: {ctx.get('error', 'cannot parse')}"
            fields.append({"field": _loc(err.get("loc", ()), str(err.get("type", ""))), "message": msg})
            shown.append({**fields[-1], "msgid": error_text.validator_msgid(str(err.get("type", ""))),
                          "params": err.get("ctx")})
        if _wants_json(request):
            return JSONResponse(error_body("ValidationFailed", "invalid input", fields), status_code=422)
        return await _html_error(request, 422, "Please correct the input", shown)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and (too_large := too_large_in(exc.__cause__)) is not None:
            exc = too_large  # the body passed its limit while FastAPI was reading it
        elif exc.status_code == 400 and (cause := _unreadable(exc)) is not None:
            # a body that cannot even be decoded (JSON that is not UTF-8 text, a broken form) is invalid input
            return await request_invalid(request, RequestValidationError(
                [{"type": "body_unreadable", "loc": ("body",), "msg": f"cannot be read: {_reason(cause)}"}]))
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(contract.allowed_methods(request))
        if _wants_json(request):
            return JSONResponse(error_body(contract.http_type(exc.status_code), str(exc.detail)),
                                status_code=exc.status_code, headers=headers)
        response = await _html_error(request, exc.status_code, *_http_message(exc))
        response.headers.update(headers)
        return response

    _mount_vendor(app)  # before /static, which would otherwise answer /static/vendor/… with 404
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    include_routes(app)
    contract.install(app)
    # innermost: the request's language and the security headers of every answer the application gives
    app.add_middleware(PerRequest, catalogues=app.state.catalogues, default_locale=rt.settings.web.default_locale,
                       negotiate=rt.settings.web.negotiate_locale)
    # sheds what the server cannot take now, before any work
    app.add_middleware(Admission, max_in_flight=rt.settings.web.threads, queue_seconds=rt.settings.web.queue_seconds)
    # outermost: refuses an over-long body before anything else reads it or waits for a place
    app.add_middleware(BodyLimit, limits=body_limits(rt.settings.web))
    return app


def _unreadable(exc: StarletteHTTPException) -> BaseException | None:
    """Why FastAPI or Starlette could not read the body it answered 400 for: the error behind it (a broken
    multipart form is raised while handling the parser's error, not from it)."""
    if exc.__cause__ is not None:
        return exc.__cause__
    return exc.__context__ if isinstance(exc.__context__, MultiPartException) else None


def _reason(cause: BaseException) -> str:
    """Why a request body could not be read, briefly."""
    if isinstance(cause, UnicodeDecodeError):
        return "it is not UTF-8 text"
    return str(cause)[:200] or type(cause).__name__


def _http_message(exc: StarletteHTTPException) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """What an error page says for an error of the HTTP machinery: message id, fields, parameters."""
    if isinstance(exc, BodyTooLarge):
        return "What was sent is larger than %(size)s; send a smaller file.", [], {"size": exc.size}
    return str(exc.detail), [], {}


def _mount_vendor(app: FastAPI) -> None:
    """Browser libraries installed from the package registry, served locally (no CDN)."""
    app.mount("/static/vendor/leaflet", StaticFiles(directory=leaflet.BASE_DIR), name="leaflet")
    swagger = swagger_ui_dir()  # npm-installed, like hls.js; the reference page says so when it is missing
    if swagger is not None:
        app.mount("/static/vendor/swagger-ui", StaticFiles(directory=swagger), name="swagger")
    hls = hls_dir()  # npm-installed; the video pages say so when it is missing
    if hls is not None:
        app.mount("/static/vendor/hls", StaticFiles(directory=hls), name="hls")

    @app.get("/api/v1/docs", include_in_schema=False)
    def api_docs(request: Request) -> Response:
        """The interactive API reference, with no assets from outside."""
        return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
            request, "api_docs.html", {"swagger_ok": swagger is not None}, status_code=200 if swagger else 503)


SWAGGER_UI_JS = "swagger-ui-bundle.js"
SWAGGER_UI_PACKAGED = ("static", "vendor", "swagger-ui")


def swagger_ui_dir() -> Path | None:
    """The folder Swagger UI is served from, or None when it is not installed: the installed package's
    ``kgys/static/vendor/swagger-ui`` (the wheel build copies it there from npm's swagger-ui-dist), else, for an
    editable install, the source checkout's ``node_modules/swagger-ui-dist`` (``npm ci`` puts it there)."""
    packaged = resources.files("kgys").joinpath(*SWAGGER_UI_PACKAGED)
    found = [packaged] if isinstance(packaged, Path) else []
    found.append(Path(__file__).resolve().parents[3] / "node_modules" / "swagger-ui-dist")
    return next((folder for folder in found if (folder / SWAGGER_UI_JS).is_file()), None)
