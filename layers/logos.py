"""Institution logos a planner prints on a map: checked by content, re-drawn, kept by hash.

A logo is accepted only as a PNG or JPEG (by its bytes, not its name), at most
``LOGO_MAX_BYTES``; an SVG is refused, since it may carry scripts and links and a
PNG export of it is what a print needs anyway. What is kept is not the upload: it is
the image Pillow decoded, shrunk to at most ``LOGO_MAX_PX`` a side and written again
as a PNG (no metadata, no trailing bytes), named by its SHA-256 in the logos folder
(beside the photos). A map asks for it by that hash.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from geo.errors import InvalidInput, InvalidParameter, Problem
from layers.inspections.photos import sniff

#: the largest upload accepted
LOGO_MAX_BYTES = 512 * 1024
#: the longest side kept, in pixels (a logo prints at about 1.5 cm)
LOGO_MAX_PX = 400
#: decoded pixels at most (a small file may claim a huge image)
_MAX_PIXELS = 25_000_000
_HASH = re.compile(r"[0-9a-f]{64}")
FIELD = "logo"


def _refuse(reason: str) -> InvalidInput:
    return InvalidInput(f"{FIELD}: {reason}", problems=[Problem(FIELD, reason)])


def checked_logo(data: bytes) -> bytes:
    """The logo as a clean PNG, or :class:`InvalidInput` naming ``logo``.

    Raises:
        InvalidInput: empty, too big, SVG, not a PNG or JPEG by content, unreadable,
            or with more than 25 million pixels.
    """
    if not data:
        raise _refuse("the file is empty")
    if len(data) > LOGO_MAX_BYTES:
        raise _refuse(f"is {len(data):,} bytes; the limit is {LOGO_MAX_BYTES:,} (512 KB)")
    head = data[:512].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml")) or b"<svg" in head:
        raise _refuse("SVG is not accepted (it can carry scripts); export the logo as PNG")
    media_type = sniff(data)
    if media_type not in ("image/png", "image/jpeg"):
        raise _refuse("is not a PNG or JPEG image (checked by content)")
    try:
        with Image.open(io.BytesIO(data)) as image:
            size = (image.width, image.height)
            if size[0] * size[1] <= _MAX_PIXELS:
                image.load()
                picture = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise _refuse(f"is not a readable image: {exc}") from exc
    if size[0] * size[1] > _MAX_PIXELS:
        raise _refuse(f"is {size[0]} x {size[1]} pixels; too large a picture")
    picture.thumbnail((LOGO_MAX_PX, LOGO_MAX_PX))
    out = io.BytesIO()
    picture.save(out, "PNG", optimize=True)
    return out.getvalue()


def store_logo(folder: Path, png: bytes) -> str:
    """Keep a checked logo; return its SHA-256 (the same file twice is kept once)."""
    sha256 = hashlib.sha256(png).hexdigest()
    path = folder / f"{sha256}.png"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".logo-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(png)
        os.replace(tmp, path)  # whole or not at all
    return sha256


def read_logo(folder: Path, sha256: str) -> bytes:
    """The PNG of a kept logo.

    Raises:
        InvalidParameter: not a SHA-256, or no logo kept under it (400 naming ``logo``).
    """

    def bad(reason: str) -> InvalidParameter:
        return InvalidParameter(f"{FIELD}: {reason}", problems=[Problem(FIELD, reason)])

    if not _HASH.fullmatch(sha256):
        raise bad("must be the 64 hex digits POST /maps/logos answered")
    path = folder / f"{sha256}.png"
    if not path.is_file():
        raise bad("no logo is kept under this hash; upload it again (POST /maps/logos)")
    return path.read_bytes()
