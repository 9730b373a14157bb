"""Benchmark: ingest of field inspections, and exactly-once under concurrent retries.

Part 1, ingest. 100,000 synthetic inspections spread over the Oaxaca metro zone
(2020 delimitation, real INEGI polygons) are written as one GeoJSON file, then
loaded into PostGIS twice in the same run:

* by Linde (``import_inspections``, the function behind ``linde import inspections``):
  reading, checking every row (point in Mexico, time, category, severity), the
  content fingerprint, the annotation of every point (official municipality,
  claims in force, disputed zone, metro zones, nearest river with distance,
  chainage, bank side and federal zone), the exactly-once insert and the audit
  trail, in one transaction;
* by plain ``ogr2ogr -f PostgreSQL`` (GDAL's defaults: COPY, spatial index), which
  only copies the features into a table.

It prints rows per second for both and their ratio (target: Linde >= 0.5 of
ogr2ogr), and the time of re-importing the same file (nothing new is created).

Part 2, exactly once. ``linde serve`` runs on the same database; 50 concurrent
clients each post 200 new inspections, each submission sent 1-3 times (immediate
retries, as after a lost response) and some re-sent again later (late retries);
about one in ten is first sent with a timeout of 1-20 ms, so the client gives up
while the server may already be storing it, and then retried.
It prints the status counts and how many inspections exist at the end:
exactly 10,000 is the only right answer.

Usage::

    .venv/bin/python bench/ingest_inspections.py [--rows 100000] [--repeat 3] \
        [--clients 50] [--posts 200]

Connection: PGHOST (127.0.0.1), PGPORT (5432), PGUSER (postgres). Not a test.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import psycopg
import shapely
from shapely.geometry.base import BaseGeometry

# the same made-up points the tests use (tests never import bench/; bench may import them)
from tests.helpers import CATEGORIES, synthetic_inspections

DATA = Path(__file__).resolve().parents[1] / "data"  # the shipped Oaxaca metro-zone extract
OAXACA = DATA / "municipios_zm_oaxaca_inegi.geojson"
METRO_2020 = DATA / "zm_oaxaca_2020.csv"
RIVERS = DATA / "rios_atoyac_salado_ne_10m.geojson"
DB = "linde_bench_ingest"
OGR_TABLE = "ogr_inspections"
TARGET_RATIO = 0.5


def pg() -> tuple[str, str, str]:
    return (
        os.environ.get("PGHOST", "127.0.0.1"),
        os.environ.get("PGPORT", "5432"),
        os.environ.get("PGUSER", "postgres"),
    )


def recreate_database(name: str = DB) -> str:
    host, port, user = pg()
    with psycopg.connect(f"host={host} port={port} user={user} dbname=postgres") as conn:
        conn.autocommit = True
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql://{user}@{host}:{port}/{name}"


def metro_outline() -> BaseGeometry:
    import geopandas as gpd
    import pandas as pd

    members = set(
        pd.read_csv(METRO_2020, dtype=str).query("CVE_ZONA == '20.1.01'")["CVEGEO"].tolist()
    )
    munis = gpd.read_file(OAXACA)
    return shapely.union_all(munis[munis["cvegeo"].isin(members)].geometry.to_numpy())


def run_ogr2ogr(path: Path) -> float:
    host, port, user = pg()
    started = time.perf_counter()
    subprocess.run(
        [
            "ogr2ogr",
            "-f",
            "PostgreSQL",
            f"PG:host={host} port={port} user={user} dbname={DB}",
            str(path),
            "-nln",
            OGR_TABLE,
            "-overwrite",
        ],
        check=True,
    )
    return time.perf_counter() - started


def count_rows(table: str, where: str = "", database: str = DB) -> int:
    host, port, user = pg()
    with psycopg.connect(f"host={host} port={port} user={user} dbname={database}") as conn:
        row = conn.execute(f"SELECT count(*) FROM {table} {where}").fetchone()
        assert row is not None
        return int(row[0])


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def concurrency(url: str, clients: int, posts: int) -> None:
    from layers.engine import make_engine
    from layers.settings import Settings
    from layers.users import add_user

    engine = make_engine(url, Settings(database_url=url))
    tokens = [
        add_user(engine, f"bench-inspector-{n}", "inspector", actor="bench")[1]
        for n in range(clients)
    ]
    engine.dispose()
    before = count_rows("inspections")
    port = free_port()
    env = {**os.environ, "LINDE_DATABASE_URL": url}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli.main",
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
            "--log-level",
            "warning",
            "--no-access-log",
        ],
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
                raise SystemExit("linde serve did not start")
            time.sleep(0.3)
        statuses: Counter[int] = Counter()
        lock = threading.Lock()

        def client(n: int) -> None:
            rnd = random.Random(n)
            sent: list[dict[str, object]] = []
            local: Counter[int] = Counter()
            with httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {tokens[n]}"}, timeout=60
            ) as http:
                for i in range(posts):
                    body: dict[str, object] = {
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
                            "observed_at": "2024-05-01T10:30:00-06:00",
                            "category": rnd.choice(CATEGORIES),
                            "severity": rnd.randint(1, 5),
                            "description": f"cliente {n}, envío {i}",
                            "gps_accuracy_m": 5.0,
                        },
                    }
                    # one time in ten the phone gives up before the answer comes (a timeout
                    # of a few milliseconds: the server may or may not have stored it), then
                    # retries until it hears back
                    while rnd.random() < 0.1:
                        try:
                            quick = rnd.uniform(0.001, 0.02)
                            answer = http.post("/inspections", json=body, timeout=quick)
                            local[answer.status_code] += 1
                        except httpx.TimeoutException:
                            local[-1] += 1  # -1: a request cut by the client's timeout
                    for _ in range(rnd.randint(1, 3)):  # the phone did not see the answer
                        local[http.post("/inspections", json=body).status_code] += 1
                    sent.append(body)
                    if rnd.random() < 0.1:  # a late retry of an earlier submission
                        local[http.post("/inspections", json=rnd.choice(sent)).status_code] += 1
            with lock:
                statuses.update(local)

        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - started
        created = count_rows("inspections") - before
        requests = sum(n for code, n in statuses.items() if code > 0)
        print(
            f"exactly once: {clients} clients x {posts} inspections, {requests} requests "
            f"(with retries) in {seconds:.1f} s ({requests / seconds:.0f} req/s)"
        )
        cut = statuses.pop(-1, 0)
        print(f"  status codes: {dict(sorted(statuses.items()))}; cut by client timeouts: {cut}")
        print(
            f"  inspections created: {created} (expected {clients * posts}) -> "
            f"{'OK' if created == clients * posts else 'WRONG'}"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3, help="ingest runs of each tool")
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from layers.engine import make_engine
    from layers.importers.inspections import import_inspections
    from layers.importers.metro_zones import import_metro_zones
    from layers.importers.municipalities import import_municipalities
    from layers.importers.rivers import import_rivers
    from layers.migrate import upgrade
    from layers.settings import Settings

    url = recreate_database()
    engine = make_engine(url, Settings(database_url=url))
    upgrade(engine)
    import_municipalities(engine, OAXACA, actor="bench")
    import_metro_zones(engine, METRO_2020, actor="bench")
    import_rivers(engine, RIVERS, actor="bench", skip_unnamed=True)

    with tempfile.TemporaryDirectory(prefix="linde_bench_") as tmp:
        path = Path(tmp) / "inspecciones_sinteticas.geojson"
        synthetic_inspections(path, args.rows, metro_outline())
        size_mb = path.stat().st_size / 1e6
        print(f"file: {args.rows:,} synthetic inspections over ZM de Oaxaca, {size_mb:.1f} MB")

        ogr_runs: list[float] = []
        linde_runs: list[float] = []
        for n in range(args.repeat):  # alternating, so both see the same load on average
            ogr_runs.append(run_ogr2ogr(path))
            if n:  # start again from an empty inspections table
                with engine.begin() as conn:
                    conn.exec_driver_sql("DELETE FROM inspections")
            started = time.perf_counter()
            summary = import_inspections(engine, path, actor="bench")
            linde_runs.append(time.perf_counter() - started)
        ogr_rows = count_rows(OGR_TABLE)
        started = time.perf_counter()
        again = import_inspections(engine, path, actor="bench")
        again_s = time.perf_counter() - started
    annotated = count_rows("inspections", "WHERE municipality_cvegeo IS NOT NULL")
    with_river = count_rows("inspections", "WHERE river_id IS NOT NULL")
    engine.dispose()

    ogr_s, linde_s = statistics.median(ogr_runs), statistics.median(linde_runs)
    ogr_rate, linde_rate = ogr_rows / ogr_s, summary.created / linde_s
    ratio = linde_rate / ogr_rate
    print(f"{args.repeat} run(s) each, alternating; median wall-clock seconds (all runs)")
    print(
        f"ogr2ogr -f PostgreSQL : {ogr_rows:>7,} rows in {ogr_s:6.2f} s = {ogr_rate:>9,.0f} rows/s"
        f"  {[round(t, 2) for t in ogr_runs]}"
    )
    print(
        f"linde import          : {summary.created:>7,} rows in {linde_s:6.2f} s = "
        f"{linde_rate:>9,.0f} rows/s  {[round(t, 2) for t in linde_runs]}"
    )
    print(f"  validated and annotated: {annotated:,} with municipality, {with_river:,} with river")
    print(
        f"ratio linde/ogr2ogr   : {ratio:.2f} (target >= {TARGET_RATIO}) -> "
        f"{'OK' if ratio >= TARGET_RATIO else 'BELOW TARGET'}"
    )
    print(
        f"re-import same file   : {again.created} created, {again.unchanged:,} unchanged "
        f"in {again_s:.2f} s"
    )
    concurrency(url, args.clients, args.posts)


if __name__ == "__main__":
    main()
