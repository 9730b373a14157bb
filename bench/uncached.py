"""Benchmark: a different random bbox on every request, Linde vs tipg vs pygeoapi vs SQL.

Method. The 570 full-detail municipalities of Oaxaca (``../shared/data``; the run
stops and says so when the file is missing) are loaded into one fresh PostGIS
database with ``linde import municipalities``. Linde (response cache on, then
off), tipg 1.6.1 and pygeoapi 0.24 serve that same table in the same run, each as
one uvicorn worker started and installed by ``bench/serve.py``'s helpers, one at
a time (the database is shared with other work).

Every request asks ``items?bbox=...&limit=100`` for a new bbox: a centre drawn
uniformly over the Oaxaca valley (``VALLEY``) and a square of side 0.02-0.30°,
drawn by wrk's Lua (2 threads, 16 connections) from a fixed seed per thread, so a
response cache cannot help. ``SAMPLES`` boxes drawn in Python from the same
distribution are fetched once per server first and their feature ids compared
with the answer in SQL. The same question as one SQL statement (the page built
as a GeoJSON FeatureCollection with ``json_agg`` of ``ST_AsGeoJSON``) runs through
``pgbench -M prepared`` at 16 clients, the box drawn by pgbench's own ``random``
from the same ranges on every transaction.

Also one item (``items/20067``) on Linde with the cache off against tipg.

Usage::

    .venv/bin/python -m bench.uncached --seconds 10

Not a test: pytest does not collect it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

import psycopg

from bench.serve import (
    DEFAULT_FILE,
    ITEM_ID,
    MUNICIPALITY_COLUMNS,
    OUT_DIR,
    PYGEOAPI_SUPPORT,
    TIPG_REQUIREMENTS,
    WRK_STATUS_LUA,
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
    pygeoapi_python,
    recreate_database,
    run,
    say,
    start_linde,
    start_pygeoapi,
    start_tipg,
)

UNCACHED_DB = "linde_bench_uncached"
SEED = 24
SAMPLES = 20
CONNECTIONS = 16
LIMIT = 100
VALLEY = (-96.95, 16.85, -96.45, 17.25)  # lon/lat box the bbox centres fall in
WIDTH_DEG = (0.02, 0.30)
TARGET_VS_TIPG = 3.0
TARGET_VS_SQL = 0.5

# wrk: every request a new square bbox; ITEMS_PATH is the server's items path.
RANDOM_BBOX_LUA = r"""
local path = os.getenv("BENCH_ITEMS_PATH")
local x0, y0, x1, y1 = %f, %f, %f, %f
local w0, w1 = %f, %f
local counter = 0
function setup(thread) counter = counter + 1; thread:set("seed", %d + counter) end
function init(args) math.randomseed(seed) end
request = function()
  local w = w0 + (w1 - w0) * math.random()
  local x = x0 + (x1 - x0) * math.random()
  local y = y0 + (y1 - y0) * math.random()
  local bbox = string.format("%%.4f,%%.4f,%%.4f,%%.4f", x - w / 2, y - w / 2, x + w / 2, y + w / 2)
  return wrk.format("GET", path .. "?bbox=" .. bbox .. "&limit=%d")
end
""" % (*VALLEY, *WIDTH_DEG, SEED, LIMIT)  # noqa: UP031 (Lua braces)

# pgbench: the same distribution in micro-degrees, one statement per transaction.
PGBENCH_SET = f"""\\set w random({int(WIDTH_DEG[0] * 1e6)}, {int(WIDTH_DEG[1] * 1e6)})
\\set x random({int(VALLEY[0] * 1e6)}, {int(VALLEY[2] * 1e6)})
\\set y random({int(VALLEY[1] * 1e6)}, {int(VALLEY[3] * 1e6)})
"""
PAGE_SQL = f"""FROM (SELECT cvegeo AS id, {MUNICIPALITY_COLUMNS}, geom FROM municipalities
  WHERE geom && ST_MakeEnvelope((:x - :w / 2) / 1e6, (:y - :w / 2) / 1e6,
                                (:x + :w / 2) / 1e6, (:y + :w / 2) / 1e6, 4326)
    AND ST_Intersects(geom, ST_MakeEnvelope((:x - :w / 2) / 1e6, (:y - :w / 2) / 1e6,
                                (:x + :w / 2) / 1e6, (:y + :w / 2) / 1e6, 4326))
  ORDER BY cvegeo LIMIT {LIMIT}) AS p;
"""
# As the issue measured it: json_agg, which makes PostgreSQL parse every geometry's
# text again as json; and as text only (string_agg of ST_AsGeoJSON(record)), the
# fastest one statement can be.
PGBENCH_SCRIPTS = {
    "json_agg": PGBENCH_SET
    + """SELECT json_build_object('type', 'FeatureCollection', 'features',
  coalesce(json_agg(json_build_object('type', 'Feature', 'id', p.id,
    'geometry', ST_AsGeoJSON(p.geom, 7, 0)::json,
    'properties', to_jsonb(p) - 'geom' - 'id')), '[]'::json))::text
"""
    + PAGE_SQL,
    "text": PGBENCH_SET
    + """SELECT '{"type":"FeatureCollection","features":['
  || coalesce(string_agg(ST_AsGeoJSON(p.*, 'geom', 7), ',' ORDER BY p.id), '') || ']}'
"""
    + PAGE_SQL,
}


def sample_boxes(count: int) -> list[tuple[float, float, float, float]]:
    """``count`` boxes from the distribution wrk draws from (fixed seed)."""
    rng = random.Random(SEED)
    boxes = []
    for _ in range(count):
        w = rng.uniform(*WIDTH_DEG)
        x, y = rng.uniform(VALLEY[0], VALLEY[2]), rng.uniform(VALLEY[1], VALLEY[3])
        boxes.append(tuple(round(v, 4) for v in (x - w / 2, y - w / 2, x + w / 2, y + w / 2)))
    return boxes  # type: ignore[return-value]


def expected_ids(pg: PgConfig, box: Sequence[float]) -> list[str]:
    with psycopg.connect(pg.conninfo(UNCACHED_DB)) as conn:
        rows = conn.execute(
            "SELECT cvegeo FROM municipalities WHERE ST_Intersects(geom, "
            "ST_MakeEnvelope(%s, %s, %s, %s, 4326)) ORDER BY cvegeo LIMIT %s",
            (*box, LIMIT),
        ).fetchall()
    return [r[0] for r in rows]


def check_answers(pg: PgConfig, items_url: str) -> str:
    """Fetch every sample box once; "" when each answer holds the features SQL finds."""
    for box in sample_boxes(SAMPLES):
        url = f"{items_url}?bbox={','.join(f'{v:.4f}' for v in box)}&limit={LIMIT}"
        with urllib.request.urlopen(url, timeout=120) as response:  # noqa: S310
            doc = json.loads(response.read())
        got = sorted(str(f["id"]) for f in doc["features"])
        want = expected_ids(pg, box)
        if got != want:
            return f"{url}: {len(got)} features, expected {len(want)}"
    return ""


def load_random(server: Server, items_path: str, seconds: float, warmup: float) -> Load:
    lua = OUT_DIR / "random-bbox.lua"
    lua.write_text(RANDOM_BBOX_LUA + WRK_SUMMARY_LUA)
    os.environ["BENCH_ITEMS_PATH"] = items_path
    target = Target("random bbox", server.name, "", server.base_url + items_path)
    return load_http(target, seconds, warmup, CONNECTIONS, lua=lua)


def pgbench_random(pg: PgConfig, form: str, seconds: float, warmup: float) -> float:
    script = OUT_DIR / f"pgbench-random-bbox-{form}.sql"
    script.write_text(PGBENCH_SCRIPTS[form])
    base = ["pgbench", "-n", "-M", "prepared", "-c", str(CONNECTIONS), "-j", "2"]
    base += ["-h", pg.host, "-p", pg.port, "-U", pg.user, "-f", str(script)]
    if warmup > 0:
        run([*base, "-T", str(max(1, round(warmup))), UNCACHED_DB], what="pgbench warm-up")
    out = run([*base, "-T", str(max(1, round(seconds))), UNCACHED_DB], what="pgbench")
    for line in out.splitlines():
        if line.startswith("tps = "):
            return float(line.split()[2])
    raise BenchError(f"pgbench printed no tps:\n{out}")


def items_path(name: str) -> str:
    return "/collections/" + ("public." if name == "tipg" else "") + "municipalities/items"


def bench(args: argparse.Namespace) -> int:
    if not DEFAULT_FILE.is_file():
        print(f"{DEFAULT_FILE} is missing (../shared/data): nothing to serve", file=sys.stderr)
        return 2
    pg = PgConfig.from_env()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "summary.lua").write_text(WRK_SUMMARY_LUA)
    (OUT_DIR / "status.lua").write_text(WRK_STATUS_LUA)
    tipg_venv = ensure_venv("tipg-venv", sys.executable, TIPG_REQUIREMENTS)
    py_exe, pin = pygeoapi_python(None)
    pygeoapi_venv = ensure_venv("pygeoapi-venv", py_exe, (pin, *PYGEOAPI_SUPPORT))
    recreate_database(pg, UNCACHED_DB)
    url = pg.url(UNCACHED_DB)
    env = {**os.environ, "LINDE_DATABASE_URL": url}
    linde_cli = str(Path(sys.executable).parent / "linde")
    say("importing Oaxaca's municipalities")
    run([linde_cli, "import", "municipalities", str(DEFAULT_FILE)], env=env, what="import")
    run(["psql", "-h", pg.host, "-U", pg.user, "-d", UNCACHED_DB, "-qc", "VACUUM ANALYZE"],
        what="vacuum")  # fmt: skip
    procs = Processes()
    rps: dict[str, float] = {}
    lines: list[str] = []
    phases: list[tuple[str, Callable[[], Server]]] = [
        ("linde", lambda: start_linde(procs, "linde", url, cache=True, via_cli=False)),
        ("linde (cache off)", lambda: start_linde(
            procs, "linde (cache off)", url, cache=False, via_cli=False)),
        ("tipg", lambda: start_tipg(procs, tipg_venv, url)),
        ("pygeoapi", lambda: start_pygeoapi(procs, pygeoapi_venv, pg, UNCACHED_DB)),
    ]  # fmt: skip
    try:
        for name, start in phases:
            server = start()
            path = items_path(name)
            wrong = check_answers(pg, server.base_url + path)
            if wrong:
                raise BenchError(f"{name} answered wrongly: {wrong}")
            say(f"random bbox: {name}")
            load = load_random(server, path, args.seconds, args.warmup)
            rps[name] = load.rps
            errors = load.http_errors + load.socket_errors
            lines.append(
                f"  {name:<28}{load.rps:9.1f} req/s  p50 {load.p50_ms:7.1f} ms  "
                f"p99 {load.p99_ms:7.1f} ms  {load.wire_bytes or 0:9.0f} B/resp"
                + (f"  ({errors} errors)" if errors else "")
            )
            say(lines[-1].strip())
            if name in ("linde (cache off)", "tipg"):
                target = Target("item", name, "", f"{server.base_url}{path}/{ITEM_ID}")
                item = load_http(target, args.seconds, args.warmup, CONNECTIONS)
                rps[name + " item"] = item.rps
                lines.append(
                    f"  {name + ' items/' + ITEM_ID:<28}{item.rps:9.1f} req/s  "
                    f"p50 {item.p50_ms:7.1f} ms  p99 {item.p99_ms:7.1f} ms"
                )
                say(lines[-1].strip())
            procs.stop(server)
        say("pgbench: the same question as one statement")
        for form in PGBENCH_SCRIPTS:
            rps[form] = pgbench_random(pg, form, args.seconds, args.warmup)
            lines.append(f"  {'pgbench, ' + form:<28}{rps[form]:9.1f} tx/s")
    finally:
        procs.stop_all()
        if not args.keep:
            try:
                drop_database(pg, UNCACHED_DB)
            except psycopg.Error as exc:
                print(f"warning: could not drop {UNCACHED_DB}: {exc}", file=sys.stderr)
    print(
        f"Random bbox per request (seed {SEED}, centre over {VALLEY}, side "
        f"{WIDTH_DEG[0]}-{WIDTH_DEG[1]} deg, limit {LIMIT}), {CONNECTIONS} connections, "
        f"{args.seconds:g} s per run"
    )
    print(f"  tipg {installed_version(tipg_venv, 'tipg')}, "
          f"pygeoapi {installed_version(pygeoapi_venv, 'pygeoapi')}")  # fmt: skip
    print("\n".join(lines))
    print("Ratios (same run)")
    checks = [
        ("linde / tipg", rps["linde"] / rps["tipg"], TARGET_VS_TIPG),
        ("linde (cache off) / tipg", rps["linde (cache off)"] / rps["tipg"], TARGET_VS_TIPG),
        *(
            (f"{name} / SQL {form}", rps[name] / rps[form], TARGET_VS_SQL)
            for form in PGBENCH_SCRIPTS
            for name in ("linde", "linde (cache off)")
        ),
        ("item, cache off / tipg", rps["linde (cache off) item"] / rps["tipg item"], 3.0),
    ]
    print(f"  linde / pygeoapi            {rps['linde'] / rps['pygeoapi']:6.2f}x")
    for label, value, goal in checks:
        ok = "PASS" if value >= goal else "FAIL"
        print(f"  {label:<28}{value:6.2f}x   target >= {goal:g}: {ok}")
    return 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per run")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return bench(parse_args(argv))
    except (BenchError, psycopg.Error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
