"""The schema comes from migrations, on both engines, and every geometry column is indexed."""

from __future__ import annotations

from sqlalchemy import text

from layers.migrate import current_revision, head_revision, upgrade
from layers.schema import metadata
from tests.conftest import Database


def geometry_tables() -> list[str]:
    return [t.name for t in metadata.sorted_tables if "geom" in t.c]


def test_upgrade_reaches_head_and_is_idempotent(db: Database) -> None:
    assert current_revision(db.engine) == head_revision()
    assert upgrade(db.engine) == head_revision()
    assert current_revision(db.engine) == head_revision()


def test_every_geometry_column_has_a_spatial_index(db: Database) -> None:
    with db.engine.connect() as conn:
        if db.kind == "postgis":
            rows = conn.execute(
                text("SELECT tablename FROM pg_indexes WHERE indexdef ILIKE '%USING gist (geom)%'")
            ).scalars()
        else:
            rows = conn.execute(
                text("SELECT f_table_name FROM geometry_columns WHERE spatial_index_enabled = 1")
            ).scalars()
        indexed = set(rows)
    assert set(geometry_tables()) <= indexed
