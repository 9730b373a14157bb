"""Benchmark: detection of disputed zones over Oaxaca state and all of Mexico.

For each dataset (the 570 municipalities of Oaxaca, the 2,474 of Mexico) and each
engine (PostGIS, SpatiaLite), a fresh database gets the official boundaries and,
as claims, each official polygon buffered by a random ±20–80 m (seeded, mitred joins), so that
every shared line becomes an overlap or a gap somewhere. Then it times:

* ``detect``: ``run_detection`` over every municipality, as the API and CLI run it
  (read claims and official lines, project, detect overlaps and gaps, measure,
  match with the zones already stored, write zones, parties, history, case files);
* ``re-run``: the same again on unchanged claims (reads and compares, writes nothing);
* peers measured in the same run, on the same claims: a plain PostGIS self-join
  (``ST_Intersection`` of every intersecting pair of claims, areas in EPSG:6372:
  overlaps only, no gaps, no three-way pieces, nothing written) and, for Oaxaca,
  GeoPandas ``overlay(claims, claims)`` (overlaps only).

Setup and detection run in separate processes, so the peak memory printed is that
of detection alone. Targets on the project's machine: Oaxaca ≤ 5 s, Mexico ≤ 60 s,
memory under 2 GB.

Usage::

    .venv/bin/python bench/disputes.py                      # both datasets, both engines
    .venv/bin/python bench/disputes.py --datasets oaxaca --engines spatialite

PGHOST/PGPORT/PGUSER as in ``bench/import_national.py``. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.shared_data import MEXICO, OAXACA_STATE, require  # noqa: E402

DATASETS = {
    "oaxaca": OAXACA_STATE,
    "mexico": MEXICO,
}
TARGET_S = {"oaxaca": 5.0, "mexico": 60.0}
SEED = 20260
PG_DB = "linde_bench_disputes"


def pg_admin() -> str:
    host = os.environ.get("PGHOST", "127.0.0.1")
    port = os.environ.get("PGPORT", "5432")
    user = os.environ.get("PGUSER", "postgres")
    return f"postgresql://{user}@{host}:{port}"


def fresh_database(engine: str, folder: Path) -> str:
    if engine == "spatialite":
        return f"sqlite:///{folder / 'bench.sqlite'}"
    import psycopg

    with psycopg.connect(f"{pg_admin()}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{PG_DB}"')
    return f"{pg_admin()}/{PG_DB}"


def drop_database(engine: str) -> None:
    if engine == "postgis":
        import psycopg

        with psycopg.connect(f"{pg_admin()}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')


def setup(url: str, dataset: str) -> dict[str, Any]:
    """Import the official lines and record the perturbed claims (not timed as detection)."""
    import numpy as np
    import shapely

    from geo.metric import to_lonlat, to_metric
    from geo.zone_decisions import as_valid_multipolygon
    from layers.claims import add_claims, official_geometries
    from layers.engine import make_engine
    from layers.importers.municipalities import import_municipalities
    from layers.migrate import upgrade
    from layers.settings import Settings

    engine = make_engine(url, Settings(database_url=url))
    upgrade(engine)
    t0 = time.perf_counter()
    import_municipalities(engine, DATASETS[dataset], actor="bench")
    imported = time.perf_counter() - t0
    with engine.connect() as conn:
        official = official_geometries(conn, _all_keys(conn))
    keys = sorted(official)
    rng = np.random.default_rng(SEED)
    distance = rng.uniform(20, 80, len(keys)) * rng.choice([-1.0, 1.0], len(keys))
    metric = to_metric(np.array([official[k] for k in keys], dtype=object))
    # mitred joins keep the official vertex count (round joins add ~70 %: 6.4 M vertices
    # nationally instead of 3.2 M), closer to a surveyed or cadastral line
    claims = to_lonlat(shapely.buffer(metric, distance, join_style="mitre"))
    geoms = {
        k: as_valid_multipolygon(g) for k, g in zip(keys, claims, strict=True) if not g.is_empty
    }
    t1 = time.perf_counter()
    add_claims(
        engine,
        geoms,
        source="survey",
        valid_from=datetime(2024, 1, 1, tzinfo=UTC),
        recorded_by="bench",
        source_reference=f"official line buffered ±20–80 m, seed {SEED}",
    )
    engine.dispose()
    return {
        "municipalities": len(keys),
        "claims": len(geoms),
        "import_s": imported,
        "claims_s": time.perf_counter() - t1,
    }


def _all_keys(conn: Any) -> list[str]:
    from sqlalchemy import select

    from layers.schema import municipalities

    return list(conn.execute(select(municipalities.c.cvegeo)).scalars())


def detect_twice(url: str) -> dict[str, Any]:
    from layers.engine import make_engine
    from layers.settings import Settings
    from services.detection import run_detection

    engine = make_engine(url, Settings(database_url=url))
    with engine.connect() as conn:
        keys = _all_keys(conn)
    t0 = time.perf_counter()
    first = run_detection(engine, actor="bench", cvegeos=keys)
    detect_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    again = run_detection(engine, actor="bench", cvegeos=keys)
    rerun_s = time.perf_counter() - t1
    engine.dispose()
    return {
        "detect_s": detect_s,
        "compute_s": first["compute_s"],
        "rerun_s": rerun_s,
        "overlaps": first["overlaps"],
        "overlap_km2": sum(z["area_m2"] for z in first["zones"] if z["kind"] == "overlap") / 1e6,
        "gaps": first["gaps"],
        "slivers": first["slivers_ignored"],
        "rerun_created": again["zones_created"],
        "rerun_unchanged": again["zones_unchanged"],
    }


def peer_postgis_sql(url: str) -> dict[str, Any]:
    """Overlaps only, by a plain self-join in PostGIS (nothing written)."""
    import psycopg

    query = """
        SELECT count(*), coalesce(sum(a), 0) FROM (
          SELECT ST_Area(ST_Transform(ST_CollectionExtract(ST_Intersection(x.geom, y.geom), 3),
                                      6372)) AS a
          FROM claims x JOIN claims y
            ON x.cvegeo < y.cvegeo AND x.geom && y.geom AND ST_Intersects(x.geom, y.geom)
          WHERE x.valid_to IS NULL AND y.valid_to IS NULL
        ) pairs WHERE a >= 100
    """
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        t0 = time.perf_counter()
        pairs, area = conn.execute(query).fetchone()  # type: ignore[misc]
        return {"seconds": time.perf_counter() - t0, "pairs": pairs, "area_km2": area / 1e6}


def peer_geopandas(url: str) -> dict[str, Any]:
    """Overlaps only, by GeoPandas' overlay of the claims with themselves."""
    import geopandas as gpd
    import numpy as np
    from sqlalchemy import select

    from geo.metric import to_metric
    from layers.engine import make_engine
    from layers.geometry_io import from_db
    from layers.schema import claims
    from layers.settings import Settings

    engine = make_engine(url, Settings(database_url=url))
    with engine.connect() as conn:
        rows = conn.execute(
            select(claims.c.cvegeo, claims.c.geom).where(claims.c.valid_to.is_(None))
        ).all()
    engine.dispose()
    t0 = time.perf_counter()
    gdf = gpd.GeoDataFrame(
        {"cvegeo": [r[0] for r in rows]},
        geometry=list(to_metric(np.array([from_db(r[1]) for r in rows], dtype=object))),
        crs=6372,
    )
    both = gpd.overlay(gdf, gdf, how="intersection", keep_geom_type=True)
    both = both[both["cvegeo_1"] < both["cvegeo_2"]]
    pieces = both.explode(index_parts=False)
    pieces = pieces[pieces.area >= 100]
    return {
        "seconds": time.perf_counter() - t0,
        "pieces": len(pieces),
        "area_km2": float(pieces.area.sum()) / 1e6,
    }


def child(args: argparse.Namespace) -> None:
    if args.phase == "setup":
        result = setup(args.url, args.dataset)
    elif args.phase == "detect":
        result = detect_twice(args.url)
    elif args.phase == "peer-sql":
        result = peer_postgis_sql(args.url)
    else:
        result = peer_geopandas(args.url)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def run_child(phase: str, url: str, dataset: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", phase, "--url", url, "--dataset", dataset],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="oaxaca,mexico")
    parser.add_argument("--engines", default="postgis,spatialite")
    parser.add_argument("--child", dest="phase", default=None)
    parser.add_argument("--url", default="")
    parser.add_argument("--dataset", default="oaxaca")
    args = parser.parse_args()
    if args.phase:
        sys.path.insert(0, str(ROOT))
        child(args)
        return
    require(*(DATASETS[name] for name in args.datasets.split(",")))
    print(
        f"disputes benchmark, claims = official ± U(20, 80) m, seed {SEED}; cpus {os.cpu_count()}"
    )
    for dataset in args.datasets.split(","):
        for engine in args.engines.split(","):
            with tempfile.TemporaryDirectory(prefix="linde-bench-") as folder:
                url = fresh_database(engine, Path(folder))
                try:
                    made = run_child("setup", url, dataset)
                    found = run_child("detect", url, dataset)
                    peers = {}
                    if engine == "postgis":
                        peers["PostGIS self-join"] = run_child("peer-sql", url, dataset)
                    if dataset == "oaxaca":
                        peers["GeoPandas overlay"] = run_child("peer-gpd", url, dataset)
                finally:
                    drop_database(engine)
            target = TARGET_S[dataset]
            verdict = "ok" if found["detect_s"] <= target else "OVER TARGET"
            print(
                f"\n{dataset} on {engine}: {made['municipalities']} municipalities, "
                f"{made['claims']} claims (setup: import {made['import_s']:.1f} s, "
                f"claims {made['claims_s']:.1f} s)"
            )
            print(
                f"  detect   {found['detect_s']:7.2f} s  (geometry {found['compute_s']:.2f} s)  "
                f"{found['overlaps']} overlaps + {found['gaps']} gaps = "
                f"{found['overlaps'] + found['gaps']} zones ({found['overlap_km2']:.2f} km² "
                f"overlapping), {found['slivers']} slivers ignored; "
                f"target {target:.0f} s: {verdict}; peak memory {found['peak_mb']:.0f} MB"
            )
            print(
                f"  re-run   {found['rerun_s']:7.2f} s  ({found['rerun_unchanged']} unchanged, "
                f"{found['rerun_created']} created)"
            )
            for name, peer in peers.items():
                count = peer.get("pairs", peer.get("pieces"))
                print(
                    f"  peer     {peer['seconds']:7.2f} s  {name}: {count} overlap "
                    f"{'pairs' if 'pairs' in peer else 'pieces'} ≥ 100 m², "
                    f"{peer['area_km2']:.2f} km² (overlaps only); Linde detect / peer = "
                    f"{found['detect_s'] / peer['seconds']:.2f}"
                )


if __name__ == "__main__":
    main()
