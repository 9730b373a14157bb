"""Map builders on real data: the rendered HTML holds the layers, legends and bounds."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pytest
import shapely
from folium import plugins
from hypothesis import given
from hypothesis import strategies as st

from geo.simplify import (
    area_ha,
    buffer_metres,
    decimals_for_tolerance,
    quantize,
    simplify_coverage,
    simplify_lines,
    tolerance_for_extent,
)
from maps.assets import AssetMissing
from maps.builders import metro_zone_map, municipalities_map
from maps.common import MapText
from maps.dispute_map import dispute_map
from maps.export import to_html
from maps.river_map import river_map
from tests import maps_data
from tests.conftest import OAXACA

DAY = date(2026, 11, 22)
ZONE = {"code": "20.1.01", "name": "Zona metropolitana de Oaxaca", "delimitation_year": 2020}
CDN = re.compile(r"(cdn\.jsdelivr|cdnjs|unpkg|code\.jquery|bootstrapcdn|googleapis)")


def page(m: folium.Map, static_url: str | None = None) -> str:
    """The rendered map with JSON's \\uXXXX escapes decoded, to search for Spanish text."""
    html = to_html(m, static_url)
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda g: chr(int(g.group(1), 16)), html)


def payloads(html: str) -> list[Any]:
    """The JSON data of every element of a rendered map (``maps.payload``), in order."""
    found = re.findall(r'<script type="application/json" id="[\w-]+-data">(.*?)</script>', html)
    return [json.loads(text) for text in found]


def legend(html: str) -> dict[str, Any]:
    (found,) = [p for p in payloads(html) if isinstance(p, dict) and "entries" in p]
    return found


def _fit_bounds(html: str) -> list[list[float]]:
    match = re.search(r"map_\w+\.fitBounds\(\s*(\[\[.*?\]\])", html, re.S)
    assert match, "the map is not fitted to its features"
    return [
        [float(v) for v in pair]
        for pair in re.findall(r"\[([-\d.]+),\s*([-\d.]+)\]", match.group(1))
    ]


def test_metro_zone_map_has_its_layers_labels_legend_and_bounds():
    members = maps_data.zone_members()
    html = page(metro_zone_map(ZONE, members, made_on=DAY))
    assert len(members) == 26
    for layer in ("Municipios", "Límite de la zona metropolitana", "Nombres de los municipios"):
        assert f'"{layer}"' in html or f"{layer}" in html
    for name in members["name"]:
        assert name in html, f"no label for {name}"
    assert '"Población"' in html and "Zona metropolitana de Oaxaca" in html
    assert "Elaborado con Linde el 22/11/2026" in html and "Fuente: INEGI" in html
    assert "L.control.scale" in html and "Control.FullScreen" in html and "L.control.layers" in html
    (south, west), (north, east) = _fit_bounds(html)
    minx, miny, maxx, maxy = members.total_bounds
    assert (south, west, north, east) == pytest.approx((miny, minx, maxy, maxx), abs=1e-9)
    assert not CDN.search(html), "an exported map must not load anything from a CDN"


def test_choropleth_classes_in_the_legend_and_a_bad_column_refused():
    members = maps_data.zone_members()
    html = page(
        metro_zone_map(ZONE, members, choropleth="population", choropleth_title="Población 2020")
    )
    box = legend(html)
    assert box["title"] == "Población 2020", "no legend for the choropleth"
    rows = [entry["label"] for entry in box["entries"]]
    assert rows[0] == "Límite de la zona metropolitana" and len(rows) == 6
    assert rows[-1].endswith("270,955")  # Oaxaca de Juárez, the most populous member
    with pytest.raises(ValueError, match="choropleth column 'nope'"):
        metro_zone_map(ZONE, members, choropleth="nope")


def test_empty_zone_gives_a_map_that_says_so():
    empty = gpd.GeoDataFrame({"cvegeo": [], "name": []}, geometry=[], crs=4326)
    html = page(metro_zone_map(ZONE, empty, made_on=DAY))
    assert "Ninguno de los municipios de esta zona está cargado" in html
    assert "linde-empty" in html


def test_features_without_crs_are_refused():
    members = maps_data.zone_members().set_crs(None, allow_override=True)
    with pytest.raises(ValueError, match="CRS"):
        metro_zone_map(ZONE, members)


def test_the_metro_zone_with_leaflet_inlined_is_smaller_than_its_source_file():
    # the whole state's 1 MB budget is measured by bench/maps.py, on the state-wide data
    munis = maps_data.oaxaca_municipalities()
    html = to_html(municipalities_map(munis, MapText("Oaxaca", made_on=DAY), outline_name="Oaxaca"))
    assert len(munis) == 26
    assert len(html.encode()) < OAXACA.stat().st_size  # 365 KB of full-detail GeoJSON
    assert "<script src=" not in html  # everything inlined


def test_coverage_simplification_keeps_neighbours_edges():
    """Simplified together, neighbours keep one shared edge; one by one they open gaps."""
    munis = maps_data.zone_members()
    tolerance = tolerance_for_extent(tuple(munis.total_bounds))
    decimals = decimals_for_tolerance(tolerance)
    together = quantize(simplify_coverage(munis.geometry.values, tolerance), decimals)
    alone = simplify_lines(munis.geometry.values, tolerance)

    def gaps_and_overlaps_ha(geoms: np.ndarray) -> tuple[float, float]:
        union = shapely.union_all(geoms)
        holes = [shapely.Polygon(r) for p in getattr(union, "geoms", [union]) for r in p.interiors]
        overlap = area_ha(geoms) - sum(area_ha([g]) for g in geoms)
        return area_ha(holes) if holes else 0.0, abs(overlap)

    gap_together, overlap_together = gaps_and_overlaps_ha(together)
    gap_alone, overlap_alone = gaps_and_overlaps_ha(alone)
    assert gap_together < 0.01 and overlap_together < 0.5
    assert gap_alone + overlap_alone > 10 * (gap_together + overlap_together + 0.01)
    vertices = shapely.get_num_coordinates(munis.geometry.values).sum()
    assert shapely.get_num_coordinates(together).sum() < vertices / 5


def test_river_map_band_points_by_category_and_date_filter():
    line = maps_data.atoyac()
    points = maps_data.conagua_inspections()
    river = {"name": "Atoyac", "federal_zone_width_m": 10.0, "source": "Natural Earth"}
    html = page(
        river_map(river, line, points, date_from=date(2019, 3, 1), date_to=date(2019, 6, 30))
    )
    assert "Río Atoyac" in html and "Zona federal (10 m)" in html and "Cauce del río" in html
    for label in ("Contaminación del agua", "Descarga de agua residual", "Residuos sólidos"):
        assert f"Inspecciones: {label}" in html
        assert label in [entry["label"] for entry in legend(html)["entries"]]
    assert html.count("L.markerClusterGroup(") == 4
    assert '"2019-03-01"' in html and '"2019-06-30"' in html  # the filter's initial range
    assert "Fecha de observación" in html


def test_federal_zone_band_is_the_width_on_each_side():
    line = maps_data.atoyac().geometry.values
    length_m = shapely.length(gpd.GeoSeries(line, crs=4326).to_crs(6372).values).sum()
    band_ha = area_ha(buffer_metres(line, 10.0))
    assert band_ha == pytest.approx(2 * 10.0 * length_m / 10_000, rel=0.01)


def test_river_without_inspections_given_shows_no_inspection_legend():
    html = page(river_map({"name": "Atoyac"}, maps_data.atoyac(), None))
    assert "Inspecciones:" not in html and "Sin inspecciones" not in html
    empty = maps_data.conagua_inspections().iloc[0:0]
    assert "Sin inspecciones en este tramo" in page(
        river_map({"name": "Atoyac"}, maps_data.atoyac(), empty)
    )


def test_dispute_map_has_official_line_claims_hatched_zone_localities_points_and_measure():
    f = maps_data.dispute_features()
    zone = {"name": "Los Sauces", "status": "abierta", "area_ha": area_ha(f["zone"].geometry)}
    html = page(
        dispute_map(
            zone,
            f["zone"],
            f["official"],
            f["claims"],
            localities=f["localities"],
            inspections=f["inspections"],
            made_on=DAY,
        )
    )
    assert len(f["localities"]) > 0 and len(f["inspections"]) > 0
    assert "Límite oficial (INEGI)" in html
    assert "Reclamado por Oaxaca de Juárez" in html and "Reclamado por San Jacinto Amilpas" in html
    assert 'id="linde-hatch"' in html
    assert any(
        isinstance(p, dict) and p.get("style", {}).get("className") == "linde-hatch"
        for p in payloads(html)
    )
    assert f"Localidades ({len(f['localities'])})" in html
    assert "new L.Control.Measure(" in html and '"primaryAreaUnit": "hectares"' in html
    assert f"{zone['area_ha']:,.1f} ha" in html
    assert not CDN.search(html)


def test_a_plugin_linde_does_not_ship_is_refused_not_left_on_a_cdn():
    m = folium.Map()
    plugins.Draw().add_to(m)
    with pytest.raises(AssetMissing, match="Draw"):
        to_html(m)


def test_served_html_links_linde_static_route():
    html = page(metro_zone_map(ZONE, maps_data.zone_members()), "/maps/static")
    assert '<script src="/maps/static/leaflet-1.9.4/leaflet.js"></script>' in html
    assert 'href="/maps/static/leaflet-1.9.4/leaflet.css"' in html
    assert not CDN.search(html)


def test_names_are_data_not_code():
    """A name reaches the page once per use as JSON data, exactly as written (not
    HTML-escaped: it is shown as text), and never as markup or script source."""
    members = maps_data.zone_members().copy()
    hostile = '<img src=x onerror="alert(1)"> ${alert(2)} `</script>'
    members.loc[0, "name"] = hostile
    raw = to_html(metro_zone_map(ZONE, members))
    assert "<img src=x" not in raw and "</script>`" not in raw and "&lt;img" not in raw
    data = payloads(raw)
    features = next(p for p in data if isinstance(p, dict) and "features" in p)
    assert features["features"]["features"][0]["properties"]["name"] == hostile
    labels = next(p for p in data if isinstance(p, list))
    assert hostile in [row[2] for row in labels]


@given(st.floats(min_value=0.01, max_value=100_000, allow_nan=False))
def test_rounding_to_the_decimals_moves_a_point_less_than_half_the_tolerance(tolerance_m):
    decimals = decimals_for_tolerance(tolerance_m)
    worst_m = 0.5 * 10**-decimals * 111_320
    assert worst_m <= tolerance_m / 2 or decimals == 7


def test_tolerance_is_one_pixel_of_the_extent():
    # the metro zone is ~44 km tall: one pixel of 1,600 is ~28 m
    tolerance = tolerance_for_extent(tuple(maps_data.oaxaca_municipalities().total_bounds))
    assert 25 < tolerance < 32
    assert tolerance_for_extent((-96.7, 17.0, -96.7, 17.0)) == 2.0  # a point: the floor


def test_no_name_is_a_template_or_code_on_the_server_either():
    """Branca renders each element's output once more as a Jinja template: a name
    holding ``{{ … }}`` was evaluated on the server (``{{7*7}}`` became 49). Every
    builder's every text now reaches the page as written."""
    name = "{{7*7}} {% if 1 %}x{% endif %} {# c #} {{ lipsum.__globals__ }} `${1}`"
    square = shapely.box(-96.75, 17.03, -96.70, 17.08)
    munis = gpd.GeoDataFrame(
        {"cvegeo": ["20067"], "name": [name], "population": [1]}, geometry=[square], crs=4326
    )
    zone = {"code": "20.1.01", "name": name, "delimitation_year": 2020, "source": name}
    river = gpd.GeoDataFrame(geometry=[shapely.LineString([(-96.75, 17.05), (-96.7, 17.06)])])
    points = gpd.GeoDataFrame(
        {"category": [name], "observed_at": ["2026-11-20T10:00:00Z"], "description": [name]},
        geometry=[shapely.Point(-96.72, 17.055)],
        crs=4326,
    )
    claims = munis.rename(columns={"name": "municipality"})
    maps = [
        metro_zone_map(zone, munis),
        river_map({"name": name, "source": name}, river.set_crs(4326), points),
        dispute_map(
            {"name": name, "status": name, "area_ha": 1.0},
            munis,
            munis,
            claims,
            localities=munis,
            inspections=points,
        ),
    ]
    for m in maps:
        raw = to_html(m)
        assert "lipsum.__globals__" in raw and "<function" not in raw and "{'" not in raw
        texts = json.dumps(payloads(raw), ensure_ascii=False)
        assert json.dumps(name, ensure_ascii=False) in texts
