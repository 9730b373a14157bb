"""Benchmark: serving OGC API - Features from one PostGIS database, Linde vs tipg vs pygeoapi.

Method. The 570 full-detail municipalities of Oaxaca are loaded into one fresh
PostGIS database with ``linde import municipalities`` (Linde's own schema: table
``municipalities``, key ``cvegeo``, ``geom`` MultiPolygon 4326 with a GiST index).
Linde, tipg and pygeoapi then serve that same table in the same run. The peers are
installed from PyPI by this script into their own virtual environments under
``bench/.peers/`` (never dependencies of Linde), reused while their pinned
requirements are unchanged. Every server runs as one uvicorn worker process with
log level ``warning``, no access log and no reload (Linde as ``uvicorn
api.app:create_app --factory`` with the same flags; ``--linde-via-cli`` starts it
with ``linde serve`` instead, whose access log cannot be turned off). Linde runs
twice: as configured by default (its in-process response cache on) and with
``LINDE_RESPONSE_CACHE_MB=0``, because a load generator repeating one URL measures
that cache rather than the query.

Each URL is first fetched once with Python: HTTP 200, the feature ids compared
with the answer computed in SQL, the body size. Only right answers are loaded. The
load generator is the same for every server: ``wrk`` with 2 threads and 16
connections, a warm-up, then ``--duration`` seconds; a small Lua ``done`` hook
reports requests, bytes and the 50th and 99th latency percentiles. wrk counts
responses with status >= 400 itself; when there are any, a short second pass with
a Lua ``response`` hook breaks them down by status code (that hook makes wrk copy
every body, so it is not used for the measurement).

Endpoints: (1) ``items?limit=10``; (2) ``items?bbox=-96.80,17.00,-96.65,17.15``
(the Oaxaca metro core, 20 municipalities) with ``limit=100`` on every server so
that all return the same features; (3) one item by id; (4) Linde's ``/lookup`` for
a point in the metro area beside the same question asked of the peers (a point
bbox, a CQL2 ``S_INTERSECTS`` filter, and that filter without geometry).

Own SQL. The statements Linde runs for endpoints 1-3 (``OWN_SQL``) are run
directly against PostGIS with ``pgbench -M prepared`` at the same concurrency,
one script execution standing for one request; Linde's throughput is reported as
a fraction of theirs.

Growth. For each ``--sizes`` row count, a database migrated by Linde gets that
many synthetic inspections spread evenly over the Oaxaca metro area
(reproducible: ``setseed``; VACUUM ANALYZE after) and its own Linde (response
cache off). Linde's ``/collections/inspections/items`` for one small bbox
(``limit=100``) is loaded at 16 connections, the target, on every size in turn,
three turns, and each size's median turn is reported: on a shared machine a slow
spell then falls on all sizes alike rather than on the one measured during it.
Then each size at 1 connection, latency without queueing, and the same SQL with
pgbench. A
fixed bbox holds more points as the table grows (about 4, 30 and 300 at 10 k,
100 k and 1 M rows), so the same query is also run, for information, with the
bbox shrunk as the points densify: the answer stays the same size and only the
table grows.

Everything runs on one machine: wrk, the servers and PostgreSQL share its CPUs.

Usage::

    .venv/bin/python bench/serve.py --quick            # 3 s per endpoint
    .venv/bin/python bench/serve.py                    # 10 s per endpoint
    .venv/bin/python bench/serve.py --no-growth --keep

Needs ``wrk`` and ``pgbench`` (``scripts/setup.sh --bench``). Connection: PGHOST
(default 127.0.0.1), PGPORT (5432), PGUSER (postgres); the bench databases are
created (and dropped unless ``--keep``) through the ``postgres`` database. Server
logs, configurations and wrk/pgbench files are left in ``bench/out/serve/``.
This is a benchmark, not a test: it is not collected by pytest.
"""

from __future__ import annotations

import argparse
import glob
import importlib.metadata
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script

from bench.shared_data import OAXACA_STATE, require

BENCH_DIR = Path(__file__).resolve().parent

DEFAULT_FILE = OAXACA_STATE
PEERS_DIR = BENCH_DIR / ".peers"
OUT_DIR = BENCH_DIR / "out" / "serve"
SERVE_DB = "linde_bench_serve"
POINTS_DB = "linde_bench_points"  # one database per size: linde_bench_points_<size>
GROWTH_TURNS = 3

CONNECTIONS = 16
THREADS = 2
WRK_TIMEOUT_S = 30  # a slow answer is measured, not counted as a timeout

# The question each endpoint asks.
BBOX = (-96.80, 17.00, -96.65, 17.15)  # Oaxaca metro core, about 20 municipalities
BBOX_LIMIT = 100  # every server returns every municipality in BBOX (tipg, Linde default 10)
ITEM_ID = "20067"  # Oaxaca de Juárez
POINT = (-96.7266, 17.0654)  # in Oaxaca de Juárez
GROWTH_BBOX = (-96.73, 17.05, -96.72, 17.06)
GROWTH_LIMIT = 100
GROWTH_AREA = (-97.0, 16.8, -96.4, 17.4)  # lon/lat box the synthetic points fall in
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)

TARGET_VS_PEER = 3.0  # endpoints 1-3
TARGET_VS_OWN_SQL = 0.5  # endpoint 2
TARGET_LOOKUP_RPS = 1_000.0
TARGET_GROWTH = 1.5  # p50 at the largest size / p50 at the smallest

# Peers, pinned to versions installed and checked with this script. pygeoapi 0.22
# and later need Python 3.12; without one, 0.21.0 (the last for 3.11) is used.
TIPG_REQUIREMENTS = ("tipg==1.6.1", "uvicorn==0.54.0")
PYGEOAPI_SUPPORT = (
    "psycopg2-binary==2.9.13",  # what its PostgreSQL provider connects with
    "SQLAlchemy==2.1.9",
    "GeoAlchemy2==0.20.0",
    "starlette==1.10.0",  # pygeoapi.starlette_app, served by uvicorn
    "uvicorn==0.54.0",
)
PYGEOAPI_PIN = {(3, 12): "pygeoapi==0.24.0", (3, 11): "pygeoapi==0.21.0"}

MUNICIPALITY_COLUMNS = (
    "cvegeo, name, state_code, state_name, population, dwellings, version, source, valid_from"
)
INSPECTION_COLUMNS = (
    "observed_at, category, severity, description, gps_accuracy_m, inspector, source, created_at"
)


def _envelope(bbox: tuple[float, float, float, float]) -> str:
    return "ST_MakeEnvelope({}, {}, {}, {}, 4326)".format(*bbox)


# What Linde runs against PostGIS for one request of each endpoint, as read from
# layers/queries/items.py, layers/collections.py and api/routes/collections.py when
# this was written; keep it in step with them. Statement 1 is the layer change
# counter behind the ETag (all a response-cache hit costs), statement 2 the page
# (GeoJSON made by ST_AsGeoJSON at 7 decimals, as for CRS84), statement 3 the capped
# count behind numberMatched, which Linde runs only when the page is full. pgbench
# runs each script as one transaction standing for one request.
OWN_SQL: dict[str, tuple[str, ...]] = {
    "limit": (
        "SELECT layer, version FROM layer_versions",
        f"SELECT cvegeo AS id, {MUNICIPALITY_COLUMNS}, ST_AsGeoJSON(geom, 7, 0) AS geometry "
        "FROM municipalities ORDER BY cvegeo, cvegeo LIMIT 10",
        "SELECT count(*) FROM (SELECT cvegeo FROM municipalities LIMIT 100001) AS matched",
    ),
    "bbox": (
        "SELECT layer, version FROM layer_versions",
        f"SELECT cvegeo AS id, {MUNICIPALITY_COLUMNS}, ST_AsGeoJSON(geom, 7, 0) AS geometry "
        f"FROM municipalities WHERE geom && {_envelope(BBOX)} "
        f"AND ST_Intersects(geom, {_envelope(BBOX)}) "
        f"ORDER BY cvegeo, cvegeo LIMIT {BBOX_LIMIT}",
    ),
    "item": (
        "SELECT layer, version FROM layer_versions",
        f"SELECT cvegeo AS id, {MUNICIPALITY_COLUMNS}, ST_AsGeoJSON(geom, 7, 0) AS geometry "
        f"FROM municipalities WHERE cvegeo = '{ITEM_ID}'",
    ),
}


def growth_sql(bbox: tuple[float, float, float, float]) -> tuple[str, ...]:
    """What Linde runs for the growth query (see OWN_SQL); the count is left out."""
    return (
        "SELECT layer, version FROM layer_versions",
        f"SELECT id, {INSPECTION_COLUMNS}, ST_AsGeoJSON(geom, 7, 0) AS geometry "
        f"FROM inspections WHERE geom && {_envelope(bbox)} "
        f"AND ST_Intersects(geom, {_envelope(bbox)}) "
        f"ORDER BY observed_at, id, id LIMIT {GROWTH_LIMIT}",
    )


def density_bbox(size: int, first_size: int) -> tuple[float, float, float, float]:
    """GROWTH_BBOX shrunk about its centre so that it holds as many points at ``size``
    rows as GROWTH_BBOX at ``first_size``: the result stays the same size, only the
    table grows."""
    minx, miny, maxx, maxy = GROWTH_BBOX
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    scale = (first_size / size) ** 0.5
    hx, hy = (maxx - minx) / 2 * scale, (maxy - miny) / 2 * scale
    return (round(cx - hx, 6), round(cy - hy, 6), round(cx + hx, 6), round(cy + hy, 6))


# The answer every server must give, computed here in SQL.
POINT_SQL = (
    "SELECT cvegeo FROM municipalities "
    "WHERE ST_Intersects(geom, ST_SetSRID(ST_MakePoint({}, {}), 4326)) ORDER BY cvegeo"
).format(*POINT)

# Synthetic inspection points, rows first..last; random() is seeded per stage.
GROWTH_INSERT = f"""
INSERT INTO inspections (id, {INSPECTION_COLUMNS}, geom)
SELECT md5('linde-bench-' || i)::uuid::text,
       timestamptz '2024-01-01 00:00+00' + i * interval '31 seconds',
       (ARRAY['water_contamination', 'solid_waste', 'debris_fill', 'informal_parking',
              'discharge'])[1 + i %% 5],
       1 + i %% 5,
       'synthetic point ' || i,
       round((2 + random() * 18)::numeric, 1),
       'bench',
       'bench/serve.py (synthetic)',
       now(),
       ST_SetSRID(ST_MakePoint({GROWTH_AREA[0]} + random() * {GROWTH_AREA[2] - GROWTH_AREA[0]:.6f},
                               {GROWTH_AREA[1]} + random() * {GROWTH_AREA[3] - GROWTH_AREA[1]:.6f}),
                  4326)
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS i
"""

# wrk hooks. The first reports the run as one JSON line; the second counts
# responses per status code (it makes wrk keep every body, so it is only used to
# break down errors the first run found).
WRK_SUMMARY_LUA = r"""
function done(summary, latency, requests)
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %.1f, ' ..
    '"p99_us": %.1f, "connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(99), summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout))
end
"""
WRK_STATUS_LUA = r"""
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses")) do counts[code] = (counts[code] or 0) + n end
  end
  local parts = {}
  for code, n in pairs(counts) do parts[#parts + 1] = string.format('"%d": %d', code, n) end
  io.write('BENCH_STATUS {' .. table.concat(parts, ', ') .. '}\n')
end
"""


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


class BenchError(Exception):
    """A step of the benchmark failed; the message says which and why."""


class ServerDown(BenchError):
    """A server exited while starting; ``reason`` is the last line of its log."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Target:
    """One URL of one server for one endpoint."""

    endpoint: str  # key of ENDPOINTS
    server: str
    variant: str  # "" for the server's own way of asking; else how the peer is asked
    url: str
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        return f"{self.server}: {self.variant}" if self.variant else self.server


@dataclass
class Probe:
    status: int
    body_bytes: int
    ids: tuple[str, ...] | None  # feature ids (or /lookup's municipality); None if unreadable
    detail: str = ""


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    wire_bytes: float | None  # per response, headers included (wrk); None for SQL
    http_errors: int = 0  # responses with status >= 400
    socket_errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)


@dataclass
class Row:
    target: Target
    probe: Probe | None = None
    load: Load | None = None
    note: str = ""

    @property
    def flagged(self) -> bool:
        return self.load is not None and (self.load.http_errors + self.load.socket_errors) > 0


ENDPOINTS = {
    "limit": "1. items?limit=10",
    "bbox": "2. items?bbox={:.2f},{:.2f},{:.2f},{:.2f} (limit={})".format(*BBOX, BBOX_LIMIT),
    "item": f"3. items/{ITEM_ID}",
    "point": "4. point query at {}, {}".format(*POINT),
}
SHORT = {"limit": "1 limit=10", "bbox": "2 bbox", "item": "3 item", "point": "4 point"}
LINDE = "linde"
LINDE_NO_CACHE = "linde (cache off)"
TIPG = "tipg"
PYGEOAPI = "pygeoapi"
OWN = "own SQL (pgbench)"


def say(message: str) -> None:
    print(f".. {message}", file=sys.stderr, flush=True)


# -- databases ---------------------------------------------------------------------------


def drop_database(pg: PgConfig, name: str) -> None:
    with psycopg.connect(pg.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def recreate_database(pg: PgConfig, name: str) -> None:
    """Drop ``name`` if it exists and create it empty with PostGIS."""
    drop_database(pg, name)
    with psycopg.connect(pg.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(pg.conninfo(name), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")


def sql_answer(pg: PgConfig, dbname: str, statements: Sequence[str]) -> tuple[list[str], int]:
    """Run a request's statements once; the ids of the page (statement 2) and its bytes."""
    with psycopg.connect(pg.conninfo(dbname)) as conn:
        rows: list[tuple[Any, ...]] = []
        for i, statement in enumerate(statements):
            result = conn.execute(statement).fetchall()
            if i == 1:
                rows = result
    size = sum(len(str(v).encode()) for row in rows for v in row if v is not None)
    return [str(row[0]) for row in rows], size


def sql_ids(pg: PgConfig, dbname: str, statement: str) -> list[str]:
    with psycopg.connect(pg.conninfo(dbname)) as conn:
        return [str(r[0]) for r in conn.execute(statement).fetchall()]


# -- processes ---------------------------------------------------------------------------


def run(cmd: Sequence[str], *, what: str, env: dict[str, str] | None = None) -> str:
    """Run ``cmd`` to completion; its stdout, or BenchError with its output."""
    proc = subprocess.run(list(cmd), env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BenchError(
            f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n"
            f"--- stdout ---\n{proc.stdout.rstrip()}\n--- stderr ---\n{proc.stderr.rstrip()}"
        )
    return proc.stdout


@dataclass
class Server:
    name: str
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path
    described: str  # how it was started, for the report


class Processes:
    """Servers started by the benchmark; each in its own process group, stopped together."""

    def __init__(self) -> None:
        self.servers: list[Server] = []

    def start(
        self,
        name: str,
        cmd: Sequence[str],
        env: dict[str, str],
        cwd: Path,
        described: str,
        port: int | None = None,
    ) -> Server:
        """Start ``cmd`` ("{port}" in it replaced) and wait until it answers HTTP."""
        port = port or free_port()
        cmd = [part.replace("{port}", str(port)) for part in cmd]
        log = OUT_DIR / (re.sub(r"[^a-z0-9]+", "-", name).strip("-") + ".log")
        with log.open("wb") as fh:
            process = subprocess.Popen(
                cmd, env=env, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
            )
        server = Server(name, f"http://127.0.0.1:{port}", process, log, described)
        self.servers.append(server)
        wait_until_up(server)
        return server

    def stop(self, server: Server) -> None:
        if server.process.poll() is None:
            try:
                os.killpg(server.process.pid, signal.SIGTERM)
                server.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.process.pid, signal.SIGKILL)
                server.process.wait(timeout=15)
            except ProcessLookupError:
                pass
        if server in self.servers:
            self.servers.remove(server)

    def stop_all(self) -> None:
        for server in list(self.servers):
            try:
                self.stop(server)
            except OSError as exc:
                print(f"warning: could not stop {server.name}: {exc}", file=sys.stderr)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(server: Server, timeout_s: float = 90.0) -> None:
    """Wait until the server answers HTTP at all (any status: a 404 is an answer)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            lines = server.log.read_text(errors="replace").strip().splitlines() or ["(no output)"]
            raise ServerDown(f"{server.name} exited at start-up; see {server.log}", lines[-1])
        try:
            with urllib.request.urlopen(server.base_url + "/", timeout=5):  # noqa: S310
                return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise BenchError(f"{server.name} did not answer within {timeout_s:.0f} s; see {server.log}")


# -- peers' virtual environments ---------------------------------------------------------


def python_version(exe: str) -> tuple[int, int] | None:
    """(major, minor) of a Python that can make virtual environments, else None."""
    try:
        proc = subprocess.run(
            [exe, "-c", "import sys, venv, ensurepip; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    major, minor = proc.stdout.split()
    return int(major), int(minor)


def pygeoapi_python(explicit: str | None) -> tuple[str, str]:
    """The interpreter for pygeoapi's venv and the pygeoapi pin that suits it."""
    candidates = [explicit] if explicit else []
    candidates += [shutil.which(n) or "" for n in ("python3.13", "python3.12")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[2-9]*/bin/python3")))
    candidates += [sys.executable, shutil.which("python3") or ""]
    for exe in filter(None, candidates):
        version = python_version(exe)
        if version is None:
            continue
        pin = PYGEOAPI_PIN.get((3, 12)) if version >= (3, 12) else PYGEOAPI_PIN.get(version)
        if pin:
            return exe, pin
        if explicit:
            break
    raise BenchError("no Python 3.11 or newer with venv for pygeoapi (try --pygeoapi-python)")


def ensure_venv(name: str, python: str, requirements: Sequence[str]) -> Path:
    """``bench/.peers/<name>`` with exactly ``requirements`` installed; reused when stamped."""
    venv = PEERS_DIR / name
    stamp = venv / ".bench-requirements"
    wanted = "\n".join([python, *requirements]) + "\n"
    if stamp.exists() and stamp.read_text() == wanted and (venv / "bin" / "python").exists():
        return venv
    say(f"installing {', '.join(requirements)} into {venv}")
    if venv.exists():
        shutil.rmtree(venv)
    PEERS_DIR.mkdir(parents=True, exist_ok=True)
    run([python, "-m", "venv", str(venv)], what=f"creating {venv}")
    pip = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
    ]
    run([*pip, *requirements], what=f"pip install into {venv}")
    stamp.write_text(wanted)
    return venv


def installed_version(venv: Path, dist: str) -> str:
    code = f"import importlib.metadata as m, sys; print(m.version({dist!r}), *sys.version_info[:3])"
    out = run([str(venv / "bin" / "python"), "-c", code], what=f"{dist} version").split()
    return f"{out[0]} (Python {'.'.join(out[1:])})"


# -- servers -----------------------------------------------------------------------------

QUIET_UVICORN = ("--workers", "1", "--log-level", "warning", "--no-access-log")


def start_linde(
    procs: Processes, name: str, db_url: str, *, cache: bool, via_cli: bool, workers: int = 1
) -> Server:
    env = {**os.environ, "LINDE_DATABASE_URL": db_url}
    extra = ""
    if not cache:
        env["LINDE_RESPONSE_CACHE_MB"] = "0"
        env["LINDE_TILE_CACHE_MB"] = "0"
        extra = "LINDE_RESPONSE_CACHE_MB=0 LINDE_TILE_CACHE_MB=0 "
    if via_cli:
        cmd = [str(Path(sys.executable).parent / "linde"), "serve", "--port", "{port}"]
        described = f"{extra}linde serve (1 worker, uvicorn access log on)"
    else:
        flags = [*QUIET_UVICORN[:1], str(workers), *QUIET_UVICORN[2:]]
        cmd = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"]
        cmd += ["--host", "127.0.0.1", "--port", "{port}", *flags]
        described = f"{extra}uvicorn api.app:create_app --factory {' '.join(flags)}"
    return procs.start(name, cmd, env, BENCH_DIR.parent, described)


def start_tipg(procs: Processes, venv: Path, db_url: str) -> Server:
    settings = {
        "DATABASE_URL": db_url,
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_DB_TABLES": '["public.municipalities"]',  # schema-qualified, or nothing matches
        "TIPG_DB_FUNCTIONS": "[]",
    }
    env = {**os.environ, **settings}
    cmd = [str(venv / "bin" / "python"), "-m", "uvicorn", "tipg.main:app"]
    cmd += ["--host", "127.0.0.1", "--port", "{port}", *QUIET_UVICORN]
    described = " ".join(f"{k}={v}" for k, v in settings.items() if k != "DATABASE_URL")
    described += f" uvicorn tipg.main:app {' '.join(QUIET_UVICORN)}"
    run_dir = OUT_DIR / "tipg"  # tipg reads a .env file from its working directory
    run_dir.mkdir(exist_ok=True)
    return procs.start(TIPG, cmd, env, run_dir, described)


def pygeoapi_config(pg: PgConfig, dbname: str, port: int) -> dict[str, Any]:
    """pygeoapi's configuration: the municipalities table through its PostgreSQL provider."""
    return {
        "server": {
            "bind": {"host": "127.0.0.1", "port": port},
            "url": f"http://127.0.0.1:{port}",
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": ["en-US"],
            "limits": {"default_items": 10, "max_items": 1000},  # its default max is 10
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attribution": "OSM"},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": "Linde serving benchmark",
                "description": "Oaxaca municipalities",
                "keywords": ["municipalities"],
                "url": "https://example.org",
                "terms_of_service": "https://example.org",
            },
            "license": {"name": "CC-BY 4.0", "url": "https://example.org"},
            "provider": {"name": "bench", "url": "https://example.org"},
            "contact": {"name": "bench"},
        },
        "resources": {
            "municipalities": {
                "type": "collection",
                "title": "municipalities",
                "description": "Official municipal boundaries (INEGI)",
                "keywords": ["municipalities"],
                "extents": {"spatial": {"bbox": [-98.6, 15.6, -93.8, 18.7]}},
                "providers": [
                    {
                        "type": "feature",
                        "name": "PostgreSQL",
                        "data": {
                            "host": pg.host,
                            "port": int(pg.port),
                            "dbname": dbname,
                            "user": pg.user,
                            "search_path": ["public"],
                        },
                        "id_field": "cvegeo",
                        "table": "municipalities",
                        "geom_field": "geom",
                    }
                ],
            }
        },
    }


def start_pygeoapi(procs: Processes, venv: Path, pg: PgConfig, dbname: str) -> Server:
    port = free_port()
    run_dir = OUT_DIR / "pygeoapi"
    run_dir.mkdir(exist_ok=True)
    config = run_dir / "pygeoapi-config.yml"  # JSON is YAML
    openapi = run_dir / "pygeoapi-openapi.yml"
    config.write_text(json.dumps(pygeoapi_config(pg, dbname, port), indent=2))
    env = {**os.environ, "PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    bindir = venv / "bin"
    run(
        [
            str(bindir / "pygeoapi"),
            "openapi",
            "generate",
            str(config),
            "--output-file",
            str(openapi),
        ],
        env=env,
        what="pygeoapi openapi generate",
    )
    cmd = [str(bindir / "python"), "-m", "uvicorn", "pygeoapi.starlette_app:APP"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), *QUIET_UVICORN]
    described = (
        f"PYGEOAPI_CONFIG={config.relative_to(BENCH_DIR.parent)} (PostgreSQL provider, "
        f"max_items 1000, logging ERROR) uvicorn pygeoapi.starlette_app:APP "
        f"{' '.join(QUIET_UVICORN)}"
    )
    return procs.start(PYGEOAPI, cmd, env, run_dir, described, port)


# -- what each server is asked -----------------------------------------------------------


def query(**params: str) -> str:
    return urllib.parse.urlencode(params, safe=",:()", quote_via=urllib.parse.quote)


def targets_for(server: Server, token: str) -> list[Target]:
    """The URLs of endpoints 1-4 on one server (several ways of asking the point query)."""
    bbox = ",".join(f"{v:.2f}" for v in BBOX)
    point_bbox = ",".join(f"{v}" for v in (*POINT, *POINT))
    cql = "S_INTERSECTS(geom,POINT({} {}))".format(*POINT)
    name = server.name
    if name in (LINDE, LINDE_NO_CACHE):
        items = f"{server.base_url}/collections/municipalities"
        auth = (("Authorization", f"Bearer {token}"),)
        point = [
            Target(
                "point", name, "", f"{server.base_url}/lookup?lon={POINT[0]}&lat={POINT[1]}", auth
            )
        ]
        point.append(
            Target(
                "point",
                name,
                "cql2 S_INTERSECTS",
                f"{items}/items?{query(filter=cql, **{'filter-lang': 'cql2-text'})}",
            )
        )
    else:
        items = f"{server.base_url}/collections/" + (
            "public.municipalities" if name == TIPG else "municipalities"
        )
        no_geometry = {"bbox-only": "true"} if name == TIPG else {"skipGeometry": "true"}
        point = [
            Target("point", name, "point bbox", f"{items}/items?bbox={point_bbox}"),
            Target(
                "point",
                name,
                "cql2 S_INTERSECTS",
                f"{items}/items?{query(filter=cql, **{'filter-lang': 'cql2-text'})}",
            ),
            Target(
                "point",
                name,
                f"cql2 S_INTERSECTS + {next(iter(no_geometry))}",
                f"{items}/items?"
                + query(filter=cql, **{"filter-lang": "cql2-text"}, **no_geometry),
            ),
        ]
    return [
        Target("limit", name, "", f"{items}/items?limit=10"),
        Target("bbox", name, "", f"{items}/items?bbox={bbox}&limit={BBOX_LIMIT}"),
        Target("item", name, "", f"{items}/items/{ITEM_ID}"),
        *point,
    ]


def answer_ids(doc: Any) -> tuple[str, ...] | None:
    """Feature ids of a FeatureCollection or Feature, or the municipality of a /lookup."""
    if not isinstance(doc, dict):
        return None
    if doc.get("type") == "FeatureCollection" and isinstance(doc.get("features"), list):
        return tuple(str(f.get("id")) for f in doc["features"])
    if doc.get("type") == "Feature":
        return (str(doc.get("id")),)
    if "municipality" in doc:
        municipality = doc["municipality"]
        return (str(municipality["cvegeo"]),) if municipality else ()
    return None


def probe(target: Target) -> Probe:
    """Fetch the URL once: status, body size and the feature ids in it."""
    request = urllib.request.Request(target.url, headers=dict(target.headers))  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        return Probe(0, 0, None, f"no answer: {exc}")
    try:
        ids = answer_ids(json.loads(body))
    except ValueError:
        ids = None
    detail = "" if status == 200 else body[:200].decode(errors="replace").replace("\n", " ")
    return Probe(status, len(body), ids, detail)


def judge(probe_: Probe, expected: Sequence[str]) -> str:
    """Why this answer must not be loaded ("" when it is right)."""
    if probe_.status != 200:
        return f"HTTP {probe_.status}" + (f": {probe_.detail}" if probe_.detail else "")
    if probe_.ids is None:
        return "answer is not GeoJSON"
    if sorted(probe_.ids) != sorted(expected):
        shown = ", ".join(probe_.ids[:5]) + (" ..." if len(probe_.ids) > 5 else "")
        return f"wrong answer: {len(probe_.ids)} feature(s) [{shown}], expected {len(expected)}"
    return ""


# -- load --------------------------------------------------------------------------------


def wrk_run(target: Target, seconds: float, lua: Path, connections: int = CONNECTIONS) -> str:
    threads = min(THREADS, connections)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s"]
    cmd += ["--timeout", f"{WRK_TIMEOUT_S}s", "-s", str(lua)]
    for key, value in target.headers:
        cmd += ["-H", f"{key}: {value}"]
    return run([*cmd, target.url], what=f"wrk on {target.label}")


def load_http(
    target: Target,
    seconds: float,
    warmup: float,
    connections: int = CONNECTIONS,
    lua: Path | None = None,
) -> Load:
    """wrk at ``connections`` connections: warm-up, then the measured run. ``lua``: a
    script of one's own (it must hold ``WRK_SUMMARY_LUA``'s ``done``)."""
    summary_lua = lua or OUT_DIR / "summary.lua"
    if warmup > 0:
        wrk_run(target, warmup, summary_lua, connections)
    out = wrk_run(target, seconds, summary_lua, connections)
    match = re.search(r"^BENCH_JSON (\{.*\})$", out, re.MULTILINE)
    if not match:
        raise BenchError(f"wrk printed no summary for {target.label}:\n{out}")
    s = json.loads(match.group(1))
    requests = int(s["requests"])
    load = Load(
        rps=requests / (s["duration_us"] / 1e6),
        p50_ms=s["p50_us"] / 1000,
        p99_ms=s["p99_us"] / 1000,
        wire_bytes=s["bytes"] / requests if requests else None,
        http_errors=int(s["status"]),
        socket_errors=sum(int(s[k]) for k in ("connect", "read", "write", "timeout")),
    )
    if load.http_errors:
        out = wrk_run(target, 2, OUT_DIR / "status.lua")
        found = re.search(r"^BENCH_STATUS (\{.*\})$", out, re.MULTILINE)
        if found:
            load.statuses = json.loads(found.group(1))
    return load


def load_sql(
    pg: PgConfig, dbname: str, name: str, statements: Sequence[str], seconds: float, warmup: float
) -> Load:
    """pgbench -M prepared at CONNECTIONS clients; percentiles from its per-transaction log."""
    script = OUT_DIR / f"pgbench-{name}.sql"
    script.write_text(";\n".join(statements) + ";\n")
    base = ["pgbench", "-n", "-M", "prepared", "-c", str(CONNECTIONS), "-j", str(THREADS)]
    base += ["-h", pg.host, "-p", pg.port, "-U", pg.user, "-f", str(script)]
    if warmup > 0:
        run([*base, "-T", str(max(1, round(warmup))), dbname], what="pgbench warm-up")
    log_dir = OUT_DIR / f"pgbench-{name}-log"
    shutil.rmtree(log_dir, ignore_errors=True)
    log_dir.mkdir()
    out = run(
        [*base, "-T", str(max(1, round(seconds))), "-l", f"--log-prefix={log_dir}/tx", dbname],
        what=f"pgbench {name}",
    )
    tps = re.search(r"^tps = ([\d.]+) \(without initial connection time\)", out, re.MULTILINE)
    failed = re.search(r"^number of failed transactions: (\d+)", out, re.MULTILINE)
    latencies = sorted(
        int(line.split()[2]) for path in log_dir.iterdir() for line in path.read_text().splitlines()
    )
    if not tps or not latencies:
        raise BenchError(f"pgbench printed no throughput for {name}:\n{out}")
    return Load(
        rps=float(tps.group(1)),
        p50_ms=percentile(latencies, 50) / 1000,
        p99_ms=percentile(latencies, 99) / 1000,
        wire_bytes=None,
        http_errors=int(failed.group(1)) if failed else 0,
    )


def percentile(sorted_values: Sequence[int], p: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return float(sorted_values[index])


# -- the run -----------------------------------------------------------------------------


@dataclass
class Facts:
    lines: list[str] = field(default_factory=list)

    def add(self, key: str, value: str) -> None:
        self.lines.append(f"  {key:<18}{value}")


def machine_facts(pg: PgConfig, dbname: str) -> Facts:
    facts = Facts()
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    facts.add("CPUs", f"{os.cpu_count()} x {cpu} (shared by wrk, the servers and PostgreSQL)")
    with psycopg.connect(pg.conninfo(dbname)) as conn:
        row = conn.execute("SELECT current_setting('server_version'), postgis_lib_version()")
        server_version, postgis = row.fetchone() or ("?", "?")
    facts.add("PostgreSQL", f"{server_version}, PostGIS {postgis}")
    facts.add(
        "linde", f"{importlib.metadata.version('linde')} (Python {platform.python_version()})"
    )
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    facts.add("load generator", (wrk_version.stdout or wrk_version.stderr).splitlines()[0])
    facts.add("own SQL", run(["pgbench", "--version"], what="pgbench --version").strip())
    return facts


def load_targets(
    rows: list[Row], expected: dict[str, list[str]], duration: float, warmup: float
) -> None:
    """Probe every target, then load the right ones, endpoint by endpoint."""
    for row in rows:
        if not row.note:
            row.probe = probe(row.target)
            row.note = judge(row.probe, expected[row.target.endpoint])
    for endpoint in ENDPOINTS:
        for row in rows:
            if row.target.endpoint != endpoint or row.note:
                continue
            say(f"{ENDPOINTS[endpoint]}: {row.target.label} for {duration:g} s")
            row.load = load_http(row.target, duration, warmup)


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_endpoint(endpoint: str, rows: Sequence[Row]) -> None:
    print()
    print(f"== {ENDPOINTS[endpoint]} ==")
    header = (
        f"{'server':<44}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'feat.':>6}"
        f"{'body B':>9}{'wire B/resp':>12}{'HTTP>=400':>10}{'sock err':>9}"
    )
    print(header)
    for row in rows:
        if row.target.endpoint != endpoint:
            continue
        p, ld = row.probe, row.load
        feats = str(len(p.ids)) if p and p.ids is not None else "-"
        body = str(p.body_bytes) if p and p.status == 200 else "-"
        if ld is None:
            print(f"{row.target.label:<44}{'':>9}  not loaded: {row.note or 'not available'}")
            continue
        line = (
            f"{row.target.label:<44}{ld.rps:>9.1f}{ld.p50_ms:>9.2f}{ld.p99_ms:>9.2f}"
            f"{feats:>6}{body:>9}{fmt(ld.wire_bytes, '.0f'):>12}{ld.http_errors:>10}"
            f"{ld.socket_errors:>9}"
        )
        if row.flagged:
            codes = ", ".join(f"{k}: {v}" for k, v in sorted(ld.statuses.items()))
            line += f"   << ERRORS{f' ({codes})' if codes else ''}"
        print(line)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def primary(rows: Sequence[Row], endpoint: str, server: str) -> Row | None:
    """The loaded row of a server for an endpoint (its own way of asking, or the first
    right answer among the peers' ways of asking the point query)."""
    for row in rows:
        t = row.target
        if t.endpoint != endpoint or t.server != server or row.load is None or row.flagged:
            continue
        if endpoint == "point" and t.server in (LINDE, LINDE_NO_CACHE) and t.variant:
            continue  # Linde's answer to the point question is /lookup
        return row
    return None


def print_ratios(rows: Sequence[Row]) -> list[str]:
    """Print Linde's throughput over each peer's and its own SQL's; the failed targets."""
    failed: list[str] = []
    print()
    print("== ratios of throughput (req/s) ==")
    for endpoint in ("limit", "bbox", "item"):
        for linde in (LINDE, LINDE_NO_CACHE):
            mine = primary(rows, endpoint, linde)
            if mine is None or mine.load is None:
                print(f"{SHORT[endpoint]:<11}{linde:<18}not available")
                failed.append(f"{linde} {endpoint}: not available")
                continue
            parts = []
            for peer in (TIPG, PYGEOAPI):
                other = primary(rows, endpoint, peer)
                if other is None or other.load is None:
                    parts.append(f"/{peer} -")
                    continue
                ratio = mine.load.rps / other.load.rps
                ok = ratio >= TARGET_VS_PEER
                parts.append(f"/{peer} {ratio:6.2f}x {verdict(ok)} (>= {TARGET_VS_PEER:g})")
                if not ok:
                    failed.append(f"{linde}/{peer} on {endpoint}: {ratio:.2f}x")
            own = primary(rows, endpoint, OWN)
            if own is not None and own.load is not None:
                ratio = mine.load.rps / own.load.rps
                text = f"/own SQL {ratio:5.2f}x"
                if endpoint == "bbox":
                    ok = ratio >= TARGET_VS_OWN_SQL
                    text += f" {verdict(ok)} (>= {TARGET_VS_OWN_SQL:g})"
                    if not ok:
                        failed.append(f"{linde}/own SQL on bbox: {ratio:.2f}")
                parts.append(text)
            print(f"{SHORT[endpoint]:<11}{linde:<18}" + "   ".join(parts))
    lookup = primary(rows, "point", LINDE)
    print()
    if lookup is None or lookup.load is None:
        print("4. /lookup: not available")
        failed.append("/lookup: not available")
    else:
        ok = lookup.load.rps >= TARGET_LOOKUP_RPS
        print(
            f"4. /lookup {lookup.load.rps:,.0f} req/s: {verdict(ok)} "
            f"(>= {TARGET_LOOKUP_RPS:,.0f} req/s)"
        )
        if not ok:
            failed.append(f"/lookup {lookup.load.rps:.0f} req/s")
        for row in rows:
            t = row.target
            if t.endpoint == "point" and t.server in (TIPG, PYGEOAPI) and row.load:
                print(
                    f"   /lookup / {t.label:<44}{lookup.load.rps / row.load.rps:7.2f}x "
                    "(information, no target)"
                )
    return failed


@dataclass
class GrowthRow:
    size: int
    kind: str  # "fixed" (GROWTH_BBOX, the judged query) or "density" (density_bbox)
    bbox: tuple[float, float, float, float]
    returned: int
    linde: Load | None  # the turn with the median p50
    linde_turns: list[float]  # p50 ms of every turn, in order
    linde_errors: int  # HTTP >= 400 and socket errors over every turn
    linde_alone: Load | None  # one connection: latency without queueing
    linde_note: str
    own: Load


def points_db(size: int) -> str:
    return f"{POINTS_DB}_{size}"


def insert_points(pg: PgConfig, dbname: str, size: int) -> None:
    with psycopg.connect(pg.conninfo(dbname)) as conn:
        conn.execute("SELECT setseed(%s)", [((size % 1000) + 1) / 1001])
        conn.execute(GROWTH_INSERT, {"first": 1, "last": size})
        conn.commit()
    with psycopg.connect(pg.conninfo(dbname), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE inspections")


def run_growth(
    pg: PgConfig,
    procs: Processes,
    sizes: Sequence[int],
    duration: float,
    warmup: float,
    turns: int = GROWTH_TURNS,
) -> list[GrowthRow]:
    """One database of synthetic inspections per size, each served by its own Linde
    (cache off). The sizes are loaded in turns, ``turns`` times, so that a slow spell
    of this shared machine falls on all of them alike; each size's row is its median
    turn. Then each size at 1 connection, and its own SQL."""
    linde_cli = str(Path(sys.executable).parent / "linde")
    servers: dict[int, Server] = {}
    tokens: dict[int, str] = {}
    down: dict[int, str] = {}
    try:
        for size in sizes:
            dbname = points_db(size)
            recreate_database(pg, dbname)
            env = {**os.environ, "LINDE_DATABASE_URL": pg.url(dbname)}
            run([linde_cli, "db", "upgrade"], env=env, what="linde db upgrade")
            tokens[size] = linde_token(linde_cli, env)
            say(f"growth: inserting {size:,} points into {dbname}")
            started = time.perf_counter()
            insert_points(pg, dbname, size)
            say(f"growth: {size:,} rows in place ({time.perf_counter() - started:.1f} s)")
            try:
                servers[size] = start_linde(
                    procs, LINDE_NO_CACHE, pg.url(dbname), cache=False, via_cli=False
                )
            except ServerDown as exc:
                say(f"{exc}: {exc.reason}")
                down[size] = f"did not start: {exc.reason}"
        out: list[GrowthRow] = []
        for kind in ("fixed", "density"):
            targets: dict[int, Target] = {}
            expected: dict[int, list[str]] = {}
            notes: dict[int, str] = {}
            bboxes = {
                size: GROWTH_BBOX if kind == "fixed" else density_bbox(size, sizes[0])
                for size in sizes
            }
            for size in sizes:
                bbox = bboxes[size]
                base = servers[size].base_url if size in servers else ""
                targets[size] = Target(
                    "growth",
                    LINDE_NO_CACHE,
                    kind,
                    f"{base}/collections/inspections/items?bbox={','.join(map(str, bbox))}"
                    f"&limit={GROWTH_LIMIT}",
                    (("Authorization", f"Bearer {tokens[size]}"),),
                )
                expected[size] = sql_answer(pg, points_db(size), growth_sql(bbox))[0]
                notes[size] = down.get(size) or judge(probe(targets[size]), expected[size])
            loads: dict[int, list[Load]] = {size: [] for size in sizes}
            for turn in range(turns):
                for size in sizes:
                    if not notes[size]:
                        say(f"growth {kind}, turn {turn + 1}/{turns}: {size:,} rows")
                        loads[size].append(load_http(targets[size], duration, warmup))
            for size in sizes:
                bbox = bboxes[size]
                alone = median_load = None
                if loads[size]:
                    median_load = sorted(loads[size], key=lambda ld: ld.p50_ms)[
                        len(loads[size]) // 2
                    ]
                    say(f"growth {kind}: {size:,} rows at 1 connection")
                    alone = load_http(targets[size], duration, warmup, connections=1)
                say(f"growth {kind}: {size:,} rows, own SQL for {duration:g} s")
                own = load_sql(
                    pg, points_db(size), f"growth-{kind}-{size}", growth_sql(bbox), duration, warmup
                )
                out.append(
                    GrowthRow(
                        size,
                        kind,
                        bbox,
                        len(expected[size]),
                        median_load,
                        [ld.p50_ms for ld in loads[size]],
                        sum(ld.http_errors + ld.socket_errors for ld in loads[size]),
                        alone,
                        notes[size],
                        own,
                    )
                )
        return out
    finally:
        for server in servers.values():
            procs.stop(server)


def print_growth_table(rows: Sequence[GrowthRow]) -> float | None:
    """One table of growth rows; the ratio of Linde's p50 at the last size to the first."""
    print(
        f"{'rows':>10}{'returned':>9}   {'linde at ' + str(CONNECTIONS) + ' connections':<37}"
        f"{'at 1 connection':<19}own SQL at {CONNECTIONS}"
    )
    print(
        f"{'':>10}{'':>9}   {'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>7}   "
        f"{'req/s':>7}{'p50 ms':>9}   {'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
    )
    for g in rows:
        own = f"{g.own.rps:>9.1f}{g.own.p50_ms:>9.2f}{g.own.p99_ms:>9.2f}"
        head = f"{g.size:>10,}{g.returned:>9}   "
        if g.linde is None:
            print(f"{head}{'linde not loaded':<56}{own}   ({g.linde_note})")
            continue
        ld, alone = g.linde, g.linde_alone
        errors = g.linde_errors
        single = f"{alone.rps:>7.1f}{alone.p50_ms:>9.2f}" if alone else f"{'-':>16}"
        print(
            f"{head}{ld.rps:>9.1f}{ld.p50_ms:>9.2f}{ld.p99_ms:>9.2f}{errors:>7}   {single}   {own}"
        )
    turns = "; ".join(
        f"{g.size:,}: {', '.join(f'{t:.1f}' for t in g.linde_turns)}" for g in rows if g.linde_turns
    )
    print(f"linde p50 ms of each turn at {CONNECTIONS} connections (the median is shown): {turns}")
    if len(rows) < 2:
        return None
    first, last = rows[0], rows[-1]
    sizes = f"p50({last.size:,}) / p50({first.size:,}):"
    sql_ratio = last.own.p50_ms / first.own.p50_ms
    if not (first.linde and last.linde):
        print(f"{sizes} linde not available; own SQL {sql_ratio:.2f}x")
        return None
    ratio = last.linde.p50_ms / first.linde.p50_ms
    single = ""
    if first.linde_alone and last.linde_alone:
        single = f"; at 1 connection {last.linde_alone.p50_ms / first.linde_alone.p50_ms:.2f}x"
    print(f"{sizes} linde {ratio:.2f}x{single}; own SQL {sql_ratio:.2f}x")
    return ratio


def print_growth(rows: Sequence[GrowthRow]) -> list[str]:
    """Print both growth tables; the target is judged on the fixed bbox."""
    fixed = [g for g in rows if g.kind == "fixed"]
    density = [g for g in rows if g.kind == "density"]
    bbox = ",".join(f"{v:.2f}" for v in GROWTH_BBOX)
    print()
    print(f"== growth: inspections items?bbox={bbox}&limit={GROWTH_LIMIT} (Linde, cache off) ==")
    print(
        f"   (each size in its own database and Linde; the sizes loaded in turns, "
        f"{GROWTH_TURNS} times, so a slow spell of the machine falls on all of them)"
    )
    ratio = print_growth_table(fixed)
    failed: list[str] = []
    if ratio is None:
        failed.append("growth: linde not available")
    else:
        ok = ratio <= TARGET_GROWTH
        print(f"target p50 ratio <= {TARGET_GROWTH:g} at {CONNECTIONS} connections: {verdict(ok)}")
        if not ok:
            failed.append(f"growth p50 ratio {ratio:.2f}")
    if density:
        print()
        print(
            "== growth, information: the same query with the bbox shrunk as the points "
            "densify\n   (same expected number of features at every size; "
            f"{density[-1].size:,} rows: bbox={','.join(map(str, density[-1].bbox))}) =="
        )
        print_growth_table(density)
    return failed


def linde_token(linde_cli: str, env: dict[str, str]) -> str:
    """A planner's bearer token (``linde users add`` prints it on stdout)."""
    out = run([linde_cli, "users", "add", "bench", "--role", "planner"], env=env, what="users add")
    token = out.strip().splitlines()[-1] if out.strip() else ""
    if not token.startswith("linde_"):
        raise BenchError(f"linde users add printed no token: {out!r}")
    return token


@contextmanager
def databases(pg: PgConfig, keep: bool, sizes: Sequence[int]) -> Iterator[None]:
    try:
        yield
    finally:
        if not keep:
            for name in (SERVE_DB, *(points_db(size) for size in sizes)):
                try:
                    drop_database(pg, name)
                except psycopg.Error as exc:
                    print(f"warning: could not drop {name}: {exc}", file=sys.stderr)


def check_tools() -> None:
    missing = [t for t in ("wrk", "pgbench") if shutil.which(t) is None]
    if missing:
        raise BenchError(f"missing {', '.join(missing)}: run scripts/setup.sh --bench")


def bench(args: argparse.Namespace, pg: PgConfig, procs: Processes) -> int:
    check_tools()
    shutil.rmtree(OUT_DIR, ignore_errors=True)  # only this run's files are left there
    OUT_DIR.mkdir(parents=True)
    (OUT_DIR / "summary.lua").write_text(WRK_SUMMARY_LUA)
    (OUT_DIR / "status.lua").write_text(WRK_STATUS_LUA)

    py_exe, pygeoapi_pin = pygeoapi_python(args.pygeoapi_python)
    tipg_venv = ensure_venv("tipg-venv", sys.executable, TIPG_REQUIREMENTS)
    pygeoapi_venv = ensure_venv("pygeoapi-venv", py_exe, (pygeoapi_pin, *PYGEOAPI_SUPPORT))

    say(f"loading {args.file.name} into {SERVE_DB}")
    recreate_database(pg, SERVE_DB)
    env = {**os.environ, "LINDE_DATABASE_URL": pg.url(SERVE_DB)}
    linde_cli = str(Path(sys.executable).parent / "linde")
    imported = run([linde_cli, "import", "municipalities", str(args.file)], env=env, what="import")
    token = linde_token(linde_cli, env)
    with psycopg.connect(pg.conninfo(SERVE_DB), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE municipalities")

    facts = machine_facts(pg, SERVE_DB)
    facts.add("tipg", installed_version(tipg_venv, "tipg"))
    facts.add("pygeoapi", installed_version(pygeoapi_venv, "pygeoapi"))

    expected: dict[str, list[str]] = {e: sql_answer(pg, SERVE_DB, s)[0] for e, s in OWN_SQL.items()}
    expected["point"] = sql_ids(pg, SERVE_DB, POINT_SQL)

    say("starting the servers")
    url, via_cli = pg.url(SERVE_DB), args.linde_via_cli
    starters: list[tuple[str, Callable[[], Server]]] = [
        (LINDE, lambda: start_linde(procs, LINDE, url, cache=True, via_cli=via_cli)),
        (
            LINDE_NO_CACHE,
            lambda: start_linde(procs, LINDE_NO_CACHE, url, cache=False, via_cli=via_cli),
        ),
        (TIPG, lambda: start_tipg(procs, tipg_venv, url)),
        (PYGEOAPI, lambda: start_pygeoapi(procs, pygeoapi_venv, pg, SERVE_DB)),
    ]
    servers: list[Server] = []
    started: list[tuple[str, str]] = []  # (server, how it was started or why it is missing)
    rows: list[Row] = []
    for name, start in starters:
        try:
            server = start()
        except ServerDown as exc:  # reported in its rows; the others still run
            say(f"{exc}: {exc.reason}")
            started.append((name, f"did not start: {exc.reason}"))
            rows += [
                Row(Target(e, name, "", ""), note=f"did not start: {exc.reason}") for e in ENDPOINTS
            ]
            continue
        servers.append(server)
        started.append((name, server.described))
        rows += [Row(t) for t in targets_for(server, token)]
    load_targets(rows, expected, args.duration, args.warmup)
    for endpoint, statements in OWN_SQL.items():
        say(f"{ENDPOINTS[endpoint]}: own SQL for {args.duration:g} s")
        ids, size = sql_answer(pg, SERVE_DB, statements)
        target = Target(endpoint, OWN, "", "")
        own = load_sql(pg, SERVE_DB, endpoint, statements, args.duration, args.warmup)
        rows.append(Row(target, Probe(200, size, tuple(ids)), own))
    rows.sort(key=lambda r: list(ENDPOINTS).index(r.target.endpoint))
    for server in servers:  # the growth stage runs alone on the machine
        procs.stop(server)

    growth: list[GrowthRow] = []
    if not args.no_growth:
        growth = run_growth(pg, procs, args.sizes, args.duration, args.warmup)

    print()
    print("Serving benchmark: OGC API - Features on one PostGIS database")
    print(
        f"data: {args.file.name}, {imported.strip()}; {CONNECTIONS} connections, "
        f"{THREADS} wrk threads, {args.warmup:g} s warm-up + {args.duration:g} s per row"
    )
    print("machine:")
    print("\n".join(facts.lines))
    print("servers (one worker process each):")
    for name, described in started:
        print(f"  {name:<18}{described}")
    print(
        f"  {OWN:<18}pgbench -M prepared -c {CONNECTIONS} -j {THREADS}: OWN_SQL in bench/serve.py"
    )
    for endpoint in ENDPOINTS:
        print_endpoint(endpoint, rows)
    print(
        "\nfeat. = features in the answer; body B = body bytes of one response (the SQL row:"
        " bytes of the\npage's values); wire B/resp = bytes per response on the wire, headers"
        " included (wrk)."
    )
    failed = print_ratios(rows)
    if growth:
        failed += print_growth(growth)
    flagged = [r.target.label + " " + r.target.endpoint for r in rows if r.flagged]
    print()
    if flagged:
        print(f"servers with errors under load: {'; '.join(flagged)}")
    print(f"targets missed: {'; '.join(failed)}" if failed else "all targets met")
    return 1 if flagged else 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--file", type=Path, default=DEFAULT_FILE, help=f"municipalities to serve ({DEFAULT_FILE})"
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, help="measured seconds per row (default 10)"
    )
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="warm-up seconds before each row (default 2)"
    )
    parser.add_argument("--quick", action="store_true", help="3 s per row, 1 s warm-up")
    parser.add_argument(
        "--sizes",
        type=lambda s: tuple(int(x) for x in s.split(",")),
        default=DEFAULT_SIZES,
        help="point-collection sizes, comma-separated (default 10000,100000,1000000)",
    )
    parser.add_argument("--no-growth", action="store_true", help="skip the point-growth stage")
    parser.add_argument(
        "--linde-via-cli",
        action="store_true",
        help="start Linde with `linde serve` (access log on) instead of uvicorn's quiet flags",
    )
    parser.add_argument(
        "--pygeoapi-python", help="Python for pygeoapi's venv (default: newest 3.12+ found)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench databases afterwards")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup = 3.0, 1.0
    if args.duration <= 0 or args.warmup < 0:
        parser.error("--duration must be positive and --warmup not negative")
    if list(args.sizes) != sorted(set(args.sizes)) or args.sizes[0] < 1:
        parser.error("--sizes must be increasing positive row counts")
    args.file = args.file.resolve()
    if not args.file.is_file():
        parser.error(f"{args.file}: no such file")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    require(args.file)
    pg = PgConfig.from_env()
    procs = Processes()
    with databases(pg, args.keep, args.sizes):
        try:
            return bench(args, pg, procs)
        except (BenchError, psycopg.Error) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        finally:
            procs.stop_all()


if __name__ == "__main__":
    sys.exit(main())
