"""Where finished segments live, behind a narrow interface: put, read, delete, list, space.

Keys are relative paths such as ``12/345/2026-11-21/15/r0001_20261121T150000Z.ts``
(site / camera / UTC date / UTC hour / file). :func:`open_storage` gives the configured store as a
:class:`Storage`; nothing outside this module knows which kind it is. :class:`LocalStorage` keeps the
segments under ``DATA_DIR/recordings``; an S3-compatible store implements the same abstract calls, and
readers that want a file on this machine ask :meth:`Storage.local_path`, which such a store answers
with None (they then read through :meth:`Storage.open`).
"""

from __future__ import annotations

import abc
import errno
import io
import logging
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO

from kgys.config import Settings
from kgys.errors import KgysError, NotFound

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

log = logging.getLogger(__name__)


class StorageError(KgysError):
    """The store could not take, give or remove a segment."""


def segment_key(*, site_id: int, camera_id: int, start: datetime, filename: str) -> str:
    """The storage key of a segment: ``site/camera/YYYY-MM-DD/HH/filename`` in UTC."""
    utc = start.astimezone(UTC)
    return f"{site_id}/{camera_id}/{utc:%Y-%m-%d}/{utc:%H}/{filename}"


class Storage(abc.ABC):
    """A store of segment files addressed by key."""

    @abc.abstractmethod
    def put(self, key: str, source: Path) -> int:
        """Move the file at ``source`` into the store under ``key``; return its size in bytes."""

    @abc.abstractmethod
    def get_range(self, key: str, start: int = 0, length: int | None = None) -> bytes:
        """Read ``length`` bytes (all when None) from ``start`` of the object ``key``."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object ``key``; a missing object is not an error."""

    @abc.abstractmethod
    def list(self, prefix: str = "") -> Iterator[str]:
        """Every key under ``prefix``, in sorted order."""

    @abc.abstractmethod
    def free_space(self) -> int:
        """Bytes still available to the store."""

    @abc.abstractmethod
    def capacity(self) -> int:
        """Bytes the store holds in all, used and free (the retention job sets its marks from it)."""

    def open(self, key: str) -> BinaryIO:
        """A readable stream of the object ``key``, read in pieces through :meth:`get_range`; close it when done.

        NotFound when there is no such object."""
        stream = io.BufferedReader(_RangeReader(self, key), buffer_size=READ_CHUNK)
        stream.peek(1)  # a missing object fails here, not half-way through a response
        return stream

    def local_path(self, key: str) -> Path | None:
        """A file on this machine holding the object ``key``, when the store keeps one; None otherwise (the
        caller then reads through :meth:`open`)."""
        return None


READ_CHUNK = 1 << 20


class _RangeReader(io.RawIOBase):
    """An object of a store read piece by piece, as a raw stream."""

    def __init__(self, storage: Storage, key: str) -> None:
        self.storage, self.key, self.pos = storage, key, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self.storage.get_range(self.key, self.pos, len(view))
        view[:len(data)] = data
        self.pos += len(data)
        return len(data)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace(source: Path, target: Path) -> list[Path]:
    """Rename ``source`` to ``target``, making the target's directories when they are missing (tried after
    the rename fails: an hour's directory takes hundreds of segments). Returns the directories made."""
    try:
        os.replace(source, target)
        return []
    except FileNotFoundError:
        if not source.exists():
            raise
    made, parent = [], target.parent
    while not parent.exists():
        made.append(parent)
        parent = parent.parent
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    return made


class LocalStorage(Storage):
    """Segments as files under one root directory."""

    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = root
        self.fsync = fsync

    def path(self, key: str) -> Path:
        """The file behind ``key``; refuses keys that would leave the root."""
        rel = PurePosixPath(key)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise StorageError(f"bad storage key: {key!r}")
        return self.root.joinpath(*rel.parts)

    def put(self, key: str, source: Path) -> int:
        """Move ``source`` in (rename on the same file system, else copy then remove)."""
        target = self.path(key)
        try:
            if self.fsync:
                with source.open("rb") as fh:
                    os.fsync(fh.fileno())
            made: list[Path] = []
            try:
                made = _replace(source, target)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                tmp = target.with_name(target.name + ".part")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, tmp)
                if self.fsync:
                    with tmp.open("rb") as fh:
                        os.fsync(fh.fileno())
                os.replace(tmp, target)
                source.unlink()
            if self.fsync:
                for directory in [target.parent, *(d.parent for d in made)]:
                    _fsync_dir(directory)
            return target.stat().st_size
        except OSError as exc:
            raise StorageError(f"cannot store {key}: {exc}", key=key) from exc

    def get_range(self, key: str, start: int = 0, length: int | None = None) -> bytes:
        """Read bytes of a stored segment."""
        try:
            with self.path(key).open("rb") as fh:
                fh.seek(start)
                return fh.read() if length is None else fh.read(length)
        except FileNotFoundError as exc:
            raise NotFound(f"no stored segment {key}", key=key) from exc
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc}", key=key) from exc

    def delete(self, key: str) -> None:
        """Remove a stored segment and the directories it leaves empty."""
        target = self.path(key)
        try:
            target.unlink(missing_ok=True)
            parent = target.parent
            while parent != self.root and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
        except OSError as exc:
            raise StorageError(f"cannot delete {key}: {exc}", key=key) from exc

    def list(self, prefix: str = "") -> Iterator[str]:
        """Every stored key under ``prefix``."""
        base = self.path(prefix) if prefix else self.root
        if not base.exists():
            return iter(())
        keys = (p.relative_to(self.root).as_posix() for p in base.rglob("*") if p.is_file())
        return iter(sorted(k for k in keys if not k.endswith(".part")))

    def free_space(self) -> int:
        """Free bytes on the file system holding the root."""
        return shutil.disk_usage(self._probe()).free

    def capacity(self) -> int:
        """Size in bytes of the file system holding the root."""
        return shutil.disk_usage(self._probe()).total

    def _probe(self) -> Path:
        """The root, or its nearest existing parent (before the first segment arrives)."""
        probe = self.root
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        return probe

    def open(self, key: str) -> BinaryIO:
        """The stored file, opened for reading."""
        try:
            return self.path(key).open("rb")
        except FileNotFoundError as exc:
            raise NotFound(f"no stored segment {key}", key=key) from exc
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc}", key=key) from exc

    def local_path(self, key: str) -> Path | None:
        """The stored file, when it is there."""
        path = self.path(key)
        return path if path.is_file() else None


COPY_CHUNK = 1 << 20


def local_file(storage: Storage, key: str, copy: Path) -> Path:
    """A file on this machine with the stored object's bytes: the store's own file, or else ``copy``, streamed
    from the store."""
    path = storage.local_path(key)
    if path is not None:
        return path
    with storage.open(key) as src, copy.open("wb") as dst:
        shutil.copyfileobj(src, dst, COPY_CHUNK)
    return copy


def open_storage(settings: Settings) -> Storage:
    """The segment store the settings name (today the directory ``DATA_DIR/recordings``)."""
    return LocalStorage(settings.data_dir / "recordings", fsync=settings.recording.fsync)


def spool_dir(settings: Settings) -> Path:
    """Where the recorder's ffmpeg writes the segments it is recording, one directory per camera."""
    return settings.recording.spool_dir or settings.data_dir / "spool"
