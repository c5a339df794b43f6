"""Reading a package, a zip file or the folder it was unpacked into, without unpacking anything.

The files of a zip are read in place: for a stored (uncompressed) member, which is how kgys writes packages,
its bytes are hashed straight from the zip file at their offset, with large reads and several files at once in
threads (SHA-256 in ``hashlib`` runs without holding the interpreter lock), so checking costs about what
``sha256sum`` of the same files costs. A compressed member (a package zipped again by someone) is read through
:mod:`zipfile`. Names that occur twice in a zip, or that would leave the folder when unpacked (``..``, an absolute
path), are reported, because the file one tool shows may then not be the one another tool checks.
"""

from __future__ import annotations

import hashlib
import os
import struct
import zipfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

CHUNK = 1 << 22  # 4 MiB reads
LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
LOCAL_MAGIC = b"PK\x03\x04"
MAX_SMALL = 64 << 20  # manifest.json, signature.json and the key are read whole; nothing bigger is


class Unreadable(Exception):
    """The package cannot be opened or a file in it cannot be read; the message says which and why."""


@dataclass(frozen=True)
class Member:
    """One file of the package: its path inside it, its size, and where its bytes start in the zip (stored
    members) or None (read through :mod:`zipfile`, or a file of a folder)."""

    name: str
    size: int
    offset: int | None = None


@dataclass
class Package:
    """The files of a package and how to read them."""

    path: Path
    is_zip: bool
    members: dict[str, Member] = field(default_factory=dict)
    duplicates: list[str] = field(default_factory=list)
    unsafe: list[str] = field(default_factory=list)

    def read(self, name: str) -> bytes:
        """The whole content of a small file of the package."""
        member = self.members[name]
        if member.size > MAX_SMALL:
            raise Unreadable(f"{name} is {member.size} bytes, too large for what it should be")
        if not self.is_zip:
            return (self.path / name).read_bytes()
        with zipfile.ZipFile(self.path) as zf:
            return zf.read(name)

    def digest(self, name: str) -> tuple[str, int]:
        """SHA-256 (hex) and the number of bytes read of one file."""
        member = self.members[name]
        if not self.is_zip:
            return _hash_file(self.path / name, 0, None)
        if member.offset is not None:
            return _hash_file(self.path, member.offset, member.size)
        h = hashlib.sha256()
        n = 0
        with zipfile.ZipFile(self.path) as zf, zf.open(name) as fh:
            while chunk := fh.read(CHUNK):
                h.update(chunk)
                n += len(chunk)
        return h.hexdigest(), n

    def digests(self, names: Iterable[str], workers: int | None = None) -> dict[str, tuple[str, int] | str]:
        """SHA-256 and size of each named file, several at once; a file that cannot be read maps to the reason."""
        todo = sorted(names, key=lambda n: -self.members[n].size)  # the largest first: the run ends sooner
        if not todo:
            return {}

        def one(name: str) -> tuple[str, int] | str:
            try:
                return self.digest(name)
            except (OSError, zipfile.BadZipFile, ValueError, EOFError) as exc:
                return f"cannot be read ({exc})"

        count = workers or min(len(todo), os.cpu_count() or 1, 8)
        if count <= 1:
            return {n: one(n) for n in todo}
        with ThreadPoolExecutor(max_workers=count, thread_name_prefix="kgys-verify") as pool:
            return dict(zip(todo, pool.map(one, todo), strict=True))


def _hash_file(path: Path, offset: int, length: int | None) -> tuple[str, int]:
    """SHA-256 of ``length`` bytes of ``path`` from ``offset`` (to the end when None), and the bytes read."""
    h = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    read = 0
    with open(path, "rb", buffering=0) as fh:
        if offset:
            fh.seek(offset)
        while length is None or read < length:
            want = CHUNK if length is None else min(CHUNK, length - read)
            n = fh.readinto(view[:want])
            if not n:
                break
            h.update(view[:n])
            read += n
    return h.hexdigest(), read


def _unsafe(name: str) -> bool:
    p = PurePosixPath(name)
    return name.startswith(("/", "\\")) or ".." in p.parts or "\\" in name or (len(name) > 1 and name[1] == ":")


def _data_offset(fh: BinaryIO, info: zipfile.ZipInfo) -> int:
    """Where a stored member's bytes start: after its local header, whose name and extra field may differ in
    length from the central directory's."""
    fh.seek(info.header_offset)
    header = fh.read(LOCAL_HEADER.size)
    if len(header) != LOCAL_HEADER.size:
        raise Unreadable(f"{info.filename}: the zip is cut short")
    fields = LOCAL_HEADER.unpack(header)
    if fields[0] != LOCAL_MAGIC:
        raise Unreadable(f"{info.filename}: the zip's local header is damaged")
    return info.header_offset + LOCAL_HEADER.size + int(fields[9]) + int(fields[10])


def _open_zip(path: Path) -> Package:
    pkg = Package(path=path, is_zip=True)
    try:
        with zipfile.ZipFile(path) as zf, path.open("rb") as raw:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                name = info.filename
                if name in pkg.members:
                    pkg.duplicates.append(name)
                    continue
                if _unsafe(name):
                    pkg.unsafe.append(name)
                if info.flag_bits & 0x1:
                    raise Unreadable(f"{name} is encrypted in the zip")
                stored = info.compress_type == zipfile.ZIP_STORED and info.compress_size == info.file_size
                pkg.members[name] = Member(name, info.file_size, _data_offset(raw, info) if stored else None)
    except (zipfile.BadZipFile, OSError, struct.error) as exc:
        raise Unreadable(f"{path} is not a readable zip file ({exc})") from None
    return pkg


def _open_folder(path: Path) -> Package:
    pkg = Package(path=path, is_zip=False)
    for p in sorted(path.rglob("*")):
        if p.is_file():
            name = p.relative_to(path).as_posix()
            pkg.members[name] = Member(name, p.stat().st_size)
    return pkg


def open_package(path: Path) -> Package:
    """The package at ``path``: a zip file, or a folder holding its files; :class:`Unreadable` when neither."""
    if path.is_dir():
        return _open_folder(path)
    if not path.is_file():
        raise Unreadable(f"{path} does not exist")
    return _open_zip(path)
