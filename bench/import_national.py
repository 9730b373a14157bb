"""Benchmark: import the national municipal boundaries into PostGIS, Linde vs ogr2ogr.

Times ``linde import municipalities FILE`` (as a subprocess, the way a user runs it)
against a plain ``ogr2ogr`` load of the same file (GDAL's defaults, i.e. COPY) into
a fresh PostGIS database, and reports best and median wall-clock seconds of each.

Linde's figure is not a bare load: it includes reading the file with GDAL, the
validation of every row (geometry validity, extent within Mexico, vertex counts,
INEGI key checks), content fingerprints, the versions table and the audit trail,
all in one transaction. ogr2ogr only copies features into a table.

Usage::

    .venv/bin/python bench/import_national.py                 # 3 runs each
    .venv/bin/python bench/import_national.py --repeat 1 --keep

Connection: PGHOST (default 127.0.0.1), PGPORT (5432), PGUSER (postgres); the
bench databases are created (and dropped) through the ``postgres`` database.
This is a benchmark, not a test: it is not collected by pytest.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script

from bench.shared_data import MEXICO, require

DEFAULT_FILE = MEXICO
LINDE_DB = "linde_bench_linde"
OGR_DB = "linde_bench_ogr"
OGR_TABLE = "municipalities"
EXPECTED_ROWS = 2474
TARGET_RATIO = 2.0


@dataclass(frozen=True)
class PgConfig:
    host: str
    port: str
    user: str

    @classmethod
    def from_env(cls) -> PgConfig:
        return cls(
            host=os.environ.get("PGHOST", "127.0.0.1"),
            port=os.environ.get("PGPORT", "5432"),
            user=os.environ.get("PGUSER", "postgres"),
        )

    def conninfo(self, dbname: str) -> str:
        return psycopg.conninfo.make_conninfo(
            host=self.host, port=self.port, user=self.user, dbname=dbname
        )

    def url(self, dbname: str) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"


@dataclass
class Timings:
    tool: str
    seconds: list[float] = field(default_factory=list)
    rows: int | None = None

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


class BenchError(Exception):
    """A step of the benchmark failed; the message says which and why."""


def drop_database(pg: PgConfig, name: str) -> None:
    with psycopg.connect(pg.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def recreate_database(pg: PgConfig, name: str) -> None:
    """Drop ``name`` if it exists, create it empty and add PostGIS."""
    drop_database(pg, name)
    with psycopg.connect(pg.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(pg.conninfo(name), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION postgis")


def count_rows(pg: PgConfig, dbname: str, table: str) -> int:
    with psycopg.connect(pg.conninfo(dbname)) as conn:
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        ).fetchone()
    return int(row[0]) if row else 0


def run(cmd: Sequence[str], *, env: dict[str, str] | None = None, what: str) -> float:
    """Run ``cmd``; return its wall-clock seconds, or raise BenchError with its output."""
    start = time.perf_counter()
    proc = subprocess.run(list(cmd), env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise BenchError(
            f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n"
            f"--- stdout ---\n{proc.stdout.rstrip()}\n--- stderr ---\n{proc.stderr.rstrip()}"
        )
    return elapsed


def linde_executable() -> Path:
    exe = Path(sys.executable).parent / "linde"
    if not exe.exists():
        raise BenchError(f"no linde executable next to {sys.executable}; is Linde installed?")
    return exe


def zip_member(path: Path) -> str:
    """The GeoJSON file inside the zip archive (GDAL 3.6 does not open a bare .zip GeoJSON)."""
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.lower().endswith((".geojson", ".json"))]
    if not names:
        raise BenchError(f"{path} holds no .geojson file")
    return names[0]


def ogr_source(path: Path) -> str:
    if path.suffix.lower() == ".zip":
        return f"/vsizip/{path}/{zip_member(path)}"
    return str(path)


def time_linde(pg: PgConfig, path: Path) -> float:
    recreate_database(pg, LINDE_DB)
    env = {**os.environ, "LINDE_DATABASE_URL": pg.url(LINDE_DB)}
    exe = str(linde_executable())
    run([exe, "db", "upgrade"], env=env, what="linde db upgrade")  # untimed: schema creation
    return run([exe, "import", "municipalities", str(path)], env=env, what="linde import")


def time_ogr2ogr(pg: PgConfig, path: Path, ogr2ogr: str) -> float:
    recreate_database(pg, OGR_DB)
    dest = f"PG:host={pg.host} port={pg.port} dbname={OGR_DB} user={pg.user}"
    cmd = [
        ogr2ogr,
        "-f",
        "PostgreSQL",
        dest,
        ogr_source(path),
        "-nln",
        OGR_TABLE,
        "-nlt",
        "MULTIPOLYGON",
        "-lco",
        "GEOMETRY_NAME=geom",
        "-lco",
        "SPATIAL_INDEX=GIST",
        "-t_srs",
        "EPSG:4326",
    ]
    return run(cmd, what="ogr2ogr")


def warm_file_cache(path: Path) -> None:
    """Read the file once so the first timed run does not pay for a cold disk cache."""
    with path.open("rb") as fh:
        while fh.read(1 << 22):
            pass


def print_report(path: Path, expected: int, results: list[Timings], repeat: int) -> None:
    print()
    print(f"national import into PostGIS: {path.name} ({expected:,} municipalities)")
    print(f"{repeat} run(s) each, fresh database before every run, wall-clock seconds")
    print(f"{'tool':<10}{'best s':>8}{'median s':>11}{'rows':>8}")
    for t in results:
        rows = f"{t.rows:,}" if t.rows is not None else "?"
        print(f"{t.tool:<10}{t.best:>8.2f}{t.median:>11.2f}{rows:>8}")
    by_tool = {t.tool: t for t in results}
    ratio = by_tool["linde"].best / by_tool["ogr2ogr"].best
    verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
    print(f"ratio linde/ogr2ogr (best): {ratio:.2f}x   target <= {TARGET_RATIO:.1f}x ({verdict})")
    print(
        "note: linde's figure includes its validation (geometry validity, extent within "
        "Mexico,\n      vertex counts, INEGI key checks), content fingerprints, versioning "
        "and audit,\n      in one transaction; ogr2ogr only copies the features (COPY)."
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--file", type=Path, default=DEFAULT_FILE, help=f"file to import (default {DEFAULT_FILE})"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool (default 3)")
    parser.add_argument(
        "--expected-rows",
        type=int,
        default=EXPECTED_ROWS,
        help=f"rows each database must hold afterwards (default {EXPECTED_ROWS})",
    )
    parser.add_argument("--ogr2ogr", default="ogr2ogr", help="ogr2ogr executable")
    parser.add_argument(
        "--keep", action="store_true", help="keep the bench databases afterwards (for inspection)"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    args.file = args.file.resolve()
    if not args.file.is_file():
        parser.error(f"{args.file}: no such file")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    require(args.file)
    pg = PgConfig.from_env()
    path: Path = args.file
    ogr = Timings("ogr2ogr")
    linde = Timings("linde")
    try:
        warm_file_cache(path)
        for i in range(1, args.repeat + 1):
            ogr.seconds.append(time_ogr2ogr(pg, path, args.ogr2ogr))
            print(f"run {i}/{args.repeat}: ogr2ogr {ogr.seconds[-1]:.2f} s", flush=True)
            linde.seconds.append(time_linde(pg, path))
            print(f"run {i}/{args.repeat}: linde   {linde.seconds[-1]:.2f} s", flush=True)
        ogr.rows = count_rows(pg, OGR_DB, OGR_TABLE)
        linde.rows = count_rows(pg, LINDE_DB, "municipalities")
        print_report(path, args.expected_rows, [ogr, linde], args.repeat)
        wrong = [t for t in (ogr, linde) if t.rows != args.expected_rows]
        for t in wrong:
            print(
                f"error: {t.tool} left {t.rows} rows, expected {args.expected_rows:,}",
                file=sys.stderr,
            )
        return 1 if wrong else 0
    except (BenchError, psycopg.Error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            for name in (LINDE_DB, OGR_DB):
                try:
                    drop_database(pg, name)
                except psycopg.Error as exc:
                    print(f"warning: could not drop {name}: {exc}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
