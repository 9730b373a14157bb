"""What every ``linde`` command shares: consoles, the actor, errors, a migrated engine."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from rich.text import Text

from geo.errors import LindeError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from api.settings import AppSettings

# soft_wrap: a message is one line however narrow the terminal, so it can be grepped
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def fail(error: LindeError) -> NoReturn:
    # Text, not markup: messages hold brackets such as "[lon, lat]".
    err.print(Text.assemble(("error", "bold red"), f" ({error.code}): {error.message}"))
    raise typer.Exit(code=2)


def ready_engine(*, check_file: bool = False) -> Engine:
    """The configured engine with its schema at the newest migration.

    ``check_file``: also read every page of a SpatiaLite file (``linde serve``), so a
    damaged file is told at start, not by the first request that reaches a bad page.
    """
    # imported here: SQLAlchemy, GeoAlchemy2 and Alembic are most of a start-up, and
    # `linde --help` or a refused argument needs none of them
    from layers import failures, migrate
    from layers.engine import make_engine

    try:
        with database_failures():
            engine = make_engine()
            migrate.upgrade(engine)
            if check_file:
                failures.check_integrity(engine)
    except LindeError as error:
        fail(error)
    return engine


def _one_line(error: BaseException) -> LindeError:
    """A database or disk failure as one line that never holds the statement's values
    (SQLAlchemy's own text lists the parameters: row values of the file imported)."""
    from layers import failures

    explained = failures.explain(error)
    if explained is not None:
        return explained
    original: Any = getattr(error, "orig", None) or error
    state = getattr(getattr(original, "diag", None), "sqlstate", None)
    # SQLite's messages name tables and columns, never values; PostgreSQL's may quote
    # a value, so only its SQLSTATE is shown.
    said = (
        f": {str(original).strip().splitlines()[0]}"
        if isinstance(original, failures.SQLITE_ERRORS) and str(original).strip()
        else ""
    )
    return LindeError(
        f"the database refused the work ({type(original).__name__}{said}"
        f"{', SQLSTATE ' + state if state else ''}); nothing of it was written"
    )


@contextmanager
def database_failures() -> Iterator[None]:
    """Turn a database failure, or a full disk, into the LindeError to print."""
    try:
        yield
    except Exception as error:
        explained = _explained(error)
        if explained is None:
            raise
        raise explained from None


def _explained(error: Exception) -> LindeError | None:
    # imported only once something failed: a command that needs no database starts
    # without SQLAlchemy
    from sqlalchemy import exc

    from layers import failures

    if isinstance(error, (exc.DBAPIError, exc.TimeoutError, *failures.SQLITE_ERRORS)):
        return _one_line(error)
    if isinstance(error, OSError):
        return failures.explain(error)
    return None


class LindeTyper(typer.Typer):
    """A Typer app whose commands end with one clear line, never a traceback, when the
    database fails or the disk is full."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            with database_failures():
                return super().__call__(*args, **kwargs)
        except LindeError as error:
            err.print(Text.assemble(("error", "bold red"), f" ({error.code}): {error.message}"))
            sys.exit(2)


def workers_notes(engine: str, workers: int, settings: AppSettings) -> list[str]:
    """What ``linde serve --workers N`` guarantees on this engine and configuration,
    as lines for the operator; none for one worker."""
    if workers <= 1:
        return []
    notes = [
        f"{workers} worker processes: cached responses and ETags follow the database's "
        "change counters, so every worker serves what was last written; a token revoked on "
        f"one worker stops on the others within LINDE_TOKEN_CACHE_SECONDS "
        f"({settings.token_cache_seconds:g} s)."
    ]
    if engine == "spatialite":
        notes.append(
            "SpatiaLite: the workers share one file; reads run side by side, writes take "
            f"turns on its write lock (waiting up to {settings.sqlite_busy_seconds:g} s). "
            "For many writers use PostGIS."
        )
    if settings.redis_url:
        notes.append("Rate limits: shared by every worker in Redis (LINDE_REDIS_URL).")
    else:
        notes.append(
            f"warning: rate limits are kept per worker, so a client gets up to {workers}x each "
            "limit; set LINDE_REDIS_URL=redis://host:6379/0 to share them."
        )
    return notes
