"""Benchmark: vector tiles (MVT) from one PostGIS database, Linde vs tipg vs pygeoapi.

Method. The 570 full-detail municipalities of Oaxaca (``../shared/data``) are
loaded into one fresh PostGIS database with ``linde import municipalities``. Linde,
tipg 1.6 (its ``/tiles``) and pygeoapi (its ``MVT-postgresql`` tile provider) serve
that same table in the same run, each as one uvicorn worker, started and installed
by ``bench/serve.py``'s helpers (peers in ``bench/.peers/``).

Tiles. ``--tiles`` random tiles (fixed seed): a zoom drawn from 6 to 14 and a point
drawn uniformly over Oaxaca state's box, the tile holding it. Every server is
asked the same tiles, in the same order, by ``wrk`` (2 threads, 16 connections)
cycling through the list; a tile fetched once before per server must be a 200.

* cold: Linde with every cache off (``LINDE_RESPONSE_CACHE_MB=0``,
  ``LINDE_TILE_CACHE_MB=0``); tipg and pygeoapi have no tile cache;
* warm: Linde as configured by default, after each tile was asked for twice (its
  cache keeps a body on the second miss);
* pgbench: the very statement Linde runs for each tile (``layers.tiles.
  postgis_statement``, values written in), one script per tile, chosen at random,
  ``-M prepared``, 16 clients.

Also: the z10 viewport of Oaxaca de Juárez (6 x 4 = 24 tiles) fetched end to end
over 16 connections from the cold Linde (five viewports, wall time of each), and
the largest z5 tile of the national municipal layer (2,469 municipalities, read
from ``../shared/data``; said so and skipped when missing or with ``--no-national``).

Usage::

    .venv/bin/python bench/tiles.py --quick
    .venv/bin/python bench/tiles.py --seconds 10

Not a test: pytest does not collect it. Targets are printed beside the figures.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import random
import statistics
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import morecantile
import psycopg
from sqlalchemy import create_engine

from bench.serve import (
    DEFAULT_FILE,
    OUT_DIR,
    PYGEOAPI_SUPPORT,
    QUIET_UVICORN,
    TIPG,
    TIPG_REQUIREMENTS,
    WRK_SUMMARY_LUA,
    BenchError,
    Load,
    PgConfig,
    Processes,
    Server,
    Target,
    drop_database,
    ensure_venv,
    installed_version,
    load_http,
    pygeoapi_config,
    pygeoapi_python,
    recreate_database,
    run,
    say,
    start_linde,
    start_tipg,
)
from geo.tiles import tile_bounds, tiles_covering
from layers.collections import COLLECTIONS
from layers.tiles import TileQuery, postgis_statement, render_tile

BENCH_DIR = Path(__file__).resolve().parent
NATIONAL_FILE = DEFAULT_FILE.parent / "mx_municipios_inegi_mg.geojson.zip"
TILES_DB = "linde_bench_tiles"
NATIONAL_DB = "linde_bench_tiles_mx"
SEED = 21
OAXACA_STATE = (-98.6, 15.6, -93.8, 18.7)
MEXICO = (-118.4, 14.5, -86.7, 32.7)
VIEWPORT_CENTRE = (-96.7266, 17.0654)  # Oaxaca de Juárez
CONNECTIONS = 16
PGBENCH_MAX_SCRIPTS = 128  # pgbench's own limit on -f scripts

TARGET_COLD_VS_TIPG = 3.0
TARGET_COLD_VS_PGBENCH = 0.5
TARGET_WARM_VS_TIPG = 10.0
TARGET_Z5_KB = 500.0
TARGET_VIEWPORT_S = 1.0

WMQ = morecantile.tms.get("WebMercatorQuad")
PYGEOAPI = "pygeoapi"

PATHS_LUA = r"""
local paths = {}
for line in io.lines(os.getenv("BENCH_TILE_PATHS")) do paths[#paths + 1] = line end
local i = 0
local headers = {}
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then headers["Authorization"] = auth end
function init(args) i = math.random(#paths) end
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], headers)
end
"""


def random_tiles(count: int) -> list[tuple[int, int, int]]:
    """``count`` tiles (z, x, y): a zoom 6-14 and a point over Oaxaca state, fixed seed."""
    rng = random.Random(SEED)
    west, south, east, north = OAXACA_STATE
    out = []
    for _ in range(count):
        z = rng.randint(6, 14)
        t = WMQ.tile(rng.uniform(west, east), rng.uniform(south, north), z)
        out.append((z, t.x, t.y))
    return out


def tile_path(server: str, z: int, x: int, y: int) -> str:
    if server == TIPG:
        # the properties Linde's tiles carry, so both send the same content
        return (
            f"/collections/public.municipalities/tiles/WebMercatorQuad/{z}/{x}/{y}"
            "?properties=cvegeo,name,state_code,state_name,population"
        )
    if server == PYGEOAPI:
        return f"/collections/municipalities/tiles/WebMercatorQuad/{z}/{y}/{x}?f=mvt"
    return f"/collections/municipalities/tiles/WebMercatorQuad/{z}/{y}/{x}"


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=60) as r:  # noqa: S310
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def check_answers(server: Server, tiles: Sequence[tuple[int, int, int]]) -> tuple[int, int]:
    """Every tile once (8 at a time): all must be 200 (or 204, empty). (tiles with data,
    bytes of all)."""
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda t: fetch(server.base_url + tile_path(server.name, *t)), tiles)
        )
    for (z, x, y), (status, body) in zip(tiles, answers, strict=True):
        if status not in (200, 204):
            raise BenchError(f"{server.name} answered {status} for {z}/{x}/{y}: {body[:200]!r}")
    return sum(bool(body) for _, body in answers), sum(len(body) for _, body in answers)


def load_tiles(server: Server, label: str, tiles: Sequence, seconds: float, warmup: float) -> Load:
    paths = OUT_DIR / f"tiles-{server.name.replace(' ', '-')}.txt"
    paths.write_text("\n".join(tile_path(server.name, *t) for t in tiles) + "\n")
    lua = OUT_DIR / "tiles.lua"
    lua.write_text(PATHS_LUA + WRK_SUMMARY_LUA)
    os.environ["BENCH_TILE_PATHS"] = str(paths)
    target = Target("tiles", server.name, label, server.base_url + "/")
    return load_http(target, seconds, warmup, CONNECTIONS, lua=lua)


def pgbench_tiles(
    pg: PgConfig, db_url: str, tiles: Sequence, seconds: float, warmup: float
) -> float:
    """Linde's own statement for every tile through pgbench; transactions per second."""
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    scripts = OUT_DIR / "pgbench-tiles"
    scripts.mkdir(exist_ok=True)
    c = COLLECTIONS["municipalities"]
    files = []
    with engine.connect() as conn:
        for n, (z, x, y) in enumerate(tiles):
            statement = postgis_statement(conn, c, TileQuery(z, tile_bounds(WMQ, z, x, y)))
            compiled = statement.compile(
                dialect=engine.dialect, compile_kwargs={"literal_binds": True}
            )
            path = scripts / f"tile-{n}.sql"
            path.write_text(str(compiled).replace("\n", " ") + ";\n")
            files.append(path)
    engine.dispose()
    base = ["pgbench", "-n", "-M", "prepared", "-c", str(CONNECTIONS), "-j", "2"]
    base += ["-h", pg.host, "-p", pg.port, "-U", pg.user]
    for path in files:
        base += ["-f", f"{path}@1"]
    if warmup > 0:
        run([*base, "-T", str(max(1, round(warmup))), TILES_DB], what="pgbench warm-up")
    out = run([*base, "-T", str(max(1, round(seconds))), TILES_DB], what="pgbench tiles")
    for line in out.splitlines():
        if line.startswith("tps = "):
            return float(line.split()[2])
    raise BenchError(f"pgbench printed no tps:\n{out}")


def viewport(z: int, centre: tuple[float, float], cols: int = 6, rows: int = 4) -> list:
    t = WMQ.tile(*centre, z)
    return [
        (z, t.x + dx, t.y + dy)
        for dx in range(-cols // 2, cols - cols // 2)
        for dy in range(-rows // 2, rows - rows // 2)
    ]


def viewport_seconds(server: Server, tiles: Sequence) -> float:
    """Wall time to fetch every tile of a viewport over ``CONNECTIONS`` connections."""
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(CONNECTIONS) as pool:
        answers = list(
            pool.map(lambda t: fetch(server.base_url + tile_path(server.name, *t)), tiles)
        )
    elapsed = time.perf_counter() - started
    bad = [s for s, _ in answers if s != 200]
    if bad:
        raise BenchError(f"viewport: {len(bad)} tiles not 200 ({bad[0]})")
    return elapsed


def start_pygeoapi_tiles(procs: Processes, venv: Path, pg: PgConfig, dbname: str) -> Server:
    """pygeoapi with the municipalities table as features and as MVT-postgresql tiles."""
    from bench.serve import free_port

    port = free_port()
    run_dir = OUT_DIR / "pygeoapi-tiles"
    run_dir.mkdir(exist_ok=True)
    config = pygeoapi_config(pg, dbname, port)
    resource = config["resources"]["municipalities"]
    feature = resource["providers"][0]
    resource["providers"].append(
        {
            "type": "tile",
            "name": "MVT-postgresql",
            "data": feature["data"],
            "id_field": "cvegeo",
            "table": "municipalities",
            "geom_field": "geom",
            # a list here would reach its engine as a connection argument (0.24); the
            # provider offers WebMercatorQuad by itself
            "options": {"zoom": {"min": 0, "max": 15}},
            "format": {"name": "pbf", "mimetype": "application/vnd.mapbox-vector-tile"},
        }
    )
    config_path = run_dir / "pygeoapi-config.yml"
    openapi = run_dir / "pygeoapi-openapi.yml"
    config_path.write_text(json.dumps(config, indent=2))
    env = {**os.environ, "PYGEOAPI_CONFIG": str(config_path), "PYGEOAPI_OPENAPI": str(openapi)}
    bindir = venv / "bin"
    run(
        [str(bindir / "pygeoapi"), "openapi", "generate", str(config_path), "--output-file",
         str(openapi)],
        env=env, what="pygeoapi openapi generate",
    )  # fmt: skip
    cmd = [str(bindir / "python"), "-m", "uvicorn", "pygeoapi.starlette_app:APP"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), *QUIET_UVICORN]
    return procs.start(PYGEOAPI, cmd, env, run_dir, "pygeoapi MVT-postgresql", port)


def national_z5(pg: PgConfig, keep: bool) -> tuple[int, str] | None:
    """The largest z5 tile of the national municipal layer: (bytes, address)."""
    if not NATIONAL_FILE.exists():
        print(f"national z5 tile: skipped, {NATIONAL_FILE} is missing")
        return None
    wait_for_connections(pg)
    recreate_database(pg, NATIONAL_DB)
    url = pg.url(NATIONAL_DB)
    env = {**os.environ, "LINDE_DATABASE_URL": url}
    say("importing the national municipalities (2,469)")
    linde_cli = str(Path(sys.executable).parent / "linde")
    run([linde_cli, "import", "municipalities", str(NATIONAL_FILE)], env=env, what="import mx")
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    best = (0, "")
    try:
        with engine.connect() as conn:
            for z, x, y in tiles_covering(WMQ, MEXICO, [5]):
                q = TileQuery(z, tile_bounds(WMQ, z, x, y))
                size = len(render_tile(conn, COLLECTIONS["municipalities"], q))
                best = max(best, (size, f"{z}/{x}/{y}"))
    finally:
        engine.dispose()
        if not keep:
            drop_database(pg, NATIONAL_DB)
    return best


def wait_for_connections(pg: PgConfig, needed: int = 25, timeout_s: float = 1500) -> None:
    """Wait until PostgreSQL has ``needed`` connections free (it is shared with others)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with psycopg.connect(pg.conninfo("postgres"), autocommit=True) as conn:
                row = conn.execute(
                    "SELECT current_setting('max_connections')::int - count(*) "
                    "FROM pg_stat_activity"
                ).fetchone()
            if row is not None and row[0] >= needed:
                return
        except psycopg.OperationalError:
            pass
        if time.monotonic() > deadline:
            raise BenchError(f"PostgreSQL had fewer than {needed} free connections for long")
        time.sleep(2)


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def bench(args: argparse.Namespace) -> int:
    pg = PgConfig.from_env()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "summary.lua").write_text(WRK_SUMMARY_LUA)
    tiles = random_tiles(args.tiles)
    say(f"{len(tiles)} random tiles, seed {SEED}, zooms 6-14 over Oaxaca state")
    tipg_venv = ensure_venv("tipg-venv", sys.executable, TIPG_REQUIREMENTS)
    py_exe, pin = pygeoapi_python(None)
    pygeoapi_venv = ensure_venv("pygeoapi-venv", py_exe, (pin, *PYGEOAPI_SUPPORT))
    wait_for_connections(pg)
    recreate_database(pg, TILES_DB)
    db_url = pg.url(TILES_DB)
    env = {**os.environ, "LINDE_DATABASE_URL": db_url}
    linde_cli = str(Path(sys.executable).parent / "linde")
    say("importing Oaxaca's municipalities")
    run([linde_cli, "import", "municipalities", str(DEFAULT_FILE)], env=env, what="import")
    run(["psql", "-h", pg.host, "-U", pg.user, "-d", TILES_DB, "-qc", "VACUUM ANALYZE"],
        what="vacuum")  # fmt: skip
    procs = Processes()
    results: dict[str, float] = {}
    lines: list[str] = []
    # One server at a time: the database is shared with other work, and four pools
    # at once could take more connections than it has left.
    phases = [
        ("linde (cache off)", "cold", lambda: start_linde(
            procs, "linde (cache off)", db_url, cache=False, via_cli=False)),
        ("tipg", "cold", lambda: start_tipg(procs, tipg_venv, db_url)),
        ("linde", "warm", lambda: start_linde(procs, "linde", db_url, cache=True, via_cli=False)),
        ("pygeoapi", "cold", lambda: start_pygeoapi_tiles(procs, pygeoapi_venv, pg, TILES_DB)),
    ]  # fmt: skip
    walls: list[float] = []
    try:
        for name, label, start in phases:
            wait_for_connections(pg)
            server = start()
            with_data, size = check_answers(server, tiles)
            lines.append(
                f"  {name:<20} {with_data:>4} of {len(tiles)} tiles hold features, "
                f"{size / len(tiles) / 1024:7.1f} KiB per tile on average"
            )
            say(lines[-1].strip())
            if label == "warm":
                check_answers(server, tiles)  # the second miss stores each tile
            say(f"loading {name} ({label})")
            load = load_tiles(server, label, tiles, args.seconds, args.warmup)
            if name.startswith("linde") and (load.http_errors or load.socket_errors):
                raise BenchError(f"{name}: {load.http_errors} HTTP errors under load")
            results[f"{name} {label}"] = load.rps
            errors = load.http_errors + load.socket_errors
            lines.append(
                f"  {name + ' (' + label + ')':<28} {load.rps:8.1f} req/s   "
                + (
                    f"p50 {load.p50_ms:7.1f} ms   p99 {load.p99_ms:7.1f} ms"
                    if load.rps
                    else f"no tile answered within the {args.seconds:g} s run"
                )
                + (f"   ({errors} errors or timeouts)" if errors else "")
            )
            say(lines[-1].strip())
            if name == "linde (cache off)":
                walls = [
                    viewport_seconds(
                        server, viewport(10, (VIEWPORT_CENTRE[0] + 0.6 * k, VIEWPORT_CENTRE[1]))
                    )
                    for k in range(-2, 3)
                ]
                say(f"viewports: {walls}")
            procs.stop(server)
        say("pgbench: Linde's statement for each tile")
        wait_for_connections(pg)
        own = pgbench_tiles(pg, db_url, tiles, args.seconds, args.warmup)
        results["pgbench"] = own
        lines.append(f"  {'pgbench (same ST_AsMVT SQL)':<28} {own:8.1f} tx/s")
        say(lines[-1].strip())
    finally:
        procs.stop_all()
        if not args.keep:
            try:
                drop_database(pg, TILES_DB)
            except psycopg.Error as exc:
                print(f"warning: could not drop {TILES_DB}: {exc}", file=sys.stderr)
    print(f"Vector tiles, {len(tiles)} random tiles (seed {SEED}, z6-14 over Oaxaca state), "
          f"{CONNECTIONS} connections, {args.seconds:g} s per run")  # fmt: skip
    print(f"  tipg {installed_version(tipg_venv, 'tipg')}, "
          f"pygeoapi {installed_version(pygeoapi_venv, 'pygeoapi')}")  # fmt: skip
    print("\n".join(lines))
    cold_rps = results["linde (cache off) cold"]
    tipg_rps = results["tipg cold"]
    warm_rps = results["linde warm"]
    checks = [
        ("cold vs tipg", cold_rps / tipg_rps, TARGET_COLD_VS_TIPG),
        ("cold vs pgbench", cold_rps / own, TARGET_COLD_VS_PGBENCH),
        ("warm vs tipg", warm_rps / tipg_rps, TARGET_WARM_VS_TIPG),
    ]
    print("Ratios")
    print(f"  cold vs pygeoapi      {ratio(cold_rps, results['pygeoapi cold'])}")
    for name, value, target in checks:
        print(f"  {name:<20}  {value:6.2f}x   target >= {target}x: {verdict(value >= target)}")
    print(
        f"  z10 viewport (24 tiles, cold, {CONNECTIONS} connections): "
        f"{', '.join(f'{w:.2f}' for w in walls)} s; median {statistics.median(walls):.2f} s, "
        f"target <= {TARGET_VIEWPORT_S} s: {verdict(max(walls) <= TARGET_VIEWPORT_S)} (max)"
    )
    if args.national:
        found = national_z5(pg, args.keep)
        if found is not None:
            size, address = found
            print(
                f"  national municipal layer, largest z5 tile {address}: {size / 1024:.1f} KiB, "
                f"target <= {TARGET_Z5_KB:.0f} KB: {verdict(size / 1000 <= TARGET_Z5_KB)}"
            )
    else:
        print("  national z5 tile: skipped (--no-national)")
    return 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tiles", type=int, default=120, help="random tiles (default 120; pgbench takes 128)"
    )
    parser.add_argument("--seconds", type=float, default=10, help="per load run")
    parser.add_argument("--warmup", type=float, default=2, help="warm-up per load run")
    parser.add_argument("--quick", action="store_true", help="3 s runs, 1 s warm-up")
    parser.add_argument("--keep", action="store_true", help="keep the bench databases")
    parser.add_argument("--no-national", dest="national", action="store_false")
    args = parser.parse_args(argv)
    if not 1 <= args.tiles <= PGBENCH_MAX_SCRIPTS:
        parser.error(f"--tiles: 1 to {PGBENCH_MAX_SCRIPTS} (one pgbench script per tile)")
    if args.quick:
        args.seconds, args.warmup = 3.0, 1.0
    return args


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return bench(parse_args(argv))
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
