"""A segment store that is not on this machine's file system: the test double of a remote (S3-like) store.

It keeps every object in memory and implements only the abstract calls of
:class:`~kgys.recording.storage.Storage`, so whoever reads from it must go through the interface
(:meth:`~kgys.recording.storage.Storage.local_path` answers None).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from kgys.errors import NotFound
from kgys.recording.storage import Storage


class MemoryStorage(Storage):
    """Objects in a dict, on a 'disk' of ``size`` bytes; counts the reads it serves."""

    def __init__(self, size: int = 10**9) -> None:
        self.objects: dict[str, bytes] = {}
        self.size = size
        self.reads = 0

    def put(self, key: str, source: Path) -> int:
        self.objects[key] = source.read_bytes()
        source.unlink()
        return len(self.objects[key])

    def get_range(self, key: str, start: int = 0, length: int | None = None) -> bytes:
        if key not in self.objects:
            raise NotFound(f"no stored segment {key}", key=key)
        self.reads += 1
        data = self.objects[key]
        return data[start:] if length is None else data[start:start + length]

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    def list(self, prefix: str = "") -> Iterator[str]:
        return iter(sorted(k for k in self.objects if k.startswith(prefix)))

    def free_space(self) -> int:
        return self.size - sum(len(v) for v in self.objects.values())

    def capacity(self) -> int:
        return self.size
