"""Submitted HTML forms: reading the fields, and turning validation problems into per-field messages in the
request's language."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session

from kgys import localtime
from kgys.errors import FieldError, ValidationFailed
from kgys.said import Said
from kgys.validation import UNSAFE_TEXT
from kgys.web import i18n, server_text

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def form_fields(request: Request) -> dict[str, str]:
    """The text fields of a submitted form (the first value of each; files are ignored)."""
    if not request.headers.get("content-type", "").startswith(FORM_TYPES):
        return {}
    form = await request.form()
    out: dict[str, str] = {}
    for key, value in form.multi_items():
        if isinstance(value, str) and key not in out:
            out[key] = value
    return out


FormFields = Annotated[dict[str, str], Depends(form_fields)]


def blank(value: str | None) -> str | None:
    """None for an empty or whitespace-only field, else the stripped text."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def checked(form: Mapping[str, str], name: str) -> bool:
    """Whether a checkbox was ticked."""
    return form.get(name, "").strip().lower() in {"1", "on", "true", "yes"}


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _message(err: Mapping[str, Any]) -> str:
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    loc = ".".join(str(x) for x in err.get("loc", ()))
    if kind in {"missing", "string_too_short"}:
        return i18n.gettext("Required.")
    if kind == UNSAFE_TEXT:
        return i18n.gettext("contains an invisible control or text-direction character (%(char)s) at position "
                            "%(position)s; remove it", char=ctx.get("char", "?"), position=ctx.get("position", "?"))
    if kind == "string_too_long":
        return i18n.gettext("At most %(max)s characters.", max=ctx.get("max_length", "?"))
    if kind == "string_pattern_mismatch":
        return i18n.gettext("Contains characters that are not allowed here.")
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return i18n.gettext("Enter a whole number.")
    if kind in {"float_parsing", "float_type", "finite_number"}:
        return i18n.gettext("Enter a number.")
    if kind == "greater_than_equal":
        return i18n.gettext("Must be at least %(min)s.", min=_num(ctx.get("ge", "?")))
    if kind == "greater_than":
        return i18n.gettext("Must be more than %(min)s.", min=_num(ctx.get("gt", "?")))
    if kind == "less_than_equal":
        return i18n.gettext("Must be at most %(max)s.", max=_num(ctx.get("le", "?")))
    if kind == "less_than":
        return i18n.gettext("Must be less than %(max)s.", max=_num(ctx.get("lt", "?")))
    if kind in {"enum", "literal_error"}:
        return i18n.gettext("Choose one of the listed values.")
    if kind in {"date_parsing", "date_from_datetime_parsing", "date_type"}:
        return i18n.gettext("Enter a date as YYYY-MM-DD.")
    if kind == "bool_parsing":
        return i18n.gettext("Choose yes or no.")
    if kind == "value_error" and "time_zone" in loc:
        return i18n.gettext("Unknown time zone: choose one of the list (such as Europe/Istanbul).")
    if kind == "value_error" and "email" in loc:
        return i18n.gettext("Enter a valid e-mail address.")
    msg = str(err.get("msg", ""))
    return msg.removeprefix("Value error, ") or i18n.gettext("Invalid value.")


def local_time(raw: str | None, where: ZoneInfo, name: str, errors: dict[str, str]) -> datetime | None:
    """A typed time (a ``datetime-local`` field) read in the reader's zone ``where``, as UTC; None when blank.
    A time that is not one, or that the zone skips at a clock change, leaves a message for ``name`` in
    ``errors`` (in the request's language) and gives None."""
    if raw is None or not raw.strip():
        return None
    try:
        return localtime.parse_local(raw, where)
    except ValueError as exc:
        errors.setdefault(name, i18n.gettext("This local time does not exist: the clocks moved forward then. "
                                             "Choose another time.") if "clock change" in str(exc)
                          else i18n.gettext("Enter a date and time (day, month, year, hours and minutes)."))
        return None


def pydantic_errors(exc: ValidationError) -> dict[str, str]:
    """Field name → message for every problem pydantic found (the first per field)."""
    out: dict[str, str] = {}
    for err in exc.errors():
        loc = err.get("loc", ())
        name = str(loc[0]) if loc else "form"
        out.setdefault(name, _message(err))
    return out


def service_errors(errors: Iterable[FieldError]) -> dict[str, str]:
    """Field name → message for the problems a service reported (in the request's language where the
    message is a UI text, such as the password policy's)."""
    out: dict[str, str] = {}
    for e in errors:
        out.setdefault(e.field, _said(e) or i18n.gettext(e.message))
    return out


def _said(e: FieldError) -> str | None:
    """A message built around values in the request's language (None when it is not one, or they do not fit)."""
    if e.msgid is None:
        return None
    return server_text.say(Said(e.msgid), e.params or {})


def submit(session: Session, save: Callable[[], object]) -> dict[str, str]:
    """Run a form's ``save``: {} when it worked, else field → message for what was refused, with the
    session rolled back. Other errors (a conflict, a permission) pass through to the page."""
    try:
        save()
    except ValidationError as exc:
        session.rollback()
        return pydantic_errors(exc)
    except ValidationFailed as exc:
        session.rollback()
        return service_errors(exc.errors)
    return {}
