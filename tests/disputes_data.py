"""Real data for the dispute tests: the 26 municipalities of the Oaxaca metro zone (2020)
and the two INEGI locality polygons that cross the official line (data/README.md)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry.base import BaseGeometry

from tests.conftest import LOCALITIES, METRO_2020, OAXACA

OAXACA_DE_JUAREZ, SAN_JACINTO, XOXOCOTLAN = "20067", "20157", "20385"


@cache
def metro_members() -> tuple[str, ...]:
    table = pd.read_csv(METRO_2020, dtype=str)
    return tuple(sorted(table.loc[table["CVE_ZONA"] == "20.1.01", "CVEGEO"]))


@cache
def official() -> gpd.GeoDataFrame:
    gdf = gpd.read_file(OAXACA)
    return gdf[gdf["cvegeo"].isin(metro_members())].set_index("cvegeo")


def metro_file(_folder: Path | None = None) -> Path:
    """The 26 municipalities as a GeoJSON file: the shipped extract holds exactly them.

    Nothing is written any more; the folder argument stays so callers need not change.
    """
    return OAXACA


@cache
def locality(cvegeo: str) -> BaseGeometry:
    gdf = gpd.read_file(LOCALITIES, where=f"cvegeo = '{cvegeo}'")
    assert len(gdf) == 1, cvegeo
    return gdf.geometry.iloc[0]


def localities_file(_folder: Path | None = None) -> Path:
    """The 235 localities of the metro zone's municipalities, as a file to import."""
    return LOCALITIES
