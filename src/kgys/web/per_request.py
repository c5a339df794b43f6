"""What every request gets: its language, and the security headers of its answer.

:class:`PerRequest` is a pure ASGI middleware (no task or stream of its own per request, unlike
Starlette's ``BaseHTTPMiddleware``): it picks the request's language (``?lang=``, the language cookie,
``Accept-Language`` when the settings say so, the default), puts it in ``request.state.lang`` and makes it
the active translation, and adds the security headers to the answer (and the language cookie when
``?lang=`` chose one).
"""

from __future__ import annotations

import gettext
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import cookie_parser
from starlette.responses import Response

from kgys.web import i18n
from kgys.web.deps import LANG_COOKIE

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"),
)
LANG_COOKIE_AGE = 365 * 86400


def _query_lang(query_string: bytes) -> str | None:
    if b"lang=" not in query_string:
        return None
    for key, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if key == "lang":
            return value
    return None


def _cookie(header: str, name: str) -> str | None:
    return cookie_parser(header).get(name) if name in header else None


def lang_cookie_header(lang: str) -> tuple[bytes, bytes]:
    """The Set-Cookie header that keeps a chosen language for a year."""
    response = Response()
    response.set_cookie(LANG_COOKIE, lang, max_age=LANG_COOKIE_AGE, samesite="lax", httponly=True)
    return next((k, v) for k, v in response.raw_headers if k == b"set-cookie")


class PerRequest:
    """Pure ASGI middleware: the request's language, and the security headers on its answer."""

    def __init__(self, app: ASGIApp, *, catalogues: Mapping[str, gettext.NullTranslations], default_locale: str,
                 negotiate: bool) -> None:
        self.app = app
        self.catalogues = catalogues
        self.default_locale = default_locale
        self.negotiate = negotiate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = _query_lang(scope.get("query_string", b""))
        cookie_header = accept = ""
        for name, value in scope.get("headers", ()):
            if name == b"cookie":
                cookie_header = f"{cookie_header}; {value.decode('latin-1')}" if cookie_header else \
                    value.decode("latin-1")
            elif name == b"accept-language" and self.negotiate:
                accept = value.decode("latin-1")
        lang = i18n.pick_locale(query, _cookie(cookie_header, LANG_COOKIE), accept or None,
                                self.default_locale)
        scope.setdefault("state", {})["lang"] = lang
        i18n.activate(self.catalogues[lang])
        extra = [*SECURITY_HEADERS, lang_cookie_header(lang)] if query in i18n.LOCALES else SECURITY_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in extra if k == b"set-cookie" or k not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
