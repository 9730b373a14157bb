"""Layer change counters: one row per published layer, bumped by triggers on every
insert, update or delete of the tables behind it.

The OGC API reads them to build ``ETag``s and to key its response cache, so a
change made by any process (another worker, the CLI, plain SQL) is seen at once.
PostgreSQL bumps once per statement; SQLite has only row triggers, which is cheap
there (the counter row is updated in place).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# table -> the layer whose counter it bumps
TRACKED = {
    "municipalities": "municipalities",
    "metro_zones": "metro_zones",
    "metro_zone_members": "metro_zones",
    "claims": "claims",
    "rivers": "rivers",
    "inspections": "inspections",
}


def upgrade() -> None:
    op.create_table(
        "layer_versions",
        sa.Column("layer", sa.String(64), primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
    )
    layers = sorted(set(TRACKED.values()))
    op.bulk_insert(
        sa.table("layer_versions", sa.column("layer"), sa.column("version")),
        [{"layer": name, "version": 0} for name in layers],
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(
            """
            CREATE FUNCTION linde_bump_layer() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              UPDATE layer_versions SET version = version + 1 WHERE layer = TG_ARGV[0];
              RETURN NULL;
            END $$
            """
        )
    for table, layer in TRACKED.items():
        if postgres:
            op.execute(
                f"CREATE TRIGGER {table}_layer_version AFTER INSERT OR UPDATE OR DELETE "
                f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION linde_bump_layer('{layer}')"
            )
            continue
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_layer_version_{event.lower()} AFTER {event} ON {table} "
                f"BEGIN UPDATE layer_versions SET version = version + 1 "
                f"WHERE layer = '{layer}'; END"
            )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in TRACKED:
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_layer_version ON {table}")
        else:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_layer_version_{event}")
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS linde_bump_layer()")
    op.drop_table("layer_versions")
