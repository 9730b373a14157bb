"""A municipality withdraws its claim (issue 18, item 9): the claim is closed, never
deleted; its OGC item answers 410 Gone with a link to its versions, ``datetime=``
before the withdrawal still gives it, and a new claim starts the next version. Over
real HTTP and the ``linde`` command, on both engines."""

from __future__ import annotations

import itertools
import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import morecantile
import pytest
from shapely.geometry import box, mapping, shape
from sqlalchemy import select

from geo.tiles import decode_tile
from layers import audit
from layers.importers.municipalities import import_municipalities
from layers.schema import claims
from layers.users import add_user
from tests.conftest import Database
from tests.helpers import biggest, decoded, flat, linde, ok
from tests.schemas import ogc_validator

SAN_JACINTO = "20157"
OAXACA = "20067"
OUTLINES = {
    SAN_JACINTO: box(-96.75, 17.04, -96.70, 17.09),
    OAXACA: box(-96.80, 17.04, -96.75, 17.09),
}
LINES = [box(-96.74, 17.05, -96.71, 17.08), box(-96.74, 17.05, -96.72, 17.08)]
REASON = "convenio de límites firmado con Oaxaca de Juárez el 2026-11-30"


def two_municipalities(db: Database, folder: Path) -> None:
    features = [
        {
            "type": "Feature",
            "properties": {"cvegeo": key, "nom_agem": f"Municipio {key}", "pob": 1},
            "geometry": mapping(outline),
        }
        for key, outline in OUTLINES.items()
    ]
    path = folder / "municipios.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    import_municipalities(db.engine, path, actor="test")


def file_claim(http: httpx.Client, line: Any, valid_from: str | None = None) -> Any:
    body: dict[str, Any] = {"cvegeo": SAN_JACINTO, "source": "decree", "geometry": mapping(line)}
    if valid_from:
        body["valid_from"] = valid_from
    return http.post("/claims", json=body)


def two_versions(api: Database, folder: Path) -> list[int]:
    two_municipalities(api, folder)
    with api.client("commission") as http:
        return [
            ok(file_claim(http, line, f"{day}T00:00:00Z"), 201)["id"]
            for day, line in zip(("2024-01-01", "2025-01-01"), LINES, strict=True)
        ]


def withdraw(http: httpx.Client, **body: Any) -> httpx.Response:
    return http.post("/claims/withdrawals", json={"cvegeo": SAN_JACINTO, **body})


TILE = morecantile.tms.get("WebMercatorQuad").tile(-96.725, 17.065, 12)
TILE_URL = f"/collections/claims/tiles/WebMercatorQuad/12/{TILE.y}/{TILE.x}"
IN_FORCE = {"filter": "valid_to IS NULL"}  # what the dispute map's claim tiles ask


def test_a_withdrawn_claim_is_gone_but_its_past_stays(api: Database, tmp_path: Path) -> None:
    v1, v2 = two_versions(api, tmp_path)
    with api.client("planner") as http:  # read (and cached) before: the change must show
        assert ok(http.get(f"/collections/claims/items/{v2}"))["properties"]["valid_to"] is None
        drawn_before = http.get(TILE_URL, params=IN_FORCE)
        assert [
            f["properties"]["version"] for f in decode_tile(drawn_before.content)["claims"]
        ] == [2]
    with api.client("commission") as http:
        done = ok(withdraw(http, reason=REASON, claim_id=v2))
    assert done["id"] == v2 and done["properties"]["version"] == 2
    withdrawn_at = datetime.fromisoformat(done["properties"]["valid_to"])
    assert done["properties"]["withdrawal"]["reason"] == REASON
    assert done["properties"]["withdrawal"]["withdrawn_by"] == "commission-user"
    with api.engine.connect() as conn:
        (entry,) = audit.recent(conn, entity="claim", entity_id=str(v2), action="claim.withdrawn")
    assert entry["actor"] == "commission-user" and entry["details"] is not None
    assert entry["details"]["reason"] == REASON

    with api.client("planner") as http:
        gone = http.get(f"/collections/claims/items/{v2}")
        assert gone.status_code == 410, gone.text
        body = gone.json()
        assert not [e.message for e in ogc_validator("exception.yaml").iter_errors(body)]
        assert body["code"] == body["error"]["code"] == "gone"
        assert REASON in body["description"] and "withdrawn on" in body["description"]
        history = f"{api.base_url}/collections/claims/items/{v2}/versions"
        assert gone.headers["link"] == (
            f'<{history}>; rel="version-history"; type="application/geo+json"'
        )
        assert set(body) == {"code", "description", "error"}  # Linde's one error shape
        spanish = http.get(f"/collections/claims/items/{v2}", headers={"Accept-Language": "es-MX"})
        assert spanish.status_code == 410 and spanish.headers["content-language"] == "es-MX"
        said = spanish.json()
        assert said["description"].startswith(f"El reclamo {v2} ({SAN_JACINTO}, versión 2) fue")
        assert REASON in said["description"]
        assert spanish.headers["link"] == gone.headers["link"]

        # the version it replaced is a past version, as before: 200, closed
        past = ok(http.get(f"/collections/claims/items/{v1}"))
        assert past["properties"]["valid_to"].startswith("2025-01-01")
        # before the withdrawal it is still there, Memento style
        then = http.get(f"/collections/claims/items/{v2}", params={"datetime": "2025-06-01"})
        assert then.status_code == 200, then.text
        assert then.json()["id"] == v2 and shape(then.json()["geometry"]).equals(LINES[1])
        assert then.headers["memento-datetime"] == "Wed, 01 Jan 2025 00:00:00 GMT"
        in_2024 = ok(http.get(f"/collections/claims/items/{v2}", params={"datetime": "2024-06-01"}))
        assert in_2024["id"] == v1
        later = http.get(f"/collections/claims/items/{v1}", params={"datetime": "2100-01-01"})
        assert later.status_code == 410 and 'rel="version-history"' in later.headers["link"]
        before = http.get(f"/collections/claims/items/{v2}", params={"datetime": "1990-01-01"})
        assert before.status_code == 404
        versions = ok(http.get(f"/collections/claims/items/{v2}/versions"))["features"]
        assert [f["id"] for f in versions] == [v1, v2]
        assert datetime.fromisoformat(versions[1]["properties"]["valid_to"]) == withdrawn_at

        # listed as what it is: closed, not in force
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        in_force = ok(http.get("/collections/claims/items", params={"datetime": now}))
        assert in_force["features"] == []
        assert ok(http.get("/claims", params={"as_of": now}))["features"] == []
        listed = ok(http.get("/collections/claims/items"))["features"]
        assert {f["id"]: f["properties"]["valid_to"] is not None for f in listed} == {
            v1: True,
            v2: True,
        }
        # the tiles drawing claims in force (the dispute map's filter) drop it
        drawn = http.get(TILE_URL, params=IN_FORCE)
        assert drawn.status_code in (200, 204), drawn.text
        assert drawn.headers.get("etag") != drawn_before.headers["etag"]
        assert not decode_tile(drawn.content).get("claims")
        everything = http.get(TILE_URL)
        assert len(decode_tile(everything.content)["claims"]) == 2  # the tile has the claims

    with api.client("commission") as http:
        again = withdraw(http, reason=REASON)
        assert again.status_code == 409, again.text
        assert again.json()["error"]["details"] == [
            {"field": "cvegeo", "reason": "no claim in force"}
        ]
        # a new claim cannot reach back into the time before the withdrawal
        back = file_claim(http, LINES[0], "2025-06-01T00:00:00Z")
        assert back.status_code == 422 and "withdrawn" in back.json()["description"]
        # a new claim starts the next version of the series
        v3 = ok(file_claim(http, LINES[0]), 201)
    assert v3["properties"]["version"] == 3
    assert datetime.fromisoformat(v3["properties"]["valid_from"]) >= withdrawn_at
    with api.client("planner") as http:
        assert ok(http.get(f"/collections/claims/items/{v3['id']}"))["id"] == v3["id"]
        # no longer the end of its series: a past version again
        assert http.get(f"/collections/claims/items/{v2}").status_code == 200
        versions = ok(http.get(f"/collections/claims/items/{v3['id']}/versions"))["features"]
        assert [f["id"] for f in versions] == [v1, v2, v3["id"]]


def test_withdrawal_refuses_bad_input_and_writes_nothing(api: Database, tmp_path: Path) -> None:
    two_municipalities(api, tmp_path)
    with api.client("commission") as http:
        nothing = withdraw(http, reason=REASON)
        assert nothing.status_code == 409, nothing.text
        assert "nothing to withdraw" in nothing.json()["description"]
        claim_id = ok(file_claim(http, LINES[0], "2024-01-01T00:00:00Z"), 201)["id"]
        missing = withdraw(http)
        assert missing.status_code == 422
        assert missing.json()["error"]["details"][0]["field"] == "reason"
        blank = withdraw(http, reason="   ")
        assert blank.status_code == 422
        assert blank.json()["error"]["details"][0]["field"] == "reason"
        stale = withdraw(http, reason=REASON, claim_id=claim_id + 1000)
        assert stale.status_code == 409
        assert stale.json()["error"]["details"][0]["field"] == "claim_id"
        unknown = http.post("/claims/withdrawals", json={"cvegeo": "20999", "reason": REASON})
        assert unknown.status_code == 404
        bad_key = http.post("/claims/withdrawals", json={"cvegeo": "2015", "reason": REASON})
        assert bad_key.status_code == 422
    with api.client("planner") as http:
        assert withdraw(http, reason=REASON).status_code == 403
    assert httpx.post(f"{api.base_url}/claims/withdrawals", json={}).status_code == 401
    with api.client("planner") as http:
        still = ok(http.get(f"/collections/claims/items/{claim_id}"))
    assert still["properties"]["valid_to"] is None


def test_a_municipality_withdraws_its_own_claim_only(api: Database, tmp_path: Path) -> None:
    two_municipalities(api, tmp_path)
    with api.client("commission") as http:
        claim_id = ok(file_claim(http, LINES[0], "2024-01-01T00:00:00Z"), 201)["id"]
    _u, other = add_user(api.engine, "rep-oaxaca", "commission", actor="test", cvegeo=OAXACA)
    _u, own = add_user(api.engine, "rep-sja", "commission", actor="test", cvegeo=SAN_JACINTO)
    with httpx.Client(base_url=api.base_url, headers={"Authorization": f"Bearer {other}"}) as h:
        refused = withdraw(h, reason=REASON)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["details"] == [
            {"field": "cvegeo", "reason": f"your municipality, {OAXACA}"}
        ]
        es = withdraw(h, reason=REASON, claim_id=claim_id)
        assert es.status_code == 403
        said = h.post(
            "/claims/withdrawals",
            json={"cvegeo": SAN_JACINTO, "reason": REASON},
            headers={"Accept-Language": "es-MX"},
        ).json()
        assert said["description"] == (
            f"rep-oaxaca solo puede retirar los reclamos de {OAXACA}, no los de {SAN_JACINTO}."
        )
    with api.client("planner") as http:
        assert (
            ok(http.get(f"/collections/claims/items/{claim_id}"))["properties"]["valid_to"] is None
        )
    with httpx.Client(base_url=api.base_url, headers={"Authorization": f"Bearer {own}"}) as h:
        done = ok(withdraw(h, reason=REASON))
    assert done["id"] == claim_id and done["properties"]["withdrawal"]["withdrawn_by"] == "rep-sja"


def test_the_command_line_withdraws_a_claim(api: Database, tmp_path: Path) -> None:
    v1, v2 = two_versions(api, tmp_path)
    refused = linde(api, "claims", "withdraw", SAN_JACINTO)
    assert refused.returncode == 2 and "--reason" in refused.stderr
    done = linde(api, "claims", "withdraw", SAN_JACINTO, "--reason", REASON, "--claim", str(v2))
    assert done.returncode == 0, done.stderr
    assert flat(done.stdout).startswith(f"claim {v2}: {SAN_JACINTO} Municipio {SAN_JACINTO} ")
    assert "version 2 withdrawn at" in flat(done.stdout)
    again = linde(api, "claims", "withdraw", SAN_JACINTO, "--reason", REASON)
    assert again.returncode == 2 and "has no claim in force" in flat(again.stderr)
    assert "Traceback" not in again.stderr
    history = linde(api, "claims", "history", SAN_JACINTO)
    lines = history.stdout.splitlines()
    assert lines[0].startswith(f"v2 claim {v2} ") and "(withdrawn)" in lines[0]
    assert lines[1].startswith(f"v1 claim {v1} ") and "(withdrawn)" not in lines[1]
    with api.engine.connect() as conn:
        (entry,) = audit.recent(conn, entity="claim", entity_id=str(v2), action="claim.withdrawn")
    assert entry["actor"].startswith("cli")
    with api.client("planner") as http:
        assert http.get(f"/collections/claims/items/{v2}").status_code == 410


def test_a_withdrawn_claim_leaves_the_dispute_map_and_the_next_detection(metro: Database) -> None:
    zone = biggest(metro)
    assert SAN_JACINTO in [p["cvegeo"] for p in zone["parties"]]
    with metro.client("commission") as http:
        ok(withdraw(http, reason=REASON))
        with metro.client("planner") as planner:
            page = planner.get(f"/maps/disputes/{zone['id']}", params={"tiles": "false"})
        assert page.status_code == 200
        assert "Reclamado por San Jacinto Amilpas" not in decoded(page.text)
        # the zone stays until detection runs, as after a claim is replaced; the next run
        # compares San Jacinto at its official line, where nothing overlaps any more
        assert ok(http.get(f"/disputes/{zone['id']}"))["status"] == zone["status"]
        run = ok(http.post("/detection-runs", json={"zone": "20.1.01"}), 201)
        assert zone["id"] in run["vanished"]
        assert ok(http.get(f"/disputes/{zone['id']}"))["status"] == "resolved"


@pytest.mark.postgis_only  # SQLite lets one writer in at a time: nothing runs side by side
def test_racing_withdrawals_and_claims_leave_one_consistent_series(
    api: Database, tmp_path: Path
) -> None:
    """Withdrawals and new claims for one municipality sent at the same moment, rounds of
    them: each takes the municipality's row lock in turn, so every answer is a 200, a
    201 or a 409 (never a 500), and the series has no overlap and no gap in versions."""
    two_municipalities(api, tmp_path)
    clients = [api.client("commission") for _ in range(4)]
    statuses: list[int] = []
    try:
        for _ in range(4):
            barrier = threading.Barrier(len(clients))
            answers: list[httpx.Response] = []

            def act(
                i: int,
                barrier: threading.Barrier = barrier,
                answers: list[httpx.Response] = answers,
            ) -> None:
                barrier.wait()
                answer = (
                    withdraw(clients[i], reason=REASON)
                    if i % 2
                    else file_claim(clients[i], LINES[0])
                )
                answers.append(answer)

            threads = [threading.Thread(target=act, args=(i,)) for i in range(len(clients))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for answer in answers:
                assert answer.status_code in (200, 201, 409), answer.text
            statuses += [a.status_code for a in answers]
    finally:
        for c in clients:
            c.close()
    assert 200 in statuses and 201 in statuses
    with api.engine.connect() as conn:
        rows = conn.execute(
            select(claims.c.version, claims.c.valid_from, claims.c.valid_to)
            .where(claims.c.cvegeo == SAN_JACINTO)
            .order_by(claims.c.version)
        ).all()
        withdrawn = audit.recent(conn, entity="claim", action="claim.withdrawn", limit=100)
    assert [r.version for r in rows] == list(range(1, statuses.count(201) + 1))
    assert len(withdrawn) == statuses.count(200)
    assert sum(r.valid_to is None for r in rows) <= 1
    for earlier, later in itertools.pairwise(rows):
        assert earlier.valid_to is not None and earlier.valid_to <= later.valid_from
