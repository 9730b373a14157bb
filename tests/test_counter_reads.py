"""Change counters shared by the requests waiting for them at once (PostGIS): one
statement answers all of them, and none is answered by a read older than itself."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from layers.collections import SharedCounterReads
from layers.engine import AsyncReader, write_connection
from tests.conftest import Database

ON_POSTGIS = pytest.mark.postgis_only


def _bump(database: Database) -> None:
    with write_connection(database.engine) as conn:
        conn.execute(text("UPDATE layer_versions SET version = version + 1 WHERE layer = 'rivers'"))


@ON_POSTGIS
def test_requests_at_once_share_one_read_and_none_is_stale(db: Database) -> None:
    async def scenario() -> None:
        reader = AsyncReader.for_engine(db.engine)
        assert reader is not None
        await reader.open()
        try:
            shared = SharedCounterReads(reader, db.engine)
            together = await asyncio.gather(*(shared.read() for _ in range(16)))
            assert shared.reads == 1
            assert all(rows == together[0] for rows in together)
            before = dict(together[0])["rivers"]
            # a write committed before a request began is seen by that request
            _bump(db)
            after = dict(await shared.read())["rivers"]
            assert after == before + 1 and shared.reads == 2
            # a request arriving while a read is in flight waits for the next read
            first = asyncio.ensure_future(shared.read())
            await asyncio.sleep(0)  # the first read is sent
            await asyncio.sleep(0)
            _bump(db)
            second = await shared.read()
            assert dict(second)["rivers"] == after + 1
            await first
            assert shared.reads == 4  # the second did not join the first
        finally:
            await reader.close()

    asyncio.run(scenario())
