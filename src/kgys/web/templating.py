"""Jinja2 environment for the server-rendered UI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.templating import Jinja2Templates

from kgys.web import alert_text, i18n

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"


def make_templates() -> Jinja2Templates:
    """Templates with autoescaping and the gettext functions ``_`` and ``ngettext``."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(gettext=i18n.gettext, ngettext=i18n.plural_form, newstyle=True)  # type: ignore[attr-defined]
    env.globals["LOCALES"] = i18n.LOCALE_NAMES
    env.globals["alert_details"] = alert_text.details
    env.filters["pct"] = _pct
    return Jinja2Templates(env=env)


def _pct(part: Any, whole: Any) -> str:
    try:
        return f"{100 * float(part) / float(whole):.0f}%" if float(whole) else "–"
    except (TypeError, ValueError):
        return "–"
