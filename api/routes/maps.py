"""``GET /maps/...``: a metro zone's or a river's map as HTML, PNG or PDF; Leaflet assets.

Metro zones and rivers are public (anonymous HTML, PNG and PDF); a river's inspection
points are shown to callers with the planner role or above (anonymous callers get the
river without them); a disputed zone's map needs the planner role. PNG and PDF come
from the app's one renderer (``maps.renderer``): a few at once, a short queue, then
503 with ``Retry-After``.

The maps' own code (folium, geopandas, pypdf: a third of the app's imports) is imported
by the first map asked for, not when the server starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import Connection

from api.deps import MaybeCaller, ZoneReader, read_target
from api.fields import RowId
from api.ogc.cache import Cached, ResponseCache, resource_key
from api.ogc.params import parse_bbox, single
from api.routes.disputes import reach_zone
from geo.mexico import today_in_mexico
from geo.rivers import DEFAULT_NEAR_M
from geo.roles import Role
from layers import collections as registry
from layers.clock import Clock
from layers.engine import on_read_connection
from layers.logos import read_logo
from layers.users import Principal

if TYPE_CHECKING:
    import folium

    from maps.renderer import Renderer
    from maps.vector_tiles import TileSource

router = APIRouter(tags=["maps"])
STATIC_URL = "/maps/static"


class MapFormat(StrEnum):
    html = "html"
    png = "png"
    pdf = "pdf"


class Assets(StrEnum):
    inline = "inline"
    server = "server"


FormatQuery = Annotated[
    MapFormat, Query(alias="format", description="html (self-contained), png or pdf (A4 page).")
]
AssetsQuery = Annotated[
    Assets,
    Query(
        description="HTML only: 'inline' puts Leaflet inside the file (works offline); "
        "'server' links it from this service's /maps/static (smaller, for previews)."
    ),
]
TilesQuery = Annotated[bool, Query(description="Add the online OpenStreetMap basemap.")]
VectorTilesQuery = Annotated[
    bool,
    Query(
        description="HTML with assets=server only (a map shown in Linde's pages): draw "
        "layers too big to inline (a state, the country) from this service's vector tiles, "
        "fetched by the page with the person's session. Ignored for files (assets=inline, "
        "png, pdf), which keep inline GeoJSON and work offline."
    ),
]
DownloadQuery = Annotated[bool, Query(description="Send as an attachment (a file download).")]


class Paper(StrEnum):
    a4 = "a4"
    letter = "letter"


class Orientation(StrEnum):
    landscape = "landscape"
    portrait = "portrait"


@dataclass(frozen=True)
class Report:
    """The planner's own words and page for a map (all optional)."""

    title: Annotated[
        str | None, Query(max_length=120, description="The map's title instead of Linde's.")
    ] = None
    subtitle: Annotated[
        str | None, Query(max_length=200, description="A subtitle instead of Linde's.")
    ] = None
    institution: Annotated[
        str | None,
        Query(
            max_length=120, description="The institution named above the title (and as PDF author)."
        ),
    ] = None
    logo: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9a-f]{64}$",
            description="An institution logo kept by POST /maps/logos (its SHA-256), shown "
            "above the title.",
        ),
    ] = None
    paper: Annotated[Paper, Query(description="PNG and PDF: a4 or letter.")] = Paper.a4
    orientation: Annotated[
        Orientation, Query(description="PNG and PDF: landscape or portrait.")
    ] = Orientation.landscape


ReportQuery = Annotated[Report, Depends()]


def _tile_source(
    request: Request, vector_tiles: bool, fmt: MapFormat, assets: Assets
) -> TileSource | None:
    """Where a page's map reads big layers from; None for anything that is a file."""
    if not vector_tiles or fmt is not MapFormat.html or assets is not Assets.server:
        return None
    from maps.vector_tiles import TileSource

    settings = request.app.state.settings
    return TileSource(
        max_features=settings.map_inline_max_features,
        max_vertices=settings.map_inline_max_vertices,
    )


def _may_see_inspections(caller: Principal | None) -> bool:
    return caller is not None and caller.role.can_act_as(Role.planner)


def _made_on(request: Request) -> date:
    """The day a map says it was made ("Elaborado con Linde el …"), in Mexico City."""
    clock: Clock = request.app.state.clock
    return today_in_mexico(clock.now())


@dataclass(frozen=True)
class Kept:
    """What a drawn map depends on besides its request: the counters of the layers it
    reads (``layer_versions``), what the caller may see of them, and the day it says
    it was made. A map is kept (``app.state.map_cache``) under these and its URL."""

    layers: tuple[str, ...]
    made_on: date
    scope: str = ""
    #: run on the request's read connection before a kept map is served: the caller's
    #: right to this map (a disputed zone's parties), which a kept map must not skip
    check: Callable[[Connection], None] | None = None


def _respond(
    request: Request,
    build: Callable[[Connection], folium.Map],
    fmt: MapFormat,
    assets: Assets,
    download: bool,
    stem: str,
    report: Report,
    kept: Kept,
) -> Response:
    """Build the map on a connection held only while its features are read, then answer
    it as HTML or draw it. A PNG or PDF first takes a place at the renderer (or gets 503
    with ``Retry-After`` at once), so a burst of renders never holds connections.

    A map drawn before for the same URL, caller scope and day, whose layers' counters
    have not moved since, is sent again as it was (no query, no renderer): a PDF costs
    Chromium up to seconds. The counters are bumped by database triggers on every write,
    whoever makes it, so a kept map is never older than its data."""
    engine = read_target(request).engine
    logo_png = (
        read_logo(request.app.state.settings.resolved_logos_dir(), report.logo)
        if report.logo
        else None
    )
    cache: ResponseCache = request.app.state.map_cache

    keeping = cache.max_bytes > 0  # LINDE_MAP_CACHE_MB=0: no counters to read

    def checked_version(conn: Connection) -> str | None:
        if kept.check is not None:
            kept.check(conn)
        return registry.layers_version(registry.counters(conn), kept.layers) if keeping else None

    needs_read = keeping or kept.check is not None
    tag = on_read_connection(engine, checked_version) if needs_read else None
    query = urlencode(sorted(request.query_params.multi_items()))
    resource = resource_key(
        f"{request.url.path}?{query}", f"{kept.scope}\x1f{kept.made_on.isoformat()}"
    )
    held = cache.get(resource, tag) if tag is not None else None
    headers = {"Cache-Control": "no-store"}
    if download or fmt is not MapFormat.html:
        disposition = "attachment" if download else "inline"
        headers["Content-Disposition"] = f'{disposition}; filename="{stem}.{fmt.value}"'
    if held is not None:
        return Response(held.body, media_type=held.media_type, headers=headers)
    from maps.export import MEDIA_TYPES, tile_origins, to_html
    from maps.report import pdf_metadata, set_heading, with_metadata

    def build_for_report(conn: Connection) -> folium.Map:
        return set_heading(
            build(conn),
            title=report.title,
            subtitle=report.subtitle,
            institution=report.institution,
            logo_png=logo_png,
        )

    if fmt is MapFormat.html:
        m = on_read_connection(engine, build_for_report)
        body = to_html(m, STATIC_URL if assets is Assets.server else None).encode("utf-8")
    else:
        renderer: Renderer = request.app.state.renderer
        with renderer.admitted():
            m = on_read_connection(engine, build_for_report)
            body = renderer.draw(
                to_html(m),
                "png" if fmt is MapFormat.png else "pdf",
                tile_origins=tile_origins(m),
                paper=report.paper.value,
                orientation=report.orientation.value,
            )
        if fmt is MapFormat.pdf:
            body = with_metadata(body, pdf_metadata(m))
    media_type = MEDIA_TYPES[fmt.value]
    if tag is not None:
        cache.offer(resource, tag, Cached(body, media_type, ()))
    return Response(body, media_type=media_type, headers=headers)


OPTIONAL_TOKEN = {"x-linde-auth": "optional"}  # see api.openapi


@router.get(
    "/maps/metro-zones/{code}",
    summary="Map of a metro zone (HTML, PNG or PDF)",
    openapi_extra=OPTIONAL_TOKEN,
)
def metro_zone_map(
    request: Request,
    caller: MaybeCaller,
    code: str,
    fmt: FormatQuery = MapFormat.html,
    assets: AssetsQuery = Assets.inline,
    choropleth: Annotated[
        str | None,
        Query(description="Colour municipalities by: population, or inspections (planner)."),
    ] = None,
    tiles: TilesQuery = True,
    vector_tiles: VectorTilesQuery = False,
    download: DownloadQuery = False,
    report: ReportQuery = Report(),
) -> Response:
    """404 for an unknown zone; a zone whose municipalities are not imported gives a map
    that says so. PNG and PDF need headless Chromium on the server (503 saying why
    when it is missing)."""
    source = _tile_source(request, vector_tiles, fmt, assets)
    may_see = _may_see_inspections(caller)
    made_on = _made_on(request)

    def build(conn: Connection) -> folium.Map:
        from services import maps as map_requests

        return map_requests.metro_zone(
            conn,
            code,
            choropleth=choropleth,
            may_see_inspections=may_see,
            tiles=tiles,
            made_on=made_on,
            tile_source=source,
        )

    layers = ("metro_zones", "municipalities", "rivers")
    kept = Kept(
        layers + (("inspections",) if choropleth == "inspections" else ()),
        made_on,
        scope="planner" if may_see else "public",
    )
    stem = f"zona-metropolitana-{code}"
    return _respond(request, build, fmt, assets, download, stem, report, kept)


@router.get(
    "/maps/rivers/{river_id}",
    summary="Map of a river and its inspections",
    openapi_extra=OPTIONAL_TOKEN,
)
def river_map(
    request: Request,
    caller: MaybeCaller,
    river_id: RowId,
    fmt: FormatQuery = MapFormat.html,
    assets: AssetsQuery = Assets.inline,
    date_from: Annotated[
        date | None, Query(description="Inspections observed from (YYYY-MM-DD).")
    ] = None,
    date_to: Annotated[
        date | None, Query(description="Inspections observed until (YYYY-MM-DD).")
    ] = None,
    near_m: Annotated[
        float,
        Query(gt=0, le=20_000, description="Inspections within this distance (m) of the river."),
    ] = DEFAULT_NEAR_M,
    bbox: Annotated[
        str | None,
        Query(description="The stretch: minx,miny,maxx,maxy (lon/lat; bbox-crs for another)."),
    ] = None,
    tiles: TilesQuery = True,
    download: DownloadQuery = False,
    report: ReportQuery = Report(),
) -> Response:
    """Inspection points (clustered by category, filterable by date) appear for callers
    with the planner role or above; 404 for an unknown river."""
    with_inspections = _may_see_inspections(caller)
    box = parse_bbox(bbox, single(request.query_params, "bbox-crs"))

    made_on = _made_on(request)

    def build(conn: Connection) -> folium.Map:
        from services import maps as map_requests

        return map_requests.river(
            conn,
            river_id,
            with_inspections=with_inspections,
            date_from=date_from,
            date_to=date_to,
            near_m=near_m,
            stretch=box,
            tiles=tiles,
            made_on=made_on,
        )

    kept = Kept(
        ("rivers", "municipalities") + (("inspections",) if with_inspections else ()),
        made_on,
        scope="planner" if with_inspections else "public",
    )
    return _respond(request, build, fmt, assets, download, f"rio-{river_id}", report, kept)


@router.get(
    "/maps/disputes/{zone_id}",
    summary="The commission's map of a disputed zone (planner role or above)",
)
def dispute_map(
    request: Request,
    caller: ZoneReader,
    zone_id: RowId,
    fmt: FormatQuery = MapFormat.html,
    assets: AssetsQuery = Assets.inline,
    tiles: TilesQuery = True,
    vector_tiles: VectorTilesQuery = False,
    download: DownloadQuery = False,
    report: ReportQuery = Report(),
) -> Response:
    """The official line, each party's claim in its own colour, the zone hatched, the
    localities and inspection points in it, and a measure tool; 404 for an unknown zone."""
    source = _tile_source(request, vector_tiles, fmt, assets)
    made_on = _made_on(request)

    def build(conn: Connection) -> folium.Map:
        from services import maps as map_requests

        return map_requests.dispute(conn, zone_id, tiles=tiles, made_on=made_on, tile_source=source)

    # the map is the same for everyone who reaches the zone; who does is checked first
    kept = Kept(
        ("disputed_zones", "claims", "municipalities", "localities", "inspections"),
        made_on,
        check=lambda conn: reach_zone(conn, caller, zone_id),
    )
    return _respond(request, build, fmt, assets, download, f"disputa-{zone_id}", report, kept)
