"""What every row of an import shares: its context, its failure, and checking and diffing its cells."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.models import Jurisdiction
from kgys.cameras.secrets import CredentialBox
from kgys.errors import Conflict, KgysError, PermissionDenied
from kgys.sites.import_messages import FILE, Problem, _, schema_problem
from kgys.sites.import_parse import ParsedFile, Row
from kgys.sites.import_summary import RowChange


class RowFailed(Exception):
    """Problems of one row, already recorded."""


@dataclass
class Context:
    session: Session
    actor: Actor
    box: CredentialBox
    parsed: ParsedFile
    today: date
    nodes: list[Jurisdiction] = field(default_factory=list)

    def stop_if_bad(self, row: Row) -> None:
        """Go no further than checking a row that already has problems."""
        if row.number in self.parsed.bad_cells:
            raise RowFailed()

    def fail(self, row: Row, column: str, problem: Problem) -> RowFailed:
        """Record a problem of ``row`` in ``column``; the exception that stops the row."""
        self.parsed.add_error(row.number, column, problem, value=row.values.get(column) or None)
        return RowFailed()


def service_problem(ctx: Context, exc: KgysError) -> Problem:
    """What a service's refusal means for a row, in words that can be translated."""
    if isinstance(exc, PermissionDenied) and "perm" in exc.params:
        return _("your role (%(role)s) may not do this: %(perm)s", role=ctx.actor.role, perm=exc.params["perm"])
    if isinstance(exc, Conflict) and exc.params.get("field") == "code":
        return _("a site with this code already exists outside your scope")
    return Problem.text(exc.message)


def validate(ctx: Context, row: Row, schema: type[BaseModel], data: dict[str, Any]) -> Any:
    """The row as ``schema``; problems of cells already reported are not repeated."""
    try:
        model = schema.model_validate(data)
    except ValidationError as exc:
        known = ctx.parsed.bad_cells.get(row.number, set())
        for err in exc.errors():
            column = str(err["loc"][0]) if err.get("loc") else FILE
            if column in known:
                continue
            ctx.parsed.add_error(row.number, column, schema_problem(err), value=row.values.get(column) or None)
        raise RowFailed() from exc
    ctx.stop_if_bad(row)
    return model


def given(row: Row, names: tuple[str, ...]) -> dict[str, str]:
    """Non-empty cells of ``names``: an empty cell falls back to the schema's default."""
    return {k: v for k, v in row.values.items() if k in names and v != ""}


def filled(value: Any) -> bool:
    return value is not None and value != ""


def plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


def merge(row: Row, base: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """Existing values overlaid with the row's cells; an empty cell drops the existing value."""
    data = {k: v for k, v in base.items() if row.values.get(k, None) != ""}
    return data | given(row, names)


def diff(before: dict[str, Any], after: dict[str, Any], names: tuple[str, ...]) -> dict[str, tuple[Any, Any]]:
    return {f: (before.get(f), after[f]) for f in names if before.get(f) != after[f]}


def save_row(row: Row, key: str, base: dict[str, Any] | None, after: dict[str, Any], fields: tuple[str, ...],
              save: Callable[[], None]) -> RowChange | None:
    """Create (``base`` None) or update one recorder or camera row; None when nothing changed."""
    if base is None:
        save()
        present = [f for f in fields if f in row.values]
        return RowChange(row.number, key, "created", {f: (None, after[f]) for f in present if filled(after[f])})
    changed = diff(base, after, fields)
    if not changed:
        return None
    save()
    return RowChange(row.number, key, "updated", changed)
