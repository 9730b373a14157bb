"""Pieces the wire shapes share: GeoJSON geometries and a party of a zone."""

from __future__ import annotations

from typing import Annotated

from geojson_pydantic import MultiPolygon, Polygon
from geojson_pydantic.geometries import Geometry
from pydantic import BaseModel, Field

#: a zone's, a claim's or a part's land: GeoJSON, lon/lat (EPSG:4326), RFC 7946 winding
Land = Annotated[Polygon | MultiPolygon, Field(discriminator="type")]
#: any GeoJSON geometry (a proposal's line, the official line through a zone)
AnyGeometry = Geometry


class PartyName(BaseModel):
    cvegeo: str = Field(description="INEGI key of the municipality, e.g. 20067.")
    name: str
