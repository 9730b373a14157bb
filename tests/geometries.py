"""Awkward geometries and small files for tests (lon/lat around Oaxaca de Juárez)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SQUARE = [[-96.75, 17.05], [-96.70, 17.05], [-96.70, 17.10], [-96.75, 17.10], [-96.75, 17.05]]
BOWTIE = [[-96.75, 17.05], [-96.70, 17.10], [-96.70, 17.05], [-96.75, 17.10], [-96.75, 17.05]]
SWAPPED = [[y, x] for x, y in SQUARE]
HOLE = [[-96.73, 17.07], [-96.72, 17.07], [-96.72, 17.08], [-96.73, 17.08], [-96.73, 17.07]]


def polygon(ring: list[list[float]], *holes: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [ring, *holes]}


def feature(geometry: dict[str, Any] | None, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def write_collection(path: Path, features: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def municipality(
    cvegeo: str, name: str, ring: list[list[float]] = SQUARE, **extra: Any
) -> dict[str, Any]:
    return feature(polygon(ring), cvegeo=cvegeo, nom_agem=name, pob=100, **extra)
