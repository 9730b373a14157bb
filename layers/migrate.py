"""Bringing a database's schema to the newest migration, on PostGIS or SpatiaLite."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

_MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant will do; it only has to be the same for every Linde process.
_PG_MIGRATION_LOCK = 0x4C494E4445


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest migration shipped with this code (read from disk once per process)."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> str:
    """Apply every pending migration and return the revision now in force.

    Safe to call from several processes at once: on PostgreSQL they queue on an
    advisory lock; on SQLite the write transaction serialises them. A database
    already at head is left untouched.
    """
    if current_revision(engine) == head_revision():
        return head_revision()
    config = _config()
    with engine.execution_options(linde_write=True).connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            conn.commit()
        try:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            conn.commit()
            # rows from before migration 0004 (or written by plain SQL) get their annotations
            from layers.inspections.annotate import refresh

            refresh(conn, unannotated=True)
            conn.commit()
        finally:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
                conn.commit()
    return head_revision()
