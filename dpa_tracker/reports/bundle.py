"""The evidence bundle: a ZIP streamed piece by piece, never held whole in memory.

``stream_bundle`` writes each member through ``zipfile`` into a small sink that the generator empties after every
chunk, so the memory used is one chunk plus zlib's window, whatever the size of the files. Every member's
SHA-256 is computed as it streams; a member whose bytes do not match the hash it was recorded with stops the
stream (``BundleError``): the ZIP is then left without its central directory, unreadable, never silently wrong.
``SHA256SUMS`` (``sha256sum -c`` format) and ``manifest.json`` close the bundle.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

CHUNK = 64 * 1024


class BundleError(Exception):
    """A stored file no longer matches its recorded hash (or is missing): the bundle is refused."""


@dataclass(frozen=True)
class BundleFile:
    """One stored file: its path in the bundle, how to open it, and the hash and size it was recorded with."""

    path: str
    open: Callable[[], BinaryIO]
    sha256: str
    size: int | None
    evidence_id: int | None = None


class _Sink:
    """A write-only stream (zipfile then tracks offsets itself and writes data descriptors)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        if data:
            self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None

    def drain(self) -> Iterator[bytes]:
        if self._parts:
            parts, self._parts = self._parts, []
            yield b"".join(parts)


_UNSAFE = re.compile(r"[^A-Za-z0-9._()+-]+")


def safe_name(name: str, fallback: str = "file") -> str:
    """A file or folder name safe in a ZIP, in ``sha256sum`` output and on every system."""
    cleaned = _UNSAFE.sub("_", name).strip("._") or fallback
    return cleaned[:150]


def evidence_path(clause: str, evidence_id: int, filename: str) -> str:
    return f"evidence/{safe_name(clause, 'clause')}/{evidence_id}-{safe_name(filename)}"


README = """Evidence bundle — {subject}
As of {as_of}; generated at {generated_at} UTC by dpa_tracker.

Contents
  checklist.pdf    the auditor's checklist: every obligation, its status and reason as of {as_of},
                   and an annex listing every evidence item with its SHA-256
  evidence/        every evidence file, under evidence/<clause>/<evidence id>-<file name>
  manifest.json    each file's SHA-256 and size, and the checklist data (statuses, evidence, comments)
  SHA256SUMS       the SHA-256 of every other file in this bundle
  README.txt       this file

How to verify offline
  1. Unpack the ZIP and, in the folder it made, run:
         sha256sum -c SHA256SUMS
     (macOS: shasum -a 256 -c SHA256SUMS). Every line must say OK; a changed file says FAILED.
  2. The SHA-256 of each evidence file in manifest.json ("files") must equal the SHA-256 printed for that
     evidence item in the checklist's evidence annex and in the application (obligation page).
  3. The audit chain head printed on the checklist's cover ({head}) can be compared with
     `flask --app dpa_tracker audit verify` and with an anchor taken earlier.
"""


def _hashed(member: str, read: Iterable[bytes], zf: zipfile.ZipFile, sink: _Sink) -> Iterator[bytes | tuple[str, int]]:
    digest, size = hashlib.sha256(), 0
    info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    with zf.open(info, "w", force_zip64=True) as out:
        for chunk in read:
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
            yield from sink.drain()
    yield from sink.drain()
    yield (digest.hexdigest(), size)


def _chunks(opener: Callable[[], BinaryIO]) -> Iterator[bytes]:
    with opener() as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def _write(
    member: str, read: Iterable[bytes], zf: zipfile.ZipFile, sink: _Sink, sums: dict[str, tuple[str, int]]
) -> Iterator[bytes]:
    for piece in _hashed(member, read, zf, sink):
        if isinstance(piece, tuple):
            sums[member] = piece
        else:
            yield piece


def stream_bundle(
    *,
    checklist_pdf: bytes,
    files: list[BundleFile],
    checklist: dict[str, Any],
    subject: str,
    generated_at: datetime,
) -> Iterator[bytes]:
    """The bundle's bytes, chunk by chunk. Raises BundleError mid-stream if a file does not match its hash."""
    sink = _Sink()
    sums: dict[str, tuple[str, int]] = {}
    head = checklist["audit_head"]
    readme = README.format(
        subject=subject,
        as_of=checklist["as_of"],
        generated_at=generated_at.strftime("%Y-%m-%d %H:%M:%S"),
        head=f"event #{head['event_id']}, {head['hash']}" if head["event_id"] else "empty log",
    ).encode()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        yield from _write("README.txt", [readme], zf, sink, sums)
        yield from _write("checklist.pdf", [checklist_pdf], zf, sink, sums)
        for f in files:
            yield from _write(f.path, _chunks(f.open), zf, sink, sums)
            digest, size = sums[f.path]
            if digest != f.sha256 or (f.size is not None and size != f.size):
                raise BundleError(f"{f.path}: the stored file no longer matches its recorded SHA-256 {f.sha256}.")
        evidence_ids = {f.path: f.evidence_id for f in files}
        manifest = {
            "format": "dpa_tracker evidence bundle 1",
            "generated_at": generated_at.isoformat(),
            "files": [
                {"path": path, "sha256": digest, "size": size, "evidence_id": evidence_ids.get(path)}
                for path, (digest, size) in sums.items()
            ],
            "checklist": checklist,
        }
        body = json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=False).encode()
        yield from _write("manifest.json", [body], zf, sink, sums)
        lines = "".join(f"{digest}  {path}\n" for path, (digest, _) in sums.items())
        yield from _write("SHA256SUMS", [lines.encode()], zf, sink, sums)
    yield from sink.drain()
