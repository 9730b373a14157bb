"""What every ``linde`` command shares: consoles, the actor, errors, a migrated engine."""

from __future__ import annotations

import getpass
from typing import NoReturn

import typer
from rich.console import Console
from rich.text import Text
from sqlalchemy import Engine

from geo.errors import LindeError
from layers import migrate
from layers.engine import make_engine
from layers.settings import Settings

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
    try:
        engine = make_engine()
        migrate.upgrade(engine)
    except LindeError as exc:
        fail(exc)
    return engine


def workers_notes(engine: str, workers: int, settings: Settings) -> list[str]:
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
            "turns on its write lock (waiting up to 30 s). For many writers use PostGIS."
        )
    if settings.redis_url:
        notes.append("Rate limits: shared by every worker in Redis (LINDE_REDIS_URL).")
    else:
        notes.append(
            f"warning: rate limits are kept per worker, so a client gets up to {workers}x each "
            "limit; set LINDE_REDIS_URL=redis://host:6379/0 to share them."
        )
    return notes
