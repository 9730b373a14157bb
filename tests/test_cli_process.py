"""The ``linde`` command as a real process: a few smoke tests of what running in this
process (``tests/helpers.py``: ``run_linde``) cannot show, its start and its imports.
Every other command-line test runs in process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Database
from tests.helpers import flat

REPO = Path(__file__).resolve().parents[1]
#: what `linde --help` must not pay for: the database stack, the data stack, the maps
HEAVY = {
    "alembic",
    "folium",
    "geoalchemy2",
    "geopandas",
    "numpy",
    "pandas",
    "psycopg",
    "pyogrio",
    "pyproj",
    "shapely",
    "sqlalchemy",
}

pytestmark = pytest.mark.subprocess


def linde_process(
    url: str, *args: str, python: tuple[str, ...] = (), stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """``python [python] -m cli.main ARGS`` in a fresh process using the database at ``url``,
    ``stdin`` as its standard input (never the terminal's: nothing may wait for a prompt)."""
    env = {**os.environ, "LINDE_DATABASE_URL": url, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, *python, "-m", "cli.main", *args],
        cwd=REPO,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


def test_help_starts_without_the_heavy_modules(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'never-opened.sqlite'}"
    done = linde_process(url, "--help", python=("-X", "importtime"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "import" in done.stdout and "disputes" in done.stdout
    imported = {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "typer" in imported  # the report was read
    assert sorted(HEAVY & imported) == []
    assert not (tmp_path / "never-opened.sqlite").exists()


#: what `linde serve` does not import until a request needs it: the maps and the files
SERVER_LATER = ("folium", "branca", "geopandas", "pandas", "pypdf", "pyogrio")


def test_the_server_starts_without_the_map_and_file_stack() -> None:
    """A start (and a restart after a crash) paid 1.1 s for these in every process; the
    first map, dossier, import or GeoPackage asked for imports them."""
    probe = (
        "import sys, api.app; "
        f"print(' '.join(m for m in {SERVER_LATER!r} if m in sys.modules) or 'none')"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "none"


def test_tiles_help_names_every_collection_and_the_real_tile_limit(tmp_path: Path) -> None:
    """``cli/tiles.py`` writes these out so that its help needs no SQLAlchemy: keep them true."""
    from layers.collections import COLLECTIONS
    from layers.mbtiles import MAX_TILES_DEFAULT

    url = f"sqlite:///{tmp_path / 'never-opened.sqlite'}"
    done = linde_process(url, "tiles", "export", "--help")
    assert done.returncode == 0, done.stderr[-2000:]
    shown = flat(done.stdout)
    assert [c for c in COLLECTIONS if c not in shown] == []
    assert f"(default {MAX_TILES_DEFAULT:,})" in shown


def test_a_user_is_made_and_listed_by_the_real_command(db: Database) -> None:
    made = linde_process(
        db.url,
        "users",
        "add",
        "ana",
        "--role",
        "planner",
        "--password-stdin",
        stdin="una contraseña larga\n",
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().startswith("linde_") and len(made.stdout.split()) == 1
    assert "ana (planner) created; sign in at /entrar" in flat(made.stderr)
    listed = linde_process(db.url, "users", "list")
    # name, role, scope: no municipality given, so the whole state
    assert listed.returncode == 0 and listed.stdout.split() == ["ana", "planner", "state"]


def test_an_unknown_database_exits_2_without_a_traceback() -> None:
    done = linde_process("mysql://nobody@127.0.0.1/linde", "db", "status")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "LINDE_DATABASE_URL" in flat(done.stderr)
