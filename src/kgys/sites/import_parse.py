"""Understanding a site list or camera inventory: its header, its kind and its cells. Pure functions, no database.

A file holds one kind of record, told apart by its header row (or named by the caller); the columns of
each kind, the names they go by and the words cells may use are in :mod:`kgys.sites.import_columns`, and
how bytes become rows (encoding, delimiter, XLSX) in :mod:`kgys.sites.import_read`.

- A column kgys does not know (``Kayıt Tarihi``, ``Faks``, ``Web Adresi`` …) is ignored, with a warning
  naming it; a file missing a required column is refused.
- Decimal commas are read in decimal columns (``39,9208``) and dates as ``dd.mm.yyyy``, ``dd/mm/yyyy`` or
  ``yyyy-mm-dd`` in date columns.
- Every text cell is checked for invisible control and text-direction characters (:mod:`kgys.validation`).

Rows are numbered as a spreadsheet shows them: the header is row 1. Every problem and warning is a
message id with parameters (:mod:`kgys.sites.import_messages`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from kgys.errors import FieldError, ValidationFailed
from kgys.sites.import_columns import (
    ALIASES,
    BOOL_FIELDS,
    COLUMNS,
    DATE_FIELDS,
    DECIMAL_FIELDS,
    FALSE_WORDS,
    INT_FIELDS,
    KEYS,
    POSITIONS,
    REQUIRED,
    ROLLOUT,
    SITE_TYPES,
    TRUE_WORDS,
    fold,
)
from kgys.sites.import_messages import FILE, ImportFieldError, Problem, _, file_error, too_many_errors
from kgys.sites.import_read import read_rows
from kgys.validation import unsafe_character

MAX_ROWS = 50_000
MAX_ERRORS = 200  # listed in a failure
_KEPT_ERRORS = 20_000  # kept to choose the listed ones from
KINDS = ("sites", "recorders", "cameras")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_DATE = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$")

__all__ = ["COLUMNS", "FILE", "KEYS", "KINDS", "REQUIRED", "ParsedFile", "Row", "convert", "detect_kind",
           "file_error", "fold", "parse"]


@dataclass(frozen=True)
class Row:
    """One data row: its number in the file and its cells by canonical column."""

    number: int
    values: dict[str, str]


@dataclass
class ParsedFile:
    """A file read and its header understood; cells converted, problems and warnings listed."""

    kind: str
    headers: dict[str, str]  # canonical column → header as written in the file
    rows: list[Row]
    encoding: str = ""
    delimiter: str = ""
    errors: list[FieldError] = field(default_factory=list)
    warnings: list[ImportFieldError] = field(default_factory=list)
    bad_cells: dict[int, set[str]] = field(default_factory=dict)  # row → canonical columns at fault
    error_count: int = 0
    header_ok: bool = True

    def column(self, name: str) -> str:
        """The header text the file uses for column ``name``."""
        return self.headers.get(name, name)

    def add_error(self, row: int | None, column: str, problem: Problem, value: str | None = None) -> None:
        """Record a problem of a row (or of the file when ``row`` is None) in a column."""
        self.error_count += 1
        if row is not None:
            self.bad_cells.setdefault(row, set()).add(column)
        if len(self.errors) < _KEPT_ERRORS:
            self.errors.append(ImportFieldError.make(self.column(column), problem, row, value))

    def failure(self) -> ValidationFailed:
        """The error an import of this file raises: the first problems in row and column order."""
        order = {text: i for i, text in enumerate(self.headers.values())}
        ranked = sorted(self.errors, key=lambda e: (e.row or 0, order.get(e.field, -1)))
        return too_many_errors(ranked[:MAX_ERRORS], self.error_count)


# ---------------------------------------------------------------- the header


def _lookup(kind: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for col in COLUMNS[kind]:
        table[col] = col
        for alias in ALIASES[kind].get(col, ()):
            table[alias] = col
    return table


def detect_kind(header: list[str]) -> str:
    """The kind of file a header row belongs to; ValidationFailed when it fits none."""
    folded = [fold(h) for h in header if h.strip()]
    best: tuple[int, int, int, str] | None = None
    for order, kind in enumerate(KINDS):
        table = _lookup(kind)
        known = {table[h] for h in folded if h in table}
        complete = all(r in known for r in REQUIRED[kind])
        score = (int(complete), len(known), -order, kind)
        if best is None or score > best:
            best = score
    assert best is not None
    if not best[0] and best[1] < 2:
        raise file_error(_("cannot tell from the header row whether this is a list of sites, recorders or "
                           "cameras; check that row 1 holds the column names, or choose the kind"), row=1)
    return best[3]


def _header(kind: str, cells: list[str], parsed: ParsedFile) -> list[str | None]:
    """The canonical column of each header cell: None for an ignored column, "" for one without a name."""
    table = _lookup(kind)
    columns: list[str | None] = []
    unknown: list[str] = []
    seen: dict[str, str] = {}
    for text in cells:
        if not text:
            columns.append("")  # a column without a name: its cells must be empty
            continue
        col = table.get(fold(text))
        if col is None:
            unknown.append(text)
            columns.append(None)
        elif col in seen:
            parsed.add_error(1, col, _("columns '%(first)s' and '%(second)s' both mean '%(column)s'; keep one",
                                       first=seen[col], second=text, column=col))
            columns.append(None)
        else:
            seen[col] = text
            columns.append(col)
    parsed.headers = dict(seen)
    names = ", ".join(f"'{u}'" for u in unknown)
    missing = [r for r in REQUIRED[kind] if r not in seen]
    if missing:
        parsed.add_error(1, FILE, _("missing required column(s): %(missing)s; a %(kind)s file has the columns "
                                    "%(columns)s", missing=", ".join(missing), kind=kind,
                                    columns=", ".join(COLUMNS[kind])))
        if unknown:
            parsed.add_error(1, FILE, _("columns not recognised: %(names)s", names=names))
    elif unknown:
        problem = _("column(s) not recognised and ignored: %(names)s", names=names)
        parsed.warnings.append(ImportFieldError.make(FILE, problem, 1))
    return columns


# ---------------------------------------------------------------- cells


def _choice(value: str, table: dict[str, str]) -> str | None:
    key = fold(value)
    if key in table:
        return table[key]
    if table is SITE_TYPES:
        for suffix, kind in (("lisesi", "high_school"), ("ortaokulu", "middle_school"),
                             ("ilkokulu", "primary_school"), ("anaokulu", "kindergarten"),
                             ("koleji", "college")):
            if key.endswith(suffix):
                return kind
    return None


def _date(value: str) -> str | None:
    """ISO form of a date written ``dd.mm.yyyy``, ``dd/mm/yyyy``, ``dd-mm-yyyy`` or ``yyyy-mm-dd``."""
    try:
        found = _DATE.match(value)
        if found:
            return date(int(found.group(3)), int(found.group(2)), int(found.group(1))).isoformat()
        return date.fromisoformat(value[:10]).isoformat() if re.match(r"^\d{4}-\d{2}-\d{2}", value) else None
    except ValueError:
        return None


def convert(column: str, value: str) -> tuple[Any, Problem | None]:
    """A cell's value in the form the schema expects, or the reason it cannot be understood."""
    bad = unsafe_character(value)
    if bad is not None:
        return None, _("contains an invisible control or text-direction character (%(char)s) at position "
                       "%(position)s; remove it", char=bad[1], position=bad[0])
    if column in BOOL_FIELDS:
        key = fold(value)
        if key in TRUE_WORDS:
            return True, None
        if key in FALSE_WORDS:
            return False, None
        return None, _("'%(value)s' is not yes or no (use yes/no, evet/hayır, var/yok, true/false or 1/0)",
                       value=value)
    if column == "type":
        kind = _choice(value, SITE_TYPES)
        if kind is None:
            return None, _("unknown site type '%(value)s'; use ilkokul, ortaokul, lise, anaokulu, kolej, kent "
                           "noktası, diğer or kindergarten, primary_school, middle_school, high_school, college, "
                           "municipal_point, other", value=value)
        return kind, None
    if column == "rollout_status":
        step = _choice(value, ROLLOUT)
        if step is None:
            return None, _("unknown roll-out step '%(value)s'; use none, planned, tendered, contracted, "
                           "installed, integrated, verified (or yok, planlandı, ihalede, sözleşme, kuruldu, "
                           "entegre, doğrulandı)", value=value)
        return step, None
    if column == "position":
        pos = _choice(value, POSITIONS)
        if pos is None:
            return None, _("unknown camera position '%(value)s'; use entrance, street_front, perimeter, yard, "
                           "corridor, parking, other (or giriş, ön cephe, çevre, bahçe, koridor, otopark, diğer)",
                           value=value)
        return pos, None
    if column in DATE_FIELDS:
        iso = _date(value)
        if iso is None:
            return None, _("'%(value)s' is not a date; write it as dd.mm.yyyy (31.01.2025)", value=value)
        return iso, None
    if column == "codec":
        return value.lower().replace(".", "").replace("-", "").replace(" ", ""), None
    if column in DECIMAL_FIELDS and _DECIMAL_COMMA.match(value):
        return value.replace(",", "."), None
    if column in INT_FIELDS and re.fullmatch(r"[+-]?\d+\.0+", value):
        return value.split(".")[0], None
    return value, None


# ---------------------------------------------------------------- the whole file


def _row(parsed: ParsedFile, columns: list[str | None], number: int, cells: list[str]) -> Row:
    extra = [c for c in cells[len(columns):] if c]
    if extra:
        parsed.add_error(number, FILE, _("the row has %(cells)s cells but the header has %(columns)s columns "
                                         "(a stray delimiter or an unquoted comma?)",
                                         cells=len(cells), columns=len(columns)))
    values: dict[str, str] = {}
    for position, (col, text) in enumerate(zip(columns, cells, strict=False), start=1):
        if col is None:
            continue
        if col == "":
            if text:
                parsed.add_error(number, FILE, _("cell %(position)s has a value but its column has no name in "
                                                 "the header row", position=position), value=text)
            continue
        if text == "":
            values[col] = ""
            continue
        converted, problem = convert(col, text)
        if problem:
            parsed.add_error(number, col, problem, value=text)
        else:
            values[col] = ("true" if converted else "false") if isinstance(converted, bool) else str(converted)
    return Row(number, values)


def parse(data: bytes, filename: str = "", kind: str | None = None, max_rows: int = MAX_ROWS) -> ParsedFile:
    """Read a file: header, kind, converted cells and every problem found without a database.

    Problems with the file as a whole (unreadable, empty, no data rows, too many rows) raise
    ValidationFailed at once; problems of single rows and columns are listed in ``errors``, and columns
    that were ignored in ``warnings``.
    """
    if kind is not None and kind not in KINDS:
        raise file_error(_("unknown kind '%(kind)s'; use one of %(kinds)s", kind=kind, kinds=", ".join(KINDS)),
                         column="kind")
    source = read_rows(data, filename)
    rows = source.rows
    header: list[str] | None = None
    header_number = 0
    for number, cells in rows:
        if any(cells):
            header, header_number = cells, number
            break
    if header is None:
        raise file_error(_("the file is empty"))
    parsed = ParsedFile(kind=kind or detect_kind(header), headers={}, rows=[], encoding=source.encoding,
                        delimiter=source.delimiter)
    columns = _header(parsed.kind, header, parsed)
    parsed.header_ok = not parsed.errors
    keys: dict[tuple[str, ...], int] = {}
    for number, cells in rows:
        if not any(cells):
            continue
        if len(parsed.rows) >= max_rows:
            raise file_error(_("the file has more than %(max)s data rows; split it into smaller files",
                               max=f"{max_rows:,}"), row=number)
        if not parsed.header_ok:
            parsed.rows.append(Row(number, {}))
            continue
        row = _row(parsed, columns, number, cells)
        key = tuple(row.values.get(k, "") for k in KEYS[parsed.kind])
        if all(key):
            if key in keys:
                parsed.add_error(number, KEYS[parsed.kind][-1],
                                 _("'%(key)s' appears twice in the file: rows %(first)s and %(second)s",
                                   key=" / ".join(key), first=keys[key], second=number))
            else:
                keys[key] = number
        parsed.rows.append(row)
    if header_number and not parsed.rows:
        raise file_error(_("the file has a header row but no data rows"), row=header_number)
    return parsed
