"""What an import says about a file, as message ids with parameters, rendered in the reader's language.

The import code never formats a sentence itself: each problem or warning is a ``Problem`` — an English
message id (the gettext catalogue's key) and its parameters — made with ``_("…", name=value)``, which is
also how the translation tooling finds the ids. ``Problem.render(translate)`` fills in the parameters after
translating, so the web UI and the API show it in the request's language (Turkish, English, Russian) and
the command line in English.

Errors travel in the usual ``ValidationFailed`` (so every caller treats an import failure as any other
invalid input); each of its ``FieldError`` s is an ``ImportFieldError`` that keeps its ``Problem``, and
``translated`` re-renders a whole failure for one language.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kgys.errors import FieldError, ValidationFailed
from kgys.validation import UNSAFE_TEXT

FILE = "file"  # the field name of errors about the file as a whole

Translate = Callable[[str], str]


def _same(text: str) -> str:
    return text


@dataclass(frozen=True)
class Problem:
    """A message id with its parameters; ``render`` makes the sentence."""

    msgid: str
    params: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, msgid: str, **params: Any) -> Problem:
        """A problem with keyword parameters."""
        return cls(msgid, tuple(params.items()))

    @classmethod
    def text(cls, message: str) -> Problem:
        """A sentence that has no message id of its own (from a library or another domain): translated where
        the catalogue has it (a service's fixed sentence), else shown as it is."""
        return cls("%(text)s", (("text", message),))

    def render(self, translate: Translate = _same) -> str:
        """The sentence in the language of ``translate`` (English by default)."""
        if self.msgid == "%(text)s":
            return translate(str(dict(self.params)["text"]))
        text = translate(self.msgid)
        return text % dict(self.params) if self.params else text


def _(msgid: str, **params: Any) -> Problem:
    """A problem: the message id (found by the translation tooling under this name) and its parameters."""
    return Problem.of(msgid, **params)


@dataclass(frozen=True)
class ImportFieldError(FieldError):
    """A problem of a file, row or cell that keeps its message id for translation."""

    problem: Problem = field(default_factory=lambda: Problem(""))

    @classmethod
    def make(cls, column: str, problem: Problem, row: int | None = None, value: str | None = None) -> ImportFieldError:
        """The error for ``column`` (and ``row``) with its English message."""
        return cls(field=column, message=problem.render(), row=row,
                   value=None if value is None else value[:100], problem=problem)

    def translated(self, translate: Translate) -> FieldError:
        """The same error with its message in the language of ``translate``."""
        return ImportFieldError(field=self.field, message=self.problem.render(translate), row=self.row,
                                value=self.value, problem=self.problem)


def failure(problem: Problem, errors: list[FieldError]) -> ValidationFailed:
    """A ValidationFailed with ``errors`` and the headline ``problem``."""
    exc = ValidationFailed(errors)
    exc.message = problem.render()
    exc.params["problem"] = problem
    return exc


def file_error(problem: Problem, row: int | None = None, column: str = FILE) -> ValidationFailed:
    """A problem with the file as a whole."""
    return failure(problem, [ImportFieldError.make(column, problem, row)])


def too_many_errors(errors: list[FieldError], total: int) -> ValidationFailed:
    """The failure of an import that found ``total`` problems (the first ``errors`` listed)."""
    if total > len(errors):
        headline = _("%(total)s problem(s) in the file (the first %(listed)s are listed); nothing was imported",
                     total=total, listed=len(errors))
    else:
        headline = _("%(total)s problem(s) in the file; nothing was imported", total=total)
    exc = failure(headline, errors)
    exc.params["total"] = total
    return exc


def translated(exc: ValidationFailed, translate: Translate) -> ValidationFailed:
    """``exc`` with its message and every error's message in the language of ``translate``."""
    errors = [e.translated(translate) if isinstance(e, ImportFieldError) else e for e in exc.errors]
    out = ValidationFailed(errors)
    problem = exc.params.get("problem")
    out.message = problem.render(translate) if isinstance(problem, Problem) else exc.message
    out.params = dict(exc.params)
    return out


def schema_problem(err: Mapping[str, Any]) -> Problem:
    """A problem for one error of a request schema (Pydantic), with the ids the web forms use."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    loc = ".".join(str(x) for x in err.get("loc", ()))
    if kind == "missing":
        return _("a value is required")
    if kind == UNSAFE_TEXT:
        return _("contains an invisible control or text-direction character (%(char)s) at position "
                 "%(position)s; remove it", char=ctx.get("char", "?"), position=ctx.get("position", "?"))
    if kind == "string_too_short":
        return _("Required.")
    if kind == "string_too_long":
        return _("At most %(max)s characters.", max=ctx.get("max_length", "?"))
    if kind == "string_pattern_mismatch":
        return _("Contains characters that are not allowed here.")
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return _("Enter a whole number.")
    if kind in {"float_parsing", "float_type", "finite_number"}:
        return _("Enter a number.")
    bounds = {"greater_than_equal": ("ge", "Must be at least %(min)s."), "greater_than": ("gt", "Must be more "
              "than %(min)s."), "less_than_equal": ("le", "Must be at most %(max)s."),
              "less_than": ("lt", "Must be less than %(max)s.")}
    if kind in bounds:
        key, msgid = bounds[kind]
        limit = ctx.get(key, "?")
        limit = f"{limit:g}" if isinstance(limit, float) else limit
        return Problem.of(msgid, **{"min" if key in ("ge", "gt") else "max": limit})
    if kind == "value_error" and "email" in loc:
        return _("Enter a valid e-mail address.")
    return Problem.text(str(err.get("msg", "invalid")).removeprefix("Value error, "))
