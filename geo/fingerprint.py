"""Content fingerprints: tell an unchanged record from a changed one on re-import."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry


def fingerprint(geom: BaseGeometry | None, attributes: Mapping[str, Any]) -> str:
    """SHA-256 over the geometry's WKB and the attributes (sorted JSON).

    The same feature read from the same file always gives the same value; any
    change of a coordinate or attribute gives another.
    """
    digest = hashlib.sha256()
    if geom is not None:
        digest.update(shapely.to_wkb(geom, output_dimension=2, byte_order=1))
    digest.update(json.dumps(attributes, sort_keys=True, default=str).encode())
    return digest.hexdigest()
