"""Versions of a feature over time (OGC API - Features "Versioned Features", Memento).

Official municipal limits are versioned: ``municipality_versions`` keeps every
geometry a municipality has had, each valid over ``[valid_from, valid_to)`` (the
current one open-ended). Claims are versions themselves: each claim is one version
of its municipality's claimed line, so a claim's versions are the claims of its
municipality. Only collections listed in ``VERSIONED`` have versions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, or_, select

from geo.crs import Crs
from layers import dialects
from layers.schema import claims, municipality_versions


@dataclass(frozen=True)
class Version:
    """One version of a feature: its properties (with ``version``, ``valid_from`` and
    ``valid_to``) and its geometry as GeoJSON text in the CRS asked for."""

    id: Any
    properties: dict[str, Any]
    geometry: str | None
    valid_from: datetime
    valid_to: datetime | None


@dataclass(frozen=True)
class Versioned:
    table: Table
    #: the column that identifies each version as a feature of the collection
    id_column: str
    properties: tuple[str, ...]
    #: the rows that are versions of the feature with this id
    series: Callable[[Any], ColumnElement[bool]]


def _claims_of_the_same_municipality(claim_id: Any) -> ColumnElement[bool]:
    municipality = select(claims.c.cvegeo).where(claims.c.id == claim_id).scalar_subquery()
    return claims.c.cvegeo == municipality


#: collection id -> where its versions are kept
VERSIONED: dict[str, Versioned] = {
    "municipalities": Versioned(
        municipality_versions,
        "cvegeo",
        ("cvegeo", "name", "population", "dwellings", "version", "source"),
        lambda cvegeo: municipality_versions.c.cvegeo == cvegeo,
    ),
    "claims": Versioned(
        claims,
        "id",
        ("cvegeo", "version", "source", "source_reference", "recorded_by", "notes"),
        _claims_of_the_same_municipality,
    ),
}


#: collections whose features' series can end for good (claims: withdrawn, see
#: ``layers.claim_withdrawal``). Municipalities cannot: an import covers part of the
#: country, so a municipality missing from a file is no proof it ceased to exist.
RETIRABLE = frozenset({"claims"})


def _select(conn: Connection, v: Versioned, feature_id: Any, crs: Crs) -> Any:
    t = v.table
    geometry = dialects.as_geojson(conn.dialect, t.c.geom, crs.epsg, crs.x_first, crs.precision)
    return (
        select(
            t.c[v.id_column].label("feature_id"),
            *(t.c[name] for name in v.properties),
            t.c.valid_from,
            t.c.valid_to,
            geometry.label("geometry"),
        )
        .where(v.series(feature_id))
        .order_by(t.c.version)
    )


def _version(v: Versioned, row: Any) -> Version:
    props = {name: row._mapping[name] for name in v.properties}
    props["valid_from"], props["valid_to"] = row.valid_from, row.valid_to
    return Version(row.feature_id, props, row.geometry, row.valid_from, row.valid_to)


def history(conn: Connection, collection_id: str, feature_id: Any, crs: Crs) -> list[Version]:
    """Every version of the feature, oldest first; empty when it has none."""
    v = VERSIONED[collection_id]
    rows = conn.execute(_select(conn, v, feature_id, crs)).all()
    return [_version(v, row) for row in rows]


def valid_at(
    conn: Connection, collection_id: str, feature_id: Any, at: datetime, crs: Crs
) -> Version | None:
    """The version valid at ``at`` (``valid_from <= at < valid_to``); None when none was."""
    v = VERSIONED[collection_id]
    t = v.table
    query = _select(conn, v, feature_id, crs).where(
        t.c.valid_from <= at, or_(t.c.valid_to.is_(None), t.c.valid_to > at)
    )
    row = conn.execute(query).first()
    return None if row is None else _version(v, row)
