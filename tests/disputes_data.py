"""Real data for the dispute tests: the 26 municipalities of the Oaxaca metro zone (2020)
and the two INEGI locality polygons that cross the official line (shared/data README,
section 2)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry.base import BaseGeometry

from tests.conftest import DATA, METRO_2020, OAXACA

LOCALITIES = DATA / "localities" / "oaxaca_localidades_poligonos_inegi_mg.geojson.zip"
OAXACA_DE_JUAREZ, SAN_JACINTO, XOXOCOTLAN = "20067", "20157", "20385"


@cache
def metro_members() -> tuple[str, ...]:
    table = pd.read_csv(METRO_2020, dtype=str)
    return tuple(sorted(table.loc[table["CVE_ZONA"] == "20.1.01", "CVEGEO"]))


@cache
def official() -> gpd.GeoDataFrame:
    gdf = gpd.read_file(OAXACA)
    return gdf[gdf["cvegeo"].isin(metro_members())].set_index("cvegeo")


def metro_file(folder: Path) -> Path:
    """The 26 municipalities as a GeoJSON file (imports in a fraction of the whole state)."""
    path = folder / "zm_oaxaca_2020.geojson"
    if not path.exists():
        official().reset_index().to_file(path, driver="GeoJSON")
    return path


@cache
def locality(cvegeo: str) -> BaseGeometry:
    gdf = gpd.read_file(LOCALITIES, where=f"cvegeo = '{cvegeo}'")
    assert len(gdf) == 1, cvegeo
    return gdf.geometry.iloc[0]


@cache
def localities_file(folder: Path) -> Path:
    """The localities of the metro zone's municipalities, as a file to import."""
    path = folder / "localidades_zm_oaxaca.geojson"
    if not path.exists():
        gdf = gpd.read_file(LOCALITIES)
        gdf[gdf["cvegeo"].str[:5].isin(metro_members())].to_file(path, driver="GeoJSON")
    return path
