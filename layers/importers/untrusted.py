"""Opening a file an operator brings, before GDAL sees it, so that it can only be data.

GDAL reads some 80 vector formats, and several of them are programs in disguise: a
VRT names other files and URLs to read (``/vsicurl/``, ``/vsizip/`` of anything on
disk), a GeoJSON ``crs`` of type ``link`` makes GDAL fetch the URL, a GeoPackage
view can run a query that never ends. So:

* Only the formats Linde imports are opened, recognised by their first bytes, never
  by the name: GeoJSON (text starting with ``{``), GeoPackage (an SQLite file),
  Shapefile (its file code), and a zip of those. A VRT named ``.geojson`` is refused.
* A GeoJSON whose ``crs`` is a link (or holds an ``href``) is refused: Linde reads
  only named CRSs (``EPSG:…``, ``urn:ogc:def:crs:…``).
* A GeoPackage whose layers are views, or virtual tables, is refused: reading one
  runs its query (a recursive CTE runs forever), and nothing can interrupt GDAL.
* A zip is unpacked by Linde itself into a private temporary folder, counting the
  bytes actually inflated (not the sizes the archive declares) against
  ``LINDE_MAX_UNZIPPED_MB``; only its data files are unpacked, and GDAL opens the
  unpacked file, never ``/vsizip/``.
* GDAL's network access is off while the file is read (:func:`network_off`): its HTTP
  goes to a closed local port with no retry, ``/vsicurl/`` accepts no file, and
  PROJ downloads no grid. (curl still honours ``NO_PROXY``, which is why the checks
  above come first and do not rely on this.)
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Literal

import pyogrio
import pyproj.network

from geo.errors import Problem, UnreadableFile

MB = 1024 * 1024
Kind = Literal["geojson", "gpkg", "shp", "zip"]
#: The file types a zip may hold; the main file is among the first four.
DATA_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp")
SIDECAR_SUFFIXES = (".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".xml", ".txt")
TEMP_PREFIX = "linde-import-"
SUPPORTED = "GeoJSON, GeoPackage, Shapefile, zipped or not"
_CRS_KEY = re.compile(rb'"crs"\s*:\s*\{')
_LINKED = re.compile(rb'"(?:href|link)"')
_SCAN_BYTES = 4 * MB
_CRS_WINDOW = 2048

#: GDAL's HTTP goes nowhere: a proxy on a port nothing listens on, one try, short waits.
GDAL_OFFLINE = {
    "GDAL_HTTP_PROXY": "127.0.0.1:9",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_TIMEOUT": "2",
    "GDAL_HTTP_CONNECTTIMEOUT": "2",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".linde-no-network",
    "PROJ_NETWORK": "OFF",
}


@contextmanager
def network_off() -> Iterator[None]:
    """GDAL's and PROJ's network access off while the block runs, then as it was.

    GDAL's configuration is the process's, so reads must not run beside a GDAL
    client in another thread (the CLI reads one file at a time).
    """
    before = {name: pyogrio.get_gdal_config_option(name) for name in GDAL_OFFLINE}
    proj_before = pyproj.network.is_network_enabled()
    pyogrio.set_gdal_config_options(GDAL_OFFLINE)
    pyproj.network.set_network_enabled(False)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(before)
        pyproj.network.set_network_enabled(proj_before)


def _refuse(path: Path, what: str, reason: str) -> UnreadableFile:
    return UnreadableFile(
        f"{path.name} is not a geodata file Linde can read ({SUPPORTED}): {what}",
        problems=[Problem("file", reason)],
    )


def sniff(path: Path) -> Kind:
    """The kind of ``path`` by its first bytes.

    Raises:
        UnreadableFile: anything else (a VRT, an executable, a truncated or empty file).
    """
    with path.open("rb") as fh:
        head = fh.read(512)
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if head.startswith(b"\x00\x00\x27\x0a"):
        return "shp"
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"{"):
        return "geojson"
    if text.startswith(b"<"):
        raise _refuse(
            path,
            "it is XML (a VRT or GML names other files and URLs to read, and is never imported)",
            "XML, not one of the supported formats",
        )
    raise _refuse(path, "its content is none of these formats", "unknown content")


def check_geojson(path: Path) -> None:
    """Refuse a GeoJSON whose ``crs`` member is a link GDAL would fetch."""
    with path.open("rb") as fh:
        carry = b""
        while block := fh.read(_SCAN_BYTES):
            data = carry + block
            for found in _CRS_KEY.finditer(data):
                window = data[found.end() : found.end() + _CRS_WINDOW]
                if _LINKED.search(window):
                    raise UnreadableFile(
                        f"{path.name} gives its coordinate system as a link to fetch; Linde "
                        "never fetches URLs while importing. Remove the crs member (GeoJSON "
                        'is WGS 84) or name it: "crs": {"type": "name", "properties": '
                        '{"name": "EPSG:6372"}}, or give --crs',
                        problems=[Problem("crs", "a linked CRS (href); name it instead")],
                    )
            carry = data[-(_CRS_WINDOW + 64) :]


def check_geopackage(path: Path) -> None:
    """Refuse a GeoPackage that is not plain tables (views, virtual tables)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise _refuse(path, f"a damaged SQLite file ({exc})", "damaged SQLite file") from exc
    try:
        rows = conn.execute(
            "SELECT c.table_name, m.type, m.sql FROM gpkg_contents c "
            "LEFT JOIN sqlite_master m ON m.name = c.table_name"
        ).fetchall()
    except sqlite3.Error as exc:
        raise _refuse(
            path, f"an SQLite file that is not a GeoPackage ({exc})", "not a GeoPackage"
        ) from exc
    finally:
        conn.close()
    for name, kind, sql in rows:
        virtual = kind == "table" and (sql or "").lstrip().upper().startswith("CREATE VIRTUAL")
        if kind != "table" or virtual:
            what = "a view" if kind == "view" else ("a virtual table" if virtual else "missing")
            raise UnreadableFile(
                f"{path.name}: the layer {name!r} is {what}, not a table; reading a view runs "
                "its query, which may never end. Save the layer as a table (QGIS: Export → "
                "Save Features As…) and import that",
                problems=[Problem("file", f"layer {name!r} is {what}")],
            )


def check(path: Path, kind: Kind) -> None:
    """The checks of one unpacked file of ``kind``."""
    if kind == "geojson":
        check_geojson(path)
    elif kind == "gpkg":
        check_geopackage(path)


def unpack(archive: Path, into: Path, limit_bytes: int) -> Path:
    """Unpack the data files of ``archive`` into ``into``; return what GDAL should open.

    Bytes are counted as they are inflated; past ``limit_bytes`` the unpacking stops.
    Members other than data files and their sidecars are skipped.

    Raises:
        UnreadableFile: more than the limit, a damaged archive or one whose sizes lie,
            a member of an unsupported kind, no data file, or several kinds of them.
    """
    written = 0
    main: list[Path] = []
    try:
        with zipfile.ZipFile(archive) as zf:
            for member in zf.infolist():
                name = PurePosixPath(member.filename)
                suffix = name.suffix.lower()
                if member.is_dir() or name.name.startswith(".") or "__MACOSX" in name.parts:
                    continue
                if suffix not in DATA_SUFFIXES + SIDECAR_SUFFIXES:
                    raise UnreadableFile(
                        f"{archive.name} holds {member.filename}, which is not one of the "
                        f"files Linde imports ({SUPPORTED}); remove it from the archive",
                        problems=[Problem("file", f"{member.filename}: not a data file")],
                    )
                target = into / name.name
                if target.exists():
                    raise UnreadableFile(
                        f"{archive.name} holds two files named {name.name}; give one at a time",
                        problems=[Problem("file", f"two files named {name.name}")],
                    )
                with zf.open(member) as src, target.open("wb") as dst:
                    while piece := src.read(1 << 20):
                        written += len(piece)
                        if written > limit_bytes:
                            raise UnreadableFile(
                                f"{archive.name} unpacks to more than the "
                                f"{limit_bytes / MB:,.0f} MB an import may unpack "
                                "(LINDE_MAX_UNZIPPED_MB); is it a zip bomb?",
                                problems=[Problem("file", "unpacks to more than the limit")],
                            )
                        dst.write(piece)
                if suffix in DATA_SUFFIXES:
                    main.append(target)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise UnreadableFile(
            f"{archive.name} is damaged or states wrong sizes for its files ({exc}); "
            "zip the files again",
            problems=[Problem("file", "damaged zip archive")],
        ) from exc
    for path in main:
        kind = sniff(path)
        if kind == "zip":
            raise UnreadableFile(
                f"{archive.name} holds another zip ({path.name}); unzip it and give the inner "
                "archive",
                problems=[Problem("file", "a zip inside the zip")],
            )
        check(path, kind)
    if len(main) == 1:
        return main[0]
    if main and all(p.suffix.lower() == ".shp" for p in main):
        return into  # a folder of shapefiles: one layer each
    if not main:
        raise UnreadableFile(
            f"{archive.name} holds no data file ({SUPPORTED})",
            problems=[Problem("file", "no data file in the archive")],
        )
    raise UnreadableFile(
        f"{archive.name} holds several data files ({', '.join(p.name for p in main)}); "
        "give one at a time",
        problems=[Problem("file", "several data files in one archive")],
    )


@contextmanager
def opened(path: Path, limit_bytes: int) -> Iterator[Path]:
    """The path GDAL may open for the operator's ``path``, checked (and unpacked).

    Raises:
        UnreadableFile: see :func:`sniff`, :func:`check` and :func:`unpack`.
    """
    kind = sniff(path)
    if kind != "zip":
        check(path, kind)
        with network_off():
            yield path
        return
    folder = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    try:
        source = unpack(path, folder, limit_bytes)
        with network_off():
            yield source
    finally:
        shutil.rmtree(folder, ignore_errors=True)
