"""Linde behind PgBouncer in transaction mode, which the test starts on a free port.

Debian 12's PgBouncer is 1.18: it does not track prepared statements (1.21's
``max_prepared_statements``), so consecutive transactions of one client may run on
different server connections and a statement prepared on one is missing, or already
there, on the next. ``LINDE_DATABASE_PREPARED_STATEMENTS=false`` makes psycopg
prepare nothing; everything else works as on a direct connection.
"""

from __future__ import annotations

import httpx
import psycopg
import pytest

from layers.collections import counters
from layers.engine import make_engine, read_connection
from layers.settings import Settings
from layers.users import add_user
from tests.conftest import Database
from tests.pgservers import pgbouncer


def _two_clients_on_one_server_connection(url: str, settings: Settings) -> None:
    """Two pooled connections of one engine run the same prepared-by-default statement
    while the bouncer has a single server connection for both."""
    engine = make_engine(url, settings)
    try:
        with read_connection(engine) as first, read_connection(engine) as second:
            for _ in range(3):
                assert counters(first)
                assert counters(second)
    finally:
        engine.dispose()


@pytest.mark.postgis_only
@pytest.mark.subprocess  # a PgBouncer process of its own
def test_prepared_statements_break_behind_a_transaction_bouncer(db: Database) -> None:
    """The defect the setting exists for: proves the bouncer really is in transaction mode."""
    with (
        pgbouncer(db.url, pool_size=1) as url,
        pytest.raises(psycopg.errors.DuplicatePreparedStatement),
    ):
        _two_clients_on_one_server_connection(url, Settings(database_url=url))


@pytest.mark.postgis_only
@pytest.mark.subprocess  # a PgBouncer process of its own
def test_without_prepared_statements_reads_work_behind_the_bouncer(db: Database) -> None:
    with pgbouncer(db.url, pool_size=1) as url:
        settings = Settings(database_url=url, database_prepared_statements=False)
        _two_clients_on_one_server_connection(url, settings)


@pytest.mark.postgis_only
@pytest.mark.subprocess  # a PgBouncer process of its own
def test_the_api_reads_and_writes_through_the_bouncer(db: Database, serve: object) -> None:
    _user, admin = add_user(db.engine, "admin-user", "admin", actor="test")
    with pgbouncer(db.url, pool_size=2) as url:
        behind = Database("postgis", url, db.engine)
        base = serve(behind, database_prepared_statements=False)  # type: ignore[operator]
        headers = {"Authorization": f"Bearer {admin}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            # more than psycopg's prepare threshold (5) of each statement
            for _ in range(8):
                page = client.get("/collections/municipalities/items", params={"limit": 5})
                assert page.status_code == 200, page.text
                assert client.get("/lookup", params={"lon": -96.72, "lat": 17.06}).status_code in (
                    200,
                    404,
                )
            made = client.post("/users", json={"name": "planner-behind", "role": "planner"})
            assert made.status_code == 201, made.text
            listed = client.get("/users")
            assert listed.status_code == 200
            assert "planner-behind" in {u["name"] for u in listed.json()}
