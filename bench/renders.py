"""Benchmark: 20 PNG renders at once against one Linde worker; memory, latency, /health.

Starts ``linde`` (uvicorn, one worker) in a process of its own on a SpatiaLite file
holding the Oaxaca municipalities and the 2020 metro zones (read from
``../shared/data``; the benchmark says so and stops when it is missing), then fires
``--clients`` concurrent anonymous ``GET /maps/metro-zones/20.1.01?format=png``
while one more client asks ``/health`` every 100 ms and a sampler reads the memory
(PSS and RSS) of the server and every process under it (the headless Chromium and its
renderers) from ``/proc`` every 50 ms.

It runs twice in the same run: with Linde's default bound (``render_pages=2``, a
queue of 6, the rest 503 with ``Retry-After``) and with the bound opened to as many
pages as there are clients (``render_pages=20``, no queue), the peer that shows what
unbounded renders would cost. Printed per run: answers by status, render latency,
``/health`` latency, peak memory of the server plus browser (PSS, which shares out
what Chromium's processes share, and the sum of RSS, which counts it again in each),
and peak process count; then the ratio of the peaks.

Usage::

    .venv/bin/python bench/renders.py
    .venv/bin/python bench/renders.py --clients 20 --pages 2 --queue 6

This is a benchmark, not a test: it is not collected by pytest, and its timings
depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
OAXACA = DATA / "boundaries" / "oaxaca_municipios_inegi_mg.geojson"
METRO_2020 = DATA / "metro_zones" / "metropolis_2020_municipios.csv"
ZONE = "20.1.01"
MIB = 1024 * 1024


@dataclass
class Run:
    label: str
    statuses: dict[int, int] = field(default_factory=dict)
    render_s: list[float] = field(default_factory=list)
    refused_s: list[float] = field(default_factory=list)
    health_s: list[float] = field(default_factory=list)
    health_errors: int = 0
    peak_rss: int = 0
    peak_pss: int = 0
    peak_processes: int = 0
    wall_s: float = 0.0


def _children(pid: int) -> list[int]:
    """``pid`` and every process under it, from ``/proc``."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(ppid, []).append(int(entry))
    found, stack = [], [pid]
    while stack:
        p = stack.pop()
        found.append(p)
        stack.extend(parents.get(p, []))
    return found


def _memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of a process in bytes. Chromium's processes share much of their
    memory, so the sum of their RSS counts it several times; PSS shares it out."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, pss


def _prepare(folder: Path) -> str:
    from layers.engine import make_engine
    from layers.importers.metro_zones import import_metro_zones
    from layers.importers.municipalities import import_municipalities
    from layers.migrate import upgrade
    from layers.settings import Settings

    url = f"sqlite:///{folder / 'linde.sqlite'}"
    engine = make_engine(url, Settings(database_url=url))
    upgrade(engine)
    import_municipalities(engine, OAXACA, actor="bench")
    import_metro_zones(engine, METRO_2020, actor="bench")
    engine.dispose()
    return url


def _serve(url: str, port: int, pages: int, queue: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LINDE_DATABASE_URL": url,
        "LINDE_RENDER_PAGES": str(pages),
        "LINDE_RENDER_QUEUE": str(queue),
        "PYTHONPATH": str(ROOT),
    }
    code = (
        "import uvicorn; uvicorn.run('api.app:create_app', factory=True, host='127.0.0.1', "
        f"port={port}, log_level='warning', access_log=False)"
    )
    server = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the Linde server did not start within 60 s")


def measure(label: str, url: str, port: int, clients: int, pages: int, queue: int) -> Run:
    run = Run(label)
    server = _serve(url, port, pages, queue)
    base = f"http://127.0.0.1:{port}"
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            tree = _children(server.pid)
            sizes = [_memory(p) for p in tree]
            run.peak_rss = max(run.peak_rss, sum(rss for rss, _ in sizes))
            run.peak_pss = max(run.peak_pss, sum(pss for _, pss in sizes))
            run.peak_processes = max(run.peak_processes, len(tree))
            time.sleep(0.05)

    def health() -> None:
        with httpx.Client(base_url=base, timeout=30) as http:
            while not done.is_set():
                started = time.perf_counter()
                try:
                    ok = http.get("/health").status_code == 200
                except httpx.HTTPError:
                    ok = False
                run.health_s.append(time.perf_counter() - started)
                run.health_errors += not ok
                time.sleep(0.1)

    # one client for all: a client per request would build an SSL context each, which
    # took this process seconds of CPU for 20 at once and showed up as server latency
    renders = httpx.Client(base_url=base, timeout=300, limits=httpx.Limits(max_connections=clients))

    def render(_i: int) -> None:
        started = time.perf_counter()
        r = renders.get(f"/maps/metro-zones/{ZONE}", params={"format": "png", "tiles": "false"})
        took = time.perf_counter() - started
        run.statuses[r.status_code] = run.statuses.get(r.status_code, 0) + 1
        (run.render_s if r.status_code == 200 else run.refused_s).append(took)

    watchers = [threading.Thread(target=sample), threading.Thread(target=health)]
    try:
        for w in watchers:
            w.start()
        time.sleep(0.5)  # a baseline of /health before the burst
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(render, range(clients)))
        run.wall_s = time.perf_counter() - started
        time.sleep(0.5)
    finally:
        done.set()
        renders.close()
        for w in watchers:
            w.join()
        server.terminate()
        server.wait(timeout=30)
    return run


def _ms(values: list[float]) -> str:
    if not values:
        return "—"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"p50 {statistics.median(ordered) * 1000:7.0f} ms  p95 {p95 * 1000:7.0f} ms  "
        f"max {ordered[-1] * 1000:7.0f} ms  (n={len(ordered)})"
    )


def report(run: Run) -> None:
    statuses = ", ".join(f"{code}: {n}" for code, n in sorted(run.statuses.items()))
    print(f"\n{run.label}")
    print(f"  answers            {statuses}   (burst took {run.wall_s:.1f} s)")
    print(f"  render (200)       {_ms(run.render_s)}")
    print(f"  refused (503)      {_ms(run.refused_s)}")
    print(f"  /health            {_ms(run.health_s)}   errors: {run.health_errors}")
    print(
        f"  peak memory        PSS {run.peak_pss / MIB:5.0f} MiB, sum of RSS "
        f"{run.peak_rss / MIB:5.0f} MiB  (server + browser, {run.peak_processes} processes "
        "at most)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--pages", type=int, default=2)
    parser.add_argument("--queue", type=int, default=6)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--no-peer", action="store_true", help="skip the unbounded run")
    args = parser.parse_args()
    if not OAXACA.exists() or not METRO_2020.exists():
        raise SystemExit(f"this benchmark reads ../shared/data, which is missing here ({DATA})")
    with tempfile.TemporaryDirectory() as folder:
        print("importing the Oaxaca municipalities and the 2020 metro zones…", flush=True)
        url = _prepare(Path(folder))
        bounded = measure(
            f"bounded: render_pages={args.pages}, render_queue={args.queue}",
            url,
            args.port,
            args.clients,
            args.pages,
            args.queue,
        )
        report(bounded)
        if args.no_peer:
            return
        wide = measure(
            f"peer, unbounded: render_pages={args.clients}, render_queue=0",
            url,
            args.port,
            args.clients,
            args.clients,
            0,
        )
        report(wide)
        print(
            f"\npeak PSS, bounded / unbounded: {bounded.peak_pss / max(wide.peak_pss, 1):.2f}; "
            f"processes: {bounded.peak_processes} / {wide.peak_processes}"
        )


if __name__ == "__main__":
    main()
