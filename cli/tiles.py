"""``linde tiles …``: vector tiles as files, for maps that work without a connection."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import fail, out, ready_engine
from geo.errors import InvalidParameter, LindeError, Problem

tiles_app = typer.Typer(help="Vector tiles (MVT) as files for offline maps.", no_args_is_help=True)


def _bbox(raw: str) -> tuple[float, float, float, float]:
    parts = raw.split(",")
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError:
        fail(
            InvalidParameter(
                "bbox: give west,south,east,north in degrees, e.g. -96.85,16.95,-96.6,17.2",
                problems=[Problem("bbox", f"{raw!r} is not four numbers")],
            )
        )
    return west, south, east, north


def _zooms(raw: str) -> range:
    low, _, high = raw.partition("-")
    try:
        first = int(low)
        last = int(high) if high else first
    except ValueError:
        fail(
            InvalidParameter(
                "zooms: give a zoom or a range such as 6-12",
                problems=[Problem("zooms", f"{raw!r} is not a zoom range")],
            )
        )
    return range(first, last + 1)


@tiles_app.command("export")
def export_cmd(
    collection: Annotated[
        str,
        typer.Argument(
            help="Collection: municipalities, metro_zones, claims, rivers, inspections, "
            "disputed_zones."
        ),
    ],
    output: Annotated[Path, typer.Argument(help="The .mbtiles file to write.")],
    bbox: Annotated[
        str, typer.Option(help="Area, west,south,east,north in degrees.")
    ] = "-96.85,16.95,-96.60,17.20",
    zooms: Annotated[str, typer.Option(help="Zooms, e.g. 6-14.")] = "6-14",
    filter_text: Annotated[
        str | None, typer.Option("--filter", help="CQL2-text filter, as for the API.")
    ] = None,
    max_tiles: Annotated[
        int | None, typer.Option(help="Refuse more tiles than this (default 50,000).")
    ] = None,
) -> None:
    """Write a collection's tiles over an area to an MBTiles file (GDAL, QGIS, MapLibre)."""
    # Imported here, not at the top: ``linde --help`` must start without SQLAlchemy.
    from layers.collections import COLLECTIONS
    from layers.mbtiles import MAX_TILES_DEFAULT, export_mbtiles

    c = COLLECTIONS.get(collection)
    if c is None:
        fail(
            InvalidParameter(
                f"no collection {collection!r}; the collections are: {', '.join(COLLECTIONS)}"
            )
        )
    if output.suffix != ".mbtiles":
        fail(InvalidParameter(f"output: {output.name} must end in .mbtiles"))
    engine = ready_engine()
    try:
        summary = export_mbtiles(
            engine,
            c,
            output,
            _bbox(bbox),
            _zooms(zooms),
            filter_text=filter_text,
            max_tiles=MAX_TILES_DEFAULT if max_tiles is None else max_tiles,
        )
    except LindeError as exc:
        fail(exc)
    finally:
        engine.dispose()
    out.print(
        f"{summary.path}: {summary.tiles_written:,} tiles "
        f"({summary.bytes_written / 1024:,.1f} KiB gzip), {summary.tiles_empty:,} empty left out"
    )
