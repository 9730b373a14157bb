"""Pure geometry rules (no database): validation messages and coordinate checks."""

from __future__ import annotations

import math

import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from geo.mexico import in_mexico, normalize_cvegeo
from geo.validation import POLYGONAL, check_geometries, check_point, describe_invalid, to_multi
from tests.geometries import BOWTIE, HOLE, SQUARE

lons = st.floats(min_value=-180, max_value=180, allow_nan=False)
lats = st.floats(min_value=-90, max_value=90, allow_nan=False)


@given(lons, lats)
def test_every_in_range_point_is_accepted(lon: float, lat: float) -> None:
    assert check_point(lon, lat) == []


# Longitudes west of -90 cannot be latitudes, so the swap is certain there.
@given(st.floats(min_value=-118, max_value=-90.5), st.floats(min_value=15, max_value=32))
def test_a_swapped_mexican_point_is_named_as_swapped(lon: float, lat: float) -> None:
    problems = check_point(lat, lon)
    assert [p.field for p in problems] == ["lat"]
    assert "swapped" in problems[0].reason


@given(st.one_of(st.just(math.nan), st.just(math.inf), st.floats(min_value=181, max_value=1e9)))
def test_non_finite_or_out_of_range_longitude_is_refused(lon: float) -> None:
    assert [p.field for p in check_point(lon, 17.0)] == ["lon"]


def test_invalid_polygon_reason_names_the_place() -> None:
    assert describe_invalid(shapely.Polygon(BOWTIE)) == "Self-intersection at (-96.725, 17.075)"


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_awkward_geometries_get_one_problem_each() -> None:
    geoms = [
        shapely.Polygon(SQUARE, [HOLE]),  # fine, with a hole
        shapely.Polygon(BOWTIE),
        shapely.Polygon(),
        shapely.Polygon([(x, y, 1.0) for x, y in SQUARE]),  # limits are 2-D: Z refused
        shapely.Polygon([(-96.75, 17.0), (math.nan, 17.0), (-96.7, 17.1), (-96.75, 17.0)]),
        shapely.LineString(SQUARE),
        None,
        shapely.Polygon([(y, x) for x, y in SQUARE]),
        shapely.Polygon([(x * 1e5, y * 1e5) for x, y in SQUARE]),
    ]
    problems = check_geometries(geoms, allowed_types=POLYGONAL)
    by_row = {p.row: p.reason for p in problems.items}
    assert set(by_row) == {2, 3, 4, 5, 6, 7, 8, 9}
    assert "Self-intersection" in by_row[2]
    assert by_row[3] == "geometry is empty"
    assert "heights (Z)" in by_row[4]
    assert "NaN" in by_row[5]
    assert "LineString" in by_row[6]
    assert "missing" in by_row[7]
    assert "swapped" in by_row[8]
    assert "not degrees" in by_row[9]


def test_a_point_may_carry_an_altitude_but_not_a_measure() -> None:
    point_z = shapely.Point(-96.72, 17.07, 1550.0)
    assert not check_geometries([point_z], allowed_types=("Point",)).items
    point_m = shapely.from_wkt("POINT M (-96.72 17.07 3)")
    assert "measures" in check_geometries([point_m], allowed_types=("Point",)).items[0].reason


def test_vertex_limit() -> None:
    circle = shapely.Point(-96.7, 17.0).buffer(0.01, quad_segs=500)
    problems = check_geometries([circle], allowed_types=POLYGONAL, max_vertices=1000)
    assert "the limit is 1,000" in problems.items[0].reason


def test_to_multi_keeps_the_shape_and_drops_z() -> None:
    poly = shapely.Polygon([(x, y, 5.0) for x, y in SQUARE])
    (multi,) = to_multi([poly])
    assert multi.geom_type == "MultiPolygon" and not multi.has_z
    assert multi.area == shapely.Polygon(SQUARE).area


def test_cvegeo_normalisation() -> None:
    assert normalize_cvegeo("9002") == "09002"
    assert normalize_cvegeo(20157) == "20157"
    assert normalize_cvegeo("20157.0") == "20157"
    for bad in ("99001", "20000", "215", "abcde", None, ""):
        assert normalize_cvegeo(bad) is None, bad
    assert in_mexico(-96.72, 17.06) and not in_mexico(17.06, -96.72)


def test_points_per_polygon_counts_a_shared_limit_once():
    from shapely import Point, box

    from geo.counts import points_per_polygon

    left, right = box(0, 0, 1, 1), box(1, 0, 2, 1)
    points = [Point(0.5, 0.5), Point(1, 0.5), Point(1.5, 0.5), Point(1.6, 0.2), Point(5, 5)]
    assert list(points_per_polygon([left, right], points)) == [2, 2]
    assert list(points_per_polygon([right, left], points)) == [3, 1]
    assert list(points_per_polygon([left], [])) == [0]
