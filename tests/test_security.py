"""Tokens that expire and are revoked over the API, failed sign-ins rate-limited, CORS
closed unless configured, security headers on pages; over HTTP on both engines."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from layers.schema import api_tokens, users
from layers.users import add_user
from tests.conftest import Database
from tests.helpers import ManualClock, flat, linde


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_an_expired_token_is_refused_with_the_reason(api: Database, serve: Any) -> None:
    """The token works until its moment, and not after, even though the worker has
    just seen it (its memory of tokens never outlives their expiry). The server's
    clock is moved by hand: no sleeping until the moment comes."""
    clock = ManualClock()
    base = serve(api, token_cache_seconds=5, clock=clock)
    _user, token = add_user(api.engine, "eva", "planner", actor="test", days=30)
    expires = clock.now() + timedelta(seconds=2)
    with api.engine.begin() as conn:
        conn.execute(
            update(api_tokens)
            .where(api_tokens.c.user_id == users.c.id, users.c.name == "eva")
            .values(expires_at=expires)
        )
    with httpx.Client(base_url=base, headers=_bearer(token)) as client:
        assert client.get("/me").status_code == 200
        clock.advance(1.9)
        assert client.get("/me").status_code == 200, "not yet expired"
        clock.advance(0.2)  # past its moment, well within the 5 s the worker remembers
        for path in ("/me", "/collections/inspections/items", "/collections/municipalities"):
            expired = client.get(path)
            assert expired.status_code == 401, path
            assert "expired on" in expired.json()["error"]["message"]
            assert expired.headers["WWW-Authenticate"] == "Bearer"


def test_admin_issues_and_revokes_tokens_over_the_api(api: Database) -> None:
    admin = api.client("admin")
    made = admin.post("/users", json={"name": "luis", "role": "inspector", "days": 7})
    assert made.status_code == 201 and made.json()["valid_days"] == 7
    first = made.json()["token"]
    second = admin.post("/users/luis/tokens", json={"days": 0})
    assert second.status_code == 201 and second.json()["valid_days"] == 0
    for token in (first, second.json()["token"]):
        assert httpx.get(f"{api.base_url}/me", headers=_bearer(token)).json()["name"] == "luis"

    # only an admin may
    assert api.client("commission").post("/users/luis/tokens").status_code == 403
    assert api.client("commission").delete("/users/luis/tokens").status_code == 403
    assert admin.post("/users/nadie/tokens").status_code == 404
    assert admin.post("/users/luis/tokens", json={"days": 99999}).status_code == 422

    revoked = admin.delete("/users/luis/tokens")
    assert revoked.json() == {"name": "luis", "revoked": 2}
    for token in (first, second.json()["token"]):
        gone = httpx.get(f"{api.base_url}/me", headers=_bearer(token))
        assert gone.status_code == 401
        assert "unknown or revoked" in gone.json()["error"]["message"]
    actions = [e["action"] for e in admin.get("/audit", params={"entity": "user"}).json()]
    assert {"token.created", "token.revoked"} <= set(actions)


def test_failed_sign_ins_are_rate_limited_per_address(db: Database, serve: Any) -> None:
    base = serve(db, failed_signins_per_minute=5)
    _user, good = add_user(db.engine, "ana", "planner", actor="test")
    with httpx.Client(base_url=base) as client:
        for _ in range(5):
            assert client.get("/me", headers=_bearer("linde_guess")).status_code == 401
        blocked = client.get("/me", headers=_bearer("linde_guess"))
        assert blocked.status_code == 429
        assert 1 <= int(blocked.headers["Retry-After"]) <= 60
        assert "5 per minute" in blocked.json()["error"]["message"]
        # while blocked, a right token still passes: guesses cannot lock anyone out
        # (issue 17 item 5: 30 wrong tokens used to lock out a valid admin token)
        assert client.get("/me", headers=_bearer(good)).status_code == 200
        assert client.get("/me", headers=_bearer("linde_guess")).status_code == 429
        # reading without a token is not a sign-in
        assert client.get("/collections/municipalities").status_code == 200


def test_right_tokens_are_never_counted(db: Database, serve: Any) -> None:
    base = serve(db, failed_signins_per_minute=3)
    _user, good = add_user(db.engine, "ana", "planner", actor="test")
    with httpx.Client(base_url=base, headers=_bearer(good)) as client:
        for _ in range(20):
            assert client.get("/me").status_code == 200


def test_cors_is_closed_by_default(api: Database) -> None:
    origin = {"Origin": "https://elsewhere.example"}
    got = httpx.get(f"{api.base_url}/collections", headers=origin)
    assert got.status_code == 200 and "access-control-allow-origin" not in got.headers
    preflight = httpx.options(
        f"{api.base_url}/inspections",
        headers={
            **origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_admits_only_the_configured_origins(db: Database, serve: Any) -> None:
    base = serve(db, cors_origins=["https://sig.oaxaca.example"])
    allowed = httpx.options(
        f"{base}/inspections",
        headers={
            "Origin": "https://sig.oaxaca.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, idempotency-key",
        },
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://sig.oaxaca.example"
    got = httpx.get(f"{base}/collections", headers={"Origin": "https://sig.oaxaca.example"})
    assert "ETag" in got.headers["access-control-expose-headers"]
    other = httpx.get(f"{base}/collections", headers={"Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize(
    ("path", "page"),
    [
        ("/mapas", True),
        ("/collections/municipalities/items?f=html", True),
        ("/collections", False),
        ("/health", False),
        ("/docs", True),  # its assets are Linde's own now: policed like every page
        ("/redoc", True),
    ],
)
def test_security_headers(api: Database, path: str, page: bool) -> None:
    got = httpx.get(f"{api.base_url}{path}")
    assert got.status_code == 200, got.text
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    if page:
        policy = got.headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'self'" in policy
        assert got.headers["X-Frame-Options"] == "SAMEORIGIN"
    else:
        assert "Content-Security-Policy" not in got.headers


def test_cli_token_validity(db: Database) -> None:
    made = linde(db, "users", "add", "rosa", "--role", "planner", "--days", "0")
    assert made.returncode == 0, made.stderr
    assert "never expires" in flat(made.stderr)
    again = linde(db, "users", "token", "rosa", "--days", "30")
    assert again.returncode == 0 and "valid 30 days" in flat(again.stderr)
    assert again.stdout.strip().startswith("linde_")
    bad = linde(db, "users", "token", "rosa", "--days", "5000")
    assert bad.returncode == 2 and "days" in flat(bad.stderr).lower()


def test_a_client_hanging_up_mid_body_is_not_an_error(
    api: Database, caplog: pytest.LogCaptureFixture
) -> None:
    import socket
    from urllib.parse import urlparse

    where = urlparse(api.base_url)
    caplog.set_level(logging.INFO, logger="linde.api")
    with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
        sock.sendall(
            b"POST /inspections HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {api.tokens['inspector']}\r\n".encode()
            + b'Content-Length: 5000\r\n\r\n{"type": "Feature", '
        )
    deadline = time.monotonic() + 60  # waits for the log line, returns as it comes
    while time.monotonic() < deadline and not any(
        "went away" in r.getMessage() for r in caplog.records
    ):
        time.sleep(0.05)
    assert any("client went away" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert httpx.get(f"{api.base_url}/health").status_code == 200
