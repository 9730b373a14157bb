"""Metro zones (2015 and 2020 tables) and rivers, on both engines."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select

from geo.errors import ImportRejected
from layers.importers.metro_zones import import_metro_zones
from layers.importers.municipalities import import_municipalities
from layers.importers.rivers import import_rivers
from layers.schema import metro_zone_members, metro_zones, rivers
from tests.conftest import METRO_2015, METRO_2020, OAXACA, RIVERS, Database
from tests.geometries import SQUARE, feature, polygon, write_collection


def zone(db: Database, code: str) -> tuple[list[str], BaseGeometry | None]:
    with db.engine.connect() as conn:
        members = list(
            conn.execute(
                select(metro_zone_members.c.cvegeo)
                .where(metro_zone_members.c.zone_code == code)
                .order_by(metro_zone_members.c.cvegeo)
            ).scalars()
        )
        wkb = conn.execute(
            select(func.ST_AsBinary(metro_zones.c.geom)).where(metro_zones.c.code == code)
        ).scalar_one()
    return members, shapely.from_wkb(bytes(wkb)) if wkb is not None else None


def test_both_delimitations_and_derived_outline(db: Database, tmp_path: Path) -> None:
    first = import_metro_zones(db.engine, METRO_2020, actor="test")
    assert (first.created, first.updated, first.unchanged) == (1, 0, 0)
    assert import_metro_zones(db.engine, METRO_2020, actor="test").unchanged == 1
    assert import_metro_zones(db.engine, METRO_2015, actor="test").created == 1

    members_2020, outline = zone(db, "20.1.01")
    assert len(members_2020) == 26 and {"20067", "20157", "20023", "20342"} <= set(members_2020)
    assert outline is None  # no municipality imported yet
    members_2015, _ = zone(db, "20.01")
    assert len(members_2015) == 24 and "20023" not in members_2015
    # 2015 keys of states 1-9 lack the leading zero: the real header, a Mexico City row
    header = METRO_2015.read_text(encoding="utf-8").splitlines()[0]
    cdmx = tmp_path / "zm_2015_cdmx.csv"
    cdmx.write_text(f"{header}\n9.01,Valle de México,9,Ciudad de México,9002,Azcapotzalco\n")
    assert import_metro_zones(db.engine, cdmx, actor="test").created == 1
    assert zone(db, "9.01")[0] == ["09002"]

    import_municipalities(db.engine, OAXACA, actor="test")  # outlines follow their members
    _, outline = zone(db, "20.1.01")
    assert outline is not None and outline.is_valid
    area_km2 = gpd.GeoSeries([outline], crs=4326).to_crs(6372).area.iloc[0] / 1e6
    assert 600 < area_km2 < 700, area_km2  # the 26 municipalities of the ZM de Oaxaca
    assert outline.contains(shapely.Point(-96.7266, 17.0654))


def test_not_a_delimitation_table(db: Database, tmp_path: Path) -> None:
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(ImportRejected, match="not an official delimitation table"):
        import_metro_zones(db.engine, other, actor="test")
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "CVE_ZONA,NOM_ZM,TIPOMET,CVEGEO,NOMGEO\n20.1.01,ZM Oaxaca,ZM,20067,Oaxaca\n"
        "20.1.01,ZM Oaxaca,ZM,XX,Nadie\n"
    )
    with pytest.raises(ImportRejected, match="row 2"):
        import_metro_zones(db.engine, bad, actor="test")
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(metro_zones)).scalar_one() == 0


def test_natural_earth_rivers(db: Database, tmp_path: Path) -> None:
    # Natural Earth leaves some lines unnamed: here the Puebla Salado loses its name
    lines = gpd.read_file(RIVERS)
    lines.loc[lines["name"] == "Salado", "name"] = None
    unnamed = tmp_path / "ne_sin_nombre.geojson"
    lines.to_file(unnamed, driver="GeoJSON")
    with pytest.raises(ImportRejected, match="river name is empty"):
        import_rivers(db.engine, unnamed, actor="test")
    summary = import_rivers(db.engine, unnamed, actor="test", skip_unnamed=True)
    assert (summary.created, summary.unchanged) == (3, 0)
    assert any("2 unnamed" in w for w in summary.warnings)
    summary = import_rivers(db.engine, RIVERS, actor="test", skip_unnamed=True)
    assert (summary.created, summary.unchanged) == (2, 3)  # the two Salado lines
    assert import_rivers(db.engine, RIVERS, actor="test", skip_unnamed=True).unchanged == 5
    with db.engine.connect() as conn:
        atoyac = conn.execute(
            select(rivers.c.key, func.ST_AsBinary(rivers.c.geom), rivers.c.federal_zone_width_m)
            .where(rivers.c.name == "Atoyac")
            .order_by(rivers.c.key)
        ).all()
    assert [a.key for a in atoyac] == ["Atoyac", "Atoyac #2", "Atoyac #3"]
    oaxacan = [shapely.from_wkb(bytes(a[1])) for a in atoyac]
    # One of them runs through Oaxaca city (the CONAGUA Atoyac sites lie 0.1-2.6 km from it).
    assert min(g.distance(shapely.Point(-96.73, 17.05)) for g in oaxacan) < 0.03
    assert all(a.federal_zone_width_m == 10.0 for a in atoyac)


def test_rivers_with_an_id_field_and_bad_input(db: Database, tmp_path: Path) -> None:
    lines = write_collection(
        tmp_path / "r.geojson",
        [
            feature({"type": "LineString", "coordinates": SQUARE[:3]}, nombre="Atoyac", clave="A1"),
            feature(
                {"type": "LineString", "coordinates": SQUARE[1:4]}, nombre="Atoyac", clave="A2"
            ),
        ],
    )
    with pytest.raises(ImportRejected, match="no field 'name'"):
        import_rivers(db.engine, lines, actor="test")
    done = import_rivers(
        db.engine,
        lines,
        actor="test",
        name_field="nombre",
        id_field="clave",
        federal_zone_width_m=20,
    )
    assert done.created == 2 and not done.warnings
    polygons = write_collection(tmp_path / "p.geojson", [feature(polygon(SQUARE), name="Salado")])
    with pytest.raises(ImportRejected, match="Polygon; expected LineString or MultiLineString"):
        import_rivers(db.engine, polygons, actor="test")
    with pytest.raises(ImportRejected, match="positive"):
        import_rivers(db.engine, lines, actor="test", name_field="nombre", federal_zone_width_m=0)
