"""Writing many new rows at once, the fast way each engine allows.

PostgreSQL takes large batches through ``COPY`` (CSV written by Arrow, streamed while a
producer thread prepares the next batch); smaller ones, and SpatiaLite, through an
``INSERT … ON CONFLICT DO NOTHING`` per batch. Moved out of ``layers.dialects``, which
keeps only the SQL expressions that differ between the engines.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from queue import Empty, Queue
from threading import Event, Thread
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from geoalchemy2 import Geometry
from geoalchemy2.elements import WKBElement
from sqlalchemy import Connection, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from layers.schema import SRID

#: Above this many rows, PostgreSQL gets them through COPY (a temporary table) instead
#: of a multi-row INSERT; below it the temporary table costs more than it saves.
COPY_THRESHOLD = 2000


def insert_new(
    conn: Connection, tbl: Table, columns: Mapping[str, Sequence[Any]], key: str = "id"
) -> set[Any]:
    """Insert the rows whose ``key`` is not taken yet; return the keys inserted.

    Rows come as columns (name -> one value per row). Rows whose key exists (or is
    inserted meanwhile by a concurrent transaction) are skipped, never an error: this
    is the exactly-once primitive behind retried submissions. Geometry values are
    hex EWKB text (``layers.geometry_io.points_to_db``).

    PostgreSQL: ``INSERT … ON CONFLICT DO NOTHING RETURNING``; large batches are
    written as CSV by Arrow and streamed with ``COPY`` (several times faster than
    INSERT for 100,000 rows). SQLite: ``INSERT … ON CONFLICT DO NOTHING RETURNING``.
    """
    names = list(columns)
    count = len(columns[key])
    if not count:
        return set()
    if conn.dialect.name == "postgresql" and count >= COPY_THRESHOLD:
        return _copy_new(conn, tbl, columns, key)
    spatial = {c for c in names if isinstance(tbl.c[c].type, Geometry)}
    values = [
        [WKBElement(v, srid=SRID, extended=True) for v in columns[c]]
        if c in spatial
        else columns[c]
        for c in names
    ]
    rows = [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]
    if conn.dialect.name == "postgresql":
        stmt: Any = pg_insert(tbl).on_conflict_do_nothing(index_elements=[key])
    else:
        stmt = sqlite_insert(tbl).on_conflict_do_nothing(index_elements=[key])
    result = conn.execute(stmt.returning(tbl.c[key]), rows)
    return set(result.scalars().all())


def _copy_new(
    conn: Connection, tbl: Table, columns: Mapping[str, Sequence[Any]], key: str
) -> set[Any]:
    """COPY straight into the table under a savepoint; if a key turns out to be taken
    (a concurrent writer got there first), go round through a temporary table and
    ``INSERT … ON CONFLICT DO NOTHING``. Callers pass keys they found free, so the
    fast path is the usual one."""
    payload = _csv(tbl, columns)
    names = ", ".join(f'"{c}"' for c in columns)
    savepoint = conn.begin_nested()
    try:
        _copy(conn, tbl.name, names, payload)
    except psycopg.errors.UniqueViolation:
        savepoint.rollback()
    else:
        savepoint.commit()
        return set(columns[key])
    staging = f"linde_staging_{tbl.name}"
    conn.exec_driver_sql(
        f'CREATE TEMP TABLE IF NOT EXISTS "{staging}" '
        f'(LIKE "{tbl.name}" INCLUDING DEFAULTS) ON COMMIT DROP'
    )
    conn.exec_driver_sql(f'TRUNCATE "{staging}"')
    _copy(conn, staging, names, payload)
    inserted = conn.exec_driver_sql(
        f'INSERT INTO "{tbl.name}" ({names}) SELECT {names} FROM "{staging}" '
        f'ON CONFLICT ("{key}") DO NOTHING RETURNING "{key}"'
    )
    return {r[0] for r in inserted}


def insert_new_batches(
    conn: Connection,
    tbl: Table,
    batches: Iterator[Mapping[str, Sequence[Any]]],
    *,
    total: int,
    key: str = "id",
    done: Callable[[int], None] | None = None,
) -> set[Any]:
    """``insert_new`` for rows produced batch by batch; returns the keys inserted.

    On PostgreSQL, when ``total`` reaches ``COPY_THRESHOLD``, a worker thread produces
    the batches (and their CSV) while this thread streams them through one ``COPY``:
    the database's work (indexes, WAL) runs beside the client's, not after it. The
    batches must not use ``conn``. ``done(n)`` is called as rows reach the database.
    """
    if not (conn.dialect.name == "postgresql" and total >= COPY_THRESHOLD):
        inserted: set[Any] = set()
        for columns in batches:
            inserted |= insert_new(conn, tbl, columns, key)
            if done is not None:
                done(len(columns[key]))
        return inserted
    queue: Queue[tuple[str, bytes, list[Any]] | BaseException | None] = Queue(maxsize=2)

    stop = Event()  # set when the consumer gives up: the producer ends instead of blocking

    def produce() -> None:
        try:
            for columns in batches:
                if stop.is_set():
                    return
                names = ", ".join(f'"{c}"' for c in columns)
                queue.put((names, _csv(tbl, columns), list(columns[key])))
            queue.put(None)
        except BaseException as exc:  # handed to the consuming thread, which raises it
            queue.put(exc)

    def abandon() -> None:
        stop.set()
        while worker.is_alive():  # unblock a put() waiting for room
            with suppress(Empty):
                queue.get(timeout=0.1)

    worker = Thread(target=produce, name="linde-copy-producer", daemon=True)
    worker.start()
    sent: list[tuple[str, bytes, list[Any]]] = []
    finished = False  # the producer's end-of-batches mark has been taken

    def take() -> tuple[str, bytes, list[Any]] | None:
        nonlocal finished
        if finished:
            return None
        item = queue.get()
        if isinstance(item, BaseException):
            raise item
        if item is None:
            finished = True
        else:
            sent.append(item)
        return item

    try:
        first = take()
    except BaseException:
        abandon()
        raise
    if first is None:
        return set()
    dbapi = conn.connection.driver_connection
    assert dbapi is not None
    savepoint = conn.begin_nested()
    try:
        with (
            dbapi.cursor() as cur,
            cur.copy(f'COPY "{tbl.name}" ({first[0]}) FROM STDIN (FORMAT csv)') as copy,
        ):
            item: tuple[str, bytes, list[Any]] | None = first
            while item is not None:
                payload = item[1]
                for start in range(0, len(payload), 1 << 20):
                    copy.write(payload[start : start + (1 << 20)])
                if done is not None:
                    done(len(item[2]))
                item = take()
    except psycopg.errors.UniqueViolation:
        savepoint.rollback()
    except BaseException:
        abandon()
        raise
    else:
        savepoint.commit()
        worker.join()
        return {k for _, _, keys in sent for k in keys}
    # a concurrent writer took some keys: the slow path, for everything sent so far and after
    try:
        while take() is not None:
            pass
    except BaseException:
        abandon()
        raise
    worker.join()
    names = sent[0][0]
    staging = f"linde_staging_{tbl.name}"
    conn.exec_driver_sql(
        f'CREATE TEMP TABLE IF NOT EXISTS "{staging}" '
        f'(LIKE "{tbl.name}" INCLUDING DEFAULTS) ON COMMIT DROP'
    )
    conn.exec_driver_sql(f'TRUNCATE "{staging}"')
    for _, payload, _ in sent:
        _copy(conn, staging, names, payload)
    result = conn.exec_driver_sql(
        f'INSERT INTO "{tbl.name}" ({names}) SELECT {names} FROM "{staging}" '
        f'ON CONFLICT ("{key}") DO NOTHING RETURNING "{key}"'
    )
    return {r[0] for r in result}


def _csv(tbl: Table, columns: Mapping[str, Sequence[Any]]) -> bytes:
    """The rows as CSV for ``COPY … (FORMAT csv)``, written by Arrow (C++).

    Arrow writes NULL as an unquoted empty field and an empty string as ``""``, which
    is exactly how PostgreSQL's CSV format tells them apart.
    """
    arrays = {}
    for name, values in columns.items():
        first = next((v for v in values if v is not None), None)
        if isinstance(first, datetime):
            if all(v is first for v in values):  # one moment repeated (``created_at``)
                arrays[name] = pa.array([_utc_text([first])[0].as_py()] * len(values))
            else:
                arrays[name] = _utc_text(values)
        else:
            arrays[name] = pa.array(values)
    sink = io.BytesIO()
    pa_csv.write_csv(pa.table(arrays), sink, pa_csv.WriteOptions(include_header=False))
    return sink.getvalue()


def _utc_text(values: Sequence[datetime | None]) -> pa.Array:
    """Datetimes as text PostgreSQL reads as ``timestamptz``: "2024-03-05 16:30:00.000000Z".

    Arrow's CSV writer formats timestamps far more slowly than it casts them, and
    casts a zoned timestamp (or takes datetime objects) far more slowly than a plain
    one: so microseconds since 1970 (UTC) as a plain timestamp, cast to text, plus "Z".
    A naive datetime is taken as UTC (as Arrow takes it).
    """
    naive = pa.array(_micros(values), type=pa.int64()).cast(pa.timestamp("us"))
    return pc.binary_join_element_wise(naive.cast(pa.string()), "Z", "")


def _micros(values: Sequence[datetime | None]) -> list[int | None]:
    """Datetimes as microseconds since 1970 (UTC; naive taken as UTC), each object once."""
    seen: dict[int, int] = {}
    out: list[int | None] = []
    for value in values:
        if value is None:
            out.append(None)
            continue
        micros = seen.get(id(value))
        if micros is None:
            delta = (value if value.tzinfo else value.replace(tzinfo=UTC)) - _EPOCH
            micros = seen[id(value)] = (
                delta.days * 86_400_000_000 + delta.seconds * 1_000_000 + delta.microseconds
            )
        out.append(micros)
    return out


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _copy(conn: Connection, table_name: str, names: str, payload: bytes) -> None:
    dbapi = conn.connection.driver_connection
    assert dbapi is not None
    with (
        dbapi.cursor() as cur,
        cur.copy(f'COPY "{table_name}" ({names}) FROM STDIN (FORMAT csv)') as copy,
    ):
        for start in range(0, len(payload), 1 << 20):
            copy.write(payload[start : start + (1 << 20)])
