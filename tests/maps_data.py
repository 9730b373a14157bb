"""Real features for the map tests, read from the shipped extract in ``data/``."""

from __future__ import annotations

from functools import cache

import geopandas as gpd
import pandas as pd
import shapely

from tests.conftest import CONAGUA_SITES, LOCALITIES, METRO_2020, OAXACA, RIVERS

OAXACA_ZONE = "20.1.01"
PARTIES = ("20067", "20157")  # Oaxaca de Juárez, San Jacinto Amilpas
#: a category per CONAGUA site, cycling, so every legend entry has points
CATEGORIES = ("water_contamination", "discharge", "solid_waste", "debris_fill")


@cache
def oaxaca_municipalities() -> gpd.GeoDataFrame:
    frame = gpd.read_file(OAXACA).rename(columns={"nom_agem": "name", "pob": "population"})
    return frame[["cvegeo", "name", "population", "geometry"]]


@cache
def zone_members() -> gpd.GeoDataFrame:
    table = pd.read_csv(METRO_2020, dtype=str)
    keys = set(table.loc[table["CVE_ZONA"] == OAXACA_ZONE, "CVEGEO"])
    munis = oaxaca_municipalities()
    return munis[munis["cvegeo"].isin(keys)].reset_index(drop=True)


@cache
def atoyac() -> gpd.GeoDataFrame:
    rivers = gpd.read_file(RIVERS)
    line = rivers[(rivers["name"] == "Atoyac") & (rivers["ne_layer"] == "rivers_lake_centerlines")]
    return line[["name", "geometry"]].reset_index(drop=True)


@cache
def conagua_inspections() -> gpd.GeoDataFrame:
    """The 28 CONAGUA sites as inspection points: a category each, dates through 2019."""
    sites = gpd.read_file(CONAGUA_SITES).reset_index(drop=True)
    return gpd.GeoDataFrame(
        {
            "id": sites["CLAVE"],
            "category": [CATEGORIES[i % len(CATEGORIES)] for i in range(len(sites))],
            "severity": [1 + i % 5 for i in range(len(sites))],
            "description": sites["SITIO"],
            "observed_at": pd.date_range("2019-01-15", periods=len(sites), freq="10D", tz="UTC"),
        },
        geometry=sites.geometry.values,
        crs=4326,
    )


@cache
def dispute_features() -> dict[str, gpd.GeoDataFrame]:
    """A disputed zone along the real Oaxaca de Juárez / San Jacinto Amilpas limit.

    Each party claims its official polygon plus a 300 m strip of the neighbour along
    their shared boundary (built in EPSG:6372); the zone is where the claims overlap.
    """
    munis = oaxaca_municipalities()
    official = munis[munis["cvegeo"].isin(PARTIES)].set_index("cvegeo").loc[list(PARTIES)]
    metric = official.to_crs(6372)
    a, b = metric.geometry.iloc[0], metric.geometry.iloc[1]
    strip = shapely.intersection(a.boundary, b.boundary).buffer(300)
    claims_m = [shapely.union(a, strip.intersection(b)), shapely.union(b, strip.intersection(a))]
    claims = gpd.GeoDataFrame(
        {"cvegeo": list(PARTIES), "municipality": list(official["name"])},
        geometry=gpd.GeoSeries(claims_m, crs=6372).to_crs(4326).values,
        crs=4326,
    )
    zone = gpd.GeoDataFrame(
        geometry=gpd.GeoSeries([shapely.intersection(*claims_m)], crs=6372).to_crs(4326),
    )
    localities = gpd.read_file(LOCALITIES, bbox=tuple(zone.total_bounds))
    localities = localities[localities.intersects(zone.geometry.iloc[0])].rename(
        columns={"nom_loc": "name", "pob": "population"}
    )[["name", "population", "geometry"]]
    points = conagua_inspections()
    near = points[points.to_crs(6372).distance(zone.to_crs(6372).geometry.iloc[0]) < 1500]
    return {
        "official": official.reset_index()[["cvegeo", "name", "geometry"]],
        "claims": claims,
        "zone": zone,
        "localities": localities,
        "inspections": near,
    }
