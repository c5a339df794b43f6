"""UI translations: Turkish (default), English and Russian, from gettext catalogues.

Message ids are English. Catalogues are read from ``kgys/locales/<lang>/LC_MESSAGES/messages.po`` when
the app starts, so no compile step is needed.
"""

from __future__ import annotations

import gettext as _gettext
import io
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES = ("tr", "en", "ru")
LOCALE_NAMES = {"tr": "Türkçe", "en": "English", "ru": "Русский"}
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locales"

_current: ContextVar[_gettext.NullTranslations | None] = ContextVar("kgys_translations", default=None)


def _active() -> _gettext.NullTranslations:
    return _current.get() or _gettext.NullTranslations()


def load_catalogues(locale_dir: Path = LOCALE_DIR) -> dict[str, _gettext.NullTranslations]:
    """Every language's translations, read from the .po files."""
    out: dict[str, _gettext.NullTranslations] = {}
    for lang in LOCALES:
        po = locale_dir / lang / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            out[lang] = _gettext.NullTranslations()
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        buf = io.BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        out[lang] = _gettext.GNUTranslations(buf)
    return out


def activate(translations: _gettext.NullTranslations) -> None:
    """Use ``translations`` for the rest of this request."""
    _current.set(translations)


def gettext(message: str, **params: Any) -> str:
    """Translate ``message`` into the request's language and fill ``%(name)s`` params."""
    text = _active().gettext(message)
    return text % params if params else text


def plural_form(singular: str, plural: str, n: int) -> str:
    """The translation of ``singular``/``plural`` in the form the request's language uses for ``n``, with its
    placeholders left to fill (templates fill them)."""
    return _active().ngettext(singular, plural, n)


def ngettext(singular: str, plural: str, count: int, /, **params: Any) -> str:
    """Plural-aware translation; ``%(num)s`` is ``count``."""
    text = _active().ngettext(singular, plural, count)
    params.setdefault("num", count)
    return text % params


def pick_locale(query: str | None, cookie: str | None, accept: str | None, default: str) -> str:
    """The language for a request: ?lang=, then the cookie, then Accept-Language, then the default."""
    for cand in (query, cookie):
        if cand in LOCALES:
            return str(cand)
    if accept:
        for part in accept.split(","):
            tag = part.split(";")[0].strip().lower()[:2]
            if tag in LOCALES:
                return tag
    return default
