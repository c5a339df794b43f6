"""Figures of a report: percentiles (nearest rank) and CSV for a spreadsheet, shared by every domain's reports.

A CSV cell whose text a spreadsheet would take for a formula (``=``, ``+``, ``-``, ``@``, a tab or a carriage
return first) is quoted with a leading ``'``; the file is UTF-8 with a byte-order mark so that spreadsheets read
Turkish letters.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence


def percentile(values: Sequence[float], pct: float) -> float | None:
    """The ``pct`` percentile (nearest rank) of ``values``; None for none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]


def csv_cell(value: object) -> str:
    """A spreadsheet cell: text that a spreadsheet would take for a formula is quoted with a leading '."""
    text = "" if value is None else f"{value:.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_bytes(rows: Iterable[Sequence[object]]) -> bytes:
    """Rows as CSV: every value through :func:`csv_cell`, CRLF line ends, UTF-8 with a byte-order mark."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
