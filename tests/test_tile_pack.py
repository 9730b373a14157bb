"""geo.tile_pack: which tiles make an offline map pack (pure arithmetic, no database)."""

from __future__ import annotations

import math

import morecantile
import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo.errors import InvalidParameter
from geo.tile_pack import LEAST_ZOOM_MAX, MAX_TILES, ZOOM_MAX, ZOOM_MIN, check_bbox, plan_pack

WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")


@st.composite
def boxes_in_mexico(draw: st.DrawFn) -> tuple[float, float, float, float]:
    west = draw(st.floats(-117.0, -87.0))
    south = draw(st.floats(14.5, 32.0))
    width = draw(st.floats(0.0005, 0.6))
    height = draw(st.floats(0.0005, 0.6))
    return (west, south, west + width, south + height)


@given(boxes_in_mexico())
def test_a_pack_covers_its_area_at_every_zoom_within_the_bound(
    box: tuple[float, float, float, float],
) -> None:
    plan = plan_pack(box)
    assert plan.count <= MAX_TILES and plan.count == len(plan.tiles())
    assert plan.zoom_min == ZOOM_MIN and LEAST_ZOOM_MAX <= plan.zoom_max <= ZOOM_MAX
    tiles = set(plan.tiles())
    for z in range(plan.zoom_min, plan.zoom_max + 1):
        # the area's corners and centre fall in a tile of the pack, at every zoom
        for lon, lat in ((box[0], box[1]), (box[2], box[3]), ((box[0] + box[2]) / 2, box[1])):
            t = WEB_MERCATOR.tile(lon, lat, z)
            assert (z, t.x, t.y) in tiles
    if plan.zoom_max < ZOOM_MAX:  # one zoom deeper would not have fitted
        deeper = plan_pack(box, zoom_max=plan.zoom_max + 1, max_tiles=10**9)
        assert deeper.count > MAX_TILES


def test_a_municipality_keeps_every_zoom_and_a_country_is_refused() -> None:
    oaxaca_de_juarez = (-96.7805, 17.0293, -96.6727, 17.1640)
    assert (plan_pack(oaxaca_de_juarez).zoom_min, plan_pack(oaxaca_de_juarez).zoom_max) == (9, 16)
    with pytest.raises(InvalidParameter) as refused:
        plan_pack((-117.0, 14.5, -86.7, 32.7))
    assert refused.value.problems[0].field == "bbox"
    assert "choose a municipality" in refused.value.problems[0].reason


@pytest.mark.parametrize(
    "box",
    [
        (1.0, 2.0, 0.0, 3.0),  # west > east
        (0.0, 3.0, 1.0, 2.0),  # south > north
        (0.0, 0.0, math.nan, 1.0),
        (-181.0, 0.0, 0.0, 1.0),
    ],
)
def test_a_bad_box_names_the_parameter(box: tuple[float, float, float, float]) -> None:
    with pytest.raises(InvalidParameter) as refused:
        check_bbox(box, "bbox")
    assert refused.value.problems[0].field == "bbox"
