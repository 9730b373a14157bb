"""Downloads of a published layer: which columns, under which names, with which values.

Both front doors ask for a layer's features as a file through here; the file
writers themselves are in ``formats/`` and know nothing of the domain.

* ``labels="en"`` (the default) keeps the stable English keys and codes programs
  rely on (``category = solid_waste``).
* ``labels="es"`` names each column by its Spanish title (the one the HTML view and
  the queryables show, ``Categoría``) and writes category codes as their Spanish
  labels (``Residuos sólidos``), booleans as ``sí``/``no``: a file for people who
  open it in Excel or QGIS, not for programs.
* Inspections carry ``photo_urls``: the absolute links of their photos, separated
  by spaces (a URL never holds one), read in chunks beside the features.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, Engine

from formats import CsvGeometry, ExportFormat, FeatureRow, Field, stream_export
from layers.collections import Collection
from layers.inspections.store import photo_hashes
from layers.queries import items as item_queries
from maps.legend import CATEGORY_LABELS, STATUS_ES

Labels = Literal["en", "es"]
LABEL_CHOICES: tuple[Labels, ...] = ("en", "es")

PHOTO_URLS = "photo_urls"
PHOTO_URLS_ES = "Fotos (enlaces)"
#: rows of inspections whose photos are looked up at a time
PHOTO_CHUNK = 500

#: Spanish labels of the codes a layer's columns hold, by (collection, property).
CODE_LABELS_ES: dict[tuple[str, str], Mapping[str, str]] = {
    ("inspections", "category"): CATEGORY_LABELS,
    ("inspections", "review_status"): {
        "pending": "pendiente",
        "approved": "aprobada",
        "rejected": "rechazada",
    },
    ("inspections", "follow_up_status"): {
        "open": "abierta",
        "referred": "turnada",
        "attended": "atendida",
    },
    ("inspections", "bank_side"): {"left": "izquierda", "right": "derecha"},
    ("disputed_zones", "status"): STATUS_ES,
    ("disputed_zones", "kind"): {
        "overlap": "encimamiento",
        "gap": "vacío",
        "manual": "registrada a mano",
    },
    ("claims", "source"): {
        "inegi": "INEGI (Marco Geoestadístico)",
        "decree": "decreto",
        "agreement": "convenio",
        "cadastre": "catastro municipal",
        "survey": "levantamiento topográfico",
        "decision": "resolución de la Comisión de Límites",
    },
}


@dataclass(frozen=True)
class _Column:
    source: str
    field: Field
    codes: Mapping[str, str] | None = None
    yes_no: bool = False


def _columns(c: Collection, names: tuple[str, ...] | None, labels: Labels) -> list[_Column]:
    wanted = item_queries.wanted_properties(c, names)
    if labels == "en":
        columns = [_Column(p.name, Field(p.name, p.kind)) for p in wanted]
    else:
        columns = []
        used: set[str] = set()
        for p in wanted:
            title = p.title if p.title.lower() not in used else f"{p.title} ({p.name})"
            used.add(title.lower())
            codes = CODE_LABELS_ES.get((c.id, p.name))
            if p.kind == "bool":
                columns.append(_Column(p.name, Field(title, "str"), yes_no=True))
            else:
                columns.append(_Column(p.name, Field(title, p.kind), codes))
    if c.id == "inspections" and names is None:
        name = PHOTO_URLS if labels == "en" else PHOTO_URLS_ES
        columns.append(_Column(PHOTO_URLS, Field(name, "str")))
    return columns


def _relabelled(columns: list[_Column], features: Iterable[FeatureRow]) -> Iterator[FeatureRow]:
    for fid, props, wkb in features:
        out: dict[str, Any] = {}
        for col in columns:
            value = props.get(col.source)
            if value is not None and col.codes is not None:
                value = col.codes.get(str(value), value)
            elif value is not None and col.yes_no:
                value = "sí" if value else "no"
            out[col.field.name] = value
        yield fid, out, wkb


def _with_photos(
    photos_conn: Connection, photo_url: str, features: Iterable[FeatureRow]
) -> Iterator[FeatureRow]:
    """Each inspection with ``photo_urls``; photos are read ``PHOTO_CHUNK`` rows at a time
    on their own connection (the features come from a cursor still open on another)."""
    pending: list[FeatureRow] = []

    def flush() -> Iterator[FeatureRow]:
        hashes = photo_hashes(photos_conn, [str(fid) for fid, _, _ in pending])
        for fid, props, wkb in pending:
            links = [photo_url.format(id=fid, sha256=h) for h in hashes.get(str(fid), [])]
            yield fid, {**props, PHOTO_URLS: " ".join(links) or None}, wkb
        pending.clear()

    for row in features:
        pending.append(row)
        if len(pending) >= PHOTO_CHUNK:
            yield from flush()
    yield from flush()


def export_layer(
    engine: Engine,
    c: Collection,
    fmt: ExportFormat,
    q: item_queries.ItemsQuery,
    *,
    csv_geometry: CsvGeometry = "wkt",
    labels: Labels = "en",
    photo_url: str | None = None,
) -> Iterator[bytes]:
    """The bytes of the layer's features matching ``q`` as a file of format ``fmt``.

    Args:
        photo_url: for inspections, the absolute URL of a photo with ``{id}`` and
            ``{sha256}`` to fill in (the API's own address); None leaves the links out.

    Raises:
        InvalidParameter: what ``formats.stream_export`` or the query raise on bad input,
            before any byte is produced.
    """
    columns = _columns(c, q.properties, labels)
    if photo_url is None:
        columns = [col for col in columns if col.source != PHOTO_URLS]
    with engine.connect() as conn:
        features: Iterable[FeatureRow] = (
            (i.id, i.properties, i.geometry) for i in item_queries.stream(conn, c, q)
        )
        if photo_url is not None and any(col.source == PHOTO_URLS for col in columns):
            with engine.connect() as photos_conn:
                yield from _file(
                    fmt, c, q, columns, csv_geometry, _with_photos(photos_conn, photo_url, features)
                )
            return
        yield from _file(fmt, c, q, columns, csv_geometry, features)


def _file(
    fmt: ExportFormat,
    c: Collection,
    q: item_queries.ItemsQuery,
    columns: list[_Column],
    csv_geometry: CsvGeometry,
    features: Iterable[FeatureRow],
) -> Iterator[bytes]:
    yield from stream_export(
        fmt,
        [col.field for col in columns],
        _relabelled(columns, features),
        geometry_type=c.geometry_type,
        epsg=q.crs.epsg,
        layer_name=c.id,
        csv_geometry=csv_geometry,
    )
