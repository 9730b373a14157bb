"""Creating engines for PostGIS and SpatiaLite.

This module and ``layers/dialects.py`` are the only places that know the two
backends differ. Everything else asks for an engine and uses SQLAlchemy Core.
"""

from __future__ import annotations

import sqlite3
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import psycopg
from psycopg.adapt import Loader
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Connection, Engine, Select, create_engine, event, exc
from sqlalchemy.engine import Dialect, make_url

from geo.errors import InvalidInput
from layers.cql2.backend import register_sqlite_functions
from layers.settings import Settings, get_settings

T = TypeVar("T")


def _sqlite_module() -> ModuleType:
    """The stdlib sqlite3 when it can load extensions, else sqlean (a drop-in that can)."""
    if hasattr(sqlite3.Connection, "enable_load_extension"):
        return sqlite3
    import sqlean

    return sqlean


def engine_name(engine: Engine) -> str:
    """``"postgis"`` or ``"spatialite"``."""
    return "postgis" if engine.dialect.name == "postgresql" else "spatialite"


#: Connections each process keeps (and may open beyond that) per engine. The pool keeps
#: as many as requests may hold at once (see ``api.app``): a connection closed on return
#: and opened again for the next request costs PostgreSQL a new backend each time, which
#: under 16 concurrent requests was most of the work of an uncached response.
POOL_SIZE = 16
MAX_OVERFLOW = 4
POOL_CAPACITY = POOL_SIZE + MAX_OVERFLOW
#: A pooled PostgreSQL connection idle longer than this is pinged before it is handed out.
PING_AFTER_IDLE_S = 10.0
#: Connections each process keeps for reads on the event loop (``AsyncReader``). One
#: statement of ``/lookup`` takes well under a millisecond, and the one loop of a
#: process sends them one at a time, so a few are as good as many.
ASYNC_READ_CONNECTIONS = 4
#: Their pool's name, and their ``application_name`` in ``pg_stat_activity``.
ASYNC_READS_NAME = "linde-async-reads"
#: Connections each process keeps for vector tiles read on the event loop, apart from
#: the counters' (a tile's statement takes milliseconds; behind four of them the change
#: counters every request reads would wait). Tiles no longer take the engine's pool.
TILE_READ_CONNECTIONS = 8
TILE_READS_NAME = "linde-tile-reads"
#: Connections each process keeps for feature pages and single features read on the
#: event loop (``layers.queries.rendered``): a page's statement takes milliseconds, and
#: behind them the counters' short reads would wait, as behind tiles.
FEATURE_READ_CONNECTIONS = 8
FEATURE_READS_NAME = "linde-feature-reads"


def make_engine(url: str | None = None, settings: Settings | None = None) -> Engine:
    """An engine for ``url`` (or the configured/default database).

    PostgreSQL URLs are given the psycopg 3 driver; with
    ``database_prepared_statements`` off (PgBouncer in transaction mode before 1.21)
    psycopg prepares nothing, not even a :class:`DriverStatement`. SQLite URLs get SpatiaLite
    loaded and initialised on every connection, foreign keys on, WAL journal and
    a busy timeout so several processes can share the file; the folder of the
    file is created if missing.

    Raises:
        InvalidInput: for a URL of another kind of database.
    """
    settings = settings or get_settings()
    raw = url or settings.resolved_database_url()
    parsed = make_url(raw)
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
        # Bounded waits: an unreachable server or a full pool is a 503 within seconds
        # (layers.failures), not a request hanging for the driver's default.
        engine = create_engine(
            parsed,
            pool_size=POOL_SIZE,
            max_overflow=MAX_OVERFLOW,
            pool_timeout=settings.database_timeout_seconds,
            connect_args={
                "connect_timeout": _connect_timeout(settings),
                **driver_options(settings),
            },
        )
        _ping_idle_connections(engine)
        return engine
    if backend == "sqlite":
        return _make_spatialite_engine(
            parsed.database, settings.spatialite_library, settings.sqlite_busy_seconds
        )
    raise InvalidInput(
        f"LINDE_DATABASE_URL must start with postgresql:// or sqlite:///, not {backend}://"
    )


def _connect_timeout(settings: Settings) -> int:
    """libpq's ``connect_timeout``: whole seconds, at least 2 (its own minimum)."""
    return max(2, round(settings.database_timeout_seconds))


# open: keyword options handed to psycopg's connect through SQLAlchemy's connect_args
def driver_options(settings: Settings) -> dict[str, Any]:
    """psycopg connection options for ``settings``.

    ``prepare_threshold=None`` makes psycopg prepare nothing, explicit ``prepare=True``
    included: behind a transaction-mode bouncer without prepared-statement tracking,
    consecutive transactions of one client land on different server connections.
    """
    return {} if settings.database_prepared_statements else {"prepare_threshold": None}


def _ping_idle_connections(engine: Engine) -> None:
    """Check a pooled connection before use only when it has been idle a while.

    ``pool_pre_ping`` would ping on every checkout: one more round trip on every
    request, about a tenth of what a ``/lookup`` costs. A connection that went back
    to the pool moments ago is alive; one idle for ``PING_AFTER_IDLE_S`` may have
    been closed by a server restart or a firewall, and is pinged (and silently
    replaced when dead, so no request sees the broken one).
    """

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["linde_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("linde_idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            with dbapi_conn.cursor() as cursor:
                cursor.execute("SELECT 1")
            if not dbapi_conn.autocommit:
                dbapi_conn.rollback()
        except Exception as error:
            # The pool discards this connection and hands out a fresh one.
            raise exc.DisconnectionError(str(error)) from error


def read_connection(engine: Engine) -> Connection:
    """A connection for reading, as ``with read_connection(engine) as conn:``.

    On PostgreSQL it runs in autocommit: under READ COMMITTED every statement takes
    its own snapshot anyway, so a transaction around reads adds nothing but its
    ``BEGIN`` and ``ROLLBACK`` round trips. (Server-side cursors, which need a
    transaction, use ``engine.connect()``.) On SQLite, where a transaction costs no
    round trip, the reads of one request keep sharing one snapshot.
    """
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
    return conn


def on_read_connection(engine: Engine, work: Callable[[Connection], T]) -> T:
    """``work(conn)`` on a :func:`read_connection` of its own, closed after: for work
    sent to a worker thread, which must not share the request's connection."""
    with read_connection(engine) as conn:
        return work(conn)


def _make_spatialite_engine(database: str | None, library: str, busy_s: float) -> Engine:
    # Shapely's own GEOS must be in the process before mod_spatialite brings the
    # system's: loaded the other way round, Shapely later crashed the process
    # (a general protection fault in its libgeos_c, in `linde serve` importing
    # 100,000 points; tests/test_crashes.py). The CLI imports Shapely only when a
    # command needs it, so the engine makes sure of the order itself.
    import shapely  # noqa: F401

    if not database or database == ":memory:":
        raise InvalidInput("SpatiaLite needs a file path: sqlite:///path/to/linde.sqlite")
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        f"sqlite:///{Path(database).expanduser()}",
        module=_sqlite_module(),
        # Pooled: loading SpatiaLite costs ~5 ms per new connection, and everything a
        # connection needs (extension, pragmas) is set once in the connect hook below.
        pool_size=POOL_SIZE,
        max_overflow=MAX_OVERFLOW,
        # a writer waits busy_s for another to finish, then fails ("database is locked":
        # a 503 with Retry-After, see layers.failures)
        connect_args={"timeout": busy_s, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, open transactions (pysqlite's implicit
        # BEGIN breaks SAVEPOINT and transactional DDL).
        dbapi_conn.isolation_level = None
        dbapi_conn.enable_load_extension(True)
        dbapi_conn.load_extension(library)
        dbapi_conn.enable_load_extension(False)
        dbapi_conn.execute("PRAGMA foreign_keys = ON")
        register_sqlite_functions(dbapi_conn)  # CASEI and ACCENTI of filters
        dbapi_conn.execute(f"PRAGMA busy_timeout = {int(busy_s * 1000)}")
        if dbapi_conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            dbapi_conn.execute("PRAGMA journal_mode = WAL")
        if dbapi_conn.execute("SELECT CheckSpatialMetaData()").fetchone()[0] < 1:
            # All EPSG definitions, so Transform() knows EPSG:6372; in one transaction (fast).
            dbapi_conn.execute("SELECT InitSpatialMetaData(1)")

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # A write transaction takes the lock up front (IMMEDIATE), so two writers
        # queue on the busy timeout instead of one failing with "database is
        # locked" halfway through; reads stay DEFERRED and run beside a writer (WAL).
        writing = conn.get_execution_options().get("linde_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

    return engine


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """``with write_connection(engine) as conn:`` — one write transaction, committed on success.

    On SpatiaLite it takes the database's write lock at the start; on PostGIS it is a
    plain transaction. Just before the commit, the inspections' annotations follow
    whatever reference layer the transaction changed (``layers.reference_changes``).
    """
    from layers import reference_changes

    with engine.execution_options(linde_write=True).begin() as conn:
        reference_changes.begin(conn)
        try:
            yield conn
            reference_changes.flush(conn)
        finally:
            reference_changes.discard(conn)


class DriverStatement:
    """A read compiled once, for the hottest statements (``/lookup``; the layers' change
    counters behind every OGC API answer).

    On PostgreSQL the SQL and the statement's own literal values are compiled once,
    and a call binds the caller's values and runs it as a prepared statement straight
    on psycopg, either on a request's connection (:meth:`one`, :meth:`all`, in
    whatever transaction that connection is in) or on the event loop
    (:meth:`AsyncReader.one`, :meth:`AsyncReader.all`).
    SQLAlchemy's execution path (statement cache, execution context, result
    wrapping) cost about as much Python per call as the statement costs PostgreSQL.
    On SQLite it runs through SQLAlchemy as usual.

    Values still go only as bound parameters; the statement may not hold expanding
    (``IN``) parameters, which SQLAlchemy renders per call.
    """

    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        self.statement = statement
        self.on_driver = dialect.name == "postgresql" and dialect.driver == "psycopg"
        self.sql = ""
        self.fixed: dict[str, Any] = {}
        if self.on_driver:
            compiled = statement.compile(dialect=dialect)
            self.sql = str(compiled)
            if "POSTCOMPILE" in self.sql:
                raise ValueError("a DriverStatement cannot hold expanding (IN) parameters")
            self.fixed = dict(compiled.params)

    def all(self, conn: Connection, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The statement's rows for ``values``, as tuples in select order."""
        if not self.on_driver:
            return [tuple(row) for row in conn.execute(self.statement, values)]
        driver: psycopg.Connection[Any] = conn.connection.driver_connection  # type: ignore[assignment]
        with driver.cursor() as cursor:
            cursor.execute(self.sql, {**self.fixed, **values}, prepare=True)
            return cursor.fetchall()

    def one(self, conn: Connection, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """The statement's one row for ``values``, as a tuple in select order."""
        rows = self.all(conn, values)
        return _only_row(rows[0] if rows else None)


def _only_row(row: Any) -> tuple[Any, ...]:
    if row is None:
        raise exc.NoResultFound("the statement returned no row")
    return tuple(row)


class AsyncReader:
    """Reads on the event loop that do not stop it while PostgreSQL answers.

    A request's SQLAlchemy connection is synchronous: on the loop, the loop waits
    for every round trip, and with one worker nothing else runs meanwhile (under
    load, ``/lookup`` spent a third of its time so). This is psycopg's own asyncio
    pool beside the engine (``ASYNC_READ_CONNECTIONS`` per process, autocommit like
    :func:`read_connection`), for :class:`DriverStatement` reads; while one waits,
    the loop serves other requests. PostgreSQL only: SQLite has no round trip to
    wait for.

    A connection idle for ``PING_AFTER_IDLE_S`` is pinged before use and replaced
    when dead, as in the engine's pool; a read that still finds its connection
    broken (the server restarted mid-request) is tried once more on a checked pool.
    """

    def __init__(
        self,
        engine: Engine,
        settings: Settings | None = None,
        max_size: int = ASYNC_READ_CONNECTIONS,
        name: str = ASYNC_READS_NAME,
    ) -> None:
        settings = settings or get_settings()
        timeout_s = settings.database_timeout_seconds
        url = engine.url.set(drivername="postgresql")
        self.pool = AsyncConnectionPool(
            url.render_as_string(hide_password=False),
            min_size=1,
            max_size=max_size,
            open=False,
            timeout=timeout_s,
            kwargs={
                "autocommit": True,
                "application_name": name,
                # text read as bytes (``text_as_bytes``) is UTF-8 whatever the server's default
                "client_encoding": "UTF8",
                "connect_timeout": max(2, round(timeout_s)),
                **driver_options(settings),
            },
            check=self._check,
            reset=self._reset,
            name=name,
        )
        self._idle_since: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

    @staticmethod
    def for_engine(
        engine: Engine,
        settings: Settings | None = None,
        max_size: int = ASYNC_READ_CONNECTIONS,
        name: str = ASYNC_READS_NAME,
    ) -> AsyncReader | None:
        """A reader for a PostgreSQL engine; ``None`` for SQLite. The settings'
        ``database_timeout_seconds`` bounds the wait for a connection (then
        ``PoolTimeout``: a 503)."""
        if engine.dialect.name != "postgresql":
            return None
        return AsyncReader(engine, settings, max_size, name)

    async def open(self) -> None:
        await self.pool.open()

    async def close(self) -> None:
        await self.pool.close()

    async def _reset(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._idle_since[conn] = time.monotonic()

    async def _check(self, conn: psycopg.AsyncConnection[Any]) -> None:
        idle_since = self._idle_since.get(conn)
        if idle_since is not None and time.monotonic() - idle_since >= PING_AFTER_IDLE_S:
            await conn.execute("SELECT 1")  # raising makes the pool discard it

    async def one(
        self, statement: DriverStatement, values: Mapping[str, Any], *, text_as_bytes: bool = False
    ) -> tuple[Any, ...]:
        """``statement``'s one row for ``values``, read without blocking the loop.
        ``text_as_bytes``: text columns come as the UTF-8 bytes PostgreSQL sent, not
        decoded (a body written by the database goes to the socket as it came)."""
        rows = await self.all(statement, values, limit=1, text_as_bytes=text_as_bytes)
        return _only_row(rows[0] if rows else None)

    async def all(
        self,
        statement: DriverStatement,
        values: Mapping[str, Any],
        *,
        limit: int | None = None,
        text_as_bytes: bool = False,
    ) -> list[tuple[Any, ...]]:
        """``statement``'s rows for ``values`` (the first ``limit`` of them), read without
        blocking the loop; ``text_as_bytes`` as in :meth:`one`."""
        if not statement.on_driver:
            raise ValueError("an AsyncReader runs PostgreSQL DriverStatements only")
        params = {**statement.fixed, **values}
        try:
            return await self._rows(statement.sql, params, limit, text_as_bytes)
        except psycopg.OperationalError:
            await self.pool.check()  # drops every broken connection
            return await self._rows(statement.sql, params, limit, text_as_bytes)

    async def _rows(
        self, sql: str, params: dict[str, Any], limit: int | None, text_as_bytes: bool
    ) -> list[tuple[Any, ...]]:
        async with self.pool.connection() as conn:
            cursor = conn.cursor()
            if text_as_bytes:
                cursor.adapters.register_loader("text", TextAsBytes)
            await cursor.execute(sql, params, prepare=True)
            if limit is None:
                return await cursor.fetchall()
            return await cursor.fetchmany(limit)


class TextAsBytes(Loader):
    """psycopg loader of a text column as the bytes the server sent (UTF-8, the
    connection's encoding): no decoding into ``str`` and encoding back for the socket."""

    def load(self, data: Any) -> bytes:
        return bytes(data)
