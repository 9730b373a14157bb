"""How many requests, and how long, GDAL needs to copy Linde's municipalities.

    python -m bench.clients [--shared ../shared/data]

Serves a fresh SpatiaLite database over real HTTP with a log of the requests Linde
receives, then copies the ``municipalities`` collection with Debian's ``ogr2ogr``
(GDAL 3.6, 10 features a page unless told) and with GDAL 3.12 from the pyogrio wheel,
for the Oaxaca metro zone's municipalities (26) and for the whole state (570). Reads
``../shared/data`` (INEGI's polygons, the 2020 delimitation): says so and stops when
it is missing. Not a timed test: the seconds are this machine's.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from api.app import create_app
from layers.engine import make_engine
from layers.importers.municipalities import import_municipalities
from layers.migrate import upgrade
from layers.settings import Settings
from tests.clients import Recorder
from tests.conftest import free_port

METRO_ZONE = "20.1.01"  # Zona metropolitana de Oaxaca (2020)


def _metro_zone_file(shared: Path, out: Path) -> Path:
    with (shared / "metro_zones" / "metropolis_2020_municipios.csv").open(encoding="utf-8") as f:
        members = {row["CVEGEO"] for row in csv.DictReader(f) if row["CVE_ZONA"] == METRO_ZONE}
    state = json.loads((shared / "boundaries" / "oaxaca_municipios_inegi_mg.geojson").read_text())
    key = next(k for k in state["features"][0]["properties"] if k.lower() == "cvegeo")
    state["features"] = [f for f in state["features"] if f["properties"][key] in members]
    out.write_text(json.dumps(state))
    return out


def _serve(url: str, log: list[tuple[str, str, str]]) -> tuple[str, uvicorn.Server]:
    app = create_app(Settings(database_url=url))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(Recorder(app, log), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def _copy(command: list[str], log: list[Any]) -> tuple[int, float]:
    before, start = len(log), time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    return len(log) - before, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    shared = parser.parse_args().shared
    if not (shared / "boundaries").is_dir():
        raise SystemExit(f"{shared} is missing: this benchmark reads ../shared/data")
    work = Path(tempfile.mkdtemp(prefix="linde-bench-clients-"))
    script = Path(__file__).parents[1] / "tests" / "clients" / "gdal_read.py"
    for label, source in (
        ("metro zone (26)", _metro_zone_file(shared, work / "zm.geojson")),
        ("state (570)", shared / "boundaries" / "oaxaca_municipios_inegi_mg.geojson"),
    ):
        url = f"sqlite:///{work / (source.stem + '.sqlite')}"
        engine = make_engine(url, Settings(database_url=url))
        upgrade(engine)
        import_municipalities(engine, source, actor="bench")
        log: list[tuple[str, str, str]] = []
        base, server = _serve(url, log)
        out = work / f"{source.stem}.gpkg"
        n, s = _copy(["ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{base}", "municipalities"], log)
        print(f"{label}: Debian ogr2ogr (GDAL 3.6) {n} requests, {s:.2f} s")
        paged = ["ogr2ogr", "-oo", "PAGE_SIZE=1000", "-f", "GPKG", f"{out}.2.gpkg"]
        n, s = _copy([*paged, f"OAPIF:{base}", "municipalities"], log)
        print(f"{label}: Debian ogr2ogr -oo PAGE_SIZE=1000 {n} requests, {s:.2f} s")
        n, s = _copy([sys.executable, str(script), base, "municipalities"], log)
        print(f"{label}: pyogrio wheel (GDAL 3.12) read_dataframe {n} requests, {s:.2f} s")
        server.should_exit = True
        engine.dispose()


if __name__ == "__main__":
    main()
