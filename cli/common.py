"""What every ``linde`` command shares: consoles, the actor, errors, a migrated engine."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.text import Text

from geo.errors import LindeError

if TYPE_CHECKING:
    from sqlalchemy import Engine

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


def ready_engine() -> Engine:
    """The configured engine with its schema at the newest migration."""
    # imported here: SQLAlchemy, GeoAlchemy2 and Alembic are most of a start-up, and
    # `linde --help` or a refused argument needs none of them
    from layers import migrate
    from layers.engine import make_engine

    try:
        engine = make_engine()
        migrate.upgrade(engine)
    except LindeError as exc:
        fail(exc)
    return engine
