"""Every route × anonymous / expired / revoked / wrong-role / right-role token.

``ROUTES`` is the access specification: for each route, who may use it. The test
checks first that it names every operation of the OpenAPI document (a new route
must be added here, with its rule), then asks each route with each kind of caller:

* a route for a role: anonymous, expired and revoked tokens get 401, the role just
  below gets 403, the role itself gets past the door (any answer but 401/403/5xx:
  dummy ids may well be 404 and empty bodies 422);
* ``OPTIONAL`` (public, shows more to a signed-in role): anonymous passes, an
  expired or revoked token is refused with 401, never ignored;
* ``PUBLIC`` (the same for everyone): every caller passes.

Over HTTP, on both engines, with the failed sign-in limit off (this test sends
hundreds of wrong tokens on purpose; ``test_security`` covers the limit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from api.app import create_app
from layers import audit
from layers.schema import api_tokens, users
from layers.settings import Settings
from layers.users import add_user, revoke_tokens
from tests.conftest import Database

PUBLIC = "public"
OPTIONAL = "optional"
LADDER = ["planner", "inspector", "commission", "admin"]


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # the OpenAPI path
    url: str  # with dummy values in place of the path parameters
    rule: str  # PUBLIC, OPTIONAL or the lowest role admitted
    body: Any = None


#: who may read each collection (``Collection.read_role``; OPTIONAL: public layers)
COLLECTION_RULES = (
    ("municipalities", OPTIONAL),
    ("metro_zones", OPTIONAL),
    ("rivers", OPTIONAL),
    ("claims", "planner"),
    ("inspections", "planner"),
    ("disputed_zones", "planner"),
)
#: dummy values for the path parameters of the collection routes (a tile over Oaxaca)
PATH_VALUES = {
    "{feature_id}": "1",
    "{tms_id}": "WebMercatorQuad",
    "{z}": "10",
    "{y}": "462",
    "{x}": "236",
}


def _url(template: str, collection_id: str) -> str:
    url = template.replace("{collection_id}", collection_id)
    for name, value in PATH_VALUES.items():
        url = url.replace(name, value)
    return url


ZONE = "/disputes/987654"
INSPECTION = "/inspections/00000000-0000-4000-8000-000000000000"
ROUTES = [
    Route("GET", "/", "/", PUBLIC),
    Route("GET", "/conformance", "/conformance", PUBLIC),
    Route("GET", "/health", "/health", PUBLIC),
    Route("GET", "/mapas", "/mapas", PUBLIC),
    Route("GET", "/disputas", "/disputas", PUBLIC),  # the page; its list needs a token
    Route("GET", "/disputas/{zone_id}", "/disputas/987654", PUBLIC),
    Route("GET", "/inspecciones/nueva", "/inspecciones/nueva", PUBLIC),
    Route("GET", "/inspecciones/revision", "/inspecciones/revision", PUBLIC),
    Route("GET", "/inspecciones/mapa/areas", "/inspecciones/mapa/areas", "planner"),
    Route("GET", "/inspecciones/mapa/plan", "/inspecciones/mapa/plan?municipio=20067", "planner"),
    Route(
        "GET",
        "/inspecciones/mapa/teselas/{z}/{x}/{y}",
        "/inspecciones/mapa/teselas/10/236/462",
        "planner",
    ),
    # the sign-in pages answer everyone (a form, or a redirect to /entrar)
    Route("GET", "/entrar", "/entrar", PUBLIC),
    Route("POST", "/entrar", "/entrar", PUBLIC, {}),
    Route("POST", "/salir", "/salir", PUBLIC, {}),
    Route("GET", "/cuenta", "/cuenta", PUBLIC),
    Route("POST", "/cuenta/contrasena", "/cuenta/contrasena", PUBLIC, {}),
    Route("GET", "/collections", "/collections", OPTIONAL),
    # the tile matrix sets are the same grids for everyone; no token is read
    Route("GET", "/tileMatrixSets", "/tileMatrixSets", PUBLIC),
    Route("GET", "/tileMatrixSets/{tms_id}", "/tileMatrixSets/WebMercatorQuad", PUBLIC),
    # each collection's routes (api.ogc.deps.readable_collection) follow its read rule
    *[
        Route("GET", template, _url(template, cid), rule)
        for cid, rule in COLLECTION_RULES
        for template in (
            "/collections/{collection_id}",
            "/collections/{collection_id}/queryables",
            "/collections/{collection_id}/sortables",
            "/collections/{collection_id}/items",
            "/collections/{collection_id}/items/{feature_id}",
            "/collections/{collection_id}/items/{feature_id}/versions",
            "/collections/{collection_id}/tiles",
            "/collections/{collection_id}/tiles/{tms_id}",
            "/collections/{collection_id}/tiles/{tms_id}/tilejson.json",
            "/collections/{collection_id}/tiles/{tms_id}/style.json",
            "/collections/{collection_id}/tiles/{tms_id}/{z}/{y}/{x}",
        )
    ],
    # api/openapi.py also names each collection's items path for GDAL and QGIS
    *[
        Route("GET", f"/collections/{cid}/items", f"/collections/{cid}/items", rule)
        for cid, rule in COLLECTION_RULES
    ],
    Route("GET", "/maps/metro-zones/{code}", "/maps/metro-zones/99.9.99", OPTIONAL),
    Route("GET", "/maps/rivers/{river_id}", "/maps/rivers/987654", OPTIONAL),
    Route("GET", "/maps/river-choices", "/maps/river-choices?q=atoyac", PUBLIC),
    Route("POST", "/maps/logos", "/maps/logos", "planner", {}),
    Route("GET", "/maps/disputes/{zone_id}", f"/maps{ZONE}", "planner"),
    Route("GET", "/lookup", "/lookup?lon=-96.72&lat=17.06", "planner"),
    Route("GET", "/me", "/me", "planner"),
    Route("GET", "/claims", "/claims", "planner"),
    Route("GET", "/claims/{claim_id}", "/claims/987654", "planner"),
    Route("GET", "/claims/{claim_id}/diff", "/claims/987654/diff", "planner"),
    Route("POST", "/claims", "/claims", "commission", {}),
    Route("POST", "/claims/official", "/claims/official", "commission", {}),
    Route("POST", "/claims/withdrawals", "/claims/withdrawals", "commission", {}),
    Route("GET", "/detection-runs", "/detection-runs", "planner"),
    Route("GET", "/detection-runs/{run_id}", "/detection-runs/987654", "planner"),
    Route("POST", "/detection-runs", "/detection-runs", "commission", {}),
    Route("GET", "/disputes", "/disputes", "planner"),
    Route("GET", "/disputes-overview", "/disputes-overview", "planner"),
    Route("POST", "/disputes", "/disputes", "commission", {}),
    Route("GET", "/disputes/{zone_id}", ZONE, "planner"),
    Route("PATCH", "/disputes/{zone_id}", ZONE, "commission", {}),
    Route("POST", "/disputes/{zone_id}/status", f"{ZONE}/status", "commission", {}),
    Route("GET", "/disputes/{zone_id}/events", f"{ZONE}/events", "planner"),
    Route("POST", "/disputes/{zone_id}/events", f"{ZONE}/events", "commission", {}),
    Route("POST", "/disputes/{zone_id}/evidence", f"{ZONE}/evidence", "commission", {}),
    Route("GET", "/disputes/{zone_id}/evidence/{sha256}", f"{ZONE}/evidence/{'0' * 64}", "planner"),
    Route("GET", "/disputes/{zone_id}/geometries", f"{ZONE}/geometries", "planner"),
    Route("POST", "/disputes/{zone_id}/decision", f"{ZONE}/decision", "commission", {}),
    Route(
        "POST", "/disputes/{zone_id}/proposal-preview", f"{ZONE}/proposal-preview", "commission", {}
    ),
    Route("POST", "/disputes/{zone_id}/proposals", f"{ZONE}/proposals", "commission", {}),
    Route(
        "POST", "/disputes/{zone_id}/decision-preview", f"{ZONE}/decision-preview", "commission", {}
    ),
    Route("POST", "/disputes/{zone_id}/decision-plan", f"{ZONE}/decision-plan", "commission", {}),
    Route("GET", "/disputes/{zone_id}/expediente.pdf", f"{ZONE}/expediente.pdf", "planner"),
    Route("POST", "/inspections", "/inspections", "inspector", {}),
    Route("POST", "/inspections/import", "/inspections/import", "inspector", {}),
    Route("GET", "/inspections/categories", "/inspections/categories", "planner"),
    Route("POST", "/inspections/categories", "/inspections/categories", "admin", {}),
    Route("GET", "/inspections/{inspection_id}", INSPECTION, "planner"),
    Route(
        "GET",
        "/inspections/{inspection_id}/photos/{sha256}",
        f"{INSPECTION}/photos/{'0' * 64}",
        "planner",
    ),
    Route("POST", "/inspections/{inspection_id}/review", f"{INSPECTION}/review", "commission", {}),
    Route(
        "POST",
        "/inspections/{inspection_id}/follow-up",
        f"{INSPECTION}/follow-up",
        "commission",
        {},
    ),
    # the review list and exports refuse inspectors too (services.review.reader_scope)
    Route("GET", "/inspections-review", "/inspections-review", "planner"),
    Route("GET", "/inspections-review/export", "/inspections-review/export", "planner"),
    Route("POST", "/inspections-review/actions", "/inspections-review/actions", "commission", {}),
    Route("GET", "/users", "/users", "admin"),
    Route("POST", "/users", "/users", "admin", {}),
    Route("POST", "/users/{name}/tokens", "/users/nadie/tokens", "admin", {}),
    Route("DELETE", "/users/{name}/tokens", "/users/nadie/tokens", "admin"),
    Route("PATCH", "/users/{name}", "/users/nadie", "admin", {}),
    Route("PUT", "/users/{name}/password", "/users/nadie/password", "admin", {}),
    Route("GET", "/audit", "/audit", "admin"),
]


@dataclass
class Callers:
    base: str
    tokens: dict[str, str]  # role or "expired"/"revoked" -> token


@pytest.fixture
def callers(db: Database, serve: Any) -> Callers:
    base = serve(db, failed_signins_per_minute=0)
    tokens = {}
    for role in LADDER:
        _user, tokens[role] = add_user(db.engine, f"{role}-user", role, actor="test")
    _user, tokens["expired"] = add_user(db.engine, "old", "admin", actor="test", days=1)
    with db.engine.begin() as conn:
        conn.execute(
            update(api_tokens)
            .where(api_tokens.c.user_id == users.c.id, users.c.name == "old")
            .values(expires_at=audit.now() - timedelta(seconds=1))
        )
    _user, tokens["revoked"] = add_user(db.engine, "gone", "admin", actor="test")
    revoke_tokens(db.engine, "gone", actor="test")
    return Callers(base, tokens)


def test_the_specification_names_every_route() -> None:
    app = create_app(Settings(database_url="sqlite:///unused.sqlite"))
    operations = {
        (method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item
    }
    covered = {(r.method, r.template) for r in ROUTES}
    assert operations - covered == set(), "routes without an access rule in ROUTES"
    assert covered - operations == set(), "rules for routes that do not exist"


def _ask(client: httpx.Client, route: Route, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs: dict[str, Any] = {"headers": headers}
    if route.body is not None:
        kwargs["json"] = route.body
    return client.request(route.method, route.url, **kwargs).status_code


def test_every_route_admits_exactly_its_callers(callers: Callers) -> None:
    wrong: list[str] = []
    with httpx.Client(base_url=callers.base, timeout=60) as client:
        for route in ROUTES:
            expected: dict[str, str] = {}
            if route.rule == PUBLIC:
                expected = dict.fromkeys(("anonymous", "expired", "revoked"), "pass")
            elif route.rule == OPTIONAL:
                expected = {"anonymous": "pass", "expired": "401", "revoked": "401"}
            else:
                expected = {"anonymous": "401", "expired": "401", "revoked": "401"}
                rank = LADDER.index(route.rule)
                if rank > 0:
                    expected[LADDER[rank - 1]] = "403"
                expected[route.rule] = "pass"
            for caller, outcome in expected.items():
                token = None if caller == "anonymous" else callers.tokens[caller]
                status = _ask(client, route, token)
                ok = (
                    status not in (401, 403) and status < 500
                    if outcome == "pass"
                    else status == int(outcome)
                )
                if not ok:
                    wrong.append(
                        f"{route.method} {route.url} as {caller}: {status}, want {outcome}"
                    )
    assert wrong == [], "\n".join(wrong)
