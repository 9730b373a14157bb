"""A change counter for localities, so what shows them can tell when they changed.

The disputed zone's map draws the localities inside the zone (with their population),
and a drawn map is kept while the layers it read are unchanged (``api.routes.maps``).
Localities were the one table a map reads with no counter in ``layer_versions``. The
same triggers as 0002: once per statement on PostgreSQL, per row on SQLite.

Revision ID: 0012_localities_version
Revises: 0011_tile_bands_mercator
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_localities_version"
down_revision = "0011_tile_bands_mercator"
branch_labels = None
depends_on = None

TABLE = LAYER = "localities"


def upgrade() -> None:
    op.bulk_insert(
        sa.table("layer_versions", sa.column("layer"), sa.column("version")),
        [{"layer": LAYER, "version": 0}],
    )
    if op.get_bind().dialect.name == "postgresql":
        # linde_bump_layer() is 0002's
        op.execute(
            f"CREATE TRIGGER {TABLE}_layer_version AFTER INSERT OR UPDATE OR DELETE "
            f"OR TRUNCATE ON {TABLE} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION linde_bump_layer('{LAYER}')"
        )
        return
    for event in ("INSERT", "UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {TABLE}_layer_version_{event.lower()} AFTER {event} ON {TABLE} "
            f"BEGIN UPDATE layer_versions SET version = version + 1 "
            f"WHERE layer = '{LAYER}'; END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_layer_version ON {TABLE}")
    else:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_layer_version_{event}")
    op.execute(f"DELETE FROM layer_versions WHERE layer = '{LAYER}'")
