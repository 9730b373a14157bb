"""What a database failure means for the caller, told apart in one place per backend.

A driver's exception text is for the server log; the caller gets one of these:

* ``database_unavailable`` (503, retry): PostgreSQL cannot be reached or refused the
  connection, or a connection broke mid-request. The pool replaces broken
  connections by itself, so Linde recovers when the server is back.
* ``database_busy`` (503, retry): every pooled connection is in use for longer than
  ``LINDE_DATABASE_TIMEOUT_SECONDS``, or a SpatiaLite write waited
  ``LINDE_SQLITE_BUSY_SECONDS`` for another writer (a long import).
* ``database_damaged`` (503): the SpatiaLite file is not a database or its pages are
  corrupt; it must be restored from a backup.
* ``storage_full`` (507 over HTTP; one line in the CLI): the disk or the database is
  full; nothing of the failed statement was written.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg
import psycopg.errors
import psycopg_pool
from sqlalchemy import Engine, exc, text

from geo.errors import LindeError, ServiceUnavailable

#: What a caller told "unavailable" or "busy" is asked to wait, in seconds.
RETRY_AFTER_S = 5
RESTORE_HINT = (
    "restore it from the newest backup with `linde restore BACKUP.tar.gz` (see the README, "
    "Backups), keeping the damaged file aside for inspection"
)


class StorageFull(LindeError):
    """The disk (or the database's own size limit) is full; the statement wrote nothing."""

    code = "storage_full"


def _sqlite_errors() -> tuple[type[Exception], ...]:
    kinds: list[type[Exception]] = [sqlite3.DatabaseError]
    try:
        import sqlean

        kinds.append(sqlean.DatabaseError)
    except ImportError:  # pragma: no cover - sqlean is a dependency
        pass
    return tuple(kinds)


SQLITE_ERRORS = _sqlite_errors()


def damaged(where: str) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"The SpatiaLite database {where} is damaged (not a database, or corrupt pages); "
        f"Linde cannot read it. {RESTORE_HINT}.",
        retry_after=60,
        code="database_damaged",
    )


def explain(error: BaseException) -> LindeError | None:
    """The error to give the caller for a database failure; ``None`` when it is not one
    of those above (then it is a defect, answered 500 and logged)."""
    if isinstance(error, exc.TimeoutError | psycopg_pool.PoolTimeout):
        return ServiceUnavailable(
            f"Linde's database connections are all in use; try again in {RETRY_AFTER_S} s",
            retry_after=RETRY_AFTER_S,
            code="database_busy",
        )
    original: Any = error.orig if isinstance(error, exc.DBAPIError) else error
    if isinstance(original, psycopg.errors.DiskFull):
        return StorageFull("the database server's disk is full; nothing was written")
    if isinstance(original, psycopg.errors.QueryCanceled | psycopg.errors.LockNotAvailable):
        return ServiceUnavailable(
            f"the database took too long (a lock or a time limit); try again in {RETRY_AFTER_S} s",
            retry_after=RETRY_AFTER_S,
            code="database_busy",
        )
    if isinstance(original, psycopg.OperationalError | psycopg.InterfaceError):
        return ServiceUnavailable(
            f"Linde cannot reach its database just now; try again in {RETRY_AFTER_S} s",
            retry_after=RETRY_AFTER_S,
            code="database_unavailable",
        )
    if isinstance(original, SQLITE_ERRORS):
        message = str(original).lower()
        if "locked" in message or "busy" in message:
            return ServiceUnavailable(
                "another write (an import?) holds the SpatiaLite database; this one waited "
                f"and was not made. Try again in {RETRY_AFTER_S} s",
                retry_after=RETRY_AFTER_S,
                code="database_busy",
            )
        if "malformed" in message or "not a database" in message:
            return damaged("file")
        if "disk is full" in message:
            return StorageFull("the disk holding the SpatiaLite file is full; nothing was written")
        if "disk i/o error" in message:
            return StorageFull(
                "writing the SpatiaLite file failed (is its disk full, or failing?); nothing "
                "of the failed work was written"
            )
    if isinstance(original, OSError) and original.errno == 28:  # ENOSPC
        return StorageFull("the disk is full; nothing was written")
    return None


def check_integrity(engine: Engine) -> None:
    """Raise ``database_damaged`` when a SpatiaLite file fails SQLite's quick check.

    The quick check reads every page (about a second per few hundred MB), so it is
    for start-up and for ``/health`` at intervals, not for every request. PostgreSQL
    checks its own pages; there this does nothing.
    """
    if engine.dialect.name != "sqlite":
        return
    try:
        with engine.connect() as conn:
            result = [row[0] for row in conn.execute(text("PRAGMA quick_check(1)"))]
    except exc.DBAPIError as error:
        raise damaged(str(engine.url.database)) from error
    if result != ["ok"]:
        raise damaged(str(engine.url.database))
