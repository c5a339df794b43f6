"""What an error page says, in the reader's language.

The API answers with the server's English ``detail`` and a machine ``type``; a page shows the same failure
translated. A server message that has a catalogue entry is shown translated (its ``%(name)s`` parameters
filled in); one that has none (a sentence built around a value) is replaced by the status's own sentence, and
the English original is kept as a technical detail beneath it. Field messages of invalid input are translated
the same way; the messages of the request validator are rebuilt from their kind and limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from kgys.web import i18n, server_text


def status_sentence(status: int) -> str:
    """The sentence every error page of ``status`` can say, whatever the failure."""
    if status == 403:
        return i18n.gettext("Your role does not allow this.")
    if status == 404:
        return i18n.gettext("There is no such page or record, or it is outside your area.")
    if status == 405:
        return i18n.gettext("This address does not take this kind of request.")
    if status == 409:
        return i18n.gettext("This changed meanwhile or clashes with a record that exists; reload and try again.")
    if status == 413:
        return i18n.gettext("What was sent is too large.")
    if status == 422:
        return i18n.gettext("Please correct the input")
    if status == 503:
        return i18n.gettext("The service is busy; try again in a moment.")
    return i18n.gettext("Something went wrong.")


def known(message: str, lang: str, params: Mapping[str, Any] | None = None) -> str | None:
    """``message`` in ``lang`` when the catalogue has it (English is always known), else None."""
    text = message if lang == "en" else i18n.gettext(message)
    if lang != "en" and text == message:
        return None
    if params and "%(" in text:
        try:
            return text % dict(params)
        except (KeyError, TypeError, ValueError):
            return None
    return text


def page_message(status: int, message: str, lang: str, params: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """What the page says and the English detail beneath it ("" when the sentence says it all)."""
    if message in {s.phrase for s in HTTPStatus}:  # the HTTP machinery's own words ("Not Found")
        return status_sentence(status), ""
    said = known(message, lang, params)
    if said is not None:
        return said, ""
    found = server_text.recognised(message)  # a sentence of the server's own, built around values
    if found is not None and lang != "en":
        return server_text.say(*found) or status_sentence(status), ""
    return status_sentence(status), message


def _(msgid: str) -> str:
    """A message id, marked for the translation tooling and translated where it is shown."""
    return msgid


_VALIDATOR_MESSAGES = {
    "missing": _("is required"),
    "string_too_long": _("at most %(max_length)s characters"),
    "string_too_short": _("at least %(min_length)s characters"),
    "int_parsing": _("not a whole number"),
    "int_from_float": _("not a whole number"),
    "float_parsing": _("not a number"),
    "greater_than_equal": _("at least %(ge)s"),
    "less_than_equal": _("at most %(le)s"),
    "greater_than": _("more than %(gt)s"),
    "less_than": _("less than %(lt)s"),
    "bool_parsing": _("not yes or no"),
    "date_from_datetime_parsing": _("not a date"),
    "datetime_from_date_parsing": _("not a date and time"),
    "enum": _("not one of the choices"),
    "literal_error": _("not one of the choices"),
}


def validator_msgid(kind: str) -> str | None:
    """The message id of a request-validator error of ``kind`` (its limits are the error's context)."""
    return _VALIDATOR_MESSAGES.get(kind)


def field_messages(fields: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """``fields`` with each message in ``lang`` where the catalogue has it (``msgid`` and ``params`` kept by
    the validator's errors), the English message otherwise, marked by ``english``."""
    out = []
    for f in fields:
        msgid = f.get("msgid") or f["message"]
        params = f.get("params")
        said = known(msgid, lang, server_text.shown(params) if f.get("msgid") and params else params)
        out.append({**f, "message": said if said is not None else f["message"], "english": said is None})
    return out
