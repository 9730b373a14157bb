"""What every ``linde`` command shares: consoles, the actor, errors, a migrated engine."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.text import Text
from sqlalchemy import Engine, exc

from geo.errors import LindeError
from layers import failures, migrate
from layers.engine import make_engine

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


_DB_FAILURES: tuple[type[Exception], ...] = (
    exc.DBAPIError,
    exc.TimeoutError,
    *failures.SQLITE_ERRORS,
)


@contextmanager
def database_failures() -> Iterator[None]:
    """Turn a database failure, or a full disk, into the LindeError to print."""
    try:
        yield
    except _DB_FAILURES as error:
        raise _one_line(error) from None
    except OSError as error:
        explained = failures.explain(error)
        if explained is None:
            raise
        raise explained from None


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
