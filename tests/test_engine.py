"""Connections: reads without a transaction on PostgreSQL, dead pooled connections replaced."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import select, text

from layers import engine as engine_module
from layers.engine import make_engine, read_connection
from layers.schema import municipalities
from layers.settings import Settings
from tests.conftest import PG_ADMIN, Database


def test_read_connection_reads_on_both_engines(db: Database) -> None:
    with read_connection(db.engine) as conn:
        assert conn.execute(select(municipalities.c.cvegeo)).all() == []
        one = conn.exec_driver_sql("SELECT 1").scalar_one()
    assert one == 1


# PostgreSQL only, visibly: SQLite has no server round trips to save or connections to lose.
@pytest.mark.postgis_only
def test_read_connection_opens_no_transaction_on_postgis(db: Database) -> None:
    with read_connection(db.engine) as conn:
        conn.execute(text("SELECT 1"))
        raw = conn.connection.dbapi_connection
        assert raw is not None
        assert raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


@pytest.mark.postgis_only
def test_a_connection_killed_while_idle_is_replaced(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(db.url, Settings(database_url=db.url))
    try:
        with engine.connect() as conn:
            killed = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with psycopg.connect(PG_ADMIN.replace("+psycopg", ""), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (killed,))
        # Pretend the pooled connection has been idle long enough to be pinged.
        monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 0.0)
        with engine.connect() as conn:
            alive = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        assert alive != killed
    finally:
        engine.dispose()
