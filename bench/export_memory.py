"""Benchmark: export the national municipal layer in every format, in bounded memory.

Streams the 2,474 full-detail INEGI municipalities (read lazily from the zipped
GeoJSON with ``pyogrio.raw.open_arrow``, a few hundred features at a time, as a
database cursor would hand them over) through ``formats.stream_export``
into a sink that only counts bytes, and reports per format: wall-clock seconds,
bytes of output and peak resident memory.

Each measurement runs in a fresh Python process, so its peak RSS is its own.
``read only`` iterates the same feature stream without exporting: the growth
column is each export's peak over that baseline, which is what the exporter
itself holds. A streamed export holds far less than its output; the peer row
``geopandas`` (whole layer read into a GeoDataFrame, then ``to_file`` GPKG, the
non-streaming way) shows what holding the layer costs.

Usage::

    .venv/bin/python bench/export_memory.py
    .venv/bin/python bench/export_memory.py --formats geojson,gpkg --no-peer
    .venv/bin/python bench/export_memory.py --copies 3   # 3x the stream: growth stays flat

This is a benchmark, not a test: it is not collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyogrio
import pyogrio.raw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script

from bench.shared_data import MEXICO, require
from formats import CHUNK_FEATURES, FORMATS, Field, stream_export

DEFAULT_FILE = MEXICO
EXPECTED_FEATURES = 2474
FIELDS = [
    Field("cve_agee", "str"),
    Field("cve_agem", "str"),
    Field("nom_agem", "str"),
    Field("pob", "int"),
    Field("viv", "int"),
]
READ_ONLY = "read only"
PEER = "geopandas"
MIB = 1024 * 1024


@dataclass(frozen=True)
class Measurement:
    mode: str
    seconds: float
    output_bytes: int
    features: int
    peak_rss_bytes: int


class BenchError(Exception):
    """A step of the benchmark failed; the message says which and why."""


def ogr_source(path: Path) -> str:
    """The GeoJSON inside the zip, as a GDAL /vsizip/ path."""
    if path.suffix.lower() != ".zip":
        return str(path)
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.lower().endswith((".geojson", ".json"))]
    if not names:
        raise BenchError(f"{path} holds no .geojson file")
    return f"/vsizip/{path}/{names[0]}"


def features(
    source: str, copies: int = 1
) -> Iterator[tuple[str | int, Mapping[str, Any], bytes | None]]:
    """``(cvegeo, properties, wkb)`` read lazily, ``CHUNK_FEATURES`` at a time.

    With ``copies`` > 1 the layer is read again that many times (ids get a
    ``-N`` suffix): a longer stream with the same per-chunk shape.
    """
    for copy in range(copies):
        with pyogrio.raw.open_arrow(source, batch_size=CHUNK_FEATURES, use_pyarrow=True) as (
            _meta,
            reader,
        ):
            geometry = next(
                f.name
                for f in reader.schema
                if (f.metadata or {}).get(b"ARROW:extension:name") in (b"geoarrow.wkb", b"ogc.wkb")
            )
            for batch in reader:
                ids = batch.column("cvegeo").to_pylist()
                props = {f.name: batch.column(f.name).to_pylist() for f in FIELDS}
                wkbs = batch.column(geometry).to_pylist()
                for i, fid in enumerate(ids):
                    key = fid if copies == 1 else f"{fid}-{copy}"
                    yield key, {name: values[i] for name, values in props.items()}, wkbs[i]


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def measure(mode: str, path: Path, copies: int) -> Measurement:
    """Run one mode in this process (a child of the benchmark) and measure it."""
    source = ogr_source(path)
    start = time.perf_counter()
    output = count = 0
    if mode == READ_ONLY:
        for _, _, wkb in features(source, copies):
            count += 1
            output += len(wkb or b"")
    elif mode == PEER:
        frames = [pyogrio.read_dataframe(source) for _ in range(copies)]
        frame = frames[0] if copies == 1 else pd.concat(frames, ignore_index=True)
        count = len(frame)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "municipalities.gpkg"
            pyogrio.write_dataframe(frame, out, layer="municipalities", driver="GPKG")
            output = out.stat().st_size
    else:

        def counted() -> Iterator[tuple[str | int, Mapping[str, Any], bytes | None]]:
            nonlocal count
            for feature in features(source, copies):
                count += 1
                yield feature

        for chunk in stream_export(
            FORMATS[mode],
            FIELDS,
            counted(),
            geometry_type="MultiPolygon",
            epsg=4326,
            layer_name="municipalities",
        ):
            output += len(chunk)
    return Measurement(mode, time.perf_counter() - start, output, count, peak_rss_bytes())


def run_child(mode: str, path: Path, copies: int) -> Measurement:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        mode,
        "--file",
        str(path),
        "--copies",
        str(copies),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BenchError(
            f"{mode} failed (exit {proc.returncode})\n--- stderr ---\n{proc.stderr.rstrip()}"
        )
    return Measurement(**json.loads(proc.stdout.strip().splitlines()[-1]))


def print_report(path: Path, copies: int, results: Sequence[Measurement]) -> None:
    base = next((m for m in results if m.mode == READ_ONLY), None)
    print()
    times = f" x {copies} copies" if copies > 1 else ""
    print(f"export of {path.name} ({EXPECTED_FEATURES:,} municipalities{times}), one process each")
    print(f"chunks of {CHUNK_FEATURES} features; growth = peak RSS over the read-only run")
    header = f"{'format':<11}{'seconds':>9}{'output MiB':>12}{'peak RSS MiB':>14}"
    print(f"{header}{'growth MiB':>12}{'growth/output':>15}")
    for m in results:
        growth = m.peak_rss_bytes - base.peak_rss_bytes if base else 0
        ratio = f"{growth / m.output_bytes:>15.2f}" if base and m.mode != READ_ONLY else f"{'':>15}"
        grown = f"{growth / MIB:>12.1f}" if base and m.mode != READ_ONLY else f"{'':>12}"
        print(
            f"{m.mode:<11}{m.seconds:>9.2f}{m.output_bytes / MIB:>12.1f}"
            f"{m.peak_rss_bytes / MIB:>14.1f}{grown}{ratio}"
        )
    by_mode = {m.mode: m for m in results}
    if base and PEER in by_mode and "gpkg" in by_mode:
        streamed = by_mode["gpkg"].peak_rss_bytes - base.peak_rss_bytes
        held = by_mode[PEER].peak_rss_bytes - base.peak_rss_bytes
        print(
            f"GeoPackage peak growth, geopandas (whole layer) / linde (streamed): "
            f"{held / max(streamed, 1):.1f}x"
        )
    print(
        "note: read-only = the GDAL reader and the feature tuples alone (the input side a\n"
        "      database cursor would replace); output MiB counts bytes sent to the sink."
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--file", type=Path, default=DEFAULT_FILE, help=f"layer to export (default {DEFAULT_FILE})"
    )
    parser.add_argument(
        "--formats",
        default=",".join(FORMATS),
        help=f"comma-separated formats (default {','.join(FORMATS)})",
    )
    parser.add_argument(
        "--no-peer", action="store_true", help="skip the whole-layer geopandas peer run"
    )
    parser.add_argument(
        "--copies",
        type=int,
        default=1,
        help="stream the layer this many times (memory should stay flat; default 1)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.copies < 1:
        parser.error("--copies must be at least 1")
    args.file = args.file.resolve()
    if not args.file.is_file():
        parser.error(f"{args.file}: no such file")
    args.formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = [f for f in args.formats if f not in FORMATS]
    if unknown:
        parser.error(f"unknown formats {unknown}; choose from {list(FORMATS)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    require(args.file)
    if args.child:
        print(json.dumps(measure(args.child, args.file, args.copies).__dict__))
        return 0
    modes = [READ_ONLY, *args.formats, *([] if args.no_peer else [PEER])]
    results: list[Measurement] = []
    try:
        for mode in modes:
            m = run_child(mode, args.file, args.copies)
            results.append(m)
            print(
                f"{mode}: {m.seconds:.2f} s, {m.output_bytes / MIB:.1f} MiB, "
                f"peak RSS {m.peak_rss_bytes / MIB:.1f} MiB",
                flush=True,
            )
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print_report(args.file, args.copies, results)
    expected = EXPECTED_FEATURES * args.copies
    wrong = [m for m in results if m.features != expected]
    for m in wrong:
        print(f"error: {m.mode} saw {m.features} features, expected {expected:,}", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
