"""Documents attached to a zone's case file: PDFs and images, kept by SHA-256.

A document is accepted when its bytes are a PDF (``%PDF-`` header and an ``%%EOF``
trailer) or a JPEG, PNG or WebP image that Pillow can read (checked as inspection
photos are, ``layers.inspections.photos``); the name and the declared type are not
trusted. Files go to their own folder, content-addressed the same way
(``<folder>/<sha[:2]>/<sha>``). What the case file keeps is an ``evidence`` event whose
``details.file`` names the file (SHA-256, media type, size, the uploader's file name),
so the case file stays the one append-only record, and reading a file is allowed to
whoever may read that zone.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TypedDict

from sqlalchemy import Connection, select

from geo.errors import InvalidInput, NotFound, Problem
from layers.inspections import photos
from layers.schema import case_events

#: media types accepted as evidence (by content)
MEDIA_TYPES = ("application/pdf", "image/jpeg", "image/png", "image/webp")


def check_document(data: bytes, *, file_name: str | None, max_bytes: int) -> photos.Photo:
    """Accept ``data`` as a case-file document, or raise naming the field ``file``.

    Raises:
        InvalidInput: empty, larger than ``max_bytes``, or neither a whole PDF nor a
            readable JPEG/PNG/WebP image (by content).
    """
    field = "file"
    if data[:5] != b"%PDF-":
        try:
            found = photos.check_photo(data, file_name=file_name, field=field, max_bytes=max_bytes)
        except InvalidInput as exc:
            if not data or len(data) > max_bytes or photos.sniff(data) is not None:
                raise  # empty, too large, or a damaged image: the photo check says why
            reason = "is not a PDF or a JPEG, PNG or WebP image (checked by content)"
            raise InvalidInput(f"{field} {reason}", problems=[Problem(field, reason)]) from exc
        if found.media_type not in MEDIA_TYPES:
            reason = f"is {found.media_type}; evidence is a PDF or a JPEG, PNG or WebP image"
            raise InvalidInput(f"{field} {reason}", problems=[Problem(field, reason)])
        return found
    if len(data) > max_bytes:
        reason = f"is {len(data):,} bytes; the limit is {max_bytes:,}"
        raise InvalidInput(f"{field} {reason}", problems=[Problem(field, reason)])
    if b"%%EOF" not in data[-1024:]:
        reason = "is a PDF cut short (no %%EOF at its end)"
        raise InvalidInput(f"{field} {reason}", problems=[Problem(field, reason)])
    return photos.Photo(data, hashlib.sha256(data).hexdigest(), "application/pdf", file_name)


class EvidenceFile(TypedDict):
    """What an ``evidence`` event keeps of a stored file (``details.file``)."""

    sha256: str
    media_type: str
    size_bytes: int
    file_name: str | None


def file_details(document: photos.Photo) -> EvidenceFile:
    """What an ``evidence`` event keeps of a stored file (``details.file``)."""
    return EvidenceFile(
        sha256=document.sha256,
        media_type=document.media_type,
        size_bytes=document.size_bytes,
        file_name=(document.file_name or "")[:255] or None,
    )


def store(folder: Path, document: photos.Photo) -> Path:
    return photos.store(folder, document)


def file_of(conn: Connection, zone_id: int, sha256: str) -> EvidenceFile:
    """``details.file`` of the zone's evidence event holding ``sha256``.

    ``details`` is free JSON (``POST /disputes/{id}/events`` takes any), so an entry
    that does not have the shape :func:`file_details` writes is not a file.

    Raises:
        NotFound: no evidence of this zone holds that file (another zone's file is
            not reachable through this one).
    """
    t = case_events.c
    rows = conn.execute(
        select(t.details).where(
            t.zone_id == zone_id, t.kind == "evidence", t.details.contains(sha256)
        )
    ).scalars()
    for raw in rows:
        found = (json.loads(raw) if raw else {}).get("file")
        if not isinstance(found, dict) or found.get("sha256") != sha256:
            continue
        media_type, size, name = (
            found.get("media_type"),
            found.get("size_bytes"),
            found.get("file_name"),
        )
        if isinstance(media_type, str) and isinstance(size, int) and isinstance(name, str | None):
            return EvidenceFile(
                sha256=sha256, media_type=media_type, size_bytes=size, file_name=name
            )
    raise NotFound(
        f"zone {zone_id} has no evidence file {sha256}", problems=[Problem("sha256", "unknown")]
    )


def stored(folder: Path, sha256: str) -> Path:
    target = photos.path_of(folder, sha256)
    if not target.is_file():
        raise NotFound(f"evidence file {sha256} is not in the evidence folder")
    return target
