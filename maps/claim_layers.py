"""The official line and each party's claim on a dispute map, told apart and labelled.

Colour alone does not tell claims apart on a grey printout or for a reader who does
not see the difference, so each claim also has its own line (solid, dotted,
dash-dot, long dash: ``maps.legend.PARTY_DASHES``), the official line is black and
dashed, and each claim carries its name on the map ("Reclamo de San Jacinto
Amilpas"), placed on land that party claims beside the zone (not on the zone, where
every claim overlaps). The legend shows each line as it is drawn.
"""

from __future__ import annotations

from collections.abc import Callable

import folium
import geopandas as gpd
import shapely
from shapely.geometry.base import BaseGeometry

from maps.elements import Labels, LegendEntry
from maps.legend import OFFICIAL_DASH, PARTY_COLORS, PARTY_DASHES
from maps.vector import GeoJsonLayer
from maps.vector_tiles import VectorTileLayer

OFFICIAL_COLOR = "#111111"


def _collection(geometry: BaseGeometry) -> dict[str, object]:
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(geometry)}
        ],
    }


def label_point(claim: BaseGeometry, zone: BaseGeometry) -> tuple[float, float] | None:
    """Where a claim's name goes (lon, lat): on the land it claims near the zone, outside
    the zone if it claims any there, else inside; ``None`` if the claim misses the view."""
    west, south, east, north = zone.bounds
    pad_x, pad_y = max(east - west, 1e-4) * 0.1, max(north - south, 1e-4) * 0.1
    view = shapely.box(west - pad_x, south - pad_y, east + pad_x, north + pad_y)
    near = shapely.intersection(claim, view)
    beside = shapely.difference(near, zone)
    for place in (beside, near):
        if not place.is_empty and place.area > 0:
            point = place.representative_point()
            return float(point.x), float(point.y)
    return None


def add_claims(
    m: folium.Map,
    official: gpd.GeoDataFrame,
    claims: gpd.GeoDataFrame,
    zone: BaseGeometry | None,
    official_layer: GeoJsonLayer | VectorTileLayer | None,
    claim_tiles: Callable[[str], str] | None = None,
) -> list[LegendEntry]:
    """Draw the official line (``official_layer``, made by the caller) and each claim in
    its colour and dash, with a label per claim; return their legend entries.

    ``claim_tiles``: for a layer too big to inline, the tile URL of a municipality's
    claim in force (``maps.vector_tiles``); the claim is then drawn from tiles."""
    entries: list[LegendEntry] = []
    if official_layer is not None and len(official):
        official_layer.add_to(m)
        entries.append(
            LegendEntry("Límite oficial (INEGI)", OFFICIAL_COLOR, "line", dash=OFFICIAL_DASH)
        )
    labels: list[tuple[float, float, str]] = []
    for i, (_, claim) in enumerate(claims.iterrows()):
        color = PARTY_COLORS[i % len(PARTY_COLORS)]
        dash = PARTY_DASHES[i % len(PARTY_DASHES)]
        name = str(claim.get("municipality") or claim.get("cvegeo") or f"Parte {i + 1}")
        style: dict[str, object] = {
            "color": color,
            "weight": 3,
            "fillColor": color,
            "fillOpacity": 0.12,
            "lineCap": "round",
        }
        if dash:
            style["dashArray"] = dash
        if claim_tiles is not None and claim.get("cvegeo"):
            VectorTileLayer(
                claim_tiles(str(claim["cvegeo"])),
                "claims",
                f"Reclamo de {name}",
                style,
                id_property="cvegeo",
                tooltip_text=f"Límite reclamado por {name}",
            ).add_to(m)
        else:
            GeoJsonLayer(
                _collection(claim.geometry),
                f"Reclamo de {name}",
                style,
                tooltip_text=f"Límite reclamado por {name}",
            ).add_to(m)
        entries.append(LegendEntry(f"Reclamado por {name}", color, "fill", dash=dash))
        at = label_point(claim.geometry, zone) if zone is not None else None
        if at is not None:
            labels.append((at[1], at[0], f"Reclamo de {name}"))
    if labels:
        Labels(labels, "Nombres de los reclamos").add_to(m)
    return entries
