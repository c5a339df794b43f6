"""Text that is safe to store and show: one validator shared by every domain's request schemas and imports.

Names and free text may hold any printable character in any script, tabs and line breaks, but not:

- NUL and the other C0 control characters (U+0000–U+001F except tab, line feed and carriage return),
  DEL (U+007F) and the C1 controls (U+0080–U+009F): invisible, they break exports, logs and other
  programs reading the database;
- the bidirectional controls U+202A–U+202E, U+2066–U+2069, U+200E, U+200F and U+061C: they reorder how
  text is displayed, so ``"Okul\\u202eIGEL"`` would show a different name from the one stored (the
  "Trojan Source" trick) — in an audit log or a camera name that is a way to mislead an operator.

In a Pydantic model use ``SafeText`` for a plain string, or put ``SafeChars`` *after* the string's
constraints — ``Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), SafeChars]`` —
so the constraints (stripping, lengths) still apply as string constraints. ``unsafe_character`` is the
same check as a pure function for code that reads text outside a model (imports).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, StringConstraints
from pydantic_core import PydanticCustomError

from kgys.errors import FieldError, ValidationFailed

UNSAFE_TEXT = "unsafe_text"  # the Pydantic error type a refused text carries

_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def unsafe_character(text: str) -> tuple[int, str] | None:
    """The first refused character of ``text`` as (1-based position, ``U+XXXX``), or None when it is safe."""
    found = _UNSAFE.search(text)
    if found is None:
        return None
    return found.start() + 1, f"U+{ord(found.group()):04X}"


def _check(text: str) -> str:
    problem = unsafe_character(text)
    if problem is not None:
        position, char = problem
        raise PydanticCustomError(
            UNSAFE_TEXT,
            "contains an invisible control or text-direction character ({char}) at position {position}; "
            "remove it",
            {"char": char, "position": position},
        )
    return text


SafeChars = AfterValidator(_check)
"""Refuses a string holding a control or bidirectional formatting character (tab and line breaks allowed)."""

SafeText = Annotated[str, SafeChars]
"""A string without control or bidirectional formatting characters."""

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32,
                                        pattern=r"^[A-Za-z0-9._-]+$")]
"""An institution or jurisdiction code: letters, digits, dot, underscore and hyphen."""

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SafeChars]
"""A name: any safe text, 1 to 200 characters."""


def parse_time(raw: str | None, field: str) -> datetime | None:
    """An ISO 8601 time (UTC when no offset is given); None when empty; ValidationFailed naming ``field``."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        raise ValidationFailed([FieldError(field, "not a date and time (use 2026-11-21T15:00:00Z)",
                                           value=text[:40])]) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _iso_text(value: Any) -> Any:
    if isinstance(value, str) and not _ISO_DATE.match(value.strip()) or isinstance(value, (int, float)):
        raise PydanticCustomError("iso_datetime", "expected a date and time as ISO 8601 text, e.g. "
                                  "2026-03-02T09:00:00+03:00")
    return value


# A date and time given as ISO 8601 text only (not a number of seconds, which Pydantic would otherwise take).
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_text)]
