#!/usr/bin/env python3
"""Make ``data/``, the compact real extract shipped with Linde, from ``../shared/data``.

The extract is the Oaxaca metropolitan zone (Metrópolis de México 2020, ``20.1.01``):
its 26 INEGI municipal polygons at full detail, their INEGI locality polygons, the
Natural Earth lines named Atoyac or Salado near Oaxaca, the 28 CONAGUA monitoring
sites on the Atoyac and Salado, and the zone's rows of the 2020 and 2015 official
delimitation tables. Features are copied verbatim from the source files (same
coordinates, same properties, same order), only filtered, so the result is byte-for-byte
reproducible: run it again and ``git diff data/`` is empty.

Usage: ``scripts/make_data_extract.py [--source ../shared/data] [--out data]`` (the source
may also be named by ``LINDE_SHARED_DATA``).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ZONE_2020 = "20.1.01"  # Metrópolis de México 2020: ZM de Oaxaca, 26 municipalities
ZONE_2015 = "20.01"  # Delimitación 2015: ZM de Oaxaca, 24 municipalities
# Natural Earth lines kept: every feature named Atoyac or Salado south of 19°N. Only the
# first (rivers_lake_centerlines) is Oaxaca's Río Atoyac; the others are the Puebla Atoyac
# and the Tehuacán Salado (see data/README.md). NE has no line for the Valles Centrales Salado.
RIVER_NAMES = {"Atoyac", "Salado"}
RIVER_MAX_LAT = 19.0


def _read_json(path: Path) -> dict[str, Any]:
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            (member,) = archive.namelist()
            return json.loads(archive.read(member))
    return json.loads(path.read_text(encoding="utf-8"))


def _write_json(path: Path, collection: dict[str, Any], features: list[dict[str, Any]]) -> int:
    out = {key: value for key, value in collection.items() if key != "features"}
    out["features"] = features
    # one feature per line: small diffs, and still plain RFC 7946 GeoJSON
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features]
    head = json.dumps(out | {"features": []}, ensure_ascii=False, separators=(",", ":"))
    text = head[: -len("[]}")] + "[\n" + ",\n".join(lines) + "\n]}\n"
    path.write_text(text, encoding="utf-8")
    return len(features)


def _csv_rows(path: Path, keep: Any) -> tuple[str, list[str]]:
    """The header line and the kept data lines of a CSV, as the source writes them."""
    raw = path.read_bytes().decode("utf-8")
    newline = "\r\n" if "\r\n" in raw else "\n"
    lines = raw.split(newline)
    header = lines[0]
    names = next(csv.reader([header]))
    kept = [
        line
        for line in lines[1:]
        if line and keep(dict(zip(names, next(csv.reader(io.StringIO(line))), strict=False)))
    ]
    return header, kept


def _coords_lat(geometry: dict[str, Any]) -> list[float]:
    def walk(node: Any) -> list[float]:
        if isinstance(node[0], (int, float)):
            return [float(node[1])]
        return [lat for child in node for lat in walk(child)]

    return walk(geometry["coordinates"])


def make(source: Path, out: Path) -> dict[str, int]:
    """Write every extract file into ``out``; returns the feature or row count per file."""
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}

    header, rows_2020 = _csv_rows(
        source / "metro_zones" / "metropolis_2020_municipios.csv",
        lambda row: row["CVE_ZONA"] == ZONE_2020,
    )
    (out / "zm_oaxaca_2020.csv").write_text("\n".join([header, *rows_2020]) + "\n", "utf-8")
    counts["zm_oaxaca_2020.csv"] = len(rows_2020)
    keys = {next(csv.DictReader([header, row]))["CVEGEO"] for row in rows_2020}

    header, rows_2015 = _csv_rows(
        source / "metro_zones" / "zm_2015_delimitacion_municipios.csv",
        lambda row: row["CVE_ZM"] == ZONE_2015,
    )
    (out / "zm_oaxaca_2015.csv").write_text("\n".join([header, *rows_2015]) + "\n", "utf-8")
    counts["zm_oaxaca_2015.csv"] = len(rows_2015)

    munis = _read_json(source / "boundaries" / "oaxaca_municipios_inegi_mg.geojson")
    kept = [f for f in munis["features"] if f["properties"]["cvegeo"] in keys]
    counts["municipios_zm_oaxaca_inegi.geojson"] = _write_json(
        out / "municipios_zm_oaxaca_inegi.geojson", munis, kept
    )

    locs = _read_json(source / "localities" / "oaxaca_localidades_poligonos_inegi_mg.geojson.zip")
    kept = [f for f in locs["features"] if f["properties"]["cvegeo"][:5] in keys]
    counts["localidades_zm_oaxaca_inegi.geojson"] = _write_json(
        out / "localidades_zm_oaxaca_inegi.geojson", locs, kept
    )

    rivers = _read_json(source / "hydrography" / "ne_10m_rivers_mexico.geojson")
    kept = [
        f
        for f in rivers["features"]
        if f["properties"]["name"] in RIVER_NAMES
        and max(_coords_lat(f["geometry"])) < RIVER_MAX_LAT
    ]
    counts["rios_atoyac_salado_ne_10m.geojson"] = _write_json(
        out / "rios_atoyac_salado_ne_10m.geojson", rivers, kept
    )

    sites = _read_json(source / "monitoring" / "conagua_sitios_atoyac_salado_oaxaca_2019.geojson")
    counts["conagua_sitios_atoyac_salado_2019.geojson"] = _write_json(
        out / "conagua_sitios_atoyac_salado_2019.geojson", sites, sites["features"]
    )
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = os.environ.get("LINDE_SHARED_DATA") or ROOT.parent / "shared" / "data"
    parser.add_argument("--source", type=Path, default=Path(default))
    parser.add_argument("--out", type=Path, default=ROOT / "data")
    args = parser.parse_args(argv)
    if not (args.source / "README.md").exists():
        message = f"no source data at {args.source}: pass --source PATH/TO/shared/data"
        print(message, file=sys.stderr)
        return 2
    for name, count in make(args.source, args.out).items():
        size = (args.out / name).stat().st_size
        print(f"{name}: {count} features/rows, {size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
