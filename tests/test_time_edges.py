"""Instants at the edges of time, as real clients send them, over HTTP on both engines.

QGIS's OGC API - Features provider turns a subset string ``valid_from <= X`` into
``datetime=0000-01-01T00:00:00Z/X`` and ``valid_from >= X`` into
``datetime=X/9999-12-31T00:00:00Z``. The year 0000 is valid RFC 3339; an offset can
push 9999-12-31 past the end of Python's calendar. Each is the earliest or latest
instant, never a 400 for a valid instant and never a 500.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.conftest import Database
from tests.helpers import ok, problem

EDGES = [
    ("0000-01-01T00:00:00Z/2100-01-01T00:00:00Z", True),
    ("2000-01-01T00:00:00Z/9999-12-31T00:00:00Z", True),
    ("0000-01-01T00:00:00Z/9999-12-31T23:59:59-06:00", True),
    ("0001-01-01T00:00:00+06:00/..", True),
    ("../9999-12-31", True),
    ("9999-12-31T23:59:59-06:00", False),  # one instant past every claim's start: none valid
    ("0000-01-01T00:00:00Z", False),  # the earliest instant: nothing was valid then
]


CQL = [
    "valid_from >= TIMESTAMP('0000-01-01T00:00:00Z')",
    "valid_from < TIMESTAMP('9999-12-31T23:59:59-06:00')",
    "T_BEFORE(valid_from, TIMESTAMP('9999-12-31T23:59:59-06:00'))",
]
MALFORMED = ["0000-13-01T00:00:00Z", "2024-05-01T12:00:00", "10000-01-01T00:00:00Z"]


def test_instants_at_the_edges_of_time(metro: Database) -> None:
    def ids(**params: str) -> set[int]:
        got = ok(http.get("/collections/claims/items", params={"limit": "1000", **params}))
        return {f["id"] for f in got["features"]}

    with metro.client("planner") as http:
        every = ok(http.get("/collections/claims/items", params={"limit": 1000}))["features"]
        everything = {f["id"] for f in every}
        in_force = {f["id"] for f in every if f["properties"]["valid_to"] is None}
        assert everything and in_force
        for interval, all_claims in EDGES:
            found = ids(datetime=interval)
            if all_claims:
                assert found == everything, interval
            elif interval.startswith("0000"):
                assert found == set(), interval
            else:  # the claims still in force at the end of time
                assert found == in_force, interval
        for cql in CQL:
            assert ids(filter=cql) == everything, cql
        for bad in MALFORMED:
            refused = http.get("/collections/claims/items", params={"datetime": bad})
            assert "RFC 3339" in problem(refused, 400, "datetime") or "time zone" in refused.text
    with metro.client("commission") as http:
        square = {
            "type": "Polygon",
            "coordinates": [[[-96.72, 17.06], [-96.71, 17.06], [-96.71, 17.07], [-96.72, 17.06]]],
        }
        late = "9999-12-31T23:00:00-06:00"
        refused = http.post(
            "/claims",
            json={"cvegeo": "20157", "source": "decree", "geometry": square, "valid_from": late},
        )
        assert refused.status_code == 422, refused.text
        assert "0001-9999" in refused.text and "valid_from" in refused.text
        listed = http.get("/claims", params={"as_of": late})
        assert listed.status_code == 422 and "as_of" in listed.text, listed.text
    point = {"type": "Point", "coordinates": [-96.7266, 17.0654]}
    with metro.client("inspector") as http:
        one: dict[str, Any] = {
            "type": "Feature",
            "id": str(uuid.uuid4()),
            "geometry": point,
            "properties": {"observed_at": late, "category": "solid_waste", "severity": 2},
        }
        refused = http.post("/inspections", json=one)
        assert refused.status_code == 422 and "observed_at" in refused.text, refused.text
        rows = {
            "type": "FeatureCollection",
            "features": [
                {**one, "id": str(uuid.uuid4()), "properties": {**one["properties"], **p}}
                for p in ({"observed_at": "2024-05-01T10:30:00-06:00"}, {"observed_at": late})
            ],
        }
        upload = http.post(
            "/inspections/import", files={"file": ("puntos.geojson", json.dumps(rows).encode())}
        )
        assert upload.status_code == 422 and "0001-9999" in upload.text, upload.text
        assert '"row":2' in upload.text.replace(" ", ""), upload.text
        # nothing half-written: the good row of the refused file is not stored either
        listed = ok(http.get("/collections/inspections/items"))
        assert listed["numberMatched"] == 0
