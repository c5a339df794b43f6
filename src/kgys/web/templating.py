"""Jinja2 environment for the server-rendered UI."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from starlette.templating import Jinja2Templates

from kgys import localtime
from kgys.web import alert_text, field_labels, i18n, server_text

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
    env.globals["said"] = server_text.text
    env.globals["field_label"] = field_labels.field_label
    env.filters["pct"] = _pct
    env.filters["local"] = _local
    env.filters["local_input"] = _local_input
    return Jinja2Templates(env=env)


@pass_context
def _local(ctx: Context, value: datetime | None, fmt: str = localtime.SHOWN) -> str:
    """``{{ t | local }}``: a UTC time in the reader's zone (``tz`` of the page)."""
    return localtime.shown(value, _zone(ctx), fmt)


@pass_context
def _local_input(ctx: Context, value: datetime | None) -> str:
    """``{{ t | local_input }}``: the value of a ``datetime-local`` field in the reader's zone."""
    return localtime.picker(value, _zone(ctx))


def _zone(ctx: Context) -> ZoneInfo:
    tz = ctx.get("tz")
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(localtime.DEFAULT_ZONE)


def _pct(part: Any, whole: Any) -> str:
    try:
        return f"{100 * float(part) / float(whole):.0f}%" if float(whole) else "–"
    except (TypeError, ValueError):
        return "–"
