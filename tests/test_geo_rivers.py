"""Linear referencing against river lines (pure geo/), checked against GEOS's own answers."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiLineString, Point

from geo.rivers import RiverNetwork, measure_against_rivers

coordinate = st.floats(min_value=-5000, max_value=5000, allow_nan=False)
vertex = st.tuples(coordinate, coordinate)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(vertex, min_size=2, max_size=12, unique=True),
    st.lists(vertex, min_size=2, max_size=6, unique=True),
    st.lists(vertex, min_size=1, max_size=20),
)
def test_distance_and_chainage_agree_with_geos(
    first: list[tuple[float, float]],
    second: list[tuple[float, float]],
    spots: list[tuple[float, float]],
) -> None:
    lines = [LineString(first), MultiLineString([second, [(x + 7000, y) for x, y in second]])]
    points = [Point(p) for p in spots]
    got = measure_against_rivers(points, lines, max_distance_m=1e9)
    for k, point in enumerate(points):
        distances = [line.distance(point) for line in lines]
        assert got.distance_m[k] == np.float64(got.distance_m[k])
        assert abs(got.distance_m[k] - min(distances)) < 1e-6
        line = lines[int(got.line[k])]
        assert abs(line.distance(point) - min(distances)) < 1e-6
        # chainage leads to the nearest place (looked at a hair either side: where one
        # part ends, the next begins at the same chainage)
        feet = [line.interpolate(max(got.chainage_m[k] + e, 0.0)) for e in (-1e-7, 1e-7)]
        assert min(abs(f.distance(point) - min(distances)) for f in feet) < 1e-5


def test_sides_looking_downstream() -> None:
    # flowing south (first vertex north): east is the left bank, as a canoe sees it
    river = LineString([(0, 1000), (0, 0), (-500, -500)])
    points = [Point(10, 500), Point(-10, 500), Point(0, 500), Point(30, -30), Point(-200, 100)]
    got = measure_against_rivers(points, [river], max_distance_m=10_000)
    assert list(got.side) == ["left", "right", "", "left", "right"]
    assert list(np.round(got.chainage_m[:3], 6)) == [500.0, 500.0, 500.0]
    assert got.chainage_m[3] == 1000  # nearest to the bend itself


def test_nothing_within_reach() -> None:
    got = measure_against_rivers(
        [Point(0, 0)], [LineString([(5000, 0), (6000, 0)])], max_distance_m=1000
    )
    assert got.line[0] == -1 and np.isnan(got.distance_m[0]) and got.side[0] == ""


def test_empty_inputs() -> None:
    got = measure_against_rivers([], [LineString([(0, 0), (1, 1)])], max_distance_m=10)
    assert got.line.size == 0
    got = measure_against_rivers(np.asarray([shapely.Point(0, 0)]), [], max_distance_m=10)
    assert got.line[0] == -1


@settings(max_examples=200, deadline=None)
@given(
    x=st.floats(-2_000, 12_000, allow_nan=False),
    y=st.floats(-6_000, 6_000, allow_nan=False),
)
def test_one_point_measure_matches_the_vectorised_one(x: float, y: float) -> None:
    """``/lookup`` measures one point with plain floats; inspections many with arrays."""
    network = RiverNetwork(
        [
            LineString([(0, 0), (3_000, 1_000), (6_000, -500), (10_000, 0)]),
            MultiLineString([[(0, 3_000), (4_000, 3_500)], [(4_000, 3_500), (9_000, 2_500)]]),
        ]
    )
    many = network.measure([shapely.Point(x, y)], max_distance_m=4_000)
    one = network.measure_point(x, y, max_distance_m=4_000)
    if many.line[0] < 0:
        assert one is None
        return
    assert one is not None
    line, distance, chainage, side = one
    assert line == many.line[0]
    assert distance == pytest.approx(many.distance_m[0], abs=1e-6)
    assert chainage == pytest.approx(many.chainage_m[0], abs=1e-6)
    assert side == many.side[0]
