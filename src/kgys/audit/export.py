"""Export of the audit log as JSON Lines, and reading it back, so that anyone holding the export and
the published public key can verify the chain and the signed checkpoints without database access; and
reading checkpoint records (what witnesses hold)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, select

from kgys.audit.canonical import GENESIS_HASH
from kgys.audit.checkpoints import Checkpoint, as_record, from_record, in_order, own_hash
from kgys.audit.models import AuditEntry
from kgys.audit.verify import ENTRY_COLUMNS, read_checkpoints
from kgys.errors import FieldError, ValidationFailed
from kgys.said import _

ENTRY_FIELDS = tuple(c.key for c in ENTRY_COLUMNS)
NOT_CHECKPOINT = _("not a checkpoint record: %(problem)s")
NOT_EXPORT = _("not a kgys audit export: %(problem)s")


def _iso(value: Any) -> Any:
    return value.isoformat(timespec="microseconds") if isinstance(value, datetime) else value


def checkpoint_rows(conn: Connection) -> list[dict[str, Any]]:
    """Every signed checkpoint, oldest first, as the records witnesses hold (what an oversight body keeps)."""
    out: list[dict[str, Any]] = []
    running = GENESIS_HASH
    for cp in in_order(read_checkpoints(conn)):
        running = own_hash(cp, running)
        out.append(as_record(cp, running))
    return out


def read_checkpoint_lines(lines: Iterable[str], source: str) -> list[Checkpoint]:
    """Checkpoint records, one JSON object a line (a witness file, ``kgys audit checkpoints``); errors name
    the line."""
    found: list[Checkpoint] = []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("each line must be a JSON object")
            found.append(from_record(obj))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValidationFailed([FieldError.said(source, NOT_CHECKPOINT, row=lineno, problem=str(exc))]) from exc
    return found


def write_export(conn: Connection, out: IO[str]) -> int:
    """Write checkpoints, then every entry in order, one JSON object per line; returns the entry count."""
    for cp in checkpoint_rows(conn):
        out.write(json.dumps({"type": "checkpoint", **cp}, ensure_ascii=False) + "\n")
    n = 0
    result = conn.execute(select(*ENTRY_COLUMNS).order_by(AuditEntry.seq).execution_options(yield_per=20000))
    for row in result:
        out.write(json.dumps({"type": "entry", **dict(zip(ENTRY_FIELDS, (_iso(v) for v in row), strict=True))},
                             ensure_ascii=False) + "\n")
        n += 1
    return n


def read_export(path: Path) -> tuple[list[tuple[Any, ...]], list[Checkpoint]]:
    """Entries (in ENTRY_COLUMNS order) and checkpoints from an export; errors name the line."""
    entries: list[tuple[Any, ...]] = []
    checkpoints: list[Checkpoint] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if obj.get("type") == "checkpoint":
                    checkpoints.append(from_record(obj))
                elif obj.get("type") == "entry":
                    values = [obj[f] for f in ENTRY_FIELDS]
                    values[1] = datetime.fromisoformat(values[1])
                    entries.append(tuple(values))
                else:
                    raise ValueError("each line needs \"type\": \"entry\" or \"checkpoint\"")
            except (ValueError, KeyError, TypeError) as exc:
                raise ValidationFailed([FieldError.said("file", NOT_EXPORT, row=lineno, problem=str(exc))]) from exc
    entries.sort(key=lambda r: int(r[0]))
    return entries, checkpoints


def iter_lines(path: Path) -> Iterator[str]:
    """The export's lines (for tests and tools)."""
    with path.open(encoding="utf-8") as fh:
        yield from fh
