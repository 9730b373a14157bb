"""``linde import municipalities``: real INEGI data, versions, and broken files, on both engines."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import func, select

from geo.errors import ImportRejected, UnreadableFile
from layers.importers.municipalities import import_municipalities
from layers.schema import audit_log, import_runs, municipalities, municipality_versions
from tests.conftest import OAXACA, Database
from tests.geometries import (
    BOWTIE,
    HOLE,
    SQUARE,
    SWAPPED,
    feature,
    municipality,
    polygon,
    write_collection,
)


def xmin(wkb: bytes) -> float:
    return float(shapely.from_wkb(bytes(wkb)).bounds[0])


def counts(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (municipalities, municipality_versions, import_runs, audit_log)
        }


def test_oaxaca_metro_gives_26_municipalities_and_reimport_changes_nothing(db: Database) -> None:
    first = import_municipalities(db.engine, OAXACA, actor="test")
    assert (first.created, first.updated, first.unchanged) == (26, 0, 0)
    after_first = counts(db)
    assert after_first["municipalities"] == 26
    assert after_first["municipality_versions"] == 26

    second = import_municipalities(db.engine, OAXACA, actor="test")
    assert (second.created, second.updated, second.unchanged) == (0, 0, 26)
    after_second = counts(db)
    assert after_second["municipalities"] == 26
    assert after_second["municipality_versions"] == 26

    with db.engine.connect() as conn:
        row = conn.execute(
            select(
                municipalities.c.name,
                municipalities.c.state_name,
                municipalities.c.population,
                municipalities.c.version,
                func.ST_AsBinary(municipalities.c.geom),
            ).where(municipalities.c.cvegeo == "20157")
        ).one()
    assert row[:4] == ("San Jacinto Amilpas", "Oaxaca", 16827, 1)
    stored = shapely.from_wkb(bytes(row[4]))
    source = gpd.read_file(OAXACA).set_index("cvegeo").loc["20157"].geometry
    assert stored.equals_exact(source, tolerance=1e-9)


def test_a_changed_municipality_becomes_a_new_version(db: Database, tmp_path: Path) -> None:
    before = write_collection(
        tmp_path / "v1.geojson", [municipality("20157", "San Jacinto Amilpas")]
    )
    import_municipalities(db.engine, before, actor="test")
    moved = [[x + 0.001, y] for x, y in SQUARE]
    after = write_collection(
        tmp_path / "v2.geojson", [municipality("20157", "San Jacinto Amilpas", moved)]
    )
    summary = import_municipalities(db.engine, after, actor="test")
    assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 0)
    with db.engine.connect() as conn:
        versions = conn.execute(
            select(
                municipality_versions.c.version,
                municipality_versions.c.valid_to,
                func.ST_AsBinary(municipality_versions.c.geom),
            )
            .where(municipality_versions.c.cvegeo == "20157")
            .order_by(municipality_versions.c.version)
        ).all()
        current = conn.execute(
            select(municipalities.c.version, func.ST_AsBinary(municipalities.c.geom))
        ).one()
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].valid_to is not None and versions[1].valid_to is None
    assert [xmin(v[2]) for v in versions] == pytest.approx([-96.75, -96.749])
    assert current[0] == 2 and xmin(current[1]) == pytest.approx(-96.749)


def test_inegi_shapefile_in_epsg6372_zipped(db: Database, tmp_path: Path) -> None:
    """INEGI ships EPSG:6372 shapefiles with CVEGEO, CVE_ENT, CVE_MUN, NOMGEO."""
    oax = gpd.read_file(OAXACA)
    sample = (
        oax[oax.cvegeo.isin(["20067", "20157"])]
        .rename(
            columns={
                "cvegeo": "CVEGEO",
                "cve_agee": "CVE_ENT",
                "cve_agem": "CVE_MUN",
                "nom_agem": "NOMGEO",
            }
        )[["CVEGEO", "CVE_ENT", "CVE_MUN", "NOMGEO", "geometry"]]
        .to_crs(6372)
    )
    folder = tmp_path / "shp"
    folder.mkdir()
    sample.to_file(folder / "00mun.shp")
    archive = tmp_path / "00mun.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in folder.iterdir():
            zf.write(part, part.name)
    summary = import_municipalities(db.engine, archive, actor="test")
    assert summary.created == 2
    with db.engine.connect() as conn:
        wkb = conn.execute(
            select(func.ST_AsBinary(municipalities.c.geom)).where(
                municipalities.c.cvegeo == "20157"
            )
        ).scalar_one()
    assert -97 < xmin(wkb) < -96.5  # back in lon/lat


def test_geopackage_and_polygon_with_hole(db: Database, tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"CVE_ENT": ["20"], "CVE_MUN": ["157"], "NOMGEO": ["San Jacinto Amilpas"]},
        geometry=[shapely.Polygon(SQUARE, [HOLE])],
        crs=4326,
    )
    path = tmp_path / "mun.gpkg"
    gdf.to_file(path, driver="GPKG")
    assert import_municipalities(db.engine, path, actor="test").created == 1


@pytest.mark.parametrize(
    ("features", "words"),
    [
        (
            [municipality("20157", "A"), municipality("20067", "B", BOWTIE)],
            ["row 2", "Self-intersection at (-96.725, 17.075)"],
        ),
        ([municipality("20157", "A", SWAPPED)], ["row 1", "outside Mexico", "swapped"]),
        (
            [feature({"type": "LineString", "coordinates": SQUARE}, cvegeo="20157", nom_agem="A")],
            ["row 1", "LineString", "expected Polygon or MultiPolygon"],
        ),
        ([municipality("99999", "A")], ["row 1", "'99999' is not a 5-digit INEGI municipal key"]),
        ([municipality("20157", "A"), municipality("20157", "B")], ["row 2", "appears again"]),
        ([feature(polygon(SQUARE), nombre="sin clave")], ["no municipal key column", "nombre"]),
        ([feature(polygon(SQUARE), cvegeo="20157")], ["no name column"]),
        (
            [
                municipality(
                    "20157", "A", [[-96.75, 17.05], [-96.7, 17.05], [-96.7, 17.05], [-96.75, 17.05]]
                )
            ],
            ["row 1", "invalid geometry"],
        ),
        ([feature(None, cvegeo="20157", nom_agem="A")], ["row 1", "missing"]),
    ],
    ids=[
        "bowtie",
        "swapped",
        "wrong-type",
        "bad-key",
        "duplicate-key",
        "no-key-column",
        "no-name-column",
        "degenerate",
        "no-geometry",
    ],
)
def test_bad_rows_stop_the_import_and_nothing_is_written(
    db: Database, tmp_path: Path, features: list[dict[str, object]], words: list[str]
) -> None:
    import_municipalities(
        db.engine,
        write_collection(tmp_path / "ok.geojson", [municipality("20385", "Xoxo")]),
        actor="test",
    )
    before = counts(db)
    path = write_collection(tmp_path / "bad.geojson", features)
    with pytest.raises(ImportRejected) as caught:
        import_municipalities(db.engine, path, actor="test")
    text = caught.value.message
    for word in words:
        assert word in text, text
    assert counts(db) == before


def test_files_that_are_not_geodata(db: Database, tmp_path: Path) -> None:
    text = tmp_path / "notes.geojson"
    text.write_text("esto no es un archivo geográfico\n")
    with pytest.raises(UnreadableFile, match="not a geodata file"):
        import_municipalities(db.engine, text, actor="test")
    with pytest.raises(UnreadableFile, match="no such file"):
        import_municipalities(db.engine, tmp_path / "missing.geojson", actor="test")
    table = tmp_path / "table.csv"
    table.write_text("cvegeo,nom_agem\n20157,San Jacinto Amilpas\n")
    with pytest.raises(UnreadableFile, match="not a geodata file"):
        import_municipalities(db.engine, table, actor="test")
    assert counts(db)["municipalities"] == 0
    assert counts(db)["import_runs"] == 0


@pytest.mark.filterwarnings("ignore:'crs' was not provided:UserWarning")
def test_shapefile_without_crs_asks_for_one(db: Database, tmp_path: Path) -> None:
    gdf = (
        gpd.GeoDataFrame(
            {"CVEGEO": ["20157"], "NOMGEO": ["San Jacinto Amilpas"]},
            geometry=[shapely.Polygon(SQUARE)],
        )
        .set_crs(4326)
        .to_crs(6372)
        .set_crs(None, allow_override=True)
    )
    path = tmp_path / "nocrs.shp"
    gdf.to_file(path)
    with pytest.raises(UnreadableFile, match="--crs"):
        import_municipalities(db.engine, path, actor="test")
    assert import_municipalities(db.engine, path, actor="test", crs="EPSG:6372").created == 1
