"""``POST /maps/logos``: a planner's institution logo, kept to print on PNG and PDF maps.

The answer's ``logo`` (the kept PNG's SHA-256) goes in a map's ``?logo=``. See
``layers.logos`` for what is accepted (PNG or JPEG by content, at most 512 KB; SVG
refused) and what is kept (the image re-drawn as a PNG).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import Planner
from geo.errors import InvalidInput, Problem
from layers import logos

router = APIRouter(tags=["maps"])


class LogoKept(BaseModel):
    #: the SHA-256 to pass as a map's ``logo=``
    logo: str
    size_bytes: int


@router.post(
    "/maps/logos",
    summary="Upload an institution logo (PNG or JPEG, at most 512 KB) for printed maps",
    status_code=201,
    response_model=LogoKept,
)
async def upload_logo(request: Request, _caller: Planner) -> JSONResponse:
    """Multipart with one file part named ``logo``. 400 naming ``logo`` for anything
    else: no file, an SVG, a file that is not a PNG or JPEG by content, too big."""
    form = await request.form(max_files=1, max_fields=2)
    upload = form.get("logo")
    if upload is None or isinstance(upload, str):
        raise InvalidInput(
            "logo: send the image as a multipart file part named logo",
            problems=[Problem("logo", "missing: a file part named logo")],
        )
    data = await upload.read(logos.LOGO_MAX_BYTES + 1)
    png = logos.checked_logo(data)
    folder = request.app.state.settings.resolved_logos_dir()
    sha256 = logos.store_logo(folder, png)
    return JSONResponse({"logo": sha256, "size_bytes": len(png)}, status_code=201)
