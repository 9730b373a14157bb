"""Inspection photos: checked by content, kept in a folder outside the database by SHA-256.

A photo is accepted when its bytes are a JPEG, PNG, WebP or HEIC image (the name
and the declared type are not trusted) and it is no larger than the configured
limit. JPEG, PNG and WebP are opened and verified with Pillow; HEIC is recognised
by its ISO-BMFF ``ftyp`` brand only (decoding it would need libheif, which Linde
does not require).

Files are content-addressed (``<folder>/<sha[:2]>/<sha>``), written to a temporary
name and renamed, so a retry or two inspections with the same photo store one file,
and a file left by a transaction that rolled back is harmless (it is simply reused).
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from geo.errors import InvalidInput, NotFound, Problem

MEDIA_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic")
_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


@dataclass(frozen=True)
class Photo:
    data: bytes
    sha256: str
    media_type: str
    file_name: str | None

    @property
    def size_bytes(self) -> int:
        return len(self.data)


def sniff(data: bytes) -> str | None:
    """The media type the bytes begin like, or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIC_BRANDS:
        return "image/heic"
    return None


def check_photo(data: bytes, *, file_name: str | None, field: str, max_bytes: int) -> Photo:
    """Accept ``data`` as a photo or raise :class:`InvalidInput` naming ``field``.

    Raises:
        InvalidInput: empty, larger than ``max_bytes``, not one of the accepted image
            types by content, or an image Pillow cannot read (truncated, corrupt).
    """
    if not data:
        raise InvalidInput(f"{field} is empty", problems=[Problem(field, "empty file")])
    if len(data) > max_bytes:
        reason = f"is {len(data):,} bytes; the limit is {max_bytes:,}"
        raise InvalidInput(f"{field} {reason}", problems=[Problem(field, reason)])
    media_type = sniff(data)
    if media_type is None:
        reason = "is not a JPEG, PNG, WebP or HEIC image (checked by content)"
        raise InvalidInput(f"{field} {reason}", problems=[Problem(field, reason)])
    expected = _PILLOW_FORMATS.get(media_type)
    if expected is not None:
        try:
            with Image.open(io.BytesIO(data)) as image:
                fmt = image.format
                image.verify()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            reason = f"is not a readable {media_type} image: {exc}"
            raise InvalidInput(f"{field} {reason}", problems=[Problem(field, reason)]) from exc
        if fmt != expected:
            reason = f"looks like {media_type} but reads as {fmt}"
            raise InvalidInput(f"{field} {reason}", problems=[Problem(field, reason)])
    return Photo(data, hashlib.sha256(data).hexdigest(), media_type, file_name)


def path_of(folder: Path, sha256: str) -> Path:
    return folder / sha256[:2] / sha256


def store(folder: Path, photo: Photo) -> Path:
    """Write the photo under its SHA-256 unless it is there already; return its path."""
    target = path_of(folder, photo.sha256)
    if target.exists() and target.stat().st_size == photo.size_bytes:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(photo.data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def stored(folder: Path, sha256: str) -> Path:
    """The path of a stored photo.

    Raises:
        NotFound: the file is not in the folder (deleted, or another folder configured).
    """
    target = path_of(folder, sha256)
    if not target.is_file():
        raise NotFound(f"photo {sha256} is not in the photo folder {folder}")
    return target
