"""Commission users recording a claim for the same municipality at the same moment
(issue 17, the "Low" list): on PostgreSQL the transactions run side by side, and the
one that loses must get 409 saying what to do, never a 500 (UniqueViolation)."""

from __future__ import annotations

import threading
from pathlib import Path

import geopandas as gpd
import httpx
import pytest
import shapely
from sqlalchemy import select

from layers.importers.municipalities import import_municipalities
from layers.schema import claims
from tests.conftest import Database
from tests.corpus import SQUARE

ROUNDS = 8
CLIENTS = 4


@pytest.mark.postgis_only
def test_racing_claims_for_one_municipality_lose_with_a_409(api: Database, tmp_path: Path) -> None:
    path = tmp_path / "sja.geojson"
    gpd.GeoDataFrame(
        {"CVEGEO": ["20157"], "NOMGEO": ["San Jacinto Amilpas"]},
        geometry=[shapely.Polygon(SQUARE)],
        crs=4326,
    ).to_file(path)
    import_municipalities(api.engine, path, actor="test")
    body = {
        "cvegeo": "20157",
        "source": "cadastre",
        "geometry": {"type": "Polygon", "coordinates": [SQUARE]},
    }
    clients = [api.client("commission") for _ in range(CLIENTS)]
    statuses: list[int] = []
    try:
        for _ in range(ROUNDS):
            barrier = threading.Barrier(CLIENTS)
            answers: list[httpx.Response] = []

            def record(
                client: httpx.Client,
                barrier: threading.Barrier = barrier,
                answers: list[httpx.Response] = answers,
            ) -> None:
                barrier.wait()
                answers.append(client.post("/claims", json=body))

            threads = [threading.Thread(target=record, args=(c,)) for c in clients]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert 201 in [a.status_code for a in answers]
            for answer in answers:
                assert answer.status_code in (201, 409), answer.text
                if answer.status_code == 409:
                    message = answer.json()["error"]["message"]
                    assert "same moment" in message and "send it again" in message
                    assert "valid_from" not in message
            statuses += [a.status_code for a in answers]
    finally:
        for c in clients:
            c.close()
    with api.engine.connect() as conn:
        rows = conn.execute(
            select(claims.c.version, claims.c.valid_to).where(claims.c.cvegeo == "20157")
        ).all()
    versions = sorted(v for v, _ in rows)
    assert versions == list(range(1, statuses.count(201) + 1))  # no gap, nothing lost
    assert sum(valid_to is None for _, valid_to in rows) == 1  # one claim in force


def test_a_claim_without_valid_from_meeting_a_newer_one_says_what_happened(
    db: Database, tmp_path: Path
) -> None:
    """What a decision racing a claim meets: the claim in force began after "now" as the
    decision took it. The answer is a conflict about that claim, not a complaint
    about a valid_from nobody sent."""
    from datetime import UTC, datetime, timedelta

    from geo.errors import Conflict, InvalidInput
    from layers.claims import add_claim

    path = tmp_path / "sja.geojson"
    gpd.GeoDataFrame(
        {"CVEGEO": ["20157"], "NOMGEO": ["San Jacinto Amilpas"]},
        geometry=[shapely.Polygon(SQUARE)],
        crs=4326,
    ).to_file(path)
    import_municipalities(db.engine, path, actor="test")
    now = datetime.now(UTC)
    square = shapely.Polygon(SQUARE)
    add_claim(
        db.engine,
        cvegeo="20157",
        geom=square,
        source="cadastre",
        valid_from=now + timedelta(seconds=1),
        recorded_by="commission-a",
    )
    with pytest.raises(Conflict, match="same moment") as raced:
        add_claim(
            db.engine,
            cvegeo="20157",
            geom=square,
            source="cadastre",
            valid_from=now,
            recorded_by="commission-b",
            valid_from_given=False,
        )
    assert "valid_from" not in raced.value.message
    with pytest.raises(InvalidInput, match="valid_from must be after"):  # when it was sent
        add_claim(
            db.engine,
            cvegeo="20157",
            geom=square,
            source="cadastre",
            valid_from=now,
            recorded_by="commission-b",
        )
