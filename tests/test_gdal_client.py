"""A real OGC API - Features client, GDAL's OAPIF driver (Debian's gdal-bin), reads Linde.

``ogrinfo`` must list every collection and ``ogr2ogr`` copy each one completely,
with the right feature count and geometry, on both engines. QGIS reads the same
protocol. Skipped without GDAL's tools, which fails the run in CI.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pyogrio
import pytest
import shapely
from shapely.geometry import shape

from tests.conftest import OAXACA, Database

pytestmark = [
    pytest.mark.skipif(
        shutil.which("ogr2ogr") is None, reason="GDAL's command-line tools are not installed"
    ),
    pytest.mark.subprocess,  # ogrinfo and ogr2ogr, each a process of its own
]


def gdal(*args: str, token: str | None = None) -> str:
    config = ["--config", "GDAL_HTTP_HEADERS", f"Authorization: Bearer {token}"] if token else []
    done = subprocess.run(
        [args[0], *config, *args[1:]], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def layer_names(base_url: str, token: str | None = None) -> set[str]:
    # "1: municipalities (Multi Polygon)"; GDAL 3.6 (Debian 12) has no -json yet
    listing = gdal("ogrinfo", "-ro", "-q", f"OAPIF:{base_url}", token=token)
    return set(re.findall(r"^\d+: (\S+)", listing, flags=re.MULTILINE))


def test_ogrinfo_lists_every_collection(oaxaca: Database) -> None:
    assert layer_names(oaxaca.base_url) == {"municipalities", "metro_zones", "rivers"}
    assert layer_names(oaxaca.base_url, oaxaca.tokens["planner"]) == {
        "municipalities",
        "metro_zones",
        "claims",
        "rivers",
        "inspections",
        "disputed_zones",
    }


def test_ogr2ogr_copies_each_collection_completely(oaxaca: Database, tmp_path: Path) -> None:
    out = tmp_path / "copy.gpkg"
    gdal("ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{oaxaca.base_url}")
    with oaxaca.client() as http:
        for name in ("municipalities", "metro_zones", "rivers"):
            matched = http.get(f"/collections/{name}/items?limit=1").json()["numberMatched"]
            copied = pyogrio.read_info(out, layer=name)["features"]
            assert copied == matched > 0, name

    copied = pyogrio.read_dataframe(out, layer="municipalities").set_index("cvegeo")
    original = pyogrio.read_dataframe(OAXACA)
    key = next(c for c in original.columns if c.lower() == "cvegeo")
    original = original.set_index(key)
    assert set(copied.index) == set(original.index)
    for cvegeo in ("20067", "20157", "20390"):
        a, b = shape(copied.geometry[cvegeo]), shape(original.geometry[cvegeo])
        # 7 decimals of a degree (about 1 cm) is what the API serves: no vertex moves more
        assert a.hausdorff_distance(b) < 1e-7, cvegeo
        assert len(shapely.get_coordinates(a)) == len(shapely.get_coordinates(b)), cvegeo


def test_ogr2ogr_with_a_filter_and_a_token(oaxaca: Database, tmp_path: Path) -> None:
    out = tmp_path / "claims.gpkg"
    gdal(
        "ogr2ogr",
        "-f",
        "GPKG",
        str(out),
        f"OAPIF:{oaxaca.base_url}",
        "claims",
        token=oaxaca.tokens["planner"],
    )
    assert pyogrio.read_info(out, layer="claims")["features"] == 0  # none recorded here
    out = tmp_path / "core.gpkg"
    gdal(
        "ogr2ogr",
        "-f",
        "GPKG",
        "-spat",
        "-96.80",
        "17.00",
        "-96.65",
        "17.15",
        str(out),
        f"OAPIF:{oaxaca.base_url}",
        "municipalities",
    )
    frame = pyogrio.read_dataframe(out)
    assert 15 <= len(frame) <= 40 and {"20067", "20157"} <= set(frame["cvegeo"])
