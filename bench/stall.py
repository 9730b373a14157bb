"""Benchmark: downloads nobody reads and PNG renders, while other clients use the API.

Method. The PostGIS database of ``bench/sustained.py`` (570 Oaxaca municipalities, the
2020 metro zones, the named rivers, 1,000 inspections; from ``../shared/data``) is
served by one ``uvicorn api.app:create_app`` worker. For ``--seconds`` (default 60):

* ``--stallers`` clients (default 50) each open ``GET /collections/municipalities/
  items?f=csv`` on a socket with a 4 KiB receive buffer, read the status line and
  headers, and then read nothing; when the server drops one, or refuses it (503),
  it opens another a second later;
* ``--renderers`` clients (default 20) ask for the metro zone's map as PNG
  (``/maps/metro-zones/20.1.01?format=png``), one after the other, as the render
  endpoint is today;
* ``--others`` clients (default 4) loop over ``/health``, a static Leaflet file, an
  items page and ``/lookup`` (planner token).

It prints ``/health`` latency (p50, p95, max; Linde's aim: under 1 s), the server's
resident memory, with its child processes (Chromium), every 5 s, the answers of each
kind of client by status, and the 5xx and socket errors the other clients got. It
prints figures and judges nothing: speed depends on the machine.

Usage::

    .venv/bin/python bench/stall.py [--seconds 60] [--stallers 50] [--renderers 20]

Everything shares this machine's CPUs: clients, server, Chromium and PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ingest_inspections import free_port
from bench.sustained import prepare

DOWNLOAD = "/collections/municipalities/items?f=csv"
RENDER = "/maps/metro-zones/20.1.01?format=png&tiles=false"
OTHER = [
    "/health",
    "/maps/static/leaflet-1.9.4/leaflet.css",
    "/collections/municipalities/items?limit=5",
    "/lookup?lon=-96.7266&lat=17.0654",
]


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and every process below it, in MB."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    total_kb, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo += children.get(current, [])
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            pass
    return total_kb / 1024


async def staller(host: str, port: int, until: float, seen: Counter[str]) -> None:
    loop = asyncio.get_running_loop()
    request = f"GET {DOWNLOAD} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    while time.monotonic() < until:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, (host, port))
            reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
            writer.write(request)
            status = (await asyncio.wait_for(reader.readline(), 120)).split()[1].decode()
            seen[status] += 1
            if status != "200":  # refused (503): ask again a second later, as an attacker would
                writer.close()
                await asyncio.sleep(1)
                continue
            # read nothing more; wait for the server to drop us (or the run to end)
            while time.monotonic() < until:
                await asyncio.sleep(1)
                if reader.at_eof() or writer.is_closing():
                    seen["dropped by the server"] += 1
                    break
            writer.close()
        except (OSError, TimeoutError, IndexError) as error:
            seen[type(error).__name__] += 1
            sock.close()
            await asyncio.sleep(1)


async def loop_over(
    client: httpx.AsyncClient,
    paths: list[str],
    until: float,
    seen: Counter[str],
    health_s: list[float],
) -> None:
    n = 0
    while time.monotonic() < until:
        path = paths[n % len(paths)]
        n += 1
        started = time.perf_counter()
        try:
            answer = await client.get(path)
            seen[str(answer.status_code)] += 1
            if path == "/health":
                health_s.append(time.perf_counter() - started)
        except httpx.HTTPError as error:
            seen[type(error).__name__] += 1


async def watch_memory(pid: int, until: float, samples: list[tuple[float, float]]) -> None:
    start = time.monotonic()
    while time.monotonic() < until:
        samples.append((time.monotonic() - start, tree_rss_mb(pid)))
        await asyncio.sleep(5)


async def run(base: str, planner: str, args: argparse.Namespace, pid: int) -> None:
    host, port = "127.0.0.1", int(base.rsplit(":", 1)[1])
    until = time.monotonic() + args.seconds
    stalls: Counter[str] = Counter()
    renders: Counter[str] = Counter()
    others: Counter[str] = Counter()
    health_s: list[float] = []
    memory: list[tuple[float, float]] = []
    timeout = httpx.Timeout(300)
    async with (
        httpx.AsyncClient(base_url=base, timeout=timeout) as anonymous,
        httpx.AsyncClient(
            base_url=base, timeout=timeout, headers={"Authorization": f"Bearer {planner}"}
        ) as signed_in,
    ):
        await asyncio.gather(
            watch_memory(pid, until, memory),
            *(staller(host, port, until, stalls) for _ in range(args.stallers)),
            *(loop_over(anonymous, [RENDER], until, renders, []) for _ in range(args.renderers)),
            *(loop_over(signed_in, OTHER, until, others, health_s) for _ in range(args.others)),
        )
    print(f"{args.stallers} stalled downloads, {args.renderers} renderers, {args.others} others")
    print(f"for {args.seconds:.0f} s; server pid {pid}; load average {os.getloadavg()[0]:.1f}")
    print()
    print("stalled downloads, answers:", dict(stalls))
    print("PNG renders, answers:      ", dict(renders))
    print("other clients, answers:    ", dict(others))
    failed = sum(v for k, v in others.items() if not k.isdigit() or k.startswith("5"))
    print(f"other clients, 5xx or socket errors: {failed}")
    if health_s:
        ordered = sorted(health_s)
        p95 = ordered[int(0.95 * (len(ordered) - 1))]
        print(
            f"/health: {len(ordered)} answers, p50 {statistics.median(ordered) * 1000:.0f} ms, "
            f"p95 {p95 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms (aim: under 1,000 ms)"
        )
    print()
    print("server memory with its children (Chromium), MB:")
    for at, mb in memory:
        print(f"  {at:5.0f} s  {mb:8.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--stallers", type=int, default=50)
    parser.add_argument("--renderers", type=int, default=20)
    parser.add_argument("--others", type=int, default=4)
    args = parser.parse_args()

    url, planner, _inspector = prepare()
    port = free_port()
    env = {**os.environ, "LINDE_DATABASE_URL": url}
    with tempfile.TemporaryDirectory(prefix="linde_stall_photos_") as photos:
        env["LINDE_PHOTOS_DIR"] = photos
        command = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"]
        command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        command += ["--log-level", "warning", "--no-access-log"]
        server = subprocess.Popen(command, env=env, cwd=Path(__file__).resolve().parents[1])
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
            print(f"idle server memory: {tree_rss_mb(server.pid):.1f} MB")
            asyncio.run(run(base, planner, args, server.pid))
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
