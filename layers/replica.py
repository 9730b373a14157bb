"""Where a read goes when a PostgreSQL read replica is configured.

Writes always go to the primary. Reads go to the replica unless the reader has just
written: then the write's position in the primary's WAL (its LSN, from
:func:`primary_lsn` right after the write) comes back with the read, and the
replica takes the read only once it has replayed up to that position
(:func:`replica_has_replayed`); until then the primary does. Nothing is remembered
on the server, so any worker on any machine routes the same way.
"""

from __future__ import annotations

import re
from typing import Any

from psycopg_pool import AsyncConnectionPool

#: what ``pg_lsn`` looks like (``16/B374D848``); anything else is ignored, never sent
LSN = re.compile(r"^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$")


def valid_lsn(value: str | None) -> str | None:
    """``value`` when it is a well-formed WAL position, else ``None``."""
    return value if value is not None and LSN.match(value) else None


async def primary_lsn(pool: AsyncConnectionPool[Any]) -> str:
    """The primary's current WAL write position: every commit made so far is before it."""
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT pg_current_wal_lsn()::text")
        row = await cursor.fetchone()
    return str(row[0]) if row else "0/0"


async def replica_has_replayed(pool: AsyncConnectionPool[Any], lsn: str) -> bool:
    """Whether the replica has replayed the primary's WAL up to ``lsn`` (False when it
    cannot say: not a replica, or paused before it)."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT coalesce(pg_last_wal_replay_lsn() >= %s::pg_lsn, false)", (lsn,)
        )
        row = await cursor.fetchone()
    return bool(row and row[0])
