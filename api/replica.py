"""Reads to the read replica (``LINDE_READ_DATABASE_URL``), except right after a write.

A pure ASGI middleware, installed only when a replica is configured:

* a request that may write (any method but GET, HEAD, OPTIONS) runs on the primary;
  when it succeeds, its answer carries the primary's WAL position after it, as the
  header ``Linde-Read-After`` and a cookie of the same value that lives
  ``READ_AFTER_S`` seconds;
* a read without that position goes to the replica;
* a read with it (cookie, or the header sent back by a script) goes to the replica
  only if the replica has replayed up to it, else to the primary. So an editor always
  sees what they just saved, however far the replica lags.

Routes ask :func:`api.deps.read_target` for the engine (and event-loop reader) of
their reads; without a replica that is always the primary's.
"""

from __future__ import annotations

from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from sqlalchemy import Engine
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from layers.engine import AsyncReader
from layers.replica import primary_lsn, replica_has_replayed, valid_lsn

COOKIE = "linde_read_after"
HEADER = "linde-read-after"
#: How long after a write its author's reads wait for the replica to pass it. A replica
#: lagging more than this behind is a fault to alert on, not a state to route around.
READ_AFTER_S = 300
_READS = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class ReadTarget:
    """The database a request's reads go to, and its event-loop readers (PostgreSQL):
    ``reader`` for short reads, ``pages`` for features (``layers.queries.rendered``)."""

    engine: Engine
    reader: AsyncReader | None
    pages: AsyncReader | None = None


class ReadReplica:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        primary = ReadTarget(state.engine, state.async_reader, state.page_reader)
        replica = ReadTarget(state.read_engine, state.read_async_reader, state.read_page_reader)
        if scope["method"] in _READS:
            after = valid_lsn(_header(scope, HEADER.encode()) or _cookie(scope))
            caught_up = after is None or await _replayed(replica.reader, after)
            scope.setdefault("state", {})["linde_read_target"] = replica if caught_up else primary
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})["linde_read_target"] = primary

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                lsn = await primary_lsn(state.async_reader.pool)
                headers = MutableHeaders(scope=message)
                headers.append("Linde-Read-After", lsn)
                headers.append(
                    "Set-Cookie",
                    f"{COOKIE}={lsn}; Max-Age={READ_AFTER_S}; Path=/; HttpOnly; SameSite=Lax",
                )
            await send(message)

        await self.app(scope, receive, stamped)


async def _replayed(reader: AsyncReader | None, lsn: str) -> bool:
    if reader is None:
        return False
    try:
        return await replica_has_replayed(reader.pool, lsn)
    except Exception:  # a replica that cannot answer sends the read to the primary
        return False


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope["headers"]:
        if name == wanted:
            return bytes(value).decode("latin-1").strip()
    return None


def _cookie(scope: Scope) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:
        return None
    morsel: Any = jar.get(COOKIE)
    return morsel.value if morsel is not None else None
