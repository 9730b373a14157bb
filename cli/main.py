"""``linde …``: serve, import official data, load the demo, manage users, look up a point."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from geo.errors import InvalidParameter, LindeError

# What a command needs is imported inside it: `linde --help`, or a command refused for
# a bad argument, starts without SQLAlchemy, GeoAlchemy2, Alembic, GeoPandas or Folium
# (tests/test_cli_process.py keeps it so).
if TYPE_CHECKING:
    import folium
    from sqlalchemy import Connection, Engine

    from layers.importers.runs import ImportSummary
    from layers.importers.runs import Progress as ProgressCallback

from cli.common import LindeTyper

app = LindeTyper(help="Linde: metropolitan boundaries of Mexico.", no_args_is_help=True)
import_app = typer.Typer(
    help="Import official data (one transaction per file).", no_args_is_help=True
)
db_app = typer.Typer(help="The database: schema migrations and status.", no_args_is_help=True)
map_app = typer.Typer(
    help="Maps as files: self-contained HTML (works offline), PNG or an A4 PDF page.",
    no_args_is_help=True,
)
app.add_typer(import_app, name="import")
app.add_typer(db_app, name="db")
app.add_typer(map_app, name="map")

from cli.backup import backup_command, restore_command  # noqa: E402
from cli.common import actor, err, fail, out, ready_engine, workers_notes  # noqa: E402
from cli.disputes import claims_app, disputes_app  # noqa: E402
from cli.tiles import tiles_app  # noqa: E402
from cli.users import users_app  # noqa: E402

app.add_typer(disputes_app, name="disputes")
app.add_typer(claims_app, name="claims")
app.add_typer(tiles_app, name="tiles")
app.add_typer(users_app, name="users")
app.command("backup")(backup_command)
app.command("restore")(restore_command)


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task(label, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


def run_import(label: str, do_import: Callable[[Engine, ProgressCallback], ImportSummary]) -> None:
    """Run one importer with a progress bar and print its summary; errors exit with 2."""
    engine = ready_engine()
    try:
        with progress_bar(label) as advance:
            summary = do_import(engine, advance)
    except LindeError as exc:
        fail(exc)
    out.print(summary.line(), highlight=False)
    for warning in summary.warnings:
        out.print(Text.assemble(("note:", "yellow"), f" {warning}"))


FileArg = Annotated[Path, typer.Argument(help="The file to import.", show_default=False)]
CrsOpt = Annotated[
    str | None,
    typer.Option(help="CRS of the data if the file does not declare it, e.g. EPSG:6372."),
]
LayerOpt = Annotated[
    str | None, typer.Option(help="Layer to read from a multi-layer file (GeoPackage).")
]


@import_app.command("municipalities")
def import_municipalities_cmd(
    file: FileArg,
    crs: CrsOpt = None,
    layer: LayerOpt = None,
    source: Annotated[
        str, typer.Option(help="Where the boundaries come from.")
    ] = "INEGI, Marco Geoestadístico",
) -> None:
    """Municipal polygons (GeoJSON, GeoPackage, Shapefile; zipped or not; any CRS)."""
    from layers.importers.municipalities import import_municipalities
    from layers.settings import get_settings

    run_import(
        "municipalities",
        lambda engine, advance: import_municipalities(
            engine,
            file,
            actor=actor(),
            crs=crs,
            layer=layer,
            source=source,
            max_vertices=get_settings().max_vertices,
            progress=advance,
        ),
    )


@import_app.command("metro-zones")
def import_metro_zones_cmd(file: FileArg) -> None:
    """An official delimitation table of metropolitan zones (2015 or 2020 CSV)."""
    from layers.importers.metro_zones import import_metro_zones

    run_import(
        "metro zones",
        lambda engine, advance: import_metro_zones(engine, file, actor=actor(), progress=advance),
    )


@import_app.command("rivers")
def import_rivers_cmd(
    file: FileArg,
    name_field: Annotated[str, typer.Option(help="Field holding the river name.")] = "name",
    id_field: Annotated[
        str | None, typer.Option(help="Field holding a stable id (else the name).")
    ] = None,
    skip_unnamed: Annotated[bool, typer.Option(help="Leave out lines with an empty name.")] = False,
    federal_zone_width_m: Annotated[
        float, typer.Option(help="Width of the federal zone along the river.")
    ] = 10.0,
    crs: CrsOpt = None,
    layer: LayerOpt = None,
) -> None:
    """River lines from any line layer."""
    from layers.importers.rivers import import_rivers

    run_import(
        "rivers",
        lambda engine, advance: import_rivers(
            engine,
            file,
            actor=actor(),
            name_field=name_field,
            id_field=id_field,
            skip_unnamed=skip_unnamed,
            federal_zone_width_m=federal_zone_width_m,
            crs=crs,
            layer=layer,
            progress=advance,
        ),
    )


@import_app.command("inspections")
def import_inspections_cmd(
    file: FileArg,
    mode: Annotated[
        str, typer.Option(help="all: one bad row refuses the file; partial: keep the good rows.")
    ] = "all",
    id_field: Annotated[
        str | None,
        typer.Option(help="Field with a stable id per row (else recognised or derived)."),
    ] = None,
    description_field: Annotated[
        str | None, typer.Option(help="Field to use as description.")
    ] = None,
    category: Annotated[str | None, typer.Option(help="Category for rows without one.")] = None,
    severity: Annotated[int | None, typer.Option(help="Severity for rows without one.")] = None,
    observed_at: Annotated[
        str | None, typer.Option(help="Observation time for rows without one (ISO 8601).")
    ] = None,
    inspector: Annotated[str | None, typer.Option(help="Inspector for rows without one.")] = None,
) -> None:
    """Inspections: GeoJSON points, CSV with lon/lat, ODK Central or KoboToolbox CSV exports."""
    from layers.importers.inspections import InspectionImportSummary, import_inspections

    if mode not in ("all", "partial"):
        err.print("error: --mode is all or partial")
        raise typer.Exit(code=2)
    summaries: list[InspectionImportSummary] = []

    def do(engine: Engine, advance: ProgressCallback) -> ImportSummary:
        summary = import_inspections(
            engine,
            file,
            actor=actor(),
            mode="all" if mode == "all" else "partial",
            id_field=id_field,
            description_field=description_field,
            defaults={
                "category": category,
                "severity": severity,
                "observed_at": observed_at,
                "inspector": inspector,
            },
            progress=advance,
        )
        summaries.append(summary)
        return summary

    run_import("inspections", do)
    for problem in summaries[0].refused if summaries else []:
        out.print(f"refused: {problem}", highlight=False)


@app.command("lookup")
def lookup_cmd(
    lon: Annotated[float, typer.Option(help="Longitude, e.g. --lon=-96.7266.")],
    lat: Annotated[float, typer.Option(help="Latitude, e.g. --lat=17.0654.")],
) -> None:
    """What Linde knows about a point, as JSON (the same answer as GET /lookup)."""
    from geo.validation import check_point
    from layers.queries.lookup import lookup_point

    problems = check_point(lon, lat)
    if problems:
        err.print(Text.assemble(("error", "bold red"), ": " + "; ".join(map(str, problems))))
        raise typer.Exit(code=2)
    engine = ready_engine()
    with engine.connect() as conn:
        print(json.dumps(lookup_point(conn, lon, lat), default=str, ensure_ascii=False, indent=2))


@app.command("demo")
def demo_cmd() -> None:
    """Load the Oaxaca metro zone (real INEGI, Natural Earth and CONAGUA data from data/),
    two illustrative claims and their disputed zone, and one user per role."""
    from services.demo import demo_users, dispute_zone_id, load_demo

    engine = ready_engine()
    try:
        for line in load_demo(engine, actor=actor()):
            out.print(line, highlight=False)
        users = demo_users(engine, actor=actor())
    except LindeError as exc:
        fail(exc)
    zone_id = dispute_zone_id(engine)
    out.print(
        "\nOne user per kind of person. People sign in at /entrar with the name and "
        "password; scripts send Authorization: Bearer TOKEN (passwords and tokens are "
        "shown only now; run linde demo again for new ones).",
        highlight=False,
    )
    out.print(
        f"  {'role':<10} {'municipio':<9} {'name':<20} {'password':<17} token", highlight=False
    )
    for user in users:
        out.print(
            f"  {user.role:<10} {user.cvegeo or '-':<9} {user.name:<20} {user.password:<17} "
            f"{user.token}",
            highlight=False,
        )
    if zone_id is not None:
        out.print(f"\nThe disputed zone is ready: /disputas/{zone_id}", highlight=False)


class LogLevel(StrEnum):
    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes (PostGIS: up to one per core; see the README's deployment "
            "section).",
        ),
    ] = 1,
    log_level: Annotated[LogLevel, typer.Option(help="Server log level.")] = LogLevel.info,
    access_log: Annotated[
        bool, typer.Option(help="Log every request (costs throughput under heavy load).")
    ] = True,
) -> None:
    """Run the web API (OpenAPI docs at /docs)."""
    import uvicorn

    from api.app import proxy_options
    from api.settings import get_app_settings
    from layers.engine import engine_name

    engine = ready_engine(check_file=True)
    err.print(f"Linde on {engine_name(engine)}: http://{host}:{port}/docs")
    for line in workers_notes(engine_name(engine), workers, get_app_settings()):
        err.print(line)
    engine.dispose()
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level.value,
        access_log=access_log,
        # X-Forwarded-For only from LINDE_TRUSTED_PROXIES, never from loopback by default
        **proxy_options(get_app_settings()),
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations (commands do this by themselves; this is for deployments)."""
    from layers import migrate
    from layers.engine import engine_name

    engine = ready_engine()
    out.print(f"{engine_name(engine)} schema at revision {migrate.current_revision(engine)}")


@db_app.command("status")
def db_status() -> None:
    """Which engine and database Linde uses and the schema revision."""
    from layers import migrate
    from layers.engine import engine_name, make_engine

    try:
        engine = make_engine()
    except LindeError as exc:
        fail(exc)
    out.print(f"engine: {engine_name(engine)}")
    out.print(f"database: {engine.url.render_as_string(hide_password=True)}")
    out.print(
        f"schema: {migrate.current_revision(engine) or 'empty'} (newest {migrate.head_revision()})"
    )


OutputOpt = Annotated[
    Path,
    typer.Option(
        "-o",
        "--output",
        help="The file to write; .html, .png or .pdf picks the format.",
        show_default=False,
    ),
]
TilesOpt = Annotated[bool, typer.Option(help="Add the online OpenStreetMap basemap.")]


def write_map(build: Callable[[Connection], folium.Map], output: Path) -> None:
    """Build a map with a connection, export it in the format the file name asks for."""
    from maps.export import export

    fmt = output.suffix.lower().lstrip(".")
    if fmt not in ("html", "png", "pdf"):
        fail(InvalidParameter(f"output: {output.name} must end in .html, .png or .pdf"))
    engine = ready_engine()
    try:
        with engine.connect() as conn:
            m = build(conn)
        data = export(m, fmt)  # type: ignore[arg-type]
    except LindeError as exc:
        fail(exc)
    output.write_bytes(data)
    out.print(f"{output}: {fmt.upper()}, {len(data) / 1024:,.0f} kB", highlight=False)


@map_app.command("metro-zone")
def map_metro_zone_cmd(
    code: Annotated[str, typer.Argument(help="The zone's key, e.g. 20.1.01.")],
    output: OutputOpt,
    choropleth: Annotated[
        str | None, typer.Option(help="Colour municipalities by: population or inspections.")
    ] = None,
    tiles: TilesOpt = True,
) -> None:
    """A metro zone: its municipalities (population on hover) and its outline."""
    from services import maps as map_requests

    write_map(
        lambda conn: map_requests.metro_zone(
            conn, code, choropleth=choropleth, tiles=tiles, require_numbers=True
        ),
        output,
    )


@map_app.command("dispute")
def map_dispute_cmd(
    zone_id: Annotated[int, typer.Argument(help="The disputed zone's id (linde disputes list).")],
    output: OutputOpt,
    tiles: TilesOpt = True,
) -> None:
    """A disputed zone for the commission: official line, claims, zone, localities, points."""
    from services import maps as map_requests

    write_map(lambda conn: map_requests.dispute(conn, zone_id, tiles=tiles), output)


@map_app.command("river")
def map_river_cmd(
    river_id: Annotated[
        int, typer.Argument(help="The river's id (GET /collections/rivers/items).")
    ],
    output: OutputOpt,
    date_from: Annotated[
        datetime | None, typer.Option("--from", formats=["%Y-%m-%d"], help="Inspections from.")
    ] = None,
    date_to: Annotated[
        datetime | None, typer.Option("--to", formats=["%Y-%m-%d"], help="Inspections until.")
    ] = None,
    near_m: Annotated[
        float, typer.Option(help="Inspections within this distance (m) of the river.")
    ] = 1000.0,
    bbox: Annotated[
        str | None,
        typer.Option(help="Only the stretch inside minx,miny,maxx,maxy (lon/lat)."),
    ] = None,
    tiles: TilesOpt = True,
) -> None:
    """A river, its federal zone and the inspection points along it."""
    from geo.bbox import parse_bbox_text
    from services import maps as map_requests

    try:
        stretch = parse_bbox_text(bbox) if bbox else None
    except LindeError as exc:
        fail(exc)
    write_map(
        lambda conn: map_requests.river(
            conn,
            river_id,
            with_inspections=True,  # the command line reads the database directly
            date_from=date_from.date() if date_from else None,
            date_to=date_to.date() if date_to else None,
            near_m=near_m,
            stretch=stretch,
            tiles=tiles,
        ),
        output,
    )


@import_app.command("localities")
def import_localities_cmd(file: FileArg, crs: CrsOpt = None, layer: LayerOpt = None) -> None:
    """INEGI locality polygons (the commission reads disputed zones against them)."""
    from layers.importers.localities import import_localities

    run_import(
        "localities",
        lambda engine, advance: import_localities(
            engine, file, actor=actor(), crs=crs, layer=layer, progress=advance
        ),
    )


def main() -> None:  # pragma: no cover - console entry for python -m cli.main
    app(sys.argv[1:])


if __name__ == "__main__":  # pragma: no cover
    main()
