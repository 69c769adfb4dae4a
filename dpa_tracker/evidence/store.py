"""Content-addressed evidence files under ``instance/evidence/``.

A file is streamed to a temporary name while it is hashed and sniffed, fsynced, then renamed
to ``ab/cd/<sha256>``: a crash never leaves a partial file under a real name, and the same
content uploaded twice is stored once. A worker killed mid-upload leaves its temporary file
behind under ``tmp/``: start-up removes those older than ``UPLOAD_TEMP_MAX_AGE`` seconds (an
upload still running is younger) and ``flask evidence verify`` reports them.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

import filetype

from dpa_tracker.errors import InvalidUpload

CHUNK = 64 * 1024
SNIFF_BYTES = 8192

# What evidence may be, decided on the bytes, never on the file name.
ALLOWED_BINARY = {
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
}
TEXT_TYPE = "text/plain"


class TooLarge(InvalidUpload):
    status_code = 413


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    content_type: str


@dataclass(frozen=True)
class BlobProblem:
    sha256: str
    problem: str  # "missing" or "altered"


def sniff(head: bytes) -> str | None:
    """The content type of a file from its first bytes; None when not allowed."""
    if not head:
        return None
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime if kind.mime in ALLOWED_BINARY else None
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if b"\x00" in head:
        return None
    return TEXT_TYPE  # confirmed as UTF-8 while the whole file streams


class EvidenceStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    def stale_temp_files(self, max_age: float) -> list[Path]:
        """Upload temp files not modified for ``max_age`` seconds: left by a worker that died mid-upload."""
        cutoff = time.time() - max_age
        stale = []
        try:
            entries = list(os.scandir(self.tmp_dir))
        except FileNotFoundError:
            return []
        for entry in entries:
            try:
                if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                    stale.append(Path(entry.path))
            except FileNotFoundError:  # finished (renamed) or removed while we looked
                continue
        return sorted(stale)

    def remove_stale_temp_files(self, max_age: float) -> int:
        removed = 0
        for path in self.stale_temp_files(max_age):
            try:
                path.unlink()
            except OSError:  # another worker removed it first, or no right to: never stop the start-up
                continue
            removed += 1
        return removed

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def save(self, stream: IO[bytes], max_bytes: int) -> StoredBlob:
        """Stream ``stream`` into the store; raise InvalidUpload/TooLarge leaving nothing behind."""
        tmp_dir = self.tmp_dir
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
        tmp_path = Path(tmp_name)
        try:
            digest, size, content_type = self._copy(stream, fd, max_bytes)
            final = self.path_for(digest)
            if final.exists():
                tmp_path.unlink()
            else:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp_path, final)
                _fsync_dir(final.parent)
            return StoredBlob(digest, size, content_type)
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            raise

    @staticmethod
    def _copy(stream: IO[bytes], fd: int, max_bytes: int) -> tuple[str, int, str]:
        digest = hashlib.sha256()
        size = 0
        content_type: str | None = None
        decoder = codecs.getincrementaldecoder("utf-8")()
        head = b""
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(f"The file is larger than the {max_bytes // (1024 * 1024)} MB limit.")
                if content_type is None:
                    head += chunk
                    if len(head) >= SNIFF_BYTES:
                        content_type = _require_type(head)
                        if content_type == TEXT_TYPE:
                            _require_text(decoder, head)
                elif content_type == TEXT_TYPE:
                    _require_text(decoder, chunk)
                out.write(chunk)
                digest.update(chunk)
            if content_type is None:
                content_type = _require_type(head)
                if content_type == TEXT_TYPE:
                    _require_text(decoder, head)
            if content_type == TEXT_TYPE:
                _require_text(decoder, b"", final=True)
            out.flush()
            os.fsync(out.fileno())
        return digest.hexdigest(), size, content_type

    def open(self, sha256: str) -> BinaryIO:
        return self.path_for(sha256).open("rb")

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def verify(self, hashes: Iterable[str]) -> Iterator[BlobProblem]:
        for sha in hashes:
            path = self.path_for(sha)
            if not path.is_file():
                yield BlobProblem(sha, "missing")
                continue
            digest = hashlib.sha256()
            with path.open("rb") as fh:
                while chunk := fh.read(1024 * 1024):
                    digest.update(chunk)
            if digest.hexdigest() != sha:
                yield BlobProblem(sha, "altered")


def _require_type(head: bytes) -> str:
    content_type = sniff(head)
    if content_type is None:
        raise InvalidUpload(
            "This file type is not accepted as evidence (allowed: PDF, images, office documents, ZIP, plain text).",
            field="file",
        )
    return content_type


def _require_text(decoder: codecs.IncrementalDecoder, chunk: bytes, final: bool = False) -> None:
    try:
        text = decoder.decode(chunk, final=final)
    except UnicodeDecodeError:
        raise InvalidUpload("Text evidence must be UTF-8 encoded.", field="file") from None
    if "\x00" in text:
        raise InvalidUpload("This file type is not accepted as evidence.", field="file")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
