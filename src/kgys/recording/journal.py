"""The journal: the crash-safe record of the one segment being moved from the spool into storage.

Between the move of a file into storage and the commit of its row, a maintainer that dies would leave a
stored file nobody indexed. Before the move, the journal names the spool file and the storage key; after
the commit (or a failed move) it is cleared. A maintainer that starts reads it back with :meth:`entry`
and finishes the work (see :meth:`kgys.recording.indexing.Indexer.recover`).

The journal is one fixed-size record in the spool, rewritten in place: no file is created or removed per
segment, so storing a segment costs one ``pwrite`` for the note and one for the clearing.
"""

from __future__ import annotations

import os
from pathlib import Path

from kgys.recording.storage import StorageError

NAME = "storing"  # in the spool: the segment being stored while its row is not committed yet
RECORD = 4096  # bytes of the one record


class Journal:
    """The journal file of a spool directory; opened on first use."""

    def __init__(self, spool_dir: Path) -> None:
        self.spool_dir = spool_dir
        self.path = spool_dir / NAME
        self._fd: int | None = None

    def _file(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return self._fd

    def note(self, path: Path, key: str) -> None:
        """Record that the spool file ``path`` is being moved into storage under ``key``."""
        record = f"{path.relative_to(self.spool_dir)}\n{key}\n".encode()
        if len(record) > RECORD:
            raise StorageError(f"storage key too long for the journal: {key!r}", key=key)
        os.pwrite(self._file(), record.ljust(RECORD), 0)

    def clear(self) -> None:
        """Record that nothing is being stored."""
        os.pwrite(self._file(), b" " * RECORD, 0)

    def entry(self) -> tuple[Path, str] | None:
        """The spool file and storage key a maintainer was storing when it stopped, or None."""
        if not self.spool_dir.is_dir():
            return None
        lines = os.pread(self._file(), RECORD, 0).decode("utf-8", "replace").split("\n")
        if len(lines) < 2 or not lines[0].strip():
            return None
        return self.spool_dir / lines[0].strip(), lines[1].strip()

    def close(self) -> None:
        """Release the journal file."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
