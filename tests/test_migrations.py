"""The schema comes from migrations, on both engines, and every geometry column is indexed."""

from __future__ import annotations

from alembic import command
from sqlalchemy import func, inspect, select, text

from geo.tile_bands import BAND_TOPS
from layers import migrate
from layers.importers.municipalities import import_municipalities
from layers.migrate import current_revision, head_revision, upgrade
from layers.schema import metadata, tile_geometries
from tests.conftest import OAXACA, Database


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


def test_tile_bands_migration_makes_the_copies_of_stored_municipalities(db: Database) -> None:
    """0010 down and up again on a database holding municipalities: the table goes and
    comes back with a copy per municipality and band, made from the stored rows; 0011
    remakes them and, on PostgreSQL, keeps each one projected for its band's top zoom."""
    import_municipalities(db.engine, OAXACA, actor="test")
    config = migrate._config()
    with db.engine.execution_options(linde_write=True).connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0009_tile_changes")
        conn.commit()
        assert "tile_geometries" not in inspect(conn).get_table_names()
        command.upgrade(config, "0010_tile_bands")
        conn.commit()
    with db.engine.connect() as conn:
        per_band: dict[int, int] = dict(
            conn.execute(
                select(tile_geometries.c.band, func.count()).group_by(tile_geometries.c.band)
            ).all()
        )
    assert per_band == dict.fromkeys(BAND_TOPS, 26)
    assert current_revision(db.engine) == "0010_tile_bands"
    with db.engine.execution_options(linde_write=True).connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        conn.commit()
    assert current_revision(db.engine) == head_revision()
    with db.engine.connect() as conn:
        projected = conn.execute(
            text("SELECT count(*) FROM tile_geometries WHERE mercator IS NOT NULL")
        ).scalar_one()
        copies = conn.execute(text("SELECT count(*) FROM tile_geometries")).scalar_one()
    assert copies == 26 * len(BAND_TOPS)
    assert projected == (copies if db.kind == "postgis" else 0)
