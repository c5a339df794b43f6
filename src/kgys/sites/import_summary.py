"""What an import did (or, in a dry run, would do): counts, changed fields, how the file was read, warnings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kgys.sites.import_messages import ImportFieldError, Translate
from kgys.sites.import_read import DELIMITER_NAMES, ENCODING_NAMES


@dataclass(frozen=True)
class RowChange:
    """What one row created or changed: field → (before, after)."""

    row: int
    key: str
    action: str  # created | updated
    fields: dict[str, tuple[Any, Any]]

    def as_dict(self) -> dict[str, Any]:
        """Plain form for JSON and templates."""
        return {"row": self.row, "key": self.key, "action": self.action,
                "changes": {f: {"from": a, "to": b} for f, (a, b) in self.fields.items()}}


@dataclass
class ImportSummary:
    """The outcome of an import (or of a dry run: what the import would do)."""

    kind: str
    dry_run: bool
    rows: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    changes: list[RowChange] = field(default_factory=list)
    encoding: str = ""  # utf-8, utf-8-sig, utf-16, windows-1254, iso-8859-9 or xlsx
    delimiter: str = ""  # of a CSV file
    warnings: list[ImportFieldError] = field(default_factory=list)
    jurisdictions_created: list[str] = field(default_factory=list)  # codes registered from the shipped list

    def as_dict(self, translate: Translate | None = None) -> dict[str, Any]:
        """Plain form for JSON and templates; warnings in the language of ``translate`` (default English)."""
        warnings = [w.translated(translate).as_dict() if translate else w.as_dict() for w in self.warnings]
        return {"kind": self.kind, "dry_run": self.dry_run, "rows": self.rows,
                "counts": {self.kind: {"created": self.created, "updated": self.updated,
                                       "unchanged": self.unchanged}},
                "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "changes": [c.as_dict() for c in self.changes],
                "file": {"encoding": self.encoding, "encoding_name": ENCODING_NAMES.get(self.encoding, self.encoding),
                         "delimiter": DELIMITER_NAMES.get(self.delimiter, self.delimiter)},
                "warnings": warnings, "jurisdictions_created": list(self.jurisdictions_created)}
