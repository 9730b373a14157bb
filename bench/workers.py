"""Benchmark: Linde's throughput at 1 and 2 worker processes on one PostGIS database.

Method. The Oaxaca municipalities (``--file``, default the shared INEGI file of
``bench/serve.py``) are loaded into a fresh database with ``linde import``; then
Linde is started with ``uvicorn api.app:create_app --factory --workers N`` (quiet
flags as in ``bench/serve.py``) for each N of ``--workers`` in turn, alone on the
machine, and each endpoint is loaded with the same wrk run as ``bench/serve.py``
(2 threads, 16 connections, a warm-up, then ``--duration`` seconds), in
``--turns`` turns that alternate the worker counts; the median turn is shown. The bbox page
and the item run with the response cache off (``LINDE_RESPONSE_CACHE_MB=0``), the
work a worker really does per request; ``/lookup`` as shipped. Every answer is
checked once against the SQL answer before it is loaded.

Everything runs on one machine: wrk, the workers and PostgreSQL share its CPUs, so
N workers cannot reach N times one worker's throughput here. Usage::

    .venv/bin/python bench/workers.py --quick
    .venv/bin/python bench/workers.py --workers 1 2 4 --duration 20

This is a benchmark, not a test: it is not collected by pytest.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

import psycopg

from bench.serve import (
    DEFAULT_FILE,
    LINDE,
    LINDE_NO_CACHE,
    OUT_DIR,
    OWN_SQL,
    POINT_SQL,
    WRK_STATUS_LUA,
    WRK_SUMMARY_LUA,
    BenchError,
    PgConfig,
    Processes,
    check_tools,
    drop_database,
    judge,
    linde_token,
    load_http,
    machine_facts,
    probe,
    recreate_database,
    run,
    say,
    sql_answer,
    sql_ids,
    start_linde,
    targets_for,
)

WORKERS_DB = "linde_bench_workers"
ENDPOINTS = ("bbox", "item", "point")


def measure(
    args: argparse.Namespace, pg: PgConfig, token: str, expected: dict[str, list[str]]
) -> dict[tuple[str, int], list[float]]:
    """Requests per second for each (endpoint, workers), one per turn; the worker counts
    alternate turn by turn, so a busy spell of a shared machine falls on all alike."""
    results: dict[tuple[str, int], list[float]] = {}
    for turn in range(args.turns):
        say(f"turn {turn + 1} of {args.turns}")
        for workers in args.workers:
            measure_once(args, pg, token, expected, workers, results)
    return results


def measure_once(
    args: argparse.Namespace,
    pg: PgConfig,
    token: str,
    expected: dict[str, list[str]],
    workers: int,
    results: dict[tuple[str, int], list[float]],
) -> None:
    """One turn at ``workers`` worker processes, appended to ``results``."""
    for cache in (False, True):
        procs = Processes()
        name = LINDE if cache else LINDE_NO_CACHE
        try:
            server = start_linde(
                procs, name, pg.url(WORKERS_DB), cache=cache, via_cli=False, workers=workers
            )
            for target in targets_for(server, token):
                wanted = target.endpoint == "point" if cache else target.endpoint != "point"
                if target.endpoint not in ENDPOINTS or target.variant or not wanted:
                    continue
                wrong = judge(probe(target), expected[target.endpoint])
                if wrong:
                    raise BenchError(f"{target.url}: {wrong}")
                say(f"{target.endpoint} at {workers} worker(s) for {args.duration:g} s")
                load = load_http(target, args.duration, args.warmup)
                if load.http_errors or load.socket_errors:
                    raise BenchError(f"{target.url}: errors under load {load}")
                results.setdefault((target.endpoint, workers), []).append(load.rps)
        finally:
            procs.stop_all()


def report(results: dict[tuple[str, int], list[float]], workers: Sequence[int]) -> None:
    """The median turn of each cell, then every turn."""
    first = workers[0]
    head = "| endpoint | " + " | ".join(f"{n} worker(s) req/s" for n in workers)
    head += " | " + " | ".join(f"{n} vs {first}" for n in workers[1:]) + " |"
    print(head)
    print("|" + "---|" * (1 + 2 * len(workers) - 1))
    labels = {
        "bbox": "items?bbox (cache off)",
        "item": "items/20067 (cache off)",
        "point": "/lookup",
    }
    for endpoint in ENDPOINTS:
        rps = [statistics.median(results[(endpoint, n)]) for n in workers]
        ratios = [f"{r / rps[0]:.2f}x" for r in rps[1:]]
        cells = [f"{r:,.0f}" for r in rps]
        print(f"| {labels[endpoint]} | " + " | ".join(cells + ratios) + " |")
    print("\nevery turn (req/s):")
    for (endpoint, n), turns in sorted(results.items()):
        print(f"  {endpoint:<6} {n} worker(s): " + ", ".join(f"{r:,.0f}" for r in turns))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--turns", type=int, default=3, help="alternating turns; median shown")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--quick", action="store_true", help="3 s per row, 1 s warm-up")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup = 3.0, 1.0
    if not args.file.exists():
        print(f"missing {args.file} (the shared data of ../shared/data)", file=sys.stderr)
        return 2
    pg = PgConfig.from_env()
    try:
        check_tools()
        shutil.rmtree(OUT_DIR, ignore_errors=True)
        OUT_DIR.mkdir(parents=True)
        (OUT_DIR / "summary.lua").write_text(WRK_SUMMARY_LUA)
        (OUT_DIR / "status.lua").write_text(WRK_STATUS_LUA)
        say(f"loading {args.file.name} into {WORKERS_DB}")
        recreate_database(pg, WORKERS_DB)
        env = {**os.environ, "LINDE_DATABASE_URL": pg.url(WORKERS_DB)}
        linde_cli = str(Path(sys.executable).parent / "linde")
        run([linde_cli, "import", "municipalities", str(args.file)], env=env, what="import")
        token = linde_token(linde_cli, env)
        with psycopg.connect(pg.conninfo(WORKERS_DB), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE municipalities")
        expected = {e: sql_answer(pg, WORKERS_DB, s)[0] for e, s in OWN_SQL.items()}
        expected["point"] = sql_ids(pg, WORKERS_DB, POINT_SQL)
        for line in machine_facts(pg, WORKERS_DB).lines:
            print(line)
        report(measure(args, pg, token, expected), args.workers)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        drop_database(pg, WORKERS_DB)
    return 0


if __name__ == "__main__":
    sys.exit(main())
