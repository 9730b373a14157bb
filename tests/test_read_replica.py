"""Reads on a real streaming replica, writes and read-your-writes on the primary.

The test makes its own primary and replica (``initdb``, ``pg_basebackup``) on free
ports, and makes the replica lag by pausing its replay, never by waiting.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
import uvicorn

from api.app import create_app, open_replica
from geo.errors import InvalidInput
from layers.engine import make_engine
from layers.migrate import upgrade
from layers.settings import Settings
from layers.users import add_user
from tests.conftest import free_port
from tests.pgservers import StreamingPair, streaming_pair


@contextmanager
def served(settings: Settings) -> Iterator[str]:
    """Linde over real HTTP for ``settings``; stopped before the clusters are."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                pytest.fail("the test server did not start")
            time.sleep(0.05)  # polling for start-up
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[StreamingPair, str]]:
    """A migrated primary with an admin, its replica caught up; the admin's token."""
    with streaming_pair() as made:
        engine = make_engine(made.primary_url, Settings(database_url=made.primary_url))
        try:
            upgrade(engine)
            _user, token = add_user(engine, "admin-user", "admin", actor="test")
        finally:
            engine.dispose()
        made.catch_up()
        yield made, token


def _names(client: httpx.Client) -> set[str]:
    answer = client.get("/users")
    assert answer.status_code == 200, answer.text
    return {user["name"] for user in answer.json()}


@pytest.mark.postgis_only
@pytest.mark.subprocess  # a PostgreSQL primary and replica of its own
def test_an_editor_reads_their_write_while_the_replica_lags(
    pair: tuple[StreamingPair, str],
) -> None:
    made, token = pair
    settings = Settings(database_url=made.primary_url, read_database_url=made.replica_url)
    headers = {"Authorization": f"Bearer {token}"}
    with (
        served(settings) as base,
        httpx.Client(base_url=base, headers=headers, timeout=30) as editor,
    ):
        made.pause_replay()
        try:
            created = editor.post("/users", json={"name": "planner-new", "role": "planner"})
            assert created.status_code == 201, created.text
            assert created.headers["Linde-Read-After"]
            # the editor's next reads carry the write's position: the primary answers
            assert "planner-new" in _names(editor)
            # a reader who wrote nothing is served by the lagging replica
            with httpx.Client(base_url=base, headers=headers, timeout=30) as other:
                assert "planner-new" not in _names(other)
                # a script that sends the position back as a header sees it too
                read_after = {"Linde-Read-After": created.headers["Linde-Read-After"]}
                assert "planner-new" in {
                    u["name"] for u in other.get("/users", headers=read_after).json()
                }
        finally:
            made.resume_replay()
        made.catch_up()
        # the replica has passed the editor's write: it takes the editor's reads again,
        # which shows in a row written on the primary after that write while replay is paused
        made.pause_replay()
        try:
            with psycopg.connect(made.primary_url, autocommit=True) as primary:
                primary.execute("UPDATE users SET role = 'admin' WHERE name = 'planner-new'")
            roles = {u["name"]: u["role"] for u in editor.get("/users").json()}
            assert roles["planner-new"] == "planner"
        finally:
            made.resume_replay()


@pytest.mark.postgis_only
@pytest.mark.subprocess  # a PostgreSQL primary and replica of its own
def test_writes_never_go_to_the_replica(pair: tuple[StreamingPair, str]) -> None:
    made, token = pair
    made.catch_up()
    settings = Settings(database_url=made.primary_url, read_database_url=made.replica_url)
    headers = {"Authorization": f"Bearer {token}"}
    with served(settings) as base, httpx.Client(base_url=base, headers=headers, timeout=30) as c:
        made_token = c.post("/users/admin-user/tokens", json={})
        assert made_token.status_code == 201, made_token.text
    with psycopg.connect(made.replica_url, autocommit=True) as replica:
        row = replica.execute("SELECT pg_is_in_recovery()").fetchone()
    assert row == (True,)


def test_a_replica_beside_spatialite_is_refused(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'linde.sqlite'}",
        read_database_url=f"sqlite:///{tmp_path / 'other.sqlite'}",
    )
    primary = make_engine(settings.database_url, settings)
    try:
        with pytest.raises(InvalidInput, match="LINDE_READ_DATABASE_URL"):
            asyncio.run(open_replica(settings, primary, None))
    finally:
        primary.dispose()


_RIVER = (
    "INSERT INTO rivers (key, name, source, federal_zone_width_m, content_sha256, updated_at, "
    "geom) VALUES (%s, %s, 'test', 10, repeat('0', 64), now(), "
    "ST_GeomFromText('MULTILINESTRING((-96.72 17.05, -96.70 17.07))', 4326))"
)


@pytest.mark.postgis_only
@pytest.mark.subprocess  # a PostgreSQL primary and replica of its own
def test_pages_and_items_are_read_on_the_replica_with_its_own_etag(
    pair: tuple[StreamingPair, str],
) -> None:
    """A page and a feature come from the replica, body and ETag from one snapshot of
    it (the event-loop statement reads both), while the primary is ahead."""
    made, _token = pair
    with psycopg.connect(made.primary_url, autocommit=True) as primary:
        primary.execute(_RIVER, ("atoyac-replica", "Atoyac"))
        row = primary.execute("SELECT id FROM rivers WHERE key = 'atoyac-replica'").fetchone()
    assert row is not None
    river_id = row[0]
    made.catch_up()
    settings = Settings(database_url=made.primary_url, read_database_url=made.replica_url)
    with served(settings) as base, httpx.Client(base_url=base, timeout=30) as reader:
        before = reader.get("/collections/rivers/items")
        item = reader.get(f"/collections/rivers/items/{river_id}")
        assert before.status_code == 200 and item.status_code == 200, before.text
        made.pause_replay()
        try:
            with psycopg.connect(made.primary_url, autocommit=True) as primary:
                primary.execute(_RIVER, ("salado-replica", "Salado"))
            lagging = reader.get("/collections/rivers/items")
            names = {f["properties"]["name"] for f in lagging.json()["features"]}
            assert "Salado" not in names and "Atoyac" in names
            # the replica has not changed: the same ETag, and a 304 for it
            assert lagging.headers["ETag"] == before.headers["ETag"]
            again = reader.get(
                f"/collections/rivers/items/{river_id}",
                headers={"If-None-Match": item.headers["ETag"]},
            )
            assert again.status_code == 304
        finally:
            made.resume_replay()
        made.catch_up()
        caught_up = reader.get("/collections/rivers/items")
        names = {f["properties"]["name"] for f in caught_up.json()["features"]}
        assert "Salado" in names and caught_up.headers["ETag"] != before.headers["ETag"]
