"""Institution logos on printed maps: PNG or JPEG checked by content, re-drawn as PNG,
SVG refused, size-limited; the kept logo printed in the map's heading. Over HTTP."""

from __future__ import annotations

import io
import json
import re
import subprocess
from pathlib import Path

import httpx
import pytest
from PIL import Image

from layers.logos import LOGO_MAX_BYTES, LOGO_MAX_PX
from tests.conftest import Database
from tests.helpers import problem


def image_bytes(fmt: str, size: tuple[int, int] = (600, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (156, 42, 60)).save(buffer, fmt)
    return buffer.getvalue()


def upload(db: Database, data: bytes, name: str, role: str | None = "planner") -> httpx.Response:
    with db.client(role) as http:
        return http.post("/maps/logos", files=[("logo", (name, data, "image/png"))])


def test_a_png_or_jpeg_is_kept_redrawn_and_shown_above_the_title(oaxaca: Database) -> None:
    r = upload(oaxaca, image_bytes("JPEG"), "escudo.png")  # named .png, is a JPEG: fine
    assert r.status_code == 201, r.text
    kept = r.json()
    again = upload(oaxaca, image_bytes("JPEG"), "otra.jpg").json()
    assert again["logo"] == kept["logo"]  # the same picture is kept once
    with oaxaca.client() as http:
        html = http.get(
            "/maps/metro-zones/20.1.01",
            params={"logo": kept["logo"], "institution": "Instituto de Planeación"},
        ).text
        unknown = http.get("/maps/metro-zones/20.1.01", params={"logo": "0" * 64})
        malformed = http.get("/maps/metro-zones/20.1.01", params={"logo": "../../etc/passwd"})
    frames = [
        json.loads(t)
        for t in re.findall(
            r'<script type="application/json" id="[\w-]+-data">(.*?)</script>', html
        )
    ]
    (frame,) = [f for f in frames if isinstance(f, dict) and "logo" in f]
    assert frame["logo"].startswith("data:image/png;base64,")
    assert "upload it again" in problem(unknown, 400, "logo")
    assert malformed.status_code in (400, 422)


def test_svg_other_files_and_big_ones_are_refused_naming_the_field(oaxaca: Database) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    assert "SVG" in problem(upload(oaxaca, svg, "logo.svg"), 422, "logo")
    gif = image_bytes("GIF", (10, 10))
    assert "PNG or JPEG" in problem(upload(oaxaca, gif, "logo.png"), 422, "logo")
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * LOGO_MAX_BYTES
    assert "limit" in problem(upload(oaxaca, big, "big.png"), 422, "logo")
    assert upload(oaxaca, image_bytes("PNG"), "l.png", role=None).status_code == 401


@pytest.mark.subprocess  # pdfimages
def test_the_logo_is_printed_on_the_pdf(oaxaca: Database, tmp_path: Path) -> None:
    kept = upload(oaxaca, image_bytes("PNG", (800, 300)), "escudo.png").json()
    with oaxaca.client() as http:
        r = http.get(
            "/maps/metro-zones/20.1.01",
            params={
                "format": "pdf",
                "tiles": "false",
                "logo": kept["logo"],
                "institution": "Instituto de Planeación",
            },
        )
    if r.status_code == 503:
        pytest.skip(r.text)
    assert r.status_code == 200, r.text
    path = tmp_path / "zona.pdf"
    path.write_bytes(r.content)
    listing = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True)
    # the logo, re-drawn at most 400 px wide (halos and shadows are images too)
    sizes = [tuple(map(int, line.split()[3:5])) for line in listing.stdout.splitlines()[2:]]
    assert (LOGO_MAX_PX, 150) in sizes, sizes
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "Instituto de Planeación" in text
