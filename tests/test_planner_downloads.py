"""What a planner downloads: every layer they may read, in every format, opened by GDAL's
own ``ogrinfo``; Spanish column labels on request; inspections with their photo links; the
Shapefile's field-name map. Over real HTTP, on both engines."""

from __future__ import annotations

import csv
import io
import subprocess
import uuid
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from formats import FORMATS
from layers.users import add_user
from tests.conftest import METRO_2020, Database
from tests.helpers import PASSWORD, ok, sign_in, two_inspections_on_the_atoyac


@pytest.fixture(scope="module")
def planners(engine_kind: str, seeded_database: Any) -> Database:
    """Real Oaxaca data with two inspections, one of them with a photo."""
    database: Database = seeded_database(
        engine_kind, "planner_downloads", metro_zones=(METRO_2020,)
    )
    two_inspections_on_the_atoyac(database)
    add_user(database.engine, "planificadora", "planner", actor="test", password=PASSWORD)
    return database


def ogrinfo(path: Path) -> str:
    """``ogrinfo -al -so`` of a file (a .zip through /vsizip/): layer, count and fields."""
    source = f"/vsizip/{path}" if path.suffix == ".zip" else str(path)
    ran = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", source], capture_output=True, text=True, check=True
    )
    return ran.stdout


def feature_count(info: str) -> int:
    return int(info.split("Feature Count: ")[1].split()[0])


def download(http: httpx.Client, collection: str, tmp_path: Path, **params: str) -> Path:
    r = http.get(f"/collections/{collection}/items", params=params)
    assert r.status_code == 200, r.text
    path = tmp_path / f"{collection}-{params['f']}.{FORMATS[params['f']].extension}"
    path.write_bytes(r.content)
    return path


@pytest.mark.subprocess  # ogrinfo, a process of its own
@pytest.mark.parametrize("fmt", ["gpkg", "shp", "kml", "fgb", "geojson"])
def test_every_layer_a_planner_reads_opens_in_ogrinfo(
    planners: Database, fmt: str, tmp_path: Path
) -> None:
    expected = {"municipalities": 26, "rivers": None, "inspections": 2, "claims": 0}
    with planners.client("planner") as http:
        for collection, count in expected.items():
            if count == 0:
                continue
            info = ogrinfo(download(http, collection, tmp_path, f=fmt))
            total = ok(http.get(f"/collections/{collection}/items", params={"limit": 1}))
            assert feature_count(info) == (count or total["numberMatched"]), info


@pytest.mark.subprocess
def test_spanish_labels_name_columns_and_codes(planners: Database, tmp_path: Path) -> None:
    with planners.client("planner") as http:
        info = ogrinfo(download(http, "inspections", tmp_path, f="gpkg", labels="es"))
        english = ogrinfo(download(http, "inspections", tmp_path / "..", f="gpkg"))
        text = http.get(
            "/collections/inspections/items", params={"f": "csv", "labels": "es"}
        ).content.decode("utf-8-sig")
        bad = http.get("/collections/inspections/items", params={"f": "csv", "labels": "fr"})
    assert "Categoría: String" in info and "Dentro de la zona federal: String" in info
    assert "category: String" in english and "Categoría" not in english
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["Categoría"] for r in rows} == {"Residuos sólidos"}
    assert {r["Revisión"] for r in rows} == {"pendiente"}
    assert bad.status_code == 400 and bad.json()["error"]["details"][0]["field"] == "labels"


def test_inspections_carry_absolute_links_to_their_photos(planners: Database) -> None:
    with planners.client("planner") as http:
        text = http.get("/collections/inspections/items", params={"f": "csv"}).content
        rows = {r["id"]: r for r in csv.DictReader(io.StringIO(text.decode("utf-8-sig")))}
        with_photo = rows[str(uuid.UUID(int=1))]["photo_urls"]
        assert rows[str(uuid.UUID(int=2))]["photo_urls"] == ""
        assert with_photo.startswith(planners.base_url + "/inspections/")
        photo = http.get(with_photo)
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/png"
    assert httpx.get(with_photo).status_code == 401  # the link needs a session or a token


@pytest.mark.subprocess
def test_shapefile_zip_maps_its_short_names_to_the_full_ones(
    planners: Database, tmp_path: Path
) -> None:
    with planners.client("planner") as http:
        path = download(http, "inspections", tmp_path, f="shp", labels="es")
    with zipfile.ZipFile(path) as archive:
        rows = list(
            csv.reader(io.StringIO(archive.read("inspections_campos.csv").decode("utf-8-sig")))
        )
    info = ogrinfo(path)
    shorts = [short for short, _ in rows[1:]]
    assert len(set(s.upper() for s in shorts)) == len(shorts)  # unique, as .dbf needs
    assert ["Municipio_", "Municipio (clave oficial)"] in rows
    assert ["Municipi_1", "Municipio (límite oficial)"] in rows
    for short in shorts:
        assert f"\n{short}: " in info, short


def test_a_browser_session_downloads_what_its_role_reads(planners: Database) -> None:
    with httpx.Client(base_url=planners.base_url, timeout=30) as browser:
        refused = browser.get("/collections/inspections/items", params={"f": "csv"})
        assert refused.status_code == 401
        assert sign_in(planners.base_url, "planificadora", client=browser).status_code == 303
        r = browser.get("/collections/disputed_zones/items", params={"f": "gpkg"})
        assert r.status_code == 200 and r.content[:16] == b"SQLite format 3\x00"
        r = browser.get("/collections/inspections/items", params={"f": "kml"})
        assert r.status_code == 200 and r.text.count("<Placemark") == 2
