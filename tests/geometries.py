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


def square(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    """A GeoJSON Polygon (lon/lat, counter-clockwise) for a box."""
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


CLAIM_SHAPE = square(-96.74, 17.05, -96.71, 17.08)  # inside the tiny 20157, holds its centre


def claim_body(geometry: dict[str, Any], cvegeo: str = "20157") -> dict[str, Any]:
    return {"cvegeo": cvegeo, "source": "decree", "notes": "prueba", "geometry": geometry}


def tiny_municipalities(path: Path) -> Path:
    """Two neighbouring square municipalities in INEGI web GeoJSON columns."""
    features = [
        {
            "type": "Feature",
            "properties": {"cvegeo": cvegeo, "nom_agem": name, "pob": pob, "viv": viv},
            "geometry": geometry,
        }
        for cvegeo, name, pob, viv, geometry in [
            ("20157", "Oaxaca de Juárez", 270955, 80410, square(-96.75, 17.04, -96.70, 17.09)),
            ("20067", "Oaxaca de Juárez Oeste", 1000, 300, square(-96.80, 17.04, -96.75, 17.09)),
        ]
    ]
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
        encoding="utf-8",
    )
    return path
