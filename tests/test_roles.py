"""Who may call what, over real HTTP, on both engines.

Read routes are checked against the shared ``oaxaca`` database (never written to);
anything that writes runs against ``api``, an empty database cleaned before each test.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from geo.roles import Role
from layers.importers.municipalities import import_municipalities
from layers.users import revoke_tokens
from tests.conftest import Database
from tests.geometries import CLAIM_SHAPE, claim_body, square, tiny_municipalities
from tests.helpers import ManualClock

ROLES = [r.value for r in Role]  # the ladder, lowest first

# A point in the middle of the tiny "20157" square (tests/geometries.py: tiny_municipalities).
LON, LAT = -96.7266, 17.0654

BOW_TIE = {
    "type": "Polygon",
    "coordinates": [
        [[-96.74, 17.05], [-96.71, 17.08], [-96.71, 17.05], [-96.74, 17.08], [-96.74, 17.05]]
    ],
}
SWAPPED = {
    "type": "Polygon",
    "coordinates": [[[lat, lon] for lon, lat in CLAIM_SHAPE["coordinates"][0]]],
}


def anonymous(database: Database, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=database.base_url, headers=headers, timeout=30)


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is ``status`` with the one error shape and ``code``; returns the error."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "description", "error"}, body
    error: dict[str, Any] = body["error"]
    assert (body["code"], body["description"]) == (error["code"], error["message"]), body
    assert set(error) == {"code", "message", "details"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["details"], list), error
    return error


def claim_count(database: Database, cvegeo: str | None = None) -> int:
    params = {"cvegeo": cvegeo} if cvegeo else {}
    with database.client("planner") as http:
        r = http.get("/claims", params=params)
    assert r.status_code == 200, r.text
    return len(r.json()["features"])


# --- public routes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/health",
        "/",
        "/collections",
        "/collections/municipalities/items",
        "/collections/municipalities/items/20157",
        "/collections/metro_zones/items",
        "/collections/rivers/items",
    ],
)
def test_public_routes_answer_anonymously(oaxaca: Database, path: str) -> None:
    with anonymous(oaxaca) as http:
        r = http.get(path)
    assert r.status_code == 200, r.text
    assert "WWW-Authenticate" not in r.headers


def test_health_names_the_engine(oaxaca: Database) -> None:
    with anonymous(oaxaca) as http:
        body = http.get("/health").json()
    assert body["status"] == "ok"
    assert body["engine"] == oaxaca.kind


def test_public_collections_hold_features(oaxaca: Database) -> None:
    with anonymous(oaxaca) as http:
        for name in ("municipalities", "metro_zones", "rivers"):
            body = http.get(f"/collections/{name}/items").json()
            assert body["type"] == "FeatureCollection", name
            assert body["numberReturned"] == len(body["features"]) > 0, name
        municipality = http.get("/collections/municipalities/items/20157").json()
    assert municipality["type"] == "Feature"
    assert municipality["id"] == "20157"
    assert municipality["properties"]["cvegeo"] == "20157"
    assert municipality["geometry"]["type"] == "MultiPolygon"


# --- protected routes: who may call them ---------------------------------------------------

# (method, path, JSON body, the lowest role admitted)
READ_ROUTES: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("GET", f"/lookup?lon={LON}&lat={LAT}", None, "planner"),
    ("GET", "/me", None, "planner"),
    ("GET", "/claims", None, "planner"),
    ("GET", "/claims/1", None, "planner"),
    ("GET", "/users", None, "admin"),
    ("GET", "/audit", None, "admin"),
]
WRITE_ROUTES: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("POST", "/claims", claim_body(CLAIM_SHAPE), "commission"),
    ("POST", "/users", {"name": "nueva", "role": "planner"}, "admin"),
]


def route_id(route: tuple[str, str, dict[str, Any] | None, str]) -> str:
    return f"{route[0]} {route[1].split('?')[0]}"


def check_route_roles(
    database: Database, method: str, path: str, body: dict[str, Any] | None, minimum: str
) -> None:
    """Anonymous and unknown tokens get 401, roles below ``minimum`` 403, ``minimum`` gets in."""
    refused = {
        "no token": {},
        "unknown token": {"Authorization": "Bearer linde_not-a-real-token"},
        "empty token": {"Authorization": "Bearer"},
        # (HTTP Basic is a way in now: tests/test_signin.py checks its refusals)
        "other scheme": {"Authorization": "Digest username=admin"},
    }
    for why, headers in refused.items():
        with anonymous(database) as http:
            r = http.request(method, path, json=body, headers=headers)
        assert_error(r, 401, "unauthenticated")
        assert r.headers.get("WWW-Authenticate") == "Bearer", (why, r.headers)

    for role in ROLES[: ROLES.index(minimum)]:
        with database.client(role) as http:
            r = http.request(method, path, json=body)
        error = assert_error(r, 403, "forbidden")
        assert minimum in error["message"], error
        assert "WWW-Authenticate" not in r.headers

    for role in ROLES[ROLES.index(minimum) :]:
        with database.client(role) as http:
            r = http.request(method, path, json=body)
        assert r.status_code not in (401, 403), (role, r.text)
        assert r.status_code < 500, (role, r.text)


@pytest.mark.parametrize(
    ("method", "path", "body", "minimum"), READ_ROUTES, ids=[route_id(r) for r in READ_ROUTES]
)
def test_read_route_roles(
    oaxaca: Database, method: str, path: str, body: dict[str, Any] | None, minimum: str
) -> None:
    check_route_roles(oaxaca, method, path, body, minimum)


@pytest.mark.parametrize(
    ("method", "path", "body", "minimum"), WRITE_ROUTES, ids=[route_id(r) for r in WRITE_ROUTES]
)
def test_write_route_roles(
    api: Database, method: str, path: str, body: dict[str, Any] | None, minimum: str
) -> None:
    check_route_roles(api, method, path, body, minimum)


def test_me_names_the_caller(oaxaca: Database) -> None:
    for role in ROLES:
        with oaxaca.client(role) as http:
            r = http.get("/me")
        assert r.status_code == 200, r.text
        assert r.json() == {"name": f"{role}-user", "role": role, "cvegeo": None}


def test_revoked_token_is_refused(api: Database, serve: Any) -> None:
    """Revoked in the database by another process (the CLI), with the token memory off."""
    base = serve(api, token_cache_seconds=0)
    planner = {"Authorization": f"Bearer {api.tokens['planner']}"}
    with httpx.Client(base_url=base) as http:
        assert http.get("/me", headers=planner).status_code == 200
        assert revoke_tokens(api.engine, "planner-user", actor="test") == 1
        r = http.get("/me", headers=planner)
        assert_error(r, 401, "unauthenticated")
        assert r.headers.get("WWW-Authenticate") == "Bearer"
        inspector = {"Authorization": f"Bearer {api.tokens['inspector']}"}
        assert http.get("/me", headers=inspector).status_code == 200  # others keep theirs


def test_a_token_revoked_elsewhere_stops_within_the_token_memory(api: Database, serve: Any) -> None:
    """A worker remembers a token for token_cache_seconds: revoked by another process,
    it works until then and never after (over the API it stops at once: test_security).
    The server's clock is moved by hand, so the test is the same on a slow machine."""
    clock = ManualClock()
    base = serve(api, token_cache_seconds=5, clock=clock)
    planner = {"Authorization": f"Bearer {api.tokens['planner']}"}
    with httpx.Client(base_url=base) as http:
        assert http.get("/me", headers=planner).status_code == 200
        assert revoke_tokens(api.engine, "planner-user", actor="test") == 1
        assert http.get("/me", headers=planner).status_code == 200, "remembered"
        clock.advance(4.9)
        assert http.get("/me", headers=planner).status_code == 200, "still remembered"
        clock.advance(0.2)
        assert_error(http.get("/me", headers=planner), 401, "unauthenticated")


# --- users ---------------------------------------------------------------------------------


def test_admin_creates_a_user_whose_token_works(api: Database) -> None:
    with api.client("admin") as http:
        r = http.post("/users", json={"name": "ana.lopez", "role": "inspector"})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["name"] == "ana.lopez"
    assert created["role"] == "inspector"
    assert created["token"].startswith("linde_")

    with anonymous(api, token=created["token"]) as http:
        me = http.get("/me")
        assert me.status_code == 200, me.text
        assert me.json() == {"name": "ana.lopez", "role": "inspector", "cvegeo": None}
        assert_error(http.post("/claims", json=claim_body(CLAIM_SHAPE)), 403, "forbidden")

    with api.client("admin") as http:
        names = {u["name"]: u["role"] for u in http.get("/users").json()}
    assert names["ana.lopez"] == "inspector"


def test_duplicate_user_is_409(api: Database) -> None:
    with api.client("admin") as http:
        assert http.post("/users", json={"name": "beto", "role": "planner"}).status_code == 201
        r = http.post("/users", json={"name": "beto", "role": "admin"})
        error = assert_error(r, 409, "conflict")
        assert "beto" in error["message"]
        users = {u["name"]: u["role"] for u in http.get("/users").json()}
    assert users["beto"] == "planner"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "carla", "role": "boss"}, "role"),
        ({"name": "carla"}, "role"),
        ({"name": "carla perez", "role": "planner"}, "name"),
        ({"name": "", "role": "planner"}, "name"),
    ],
)
def test_bad_user_is_422_naming_the_field(api: Database, body: dict[str, Any], field: str) -> None:
    with api.client("admin") as http:
        before = len(http.get("/users").json())
        r = http.post("/users", json=body)
        error = assert_error(r, 422, "invalid_input")
        assert any(d["field"] == field for d in error["details"]), error
        assert len(http.get("/users").json()) == before


# --- claims --------------------------------------------------------------------------------


@pytest.fixture
def with_municipalities(api: Database, tmp_path: Path) -> Database:
    """``api`` holding two tiny municipalities, 20157 and 20067."""
    summary = import_municipalities(
        api.engine, tiny_municipalities(tmp_path / "municipios.geojson"), actor="test"
    )
    assert summary.created == 2
    return api


def test_commission_records_a_claim(with_municipalities: Database) -> None:
    api = with_municipalities
    with api.client("commission") as http:
        r = http.post("/claims", json=claim_body(CLAIM_SHAPE))
    assert r.status_code == 201, r.text
    claim = r.json()
    assert claim["type"] == "Feature"
    props = claim["properties"]
    assert props["cvegeo"] == "20157"
    assert props["version"] == 1
    assert props["valid_to"] is None
    assert props["recorded_by"] == "commission-user"
    assert props["source"] == "decree"
    assert claim["geometry"]["type"] == "MultiPolygon"

    with api.client("planner") as http:
        listed = http.get("/claims", params={"cvegeo": "20157"}).json()["features"]
        assert [f["id"] for f in listed] == [claim["id"]]
        assert http.get("/claims", params={"cvegeo": "20067"}).json()["features"] == []
        one = http.get(f"/claims/{claim['id']}")
        assert one.status_code == 200, one.text
        assert one.json()["properties"]["cvegeo"] == "20157"
        assert_error(http.get(f"/claims/{claim['id'] + 1000}"), 404, "not_found")

        found = http.get("/lookup", params={"lon": LON, "lat": LAT})
        assert found.status_code == 200, found.text
        body = found.json()
        assert body["municipality"]["cvegeo"] == "20157"
        assert [c["id"] for c in body["claims"]] == [claim["id"]]
        # The same moment, UTC, on both engines (the lookup reads it back through JSON).
        in_force = datetime.fromisoformat(body["claims"][0]["valid_from"])
        assert in_force == datetime.fromisoformat(props["valid_from"])
        assert in_force.utcoffset() == timedelta(0)
        # A point in 20157 but outside the claimed square has no claim.
        outside = http.get("/lookup", params={"lon": -96.745, "lat": 17.045}).json()
        assert outside["municipality"]["cvegeo"] == "20157"
        assert outside["claims"] == []


def test_second_claim_is_version_2_and_closes_version_1(with_municipalities: Database) -> None:
    api = with_municipalities
    with api.client("commission") as http:
        first = http.post("/claims", json=claim_body(CLAIM_SHAPE))
        assert first.status_code == 201, first.text
        second = http.post("/claims", json=claim_body(square(-96.745, 17.045, -96.705, 17.085)))
        assert second.status_code == 201, second.text
    assert second.json()["properties"]["version"] == 2

    with api.client("planner") as http:
        listed = http.get("/claims", params={"cvegeo": "20157"}).json()["features"]
        found = http.get("/lookup", params={"lon": LON, "lat": LAT}).json()
    assert [f["properties"]["version"] for f in listed] == [2, 1]
    v2, v1 = (f["properties"] for f in listed)
    assert v1["id"] == first.json()["id"] and v2["id"] == second.json()["id"]
    assert v2["valid_to"] is None
    assert v1["valid_to"] is not None
    assert v1["valid_to"] == v2["valid_from"]
    assert [c["id"] for c in found["claims"]] == [v2["id"]]  # only the claim in force


@pytest.mark.parametrize(
    ("body", "status", "code", "words"),
    [
        (claim_body(BOW_TIE), 422, "invalid_geometry", "Self-intersection"),
        (claim_body(SWAPPED), 422, "invalid_geometry", "swapped"),
        (
            claim_body({"type": "Point", "coordinates": [LON, LAT]}),
            422,
            "invalid_geometry",
            "Point",
        ),
        (claim_body({"type": "Polygon"}), 422, "invalid_geometry", "geometry"),
        (claim_body(CLAIM_SHAPE, cvegeo="20001"), 404, "not_found", "20001"),
        (claim_body(CLAIM_SHAPE, cvegeo="2015"), 422, "invalid_input", "cvegeo"),
        ({**claim_body(CLAIM_SHAPE), "source": "rumour"}, 422, "invalid_input", "source"),
    ],
    ids=["bow-tie", "swapped", "point", "no-coordinates", "unknown-cvegeo", "bad-key", "source"],
)
def test_refused_claim_writes_nothing(
    with_municipalities: Database, body: dict[str, Any], status: int, code: str, words: str
) -> None:
    api = with_municipalities
    with api.client("commission") as http:
        assert http.post("/claims", json=claim_body(CLAIM_SHAPE)).status_code == 201
    before = claim_count(api)
    with api.client("admin") as http:
        audit_before = len(http.get("/audit", params={"entity": "claim"}).json())
    with api.client("commission") as http:
        r = http.post("/claims", json=body)
    error = assert_error(r, status, code)
    assert words in error["message"], error
    assert claim_count(api) == before == 1
    with api.client("admin") as http:
        assert len(http.get("/audit", params={"entity": "claim"}).json()) == audit_before


@pytest.mark.parametrize("role", ["planner", "inspector"])
def test_claim_by_a_lower_role_writes_nothing(with_municipalities: Database, role: str) -> None:
    api = with_municipalities
    with api.client(role) as http:
        assert_error(http.post("/claims", json=claim_body(CLAIM_SHAPE)), 403, "forbidden")
    assert claim_count(api) == 0


# --- audit ---------------------------------------------------------------------------------


def test_audit_records_user_and_claim_with_the_actor(with_municipalities: Database) -> None:
    api = with_municipalities
    with api.client("admin") as http:
        assert http.post("/users", json={"name": "dora", "role": "commission"}).status_code == 201
    with api.client("commission") as http:
        claim = http.post("/claims", json=claim_body(CLAIM_SHAPE)).json()
    with api.client("admin") as http:
        r = http.get("/audit")
        assert r.status_code == 200, r.text
        entries = r.json()
        claims_only = http.get("/audit", params={"entity": "claim"}).json()

    def entry(action: str, entity_id: str) -> dict[str, Any]:
        matches = [e for e in entries if e["action"] == action and e["entity_id"] == entity_id]
        assert len(matches) == 1, (action, entity_id, entries)
        return matches[0]

    user = entry("user.created", "dora")
    assert user["actor"] == "admin-user"
    assert user["entity"] == "user"
    assert user["details"]["role"] == "commission"
    # a token made over the API lasts LINDE_TOKEN_DAYS (365) unless asked otherwise
    expires = datetime.fromisoformat(user["details"]["token_expires_at"])
    assert timedelta(days=364) < expires - datetime.now(UTC) <= timedelta(days=365)

    recorded = entry("claim.created", str(claim["id"]))
    assert recorded["actor"] == "commission-user"
    assert recorded["details"]["cvegeo"] == "20157"
    assert recorded["details"]["version"] == 1

    assert [e["action"] for e in claims_only] == ["claim.created"]
    assert entries[0]["id"] > entries[-1]["id"]  # newest first


# --- claim validity times ------------------------------------------------------------------


def instant(value: str) -> datetime:
    """A timestamp from the API as an aware datetime; naive ones are UTC by convention."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@pytest.fixture
def local_timezone(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Set the process's local time zone (the test server runs in this process)."""

    def set_zone(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield set_zone
    monkeypatch.undo()
    time.tzset()


def test_valid_from_keeps_its_utc_offset(with_municipalities: Database) -> None:
    api = with_municipalities
    with api.client("commission") as http:
        body = {**claim_body(CLAIM_SHAPE), "valid_from": "2020-01-01T00:00:00-06:00"}
        r = http.post("/claims", json=body)
    assert r.status_code == 201, r.text
    assert instant(r.json()["properties"]["valid_from"]) == datetime(2020, 1, 1, 6, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "shift", "status"),
    [
        # West of UTC (Oaxaca's own zone): a later claim must be accepted.
        ("America/Mexico_City", timedelta(minutes=1), 201),
        # East of UTC: a claim starting before the one in force must be refused.
        ("Asia/Tokyo", -timedelta(hours=1), 422),
    ],
    ids=["later-in-mexico-city", "earlier-in-tokyo"],
)
def test_new_claim_order_does_not_depend_on_the_server_time_zone(
    with_municipalities: Database,
    local_timezone: Callable[[str], None],
    zone: str,
    shift: timedelta,
    status: int,
) -> None:
    api = with_municipalities
    local_timezone(zone)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    with api.client("commission") as http:
        first = {**claim_body(CLAIM_SHAPE), "valid_from": start.isoformat()}
        assert http.post("/claims", json=first).status_code == 201
        second = {**claim_body(CLAIM_SHAPE), "valid_from": (start + shift).isoformat()}
        r = http.post("/claims", json=second)
    assert r.status_code == status, r.text
    assert claim_count(api) == (2 if status == 201 else 1)
