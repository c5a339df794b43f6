"""Sentences of the server's own — a gap's reason, an alarm's details, a status note, a timeline line — as codes.

A domain writes such a sentence from a fixed English message (a :class:`Said`: its message id in the
catalogues, and its plural form where it counts something) and the values it is about. The English text goes
where a text is stored (the log, the API, the stream); where the row has room for them the code and the values
go beside it (:meth:`Said.code`, ``{"code": …, "params": …}``). A page says the sentence again in its reader's
language from the code, or, for a row with no room for one, from the stored English it recognises
(:meth:`Said.match`); see :mod:`kgys.web.server_text`. Pure: no domain, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# how a value looks in a stored text, by the parameter's name (any text, where not named here)
SHAPES = {**{name: r"-?\d+" for name in ("n", "signal", "status", "pid", "seconds")},
          **{name: r"[a-z_]+" for name in ("state", "outcome", "step", "cause", "alert_state", "unit_status")},
          "number": r"\d{4}-\d+", "alerts": r"\d+(?:, \d+)*", "unit": r"\S+"}


@dataclass(frozen=True)
class Said:
    """One sentence the server says: its English message id, the plural id where it counts ``count``."""

    msgid: str
    plural: str | None = None
    count: str = "n"

    def forms(self) -> tuple[str, ...]:
        """The English forms of the sentence (one, or the singular and the plural)."""
        return (self.msgid,) if self.plural is None else (self.msgid, self.plural)

    def form(self, params: dict[str, Any]) -> str:
        """The English form for these values (the plural form unless the count is one)."""
        if self.plural is None or str(params.get(self.count)) == "1":
            return self.msgid
        return self.plural

    def english(self, **params: Any) -> str:
        """The sentence in English with its values (what is stored and logged)."""
        return self.form(params) % params

    def code(self, **params: Any) -> dict[str, Any]:
        """The sentence as a code and its values, to store beside the English text (JSON values only)."""
        return {"code": self.msgid, "params": {k: v if isinstance(v, int | float) else str(v)
                                               for k, v in params.items()}}

    def match(self, text: str) -> dict[str, str] | None:
        """The values of a stored English ``text`` made of this sentence, or None when it is not."""
        for form in self.forms():
            found = _pattern(form).fullmatch(text)
            if found is not None:
                return found.groupdict()
        return None

    def literal(self) -> int:
        """How many fixed characters the sentence has (a longer one is tried first when recognising a text)."""
        return len(PLACEHOLDER.sub("", self.msgid))


@lru_cache(maxsize=512)
def _pattern(form: str) -> re.Pattern[str]:
    parts = PLACEHOLDER.split(form)
    body = "".join(re.escape(p) if i % 2 == 0 else
                   rf"(?P<{p}>{SHAPES.get(p, '.+?')})" for i, p in enumerate(parts))
    return re.compile(body)  # a value is on one line: a text of several lines is a sentence made of sentences


def _(msgid: str) -> Said:
    """A sentence of the server's own (the extraction keyword of the catalogues)."""
    return Said(msgid)


def marked(message: str) -> str:
    """A label marked for the catalogues and translated where it is shown: the message itself. Imported as ``_``,
    the catalogues' extraction keyword, by the modules of labels."""
    return message


def ngettext(singular: str, plural: str, count: str = "n") -> Said:
    """A sentence that counts ``count``, in its two English forms (the extraction keyword of the catalogues)."""
    return Said(singular, plural, count)
