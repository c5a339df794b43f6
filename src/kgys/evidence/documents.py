"""Scanned decisions: the court's or prosecutor's decision as a PDF, JPEG or PNG, kept in
``DATA_DIR/evidence/decisions/<sha256>.<ext>``.

An upload is written whole to a temporary file in that folder (:class:`Upload`, hashing as it goes and refusing
more than the limit), its kind told by its first bytes (:func:`kgys.evidence.rules.document_type`; the name and the
content type the browser sent are not trusted), and only renamed to its final name once the decision that cites it
is written, so that no half-written or refused file is ever kept. The same file twice is kept once.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from kgys.errors import FieldError, ValidationFailed
from kgys.evidence import rules
from kgys.said import _

FOLDER = "evidence/decisions"
CHUNK = 64 * 1024
LARGER_THAN = _("the scanned decision is larger than %(mb)s MB")
NAME_MAX = 200


def folder(data_dir: Path) -> Path:
    """Where scanned decisions are kept."""
    return data_dir / FOLDER


def path_of(data_dir: Path, sha256: str, content_type: str) -> Path:
    """The file of a kept scanned decision."""
    return folder(data_dir) / f"{sha256}.{rules.EXTENSIONS.get(content_type, 'bin')}"


@dataclass
class Upload:
    """A scanned decision written whole to a temporary file: its size, SHA-256, the kind its bytes tell, and the
    name it was sent under."""

    path: Path
    size: int
    sha256: str
    content_type: str | None
    name: str

    @classmethod
    def receive(cls, source: BinaryIO | Iterable[bytes], *, name: str, data_dir: Path, limit: int) -> Upload:
        """Copy ``source`` (a file or chunks) to a temporary file; ValidationFailed naming ``document`` (and the file
        removed) past ``limit`` bytes."""
        target = folder(data_dir)
        target.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=target)
        digest, size, head = hashlib.sha256(), 0, b""
        chunks = iter(lambda: source.read(CHUNK), b"") if hasattr(source, "read") else iter(source)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        raise ValidationFailed([FieldError.said("document", LARGER_THAN, mb=f"{limit / 2**20:g}")])
                    if len(head) < 16:
                        head = (head + chunk)[:16]
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        clean = "".join(ch for ch in Path(name or "").name if ch.isprintable())[:NAME_MAX] or "decision"
        return cls(Path(tmp), size, digest.hexdigest(), rules.document_type(head), clean)

    def problems(self) -> list[FieldError]:
        """What is wrong with the file: empty, or not a PDF, JPEG or PNG by its bytes."""
        if self.size == 0:
            return [FieldError("document", "the scanned decision is empty")]
        if self.content_type is None:
            return [FieldError("document", "not a PDF, JPEG or PNG file (told by its content, not its name)")]
        return []

    def keep(self, data_dir: Path) -> Path:
        """Move the checked file to its final name (atomically; the same file again replaces itself)."""
        assert self.content_type is not None
        final = path_of(data_dir, self.sha256, self.content_type)
        os.replace(self.path, final)
        return final

    def discard(self) -> None:
        """Remove the temporary file (the decision was refused)."""
        self.path.unlink(missing_ok=True)
