"""Export the inspections a supervisor filtered: CSV (Spanish labels, for people),
GeoPackage and KML (field names in English, for GIS), or a ZIP with the photos.

The files are written by Linde's export writers; this module reaches them through
one name (``exports``), so moving the writers elsewhere changes one import here.
The ZIP holds ``inspecciones.csv`` and a ``photos/`` folder; each row names its photos
by their path inside the ZIP. Its size is bounded: a set whose photos weigh more than
the limit is refused before anything is written, with how much it weighs and how to
narrow it.
"""

from __future__ import annotations

import mimetypes
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection

import formats as exports
from geo.access import RowScope
from geo.errors import InvalidInput, NotFound, Problem
from layers.inspections import photos as photo_store
from layers.inspections import review as queries
from layers.inspections.review import ReviewFilter
from maps.legend import category_label
from services.review import FOLLOW_UP_ES, REVIEW_ES

FORMATS = ("csv", "gpkg", "kml", "zip")
LAYER = "inspecciones"
BANK_ES = {"left": "izquierda", "right": "derecha"}

#: the CSV's columns for people: (property, Spanish label, kind)
_CSV_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("observed_at", "Observada el (UTC)", "datetime"),
    ("category", "Categoría", "str"),
    ("severity", "Gravedad (1-5)", "int"),
    ("description", "Descripción", "str"),
    ("inspector", "Inspector", "str"),
    ("gps_accuracy_m", "Precisión GPS (m)", "float"),
    ("review_status", "Revisión", "str"),
    ("follow_up_status", "Seguimiento", "str"),
    ("referred_to", "Turnada al municipio (clave)", "str"),
    ("municipality_cvegeo", "Municipio (clave INEGI)", "str"),
    ("municipality_name", "Municipio", "str"),
    ("disputed_zone_id", "Zona en disputa (número)", "int"),
    ("dispute", "Zona en disputa", "str"),
    ("river_name", "Río", "str"),
    ("chainage_m", "Cadenamiento (m)", "float"),
    ("river_distance_m", "Distancia al río (m)", "float"),
    ("bank_side", "Margen", "str"),
    ("in_federal_zone", "Dentro de la zona federal", "str"),
    ("photos", "Fotos", "str"),
)
#: the GIS formats' columns: the stored names and kinds (KML labels placemarks by ``name``)
_GIS_FIELDS: tuple[tuple[str, str], ...] = (
    ("name", "str"),
    *(
        (c, k)
        for c, k in (
            ("observed_at", "datetime"),
            ("category", "str"),
            ("severity", "int"),
            ("description", "str"),
            ("inspector", "str"),
            ("gps_accuracy_m", "float"),
            ("review_status", "str"),
            ("follow_up_status", "str"),
            ("referred_to", "str"),
            ("municipality_cvegeo", "str"),
            ("municipality_name", "str"),
            ("disputed_zone_id", "int"),
            ("dispute", "str"),
            ("river_id", "int"),
            ("river_name", "str"),
            ("chainage_m", "float"),
            ("river_distance_m", "float"),
            ("bank_side", "str"),
            ("in_federal_zone", "bool"),
            ("version", "int"),
        )
    ),
)


def media_type(fmt: str) -> str:
    return "application/zip" if fmt == "zip" else exports.FORMATS[fmt].media_type


def file_name(fmt: str) -> str:
    extension = "zip" if fmt == "zip" else exports.FORMATS[fmt].extension
    return f"{LAYER}.{extension}"


def _photo_name(sha256: str, media: str) -> str:
    return f"photos/{sha256}{mimetypes.guess_extension(media) or '.bin'}"


def _for_people(
    rows: Iterator[tuple[str, dict[str, Any], bytes | None]],
    photos: dict[str, list[tuple[str, str, int]]] | None,
) -> Iterator[tuple[str, dict[str, Any], bytes | None]]:
    """The rows with Spanish labels and values (the CSV); photo paths when ``photos``."""
    for fid, props, wkb in rows:
        p = dict(props)
        p["category"] = category_label(p["category"])
        p["review_status"] = REVIEW_ES.get(p["review_status"], p["review_status"])
        p["follow_up_status"] = FOLLOW_UP_ES.get(p["follow_up_status"], p["follow_up_status"])
        p["bank_side"] = BANK_ES.get(p["bank_side"], p["bank_side"])
        inside = p["in_federal_zone"]
        p["in_federal_zone"] = None if inside is None else ("sí" if inside else "no")
        if photos is not None:
            p["photos"] = "; ".join(_photo_name(s, m) for s, m, _ in photos.get(str(fid), []))
        yield fid, {label: p.get(name) for name, label, _ in _CSV_FIELDS}, wkb


def _for_gis(
    rows: Iterator[tuple[str, dict[str, Any], bytes | None]],
) -> Iterator[tuple[str, dict[str, Any], bytes | None]]:
    for fid, props, wkb in rows:
        when = props["observed_at"]
        label = f"{category_label(props['category'])} · {str(when)[:16]}"
        yield fid, {**props, "name": label}, wkb


def _csv_fields(*, with_photos: bool) -> list[Any]:
    return [
        exports.Field(label, kind)  # type: ignore[arg-type]
        for name, label, kind in _CSV_FIELDS
        if with_photos or name != "photos"
    ]


def export(conn: Connection, f: ReviewFilter, rows: RowScope, fmt: str) -> Iterator[bytes]:
    """The bytes of the filtered inspections as ``fmt`` (``csv``, ``gpkg`` or ``kml``),
    read lazily on ``conn`` (which must stay open while the bytes are read)."""
    found = queries.export_rows(conn, f, rows)
    if fmt == "csv":
        fields = _csv_fields(with_photos=False)
        features = _for_people(found, None)
    else:
        fields = [exports.Field(name, kind) for name, kind in _GIS_FIELDS]  # type: ignore[arg-type]
        features = _for_gis(found)
    return exports.stream_export(
        exports.FORMATS[fmt],
        fields,
        features,
        geometry_type="Point",
        epsg=4326,
        layer_name=LAYER,
        csv_geometry="lonlat",
    )


def photo_zip(
    conn: Connection, f: ReviewFilter, rows: RowScope, *, photos_dir: Path, max_bytes: int
) -> IO[bytes]:
    """A ZIP (an open temporary file, at its start) of ``inspecciones.csv`` and
    ``photos/``: the filtered inspections and every photo they carry, each once.

    Raises:
        InvalidInput: the photos weigh more than ``max_bytes`` (nothing is written).
    """
    count, size = queries.photo_bytes_total(conn, f, rows)
    if size > max_bytes:
        mb = 1024 * 1024
        raise InvalidInput(
            f"Las {count} fotos de estas inspecciones pesan {size / mb:.1f} MB y el ZIP admite "
            f"hasta {max_bytes / mb:.1f} MB. Acote los filtros (fechas, río, municipio) "
            "o descargue en partes.",
            problems=[
                Problem(
                    "format", f"zip: fotos de {size / mb:.1f} MB, máximo {max_bytes / mb:.1f} MB"
                )
            ],
        )
    # handed to the response, which closes (and so removes) it once sent
    out = tempfile.TemporaryFile(prefix="linde-review-")  # noqa: SIM115
    try:
        ids: list[str] = []
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            rows_now = list(queries.export_rows(conn, f, rows))
            ids = [str(fid) for fid, _, _ in rows_now]
            photos = queries.photos_of(conn, ids)
            data = exports.stream_export(
                exports.FORMATS["csv"],
                _csv_fields(with_photos=True),
                _for_people(iter(rows_now), photos),
                geometry_type="Point",
                epsg=4326,
                layer_name=LAYER,
                csv_geometry="lonlat",
            )
            with archive.open(f"{LAYER}.csv", "w") as member:
                for piece in data:
                    member.write(piece)
            written: set[str] = set()
            for sha, media, _size in (p for found in photos.values() for p in found):
                name = _photo_name(sha, media)
                if name in written:
                    continue
                written.add(name)
                try:
                    path = photo_store.stored(photos_dir, sha)
                except NotFound:  # its file is gone: the row still names it
                    continue
                # photos are compressed already: stored as they are
                archive.write(path, name, compress_type=zipfile.ZIP_STORED)
        out.seek(0)
        return out
    except BaseException:
        out.close()
        raise
