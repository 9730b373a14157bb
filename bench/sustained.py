"""Benchmark: five minutes of mixed load on one Linde process, errors and memory watched.

Method. A fresh PostGIS database gets the 570 Oaxaca municipalities, the 2020
metro zones, the named Natural Earth rivers and 1,000 inspections (imported with
Linde). One ``uvicorn api.app:create_app`` worker serves it (quiet flags, as in
``bench/serve.py``). An asyncio client (httpx, ``--connections`` concurrent
requests, default 32) then loops for ``--minutes`` (default 5) over a mix of
90 % reads and 10 % writes:

* reads: ``items?limit=10``, the metro-core ``bbox`` page, one municipality, a page of
  inspections (planner token), ``/lookup`` at a random point of the metro area, and
  the metro zone's map (``assets=server``);
* writes: ``POST /inspections`` of a new inspection with its own UUID (inspector
  token), and now and then the same submission again (a retry: must answer 200).

It prints per endpoint the requests, unexpected answers (any status other than
the one expected, any socket error), p50 and p99 latency; the server's resident
memory every minute (sampled every 10 s) beside what the response cache holds (from
``/health``: bodies asked for twice with the same data, up to its bound, 64 MB by
default) and the rest; the growth of resident memory from minute 1 to the end, which
is judged, and from the middle of the run to the end (still rising?); what the cache
did; the client's own CPU time (to show the client is not the bottleneck), and the
inspections in the database at the end beside the distinct UUIDs posted (exactly
once under load). Exit status 1 on any error, a count that differs, or resident memory
grown by more than ``--memory-growth`` (default 5 %) from minute 1 to the end.

Usage::

    .venv/bin/python bench/sustained.py [--minutes 5] [--connections 32]

Everything shares this machine's CPUs: client, server and PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ingest_inspections import (
    CATEGORIES,
    METRO_2020,
    OAXACA,
    RIVERS,
    count_rows,
    free_port,
    metro_outline,
    recreate_database,
)
from tests.helpers import synthetic_inspections

DB = "linde_bench_sustained"
SEEDED = 1_000
BBOX = "-96.80,17.00,-96.65,17.15"
# (name, weight): 90 % reads, 10 % writes
MIX = [
    ("items?limit=10", 20),
    ("items?bbox", 15),
    ("items/{id}", 15),
    ("inspections page", 10),
    ("/lookup", 20),
    ("map metro zone", 10),
    ("POST /inspections", 8),
    ("POST /inspections (retry)", 2),
]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def prepare() -> tuple[str, str, str]:
    from layers.engine import make_engine
    from layers.importers.inspections import import_inspections
    from layers.importers.metro_zones import import_metro_zones
    from layers.importers.municipalities import import_municipalities
    from layers.importers.rivers import import_rivers
    from layers.migrate import upgrade
    from layers.settings import Settings
    from layers.users import add_user

    url = recreate_database(DB)
    engine = make_engine(url, Settings(database_url=url))
    upgrade(engine)
    import_municipalities(engine, OAXACA, actor="bench")
    import_metro_zones(engine, METRO_2020, actor="bench")
    import_rivers(engine, RIVERS, actor="bench", skip_unnamed=True)
    with tempfile.TemporaryDirectory(prefix="linde_sustained_") as tmp:
        path = Path(tmp) / "semilla.geojson"
        synthetic_inspections(path, SEEDED, metro_outline())
        import_inspections(engine, path, actor="bench")
    planner = add_user(engine, "bench-planner", "planner", actor="bench")[1]
    inspector = add_user(engine, "bench-inspector", "inspector", actor="bench")[1]
    engine.dispose()
    return url, planner, inspector


#: (seconds since the start, resident MB, response cache MB)
Sample = tuple[float, float, float]


async def load(
    base: str, planner: str, inspector: str, seconds: float, connections: int, pid: int
) -> tuple[dict[str, list[float]], dict[str, list[str]], set[str], list[Sample]]:
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, list[str]] = defaultdict(list)
    posted: list[dict[str, object]] = []
    ids: set[str] = set()
    memory: list[Sample] = []
    names = [n for n, _ in MIX]
    weights = [w for _, w in MIX]
    started = time.monotonic()
    deadline = started + seconds
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    planner_h = {"Authorization": f"Bearer {planner}"}
    inspector_h = {"Authorization": f"Bearer {inspector}"}

    def new_inspection(rnd: random.Random) -> dict[str, object]:
        return {
            "type": "Feature",
            "id": str(uuid.UUID(int=rnd.getrandbits(122), version=4)),
            "geometry": {
                "type": "Point",
                "coordinates": [
                    round(-96.73 + rnd.uniform(-0.05, 0.05), 6),
                    round(17.06 + rnd.uniform(-0.05, 0.05), 6),
                ],
            },
            "properties": {
                "observed_at": "2026-11-20T10:30:00-06:00",
                "category": rnd.choice(CATEGORIES),
                "severity": rnd.randint(1, 5),
                "description": "carga sostenida",
                "gps_accuracy_m": 5.0,
            },
        }

    async def worker(n: int, client: httpx.AsyncClient) -> None:
        rnd = random.Random(n)
        while time.monotonic() < deadline:
            name = rnd.choices(names, weights)[0]
            expected = {200}
            body = None
            headers: dict[str, str] = {}
            if name == "items?limit=10":
                url = "/collections/municipalities/items?limit=10"
            elif name == "items?bbox":
                url = f"/collections/municipalities/items?bbox={BBOX}&limit=100"
            elif name == "items/{id}":
                url = f"/collections/municipalities/items/20{rnd.randint(1, 570):03d}"
            elif name == "inspections page":
                url = f"/collections/inspections/items?limit=50&offset={rnd.randint(0, 900)}"
                headers = planner_h
            elif name == "/lookup":
                lon = round(-96.73 + rnd.uniform(-0.06, 0.06), 5)
                lat = round(17.06 + rnd.uniform(-0.06, 0.06), 5)
                url = f"/lookup?lon={lon}&lat={lat}"
                headers = planner_h
            elif name == "map metro zone":
                url = "/maps/metro-zones/20.1.01?assets=server&tiles=false"
            elif name == "POST /inspections" or not posted:
                name = "POST /inspections"
                body = new_inspection(rnd)
                url, headers, expected = "/inspections", inspector_h, {201}
            else:  # a retry of something already stored: the same record, 200
                body = rnd.choice(posted)
                url, headers, expected = "/inspections", inspector_h, {200}
            t0 = time.perf_counter()
            try:
                if body is None:
                    answer = await client.get(url, headers=headers)
                else:
                    answer = await client.post(url, json=body, headers=headers)
                status = answer.status_code
                if status not in expected:
                    errors[name].append(f"{status}: {answer.text[:200]}")
            except httpx.HTTPError as exc:
                errors[name].append(f"{type(exc).__name__}: {exc}")
                continue
            latencies[name].append((time.perf_counter() - t0) * 1000)
            if name == "POST /inspections" and status == 201:
                posted.append(body)  # type: ignore[arg-type]
                ids.add(str(body["id"]))  # type: ignore[index]

    async def watch() -> None:
        while time.monotonic() < deadline:
            health = (await client.get("/health")).json()
            cached = health["response_cache"]["bytes"] / 2**20
            memory.append((time.monotonic() - started, rss_mb(pid), cached))
            await asyncio.sleep(10)

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        await asyncio.gather(watch(), *(worker(n, client) for n in range(connections)))
    return latencies, errors, ids, memory


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--memory-growth", type=float, default=0.05)
    parser.add_argument(
        "--cache-mb",
        type=int,
        default=None,
        help="LINDE_RESPONSE_CACHE_MB for the server (default: Linde's, 64 MB per worker)",
    )
    args = parser.parse_args()

    url, planner, inspector = prepare()
    port = free_port()
    env = {**os.environ, "LINDE_DATABASE_URL": url}
    if args.cache_mb is not None:
        env["LINDE_RESPONSE_CACHE_MB"] = str(args.cache_mb)
    with tempfile.TemporaryDirectory(prefix="linde_sustained_photos_") as photos:
        env["LINDE_PHOTOS_DIR"] = photos
        command = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"]
        command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        command += ["--log-level", "warning", "--no-access-log"]
        server = subprocess.Popen(
            command,
            env=env,
            cwd=Path(__file__).resolve().parents[1],
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    print("the server did not start", file=sys.stderr)
                    return 1
                time.sleep(0.3)
            before = resource.getrusage(resource.RUSAGE_SELF)
            wall = time.monotonic()
            latencies, errors, ids, memory = asyncio.run(
                load(base, planner, inspector, args.minutes * 60, args.connections, server.pid)
            )
            wall = time.monotonic() - wall
            after = resource.getrusage(resource.RUSAGE_SELF)
            end_rss = rss_mb(server.pid)
            cache_stats = httpx.get(f"{base}/health").json()["response_cache"]
            end_cache = cache_stats["bytes"] / 2**20
        finally:
            server.terminate()
            server.wait(timeout=30)

    rows = count_rows("inspections", database=DB)
    load_avg = os.getloadavg()
    print(
        f"sustained load: {args.minutes:g} min, {args.connections} connections, one Linde "
        f"worker on PostGIS, response cache "
        f"{'default (64 MB)' if args.cache_mb is None else f'{args.cache_mb} MB'}; "
        f"load average at the end {load_avg[0]:.2f}"
    )
    print(f"{'endpoint':28} {'requests':>9} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8}")
    total = failed = 0
    for name, _ in MIX:
        values = sorted(latencies.get(name, []))
        bad = len(errors.get(name, []))
        total += len(values) + bad
        failed += bad
        if values:
            p50 = statistics.median(values)
            p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
            print(f"{name:28} {len(values) + bad:>9,} {bad:>7} {p50:>8.1f} {p99:>8.1f}")
        else:
            print(f"{name:28} {bad:>9,} {bad:>7} {'-':>8} {'-':>8}")
    print(f"{'all':28} {total:>9,} {failed:>7}   ({total / wall:,.0f} req/s)")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"client CPU: {cpu:.0f} s over {wall:.0f} s of load ({cpu / wall:.0%} of one core)")
    print("server memory by minute (MB): resident; response cache bodies (bounded); the rest")
    by_minute: dict[int, tuple[float, float]] = {}
    for at, mb, cached in memory:
        by_minute[int(at // 60)] = (mb, cached)  # the last sample of each minute
    for minute, (mb, cached) in sorted(by_minute.items()):
        print(f"  minute {minute + 1}: {mb:7.1f}  cache {cached:5.1f}  rest {mb - cached:7.1f}")
    print(f"  at the end: {end_rss:7.1f}  cache {end_cache:5.1f}  rest {end_rss - end_cache:7.1f}")
    print(
        "response cache at the end: {entries:,} bodies, {hits:,} hits, {misses:,} misses, "
        "{stored:,} stored (on a second miss), {dropped_stale:,} dropped as stale".format(
            **cache_stats
        )
    )
    first, first_cache = by_minute.get(0, (float("nan"), 0.0))
    middle = by_minute.get(len(by_minute) // 2, (float("nan"), 0.0))[0]
    growth = end_rss / first - 1
    late = end_rss / middle - 1
    rest = (end_rss - end_cache) / (first - first_cache) - 1
    flat = growth <= args.memory_growth  # False when a figure is missing (NaN)
    print(
        f"resident memory from minute 1 to the end: {growth:+.1%} "
        f"({'flat' if flat else 'GROWING'}, limit {args.memory_growth:+.0%}); from minute "
        f"{len(by_minute) // 2 + 1} to the end {late:+.1%}; outside the response cache "
        f"from minute 1 {rest:+.1%}"
    )
    expected_rows = SEEDED + len(ids)
    print(
        f"inspections in the database: {rows:,} = {SEEDED:,} seeded + {len(ids):,} posted "
        f"({'exactly once' if rows == expected_rows else f'WRONG, expected {expected_rows:,}'})"
    )
    for name, messages in errors.items():
        for message in messages[:3]:
            print(f"  error on {name}: {message}")
    return 0 if failed == 0 and flat and rows == expected_rows else 1


if __name__ == "__main__":
    sys.exit(main())
