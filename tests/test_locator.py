"""The locator inset: the state drawn small with the mapped area marked; pure, no database."""

from __future__ import annotations

import json
import re

import folium
import shapely

from maps.export import to_html
from maps.locator import MIN_MARK_PX, SIZE_PX, add_locator, inset_drawing

# a "state" 4 degrees square with a hole (a gap between municipalities) and an island in it
STATE = shapely.union_all(
    [
        shapely.box(-98, 16, -94, 20).difference(shapely.box(-97, 17, -96, 18)),
        shapely.box(-96.8, 17.2, -96.2, 17.8),
    ]
)


def test_the_area_is_marked_inside_the_state_drawn_by_its_outer_ring_only() -> None:
    drawing = inset_drawing(STATE, (-96.9, 17.0, -96.6, 17.2))
    assert max(drawing["width"], drawing["height"]) == SIZE_PX
    assert drawing["state"].count("M") == 1  # no hole, no island: one outline
    x, y, w, h = drawing["mark"]
    assert x >= 0 and x + w <= drawing["width"] and y >= 0 and y + h <= drawing["height"]
    assert w >= MIN_MARK_PX and h >= MIN_MARK_PX
    # the area is south-west of the state's middle: left half, lower half (y grows down)
    assert x + w / 2 < drawing["width"] / 2 and y + h / 2 > drawing["height"] / 2
    # only numbers reach the page's SVG
    assert re.fullmatch(r"[MLZ0-9. -]+", drawing["state"])


def test_the_inset_is_on_the_map_only_when_it_tells_something() -> None:
    def inset(area: tuple[float, float, float, float]) -> list[dict[str, object]]:
        m = add_locator(folium.Map(), "Oaxaca", STATE, area)
        found = re.findall(
            r'<script type="application/json" id="[\w-]+-data">(.*?)</script>', to_html(m)
        )
        return [p for p in map(json.loads, found) if isinstance(p, dict) and "mark" in p]

    (shown,) = inset((-96.9, 17.0, -96.6, 17.2))
    assert shown["name"] == "Oaxaca"
    assert inset((-98, 16, -94.5, 19.9)) == []  # the area is most of the state
    assert add_locator(folium.Map(), "", None, (-96.9, 17.0, -96.6, 17.2)) is not None
