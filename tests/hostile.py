"""Hostile names for every text a map shows, and a database holding them
(``hostile_data``): shared by the map-text and renderer tests.

The data is a small synthetic stand-in for two metro-zone municipalities (20067 Oaxaca
de Juárez and 20157 San Jacinto Amilpas) over their real area, so it needs no data files.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box, mapping

from layers.importers.localities import import_localities
from layers.importers.metro_zones import import_metro_zones
from layers.importers.municipalities import import_municipalities
from layers.importers.rivers import import_rivers
from tests.conftest import Database
from tests.helpers import ok

MARK = "document.documentElement.setAttribute('data-pwned','{}')"


def hostile(label: str) -> str:
    """A name that marks the document if any part of it runs as code or HTML."""
    return (
        f"{label} ${{{MARK.format('tpl')}}} ` ' \" </script>"
        f"<script>{MARK.format('script')}</script>"
        f"<img src=x onerror={MARK.format('img')}> {{{{7*7}}}}"
    )


OAXACA = hostile("Oaxaca de Juárez")
SAN_JACINTO = hostile("San Jacinto Amilpas")
ZONE = hostile("Zona metropolitana de Oaxaca")
RIVER = hostile("Atoyac")
LOCALITY = hostile("Los Sauces")
DISPUTE = hostile("Zona Los Sauces")
NOTE = hostile("Recorrido de campo")
INSPECTION = hostile("Descarga al río")

#: two neighbours over their real area (lon/lat); San Jacinto claims a strip of Oaxaca's
OAXACA_BOX = box(-96.76, 17.03, -96.70, 17.09)
SAN_JACINTO_BOX = box(-96.70, 17.03, -96.66, 17.09)
CLAIMED = box(-96.715, 17.04, -96.66, 17.08)
LOCALITY_BOX = box(-96.712, 17.05, -96.703, 17.06)
INSPECTED = Point(-96.708, 17.055)


def _write(frame: gpd.GeoDataFrame, path: Path) -> Path:
    frame.to_file(path, driver="GeoJSON")
    return path


@pytest.fixture
def hostile_data(api: Database, tmp_path: Path) -> Database:
    """Every kind of text a map shows, named to attack it; one disputed zone."""
    munis = gpd.GeoDataFrame(
        {"cvegeo": ["20067", "20157"], "nomgeo": [OAXACA, SAN_JACINTO], "pob": [270955, 40041]},
        geometry=[OAXACA_BOX, SAN_JACINTO_BOX],
        crs=4326,
    )
    import_municipalities(api.engine, _write(munis, tmp_path / "m.geojson"), actor="test")
    zones = tmp_path / "zonas.csv"
    pd.DataFrame(
        {
            "CVE_ZONA": ["20.1.01", "20.1.01"],
            "NOM_ZM": [ZONE, ZONE],
            "TIPOMET": ["Zona metropolitana"] * 2,
            "CVEGEO": ["20067", "20157"],
            "NOMGEO": [OAXACA, SAN_JACINTO],
        }
    ).to_csv(zones, index=False)
    import_metro_zones(api.engine, zones, actor="test")
    river = gpd.GeoDataFrame(
        {"name": [RIVER]}, geometry=[LineString([(-96.75, 17.055), (-96.67, 17.056)])], crs=4326
    )
    import_rivers(api.engine, _write(river, tmp_path / "r.geojson"), actor="test")
    places = gpd.GeoDataFrame(
        {"cvegeo": ["201570001"], "nomgeo": [LOCALITY], "ambito": ["U"]},
        geometry=[LOCALITY_BOX],
        crs=4326,
    )
    import_localities(api.engine, _write(places, tmp_path / "l.geojson"), actor="test")
    with api.client("commission") as http:
        ok(
            http.post(
                "/claims/official", json={"zone": "20.1.01", "valid_from": "2020-01-01T00:00:00Z"}
            ),
            201,
        )
        ok(
            http.post(
                "/claims",
                json={
                    "cvegeo": "20157",
                    "source": "survey",
                    "valid_from": "2024-01-01T00:00:00Z",
                    "geometry": mapping(CLAIMED),
                },
            ),
            201,
        )
        ok(http.post("/detection-runs", json={"zone": "20.1.01"}), 201)
        found = ok(http.get("/disputes", params={"cvegeo": "20157"}))["zones"]
        (zone,) = [z for z in found if z["kind"] == "overlap"]
        etag = ok(http.get(f"/disputes/{zone['id']}"))["etag"]
        renamed = ok(
            http.patch(
                f"/disputes/{zone['id']}", json={"name": DISPUTE}, headers={"If-Match": etag}
            )
        )
        ok(
            http.post(
                f"/disputes/{zone['id']}/events",
                json={"kind": "note", "summary": NOTE},
                headers={"If-Match": renamed["etag"]},
            ),
            201,
        )
    with api.client("inspector") as http:
        ok(
            http.post(
                "/inspections",
                json={
                    "type": "Feature",
                    "id": str(uuid.uuid4()),
                    "geometry": mapping(INSPECTED),
                    "properties": {
                        "observed_at": "2026-11-20T10:00:00-06:00",
                        "category": "discharge",
                        "severity": 4,
                        "description": INSPECTION,
                    },
                },
            ),
            201,
        )
    api.zone_id = zone["id"]  # type: ignore[attr-defined]
    with api.client() as http:
        (feature,) = ok(http.get("/collections/rivers/items"))["features"]
    api.river_id = feature["id"]  # type: ignore[attr-defined]
    return api
