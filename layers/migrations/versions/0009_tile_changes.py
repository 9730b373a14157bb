"""Where each change happened: a bounding box per change, beside the layer counters.

A vector tile's ETag used to be the whole layer's counter, so any edit anywhere made
every tile of the layer new. Now the triggers that bump a layer's counter also log
the change's bounding box (old and new geometry together) in ``layer_changes`` under
the counter value it produced; a tile's version is the last change whose box meets
it (``layers.tile_changes``). The log is in the database, like the counters, so every
worker and every process (the CLI, plain SQL) sees the same one.

* ``layer_changes(layer, version, west, south, east, north)``: lon/lat box; all four
  NULL when the change has no place (a table without geometry, such as the members
  of a metro zone or the parties of a dispute, or a TRUNCATE): the whole layer.
* ``layer_versions.changes_from``: the log of the layer is complete after this
  counter value. Older rows are pruned (the last :data:`KEEP` counter values stay);
  a tile whose last change is older reads ``changes_from`` instead, which is always
  newer than whatever it had before, so no tile keeps an ETag across a change.

The bump and the log are one trigger (per event), so the version logged is always
the one the bump made: PostgreSQL fires one per statement, with the statement's
transition tables; SQLite one per row (``MbrMinX`` … on the old and new geometry).

Revision ID: 0009_tile_changes
Revises: 0008_review
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_tile_changes"
down_revision = "0008_review"
branch_labels = None
depends_on = None

#: how many counter values of a layer the log keeps
KEEP = 1000
#: table -> (the layer whose counter it bumps, its geometry column or None)
TRACKED: dict[str, tuple[str, str | None]] = {
    "municipalities": ("municipalities", "geom"),
    "metro_zones": ("metro_zones", "geom"),
    "metro_zone_members": ("metro_zones", None),
    "claims": ("claims", "geom"),
    "rivers": ("rivers", "geom"),
    "inspections": ("inspections", "geom"),
    "disputed_zones": ("disputed_zones", "geom"),
    "disputed_zone_parties": ("disputed_zones", None),
}
_EVENTS = ("INSERT", "UPDATE", "DELETE")

_PG_FUNCTION = f"""
CREATE FUNCTION linde_layer_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v bigint;
  changed text;
BEGIN
  UPDATE layer_versions
     SET version = version + 1, changes_from = GREATEST(changes_from, version + 1 - {KEEP})
   WHERE layer = TG_ARGV[0]
  RETURNING version INTO v;
  DELETE FROM layer_changes WHERE layer = TG_ARGV[0] AND version <= v - {KEEP};
  IF TG_ARGV[1] = '' OR TG_OP = 'TRUNCATE' THEN
    INSERT INTO layer_changes (layer, version) VALUES (TG_ARGV[0], v);
    RETURN NULL;
  END IF;
  changed := CASE TG_OP
    WHEN 'INSERT' THEN 'SELECT %1$I AS g FROM linde_new'
    WHEN 'DELETE' THEN 'SELECT %1$I AS g FROM linde_old'
    ELSE 'SELECT %1$I AS g FROM linde_old UNION ALL SELECT %1$I FROM linde_new'
  END;
  -- no row changed: nothing to log (the counter still moves, no tile does)
  EXECUTE format(
    'INSERT INTO layer_changes (layer, version, west, south, east, north) '
    'SELECT $1, $2, ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) '
    'FROM (SELECT ST_Extent(g)::box3d AS e FROM (' || changed || ') AS c) AS x '
    'WHERE e IS NOT NULL', TG_ARGV[1]) USING TG_ARGV[0], v;
  RETURN NULL;
END $$
"""


def _sqlite_box(geometry: str | None, event: str) -> tuple[str, str, str, str]:
    """The lon/lat box of the changed row(s) as four SQLite expressions."""
    if geometry is None:
        return ("NULL", "NULL", "NULL", "NULL")
    rows = {"INSERT": ["NEW"], "DELETE": ["OLD"], "UPDATE": ["OLD", "NEW"]}[event]

    def part(fn: str, pick: str) -> str:
        values = [f"{fn}({row}.{geometry})" for row in rows]
        if len(values) == 1:
            return values[0]
        # SQLite's min(a, b) is NULL when either is: a geometry set or cleared counts too
        old, new = values
        return f"{pick}(coalesce({old}, {new}), coalesce({new}, {old}))"

    return (
        part("MbrMinX", "min"),
        part("MbrMinY", "min"),
        part("MbrMaxX", "max"),
        part("MbrMaxY", "max"),
    )


def _sqlite_trigger(table: str, layer: str, geometry: str | None, event: str) -> str:
    west, south, east, north = _sqlite_box(geometry, event)
    # a row whose geometry is NULL is in no tile: nothing to log for it (but the count
    # still moves); a table without geometry logs the whole layer (NULL box)
    where = "" if geometry is None else f" WHERE {west} IS NOT NULL"
    return (
        f"CREATE TRIGGER {table}_layer_version_{event.lower()} AFTER {event} ON {table} BEGIN "
        f"UPDATE layer_versions SET version = version + 1, "
        f"changes_from = max(changes_from, version + 1 - {KEEP}) WHERE layer = '{layer}'; "
        f"DELETE FROM layer_changes WHERE layer = '{layer}' AND version <= "
        f"(SELECT version FROM layer_versions WHERE layer = '{layer}') - {KEEP}; "
        f"INSERT INTO layer_changes (layer, version, west, south, east, north) "
        f"SELECT '{layer}', (SELECT version FROM layer_versions WHERE layer = '{layer}'), "
        f"{west}, {south}, {east}, {north}{where}; END"
    )


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("layer_versions") as batch:
        batch.add_column(
            sa.Column("changes_from", sa.BigInteger(), nullable=False, server_default="0")
        )
    # what happened before this migration is unknown: each layer's log starts now
    op.execute("UPDATE layer_versions SET changes_from = version")
    op.create_table(
        "layer_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("layer", sa.String(64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("west", sa.Float(), nullable=True),
        sa.Column("south", sa.Float(), nullable=True),
        sa.Column("east", sa.Float(), nullable=True),
        sa.Column("north", sa.Float(), nullable=True),
    )
    op.create_index("ix_layer_changes_layer_version", "layer_changes", ["layer", "version"])
    if postgres:
        op.execute(_PG_FUNCTION)
    for table, (layer, geometry) in TRACKED.items():
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_layer_version ON {table}")
            for event in _EVENTS:
                transition = {
                    "INSERT": "NEW TABLE AS linde_new",
                    "DELETE": "OLD TABLE AS linde_old",
                    "UPDATE": "OLD TABLE AS linde_old NEW TABLE AS linde_new",
                }[event]
                op.execute(
                    f"CREATE TRIGGER {table}_layer_change_{event.lower()} AFTER {event} "
                    f"ON {table} REFERENCING {transition} FOR EACH STATEMENT "
                    f"EXECUTE FUNCTION linde_layer_change('{layer}', '{geometry or ''}')"
                )
            op.execute(
                f"CREATE TRIGGER {table}_layer_change_truncate AFTER TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION linde_layer_change('{layer}', '')"
            )
            continue
        for event in _EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_layer_version_{event.lower()}")
            op.execute(_sqlite_trigger(table, layer, geometry, event))


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, (layer, _geometry) in TRACKED.items():
        if postgres:
            for event in (*_EVENTS, "TRUNCATE"):
                op.execute(
                    f"DROP TRIGGER IF EXISTS {table}_layer_change_{event.lower()} ON {table}"
                )
            op.execute(
                f"CREATE TRIGGER {table}_layer_version AFTER INSERT OR UPDATE OR DELETE "
                f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION linde_bump_layer('{layer}')"
            )
            continue
        for event in _EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_layer_version_{event.lower()}")
            op.execute(
                f"CREATE TRIGGER {table}_layer_version_{event.lower()} AFTER {event} ON {table} "
                f"BEGIN UPDATE layer_versions SET version = version + 1 "
                f"WHERE layer = '{layer}'; END"
            )
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS linde_layer_change()")
    op.drop_index("ix_layer_changes_layer_version", "layer_changes")
    op.drop_table("layer_changes")
    with op.batch_alter_table("layer_versions") as batch:
        batch.drop_column("changes_from")
