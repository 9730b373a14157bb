"""The layers Linde publishes as OGC API - Features collections.

Each :class:`Collection` says which table (or join) a layer comes from, which of
its columns are properties (and queryable), its geometry type, its time columns,
which change counters (``layer_versions``) tell when it changed, and which role
may read it. The query builder (``layers.queries.items``) and the API read only
this description, so adding a layer is adding an entry here.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    FromClause,
    Table,
    func,
    select,
    text,
)
from sqlalchemy.engine import Dialect

from geo.access import RowScope
from geo.roles import Role
from layers.access import row_condition
from layers.dialects import key_list
from layers.engine import AsyncReader, DriverStatement
from layers.schema import (
    claims,
    disputed_zone_parties,
    disputed_zones,
    inspections,
    layer_versions,
    metro_zone_members,
    metro_zones,
    municipalities,
    rivers,
)

Kind = Literal["str", "int", "float", "bool", "datetime", "date", "json"]


@dataclass(frozen=True)
class Property:
    name: str
    column: ColumnElement[Any]
    kind: Kind
    #: Spanish, for the HTML view and the queryables document.
    title: str
    #: comma-separated keys ("20067,20157"): CQL2's array functions read it as an array
    key_list: bool = False


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    table: Table
    source: FromClause
    id_property: Property
    properties: tuple[Property, ...]
    geometry_type: str
    #: counters in ``layer_versions`` whose change changes this collection
    layers: tuple[str, ...]
    #: None: anyone may read; otherwise the least role that may
    read_role: Role | None
    #: (start, end) columns; end None means an instant
    time: tuple[ColumnElement[Any], ColumnElement[Any] | None] | None
    order: tuple[ColumnElement[Any], ...]
    #: rows of ``source`` that are features of this layer (None: all of them)
    where: ColumnElement[bool] | None = None

    @property
    def geometry(self) -> ColumnElement[Any]:
        return self.table.c.geom

    def prop(self, name: str) -> Property | None:
        for prop in self.properties:
            if prop.name == name:
                return prop
        return None

    def queryable(self, name: str) -> Property | None:
        """The property ``name`` or the id property: what a filter, a sort or a
        ``?name=value`` may name."""
        if name == self.id_property.name:
            return self.prop(name) or self.id_property
        return self.prop(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.properties)


def _p(
    name: str, column: ColumnElement[Any], kind: Kind, title: str, *, key_list: bool = False
) -> Property:
    return Property(name, column, kind, title, key_list)


_m, _z, _c, _r, _i = municipalities.c, metro_zones.c, claims.c, rivers.c, inspections.c

MUNICIPALITIES = Collection(
    id="municipalities",
    title="Municipios: límite oficial (INEGI)",
    description="Límite oficial vigente de cada municipio según el Marco Geoestadístico de "
    "INEGI, con su versión y la fecha desde la que rige en Linde.",
    table=municipalities,
    source=municipalities,
    id_property=_p("cvegeo", _m.cvegeo, "str", "Clave geoestadística"),
    properties=(
        _p("cvegeo", _m.cvegeo, "str", "Clave geoestadística (INEGI)"),
        _p("name", _m.name, "str", "Municipio"),
        _p("state_code", _m.state_code, "str", "Clave de la entidad"),
        _p("state_name", _m.state_name, "str", "Entidad"),
        _p("population", _m.population, "int", "Población"),
        _p("dwellings", _m.dwellings, "int", "Viviendas"),
        _p("version", _m.version, "int", "Versión del límite"),
        _p("source", _m.source, "str", "Fuente"),
        _p("valid_from", _m.valid_from, "datetime", "Vigente desde"),
    ),
    geometry_type="MultiPolygon",
    layers=("municipalities",),
    read_role=None,
    time=None,
    order=(_m.cvegeo,),
)

_MEMBERS = (
    select(key_list(metro_zone_members.c.cvegeo))
    .where(metro_zone_members.c.zone_code == metro_zones.c.code)
    # always the zone of the row, even from inside a filter's nested subquery
    .correlate(metro_zones)
    .scalar_subquery()
)

METRO_ZONES = Collection(
    id="metro_zones",
    title="Zonas metropolitanas",
    description="Zonas metropolitanas de las delimitaciones 2015 y 2020 (SEDATU, CONAPO, "
    "INEGI); el contorno es la unión de los municipios miembros cargados. Una zona aparece "
    "aquí cuando al menos uno de sus municipios está cargado: sin municipios no tiene "
    "contorno, y una capa que QGIS y GDAL abren debe ser de polígonos.",
    table=metro_zones,
    source=metro_zones,
    id_property=_p("code", _z.code, "str", "Clave de la zona"),
    properties=(
        _p("code", _z.code, "str", "Clave de la zona"),
        _p("name", _z.name, "str", "Zona metropolitana"),
        _p("delimitation_year", _z.delimitation_year, "int", "Año de la delimitación"),
        _p("kind", _z.kind, "str", "Tipo"),
        _p("source", _z.source, "str", "Fuente"),
        _p("updated_at", _z.updated_at, "datetime", "Actualizada"),
        _p(
            "members",
            _MEMBERS,
            "str",
            "Municipios miembros (claves, separadas por comas)",
            key_list=True,
        ),
    ),
    geometry_type="MultiPolygon",
    layers=("metro_zones",),
    read_role=None,
    time=None,
    order=(_z.code,),
    # A zone whose members are not imported has no outline (NULL geom). One such row makes
    # QGIS and GDAL type the whole layer "no geometry", so the layer holds outlined zones.
    where=_z.geom.is_not(None),
)

CLAIMS = Collection(
    id="claims",
    title="Límites reclamados por los municipios",
    description="Cada versión del límite que un municipio reclama, con su fuente (INEGI, "
    "decreto, convenio, catastro, levantamiento) y su vigencia. datetime= da las vigentes "
    "en esa fecha.",
    table=claims,
    source=claims.join(municipalities, claims.c.cvegeo == municipalities.c.cvegeo),
    id_property=_p("id", _c.id, "int", "Identificador"),
    properties=(
        _p("cvegeo", _c.cvegeo, "str", "Clave del municipio"),
        _p("municipality", _m.name, "str", "Municipio"),
        _p("version", _c.version, "int", "Versión"),
        _p("source", _c.source, "str", "Fuente"),
        _p("source_reference", _c.source_reference, "str", "Documento"),
        _p("valid_from", _c.valid_from, "datetime", "Vigente desde"),
        _p("valid_to", _c.valid_to, "datetime", "Vigente hasta"),
        _p("recorded_by", _c.recorded_by, "str", "Registrado por"),
        _p("recorded_at", _c.recorded_at, "datetime", "Registrado el"),
        _p("notes", _c.notes, "str", "Notas"),
    ),
    geometry_type="MultiPolygon",
    layers=("claims", "municipalities"),
    read_role=Role.planner,
    time=(_c.valid_from, _c.valid_to),
    order=(_c.id,),
)

RIVERS = Collection(
    id="rivers",
    title="Ríos",
    description="Líneas de ríos (Natural Earth u otra fuente importada) con el ancho de su "
    "zona federal.",
    table=rivers,
    source=rivers,
    id_property=_p("id", _r.id, "int", "Identificador"),
    properties=(
        _p("key", _r.key, "str", "Clave"),
        _p("name", _r.name, "str", "Río"),
        _p("source", _r.source, "str", "Fuente"),
        _p("federal_zone_width_m", _r.federal_zone_width_m, "float", "Zona federal (m)"),
        _p("updated_at", _r.updated_at, "datetime", "Actualizado"),
    ),
    geometry_type="MultiLineString",
    layers=("rivers",),
    read_role=None,
    time=None,
    order=(_r.id,),
)

INSPECTIONS = Collection(
    id="inspections",
    title="Inspecciones de campo",
    description="Puntos levantados por inspectores en ríos y límites municipales, anotados "
    "al llegar: municipio, reclamos, zona en disputa, río, distancia, cadenamiento, margen y "
    "zona federal. Filtrar por tramo: filter=chainage_m BETWEEN 1000 AND 5000.",
    table=inspections,
    source=inspections,
    id_property=_p("id", _i.id, "str", "Identificador"),
    properties=(
        _p("observed_at", _i.observed_at, "datetime", "Observada el"),
        _p(
            "observed_offset_min",
            _i.observed_offset_min,
            "int",
            "Desfase UTC del teléfono (min)",
        ),
        _p("category", _i.category, "str", "Categoría"),
        _p("severity", _i.severity, "int", "Gravedad"),
        _p("description", _i.description, "str", "Descripción"),
        _p("gps_accuracy_m", _i.gps_accuracy_m, "float", "Precisión GPS (m)"),
        _p("inspector", _i.inspector, "str", "Inspector"),
        _p("source", _i.source, "str", "Fuente"),
        _p("created_at", _i.created_at, "datetime", "Recibida el"),
        _p("recorded_by", _i.recorded_by, "str", "Registrada por"),
        _p("review_status", _i.review_status, "str", "Revisión"),
        _p("follow_up_status", _i.follow_up_status, "str", "Seguimiento"),
        _p("referred_to", _i.referred_to, "str", "Turnada al municipio"),
        _p("municipality_cvegeo", _i.municipality_cvegeo, "str", "Municipio (clave oficial)"),
        _p("municipality_name", _i.municipality_name, "str", "Municipio (límite oficial)"),
        _p("claim_cvegeos", _i.claim_cvegeos, "str", "Reclamada por (claves)", key_list=True),
        _p("metro_zone_codes", _i.metro_zone_codes, "str", "Zonas metropolitanas", key_list=True),
        _p("disputed_zone_id", _i.disputed_zone_id, "int", "Zona en disputa"),
        _p("dispute", _i.dispute, "str", "Disputa"),
        _p("river_id", _i.river_id, "int", "Río (id)"),
        _p("river_name", _i.river_name, "str", "Río más cercano"),
        _p("river_distance_m", _i.river_distance_m, "float", "Distancia al río (m)"),
        _p("chainage_m", _i.chainage_m, "float", "Cadenamiento desde aguas arriba (m)"),
        _p("bank_side", _i.bank_side, "str", "Margen (mirando aguas abajo)"),
        _p("in_federal_zone", _i.in_federal_zone, "bool", "Dentro de la zona federal"),
        _p("annotated_at", _i.annotated_at, "datetime", "Anotada el"),
    ),
    geometry_type="Point",
    layers=("inspections",),
    read_role=Role.planner,
    time=(_i.observed_at, None),
    order=(_i.observed_at, _i.id),
)

_d = disputed_zones.c
_PARTIES = (
    select(key_list(disputed_zone_parties.c.cvegeo))
    .where(disputed_zone_parties.c.zone_id == disputed_zones.c.id)
    .correlate(disputed_zones)
    .scalar_subquery()
)

DISPUTED_ZONES = Collection(
    id="disputed_zones",
    title="Zonas en disputa",
    description="Zonas donde se enciman los límites reclamados por dos o más municipios "
    "(overlap), vacíos que ninguno reclama dentro de la zona metropolitana (gap) y zonas "
    "registradas por la Comisión de Límites (manual), con su estado en el expediente.",
    table=disputed_zones,
    source=disputed_zones,
    id_property=_p("id", _d.id, "int", "Identificador"),
    properties=(
        _p("name", _d.name, "str", "Nombre"),
        _p("kind", _d.kind, "str", "Tipo (encimamiento, vacío, registrada)"),
        _p("status", _d.status, "str", "Estado del expediente"),
        _p(
            "parties",
            _PARTIES,
            "str",
            "Municipios parte (claves, separadas por comas)",
            key_list=True,
        ),
        _p("scope", _d.scope, "str", "Ámbito de la detección"),
        _p("area_m2", _d.area_m2, "float", "Superficie (m²)"),
        _p("area_ha", _d.area_ha, "float", "Superficie (ha)"),
        _p("perimeter_m", _d.perimeter_m, "float", "Perímetro (m)"),
        _p("contested_length_m", _d.contested_length_m, "float", "Línea en disputa (m)"),
        _p("version", _d.version, "int", "Versión del expediente"),
        _p("created_at", _d.created_at, "datetime", "Registrada el"),
        _p("updated_at", _d.updated_at, "datetime", "Actualizada el"),
        _p("closed_at", _d.closed_at, "datetime", "Cerrada el"),
    ),
    geometry_type="MultiPolygon",
    layers=("disputed_zones",),
    read_role=Role.planner,
    time=(_d.created_at, _d.closed_at),
    order=(_d.id,),
)

COLLECTIONS: dict[str, Collection] = {
    c.id: c for c in (MUNICIPALITIES, METRO_ZONES, CLAIMS, RIVERS, INSPECTIONS, DISPUTED_ZONES)
}


# All counters at once (a handful of rows): no parameters, so the statement is
# compiled once and prepared by the driver; it runs on every OGC API request.
_VERSIONS = select(layer_versions.c.layer, layer_versions.c.version)


def counters(conn: Connection) -> list[tuple[str, int]]:
    """Every layer's change counter, as (layer, counter) rows."""
    return _counters_statement(conn.dialect).all(conn, {})


async def counters_async(reader: AsyncReader, engine: Engine) -> list[tuple[str, int]]:
    """:func:`counters`, read on the event loop without blocking it (PostgreSQL)."""
    return await reader.all(_counters_statement(engine.dialect), {})


class SharedCounterReads:
    """:func:`counters_async` shared by the requests of one process that wait for it
    at the same moment: one statement answers all of them.

    Never stale: a request joins only a read that has not been sent yet (it is sent
    on the event loop's next turn), so the snapshot it gets is taken after the
    request arrived, as its own read would be. Requests that arrive while a read is
    in flight wait for the next one. Under load most requests of a cached tile or
    page were this round trip.
    """

    def __init__(self, reader: AsyncReader, engine: Engine) -> None:
        self.reader = reader
        self.engine = engine
        self._next: asyncio.Future[list[tuple[str, int]]] | None = None
        #: statements sent (for tests and the curious)
        self.reads = 0

    async def read(self) -> list[tuple[str, int]]:
        """Every layer's change counter, read after this call began."""
        future = self._next
        if future is None:
            loop = asyncio.get_running_loop()
            future = self._next = loop.create_future()
            loop.call_soon(self._send, future)
        return await asyncio.shield(future)

    def _send(self, future: asyncio.Future[list[tuple[str, int]]]) -> None:
        self._next = None  # later arrivals take the next read
        self.reads += 1
        task = asyncio.ensure_future(counters_async(self.reader, self.engine))
        task.add_done_callback(lambda t: _settle(future, t))


def _settle(future: asyncio.Future[Any], task: asyncio.Future[Any]) -> None:
    if future.cancelled():
        return
    error = task.exception() if not task.cancelled() else asyncio.CancelledError()
    if error is not None:
        future.set_exception(error)
        future.exception()  # retrieved here too: every waiter may have gone
    else:
        future.set_result(task.result())


@lru_cache(maxsize=4)
def _counters_statement(dialect: Dialect) -> DriverStatement:
    return DriverStatement(_VERSIONS, dialect)


def versions(counted: Iterable[tuple[str, int]], collection: Collection) -> str | None:
    """A token that changes whenever any table behind the collection changes, from
    the :func:`counters` read for the request.

    ``None`` when a counter is missing (a database not migrated by Linde): callers
    must then not cache.
    """
    return layers_version(counted, collection.layers)


def layers_version(counted: Iterable[tuple[str, int]], layers: Iterable[str]) -> str | None:
    """:func:`versions` for any set of counters: ``layers`` by name. ``None`` when one
    of them is missing."""
    counter = dict(counted)
    names = tuple(layers)
    if any(name not in counter for name in names):
        return None
    return ".".join(str(counter[name]) for name in names)


def spatial_extent(
    conn: Connection, collection: Collection, rows: RowScope | None = None
) -> tuple[float, ...] | None:
    """(minx, miny, maxx, maxy) in lon/lat of every feature the caller reaches
    (``rows``; None: every feature), or None when there is none.

    A caller who reaches only some rows (a municipality's representative) gets the
    extent of those: the extent of the whole layer would tell where the zones of
    other municipalities lie."""
    table = collection.table
    reached = row_condition(table, rows)
    if conn.dialect.name == "postgresql":
        extent = func.ST_Extent(table.c.geom)
        parts = (
            func.ST_XMin(extent),
            func.ST_YMin(extent),
            func.ST_XMax(extent),
            func.ST_YMax(extent),
        )
        query = select(*parts).select_from(table)
        row = conn.execute(query if reached is None else query.where(reached)).one()
    elif reached is None:  # the R*Tree holds every bounding box already
        row = conn.execute(
            text(f"SELECT min(xmin), min(ymin), max(xmax), max(ymax) FROM idx_{table.name}_geom")
        ).one()
    else:
        g = table.c.geom
        query = select(
            func.min(func.MbrMinX(g)),
            func.min(func.MbrMinY(g)),
            func.max(func.MbrMaxX(g)),
            func.max(func.MbrMaxY(g)),
        ).where(reached)
        row = conn.execute(query).one()
    if row[0] is None:
        return None
    # rounded outward to 1e-6° (~10 cm); the R*Tree keeps 32-bit floats, widened outward
    minx, miny, maxx, maxy = (float(v) for v in row)
    return (
        math.floor(minx * 1e6) / 1e6,
        math.floor(miny * 1e6) / 1e6,
        math.ceil(maxx * 1e6) / 1e6,
        math.ceil(maxy * 1e6) / 1e6,
    )


def temporal_extent(
    conn: Connection, collection: Collection, rows: RowScope | None = None
) -> tuple[Any, Any] | None:
    """The first and last instants of the rows the caller reaches (``rows``)."""
    if collection.time is None:
        return None
    start, end = collection.time
    reached = row_condition(collection.table, rows)
    query = select(func.min(start), func.max(end if end is not None else start)).select_from(
        collection.source
    )
    row = conn.execute(query if reached is None else query.where(reached)).one()
    if row[0] is None:
        return None
    # an open end (a claim still in force) leaves the interval open
    if end is not None:
        open_rows = select(func.count()).select_from(collection.table).where(end.is_(None))
        if reached is not None:
            open_rows = open_rows.where(reached)
        if conn.execute(open_rows.limit(1)).scalar_one():
            return (row[0], None)
    return (row[0], row[1])
