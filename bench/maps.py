"""Benchmark: Linde's maps against plain Folium for the same municipal layers.

For each layer (the 26 municipalities of the Oaxaca metro zone, the 570 of the
state of Oaxaca, the 2,474 of Mexico) it builds:

* **folium**: ``folium.Map`` + ``folium.GeoJson(frame)`` of the full-detail polygons,
  rendered to HTML (scripts and styles still linked from CDNs, so not offline);
* **linde (served)**: ``maps.builders.municipalities_map`` (coverage-simplified
  for the map's scale, quantized, plus the outline, labels, population tooltips,
  legend, title, scale, north arrow and source), HTML linking Linde's own assets;
* **linde (file)**: the same map with Leaflet and every plugin inlined: the file a
  planner downloads, which opens with no network at all.

Build time is from the GeoDataFrame in memory to the HTML string (reading the file
is not counted for either); the figure is the median of ``--repeat`` runs.

Usage::

    .venv/bin/python bench/maps.py               # 3 runs each
    .venv/bin/python bench/maps.py --repeat 1 --skip-national

This is a benchmark, not a test: it is not collected by pytest.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.shared_data import MEXICO, OAXACA_STATE, require  # noqa: E402
from maps.builders import municipalities_map  # noqa: E402
from maps.common import MapText  # noqa: E402
from maps.export import to_html  # noqa: E402

OAXACA = OAXACA_STATE
NATIONAL = MEXICO
METRO_2020 = ROOT / "data" / "zm_oaxaca_2020.csv"  # the zone's rows are shipped
TARGETS_MB = {"Oaxaca (state)": 1.0, "Mexico": 6.0}


def read(path: Path) -> gpd.GeoDataFrame:
    frame = gpd.read_file(path).rename(columns={"nom_agem": "name", "pob": "population"})
    return frame[["cvegeo", "name", "population", "geometry"]]


def plain_folium(frame: gpd.GeoDataFrame) -> str:
    m = folium.Map(tiles=None)
    folium.GeoJson(frame, name="Municipios").add_to(m)
    m.fit_bounds(
        [
            [frame.total_bounds[1], frame.total_bounds[0]],
            [frame.total_bounds[3], frame.total_bounds[2]],
        ]
    )
    return m.get_root().render()


def linde(frame: gpd.GeoDataFrame, static_url: str | None) -> str:
    text = MapText("Municipios", sources=["INEGI, Marco Geoestadístico"], made_on=date.today())
    m = municipalities_map(
        frame, text, outline_name="Contorno", choropleth="population", tiles=False
    )
    return to_html(m, static_url)


def timed(build: Callable[[], str], repeat: int) -> tuple[float, int]:
    seconds, size = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        html = build()
        seconds.append(time.perf_counter() - start)
        size = len(html.encode("utf-8"))
    return statistics.median(seconds), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-national", action="store_true")
    args = parser.parse_args()
    require(OAXACA, *([] if args.skip_national else [NATIONAL]))

    oaxaca = read(OAXACA)
    members = set(pd.read_csv(METRO_2020, dtype=str).query("CVE_ZONA == '20.1.01'")["CVEGEO"])
    layers = {
        "Oaxaca metro zone": oaxaca[oaxaca["cvegeo"].isin(members)],
        "Oaxaca (state)": oaxaca,
    }
    if not args.skip_national:
        layers["Mexico"] = read(NATIONAL)

    print(
        f"{'layer':<20}{'features':>9}  {'map':<15}{'HTML':>10}{'build s':>9}"
        f"{'size ×':>8}{'time ×':>8}"
    )
    for name, frame in layers.items():
        base_s, base_bytes = timed(partial(plain_folium, frame), args.repeat)
        rows = [("folium", base_s, base_bytes)]
        for label, url in (("linde (served)", "/maps/static"), ("linde (file)", None)):
            s, b = timed(partial(linde, frame, url), args.repeat)
            rows.append((label, s, b))
        for label, s, b in rows:
            print(
                f"{name:<20}{len(frame):>9,}  {label:<15}{b / 1e6:>8.2f}MB{s:>9.2f}"
                f"{base_bytes / b:>8.1f}{base_s / s:>8.1f}"
            )
        if name in TARGETS_MB:
            file_mb = rows[-1][2] / 1e6
            verdict = "met" if file_mb <= TARGETS_MB[name] else "MISSED"
            print(f"{'':<20}target ≤ {TARGETS_MB[name]:.0f} MB for the offline file: {verdict}")
    print("× = folium's figure / Linde's (bigger is better for Linde)")


if __name__ == "__main__":
    main()
