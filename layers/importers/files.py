"""Reading the files users bring: GeoJSON, GeoPackage, Shapefile, zipped or not (checked
first by ``layers.importers.untrusted``); CSV tables."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import geopandas as gpd
import pandas as pd
import pyogrio
import pyogrio.raw
import shapely
import shapely.errors
from pyproj import CRS
from pyproj.exceptions import CRSError

from geo.errors import Problem, UnreadableFile
from layers.importers import untrusted
from layers.settings import get_settings

MB = 1024 * 1024
#: an archive member whose unpacked size exceeds its packed size this many times (and
#: is big) is a zip bomb, not a shapefile: the INEGI GeoJSON zips pack about 3:1
MAX_ZIP_RATIO = 200
_SHAPEFILE_PARTS = (".dbf", ".shx")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise UnreadableFile(f"{path}: no such file", problems=[Problem("file", "does not exist")])
    if path.is_dir():
        raise UnreadableFile(
            f"{path} is a folder; give the file", problems=[Problem("file", "is a folder")]
        )
    if path.stat().st_size == 0:
        raise UnreadableFile(
            f"{path.name} is empty (0 bytes)", problems=[Problem("file", "empty file")]
        )


def check_zip(path: Path) -> None:
    """Refuse an archive before GDAL opens it: not a zip, a zip bomb (unpacks to more
    than ``LINDE_MAX_UNZIPPED_MB``, or a member compressed beyond any real data), a zip
    inside the zip, or a shapefile without its .dbf or .shx."""
    limit = get_settings().max_unzipped_mb * MB
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnreadableFile(
            f"{path.name} is not a readable zip archive: {exc}",
            problems=[Problem("file", "broken zip archive")],
        ) from exc
    total = sum(m.file_size for m in members)
    if total > limit:
        raise UnreadableFile(
            f"{path.name} would unpack to {total / MB:,.0f} MB, more than the "
            f"{limit / MB:,.0f} MB an import may unpack (LINDE_MAX_UNZIPPED_MB); "
            "is it a zip bomb?",
            problems=[Problem("file", "unpacks to more than the limit")],
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > 10 * MB and ratio > MAX_ZIP_RATIO:
            raise UnreadableFile(
                f"{path.name}: {member.filename} unpacks {ratio:,.0f} times its packed size "
                f"({member.file_size / MB:,.0f} MB); no real vector data compresses like "
                "that, so the archive is refused as a zip bomb",
                problems=[Problem("file", f"{member.filename}: compression ratio {ratio:,.0f}")],
            )
        if member.filename.lower().endswith(".zip"):
            raise UnreadableFile(
                f"{path.name} holds another zip ({member.filename}); unzip it and give "
                "the inner archive",
                problems=[Problem("file", "a zip inside the zip")],
            )
    names = {m.filename.lower() for m in members}
    for member in members:
        if member.filename.lower().endswith(".shp"):
            _check_shapefile_parts(path.name, member.filename, names.__contains__)


def _check_shapefile_parts(where: str, shp: str, has: Callable[[str], bool]) -> None:
    stem = str(PurePosixPath(shp).with_suffix("")).lower()
    for ext in _SHAPEFILE_PARTS:
        if not has(stem + ext):
            raise UnreadableFile(
                f"{where}: the shapefile {PurePosixPath(shp).name} has no {ext} beside it "
                f"(a shapefile is at least .shp, .shx and .dbf; the {ext} holds "
                f"{'the attributes' if ext == '.dbf' else 'the index of the shapes'}); "
                "give all its files, or zip them together",
                problems=[Problem("file", f"shapefile without its {ext}")],
            )


def read_geodata(
    path: Path,
    *,
    crs: str | None = None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a vector file (GeoJSON, GeoPackage, Shapefile; zipped or not) in EPSG:4326.

    Args:
        path: the file; a ``.zip`` is unpacked into a private temporary folder first,
            counting the bytes it really inflates (``layers.importers.untrusted``).
        crs: the CRS of the data when the file does not declare one, or to override a wrong
            declaration (e.g. ``"EPSG:6372"``).
        layer: the layer to read from a multi-layer source (GeoPackage); default the first.

    Raises:
        UnreadableFile: the file is missing, not one of the formats above by its content
            (a VRT is refused whatever its name), has no geometry, or has no CRS and none
            was given; a zip bomb; a shapefile without its .dbf; a GeoJSON CRS given as a
            link to fetch; a GeoPackage layer that is a view.
    """
    _check_exists(path)
    with path.open("rb") as fh:
        zipped = fh.read(4) == b"PK\x03\x04"
    if zipped:
        check_zip(path)
    elif path.suffix.lower() == ".shp":
        siblings = {p.name.lower() for p in path.parent.iterdir()}
        _check_shapefile_parts(path.name, path.name, siblings.__contains__)
    limit = get_settings().max_unzipped_mb * MB
    with untrusted.opened(path, limit) as source:
        gdf = _read(path, source, layer)
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
        raise UnreadableFile(
            f"{path.name} has no geometry column",
            problems=[Problem("geometry", "the file has no geometry")],
        )
    if crs:
        try:
            declared = CRS.from_user_input(crs)
        except CRSError as exc:
            raise UnreadableFile(
                f"--crs {crs!r} is not a CRS pyproj knows (try EPSG:6372)",
                problems=[Problem("crs", str(exc))],
            ) from exc
        gdf = gdf.set_crs(declared, allow_override=True)
    if gdf.crs is None:
        raise UnreadableFile(
            f"{path.name} does not say which coordinate system it is in; "
            "give it with --crs (INEGI shapefiles are EPSG:6372)",
            problems=[Problem("crs", "missing")],
        )
    if not gdf.crs.equals(CRS.from_epsg(4326)):
        gdf = gdf.to_crs(4326)
    return gdf


def _read(path: Path, source: Path, layer: str | None) -> gpd.GeoDataFrame:
    """Read ``source`` (``path`` as checked, or unpacked) with GDAL; errors name ``path``."""
    try:
        return gpd.read_file(source, layer=layer, engine="pyogrio")
    except shapely.errors.GEOSException as exc:
        rows = _undecodable_rows(source, layer)
        raise UnreadableFile(
            f"{path.name}: {len(rows)} geometr{'y' if len(rows) == 1 else 'ies'} cannot be read "
            f"({str(exc).split(': ', 1)[-1]}): a ring that is not closed or has fewer than "
            "4 positions",
            problems=[Problem("geometry", "ring not closed or under 4 positions", r) for r in rows]
            or [Problem("geometry", str(exc))],
        ) from exc
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise UnreadableFile(
            f"{path.name} is not a geodata file Linde can read "
            "(GeoJSON, GeoPackage, Shapefile, zipped or not): "
            f"{str(exc).splitlines()[0].replace(str(source), path.name)}",
            problems=[Problem("file", "not a readable vector data file")],
        ) from exc


def _undecodable_rows(path: Path, layer: str | None) -> list[int]:
    """1-based rows whose geometry GDAL hands over but GEOS cannot build."""
    _meta, _fids, wkb, _fields = pyogrio.raw.read(path, layer=layer, columns=[])
    built = shapely.from_wkb(wkb, on_invalid="ignore")
    return [i + 1 for i, (raw, geom) in enumerate(zip(wkb, built, strict=True)) if raw and not geom]


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV table as text columns (keys keep their leading zeros); UTF-8 or Windows-1252.

    Header names are stripped of surrounding spaces (the 2015 delimitation has ``"MC "``).
    """
    _check_exists(path)
    _check_text(path)
    last: Exception | None = None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
        except UnicodeDecodeError as exc:
            last = exc
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
            raise UnreadableFile(
                f"{path.name} is not a readable CSV table: {exc}",
                problems=[Problem("file", "not a CSV table")],
            ) from exc
        frame.columns = [str(c).strip() for c in frame.columns]
        return frame
    raise UnreadableFile(
        f"{path.name} is neither UTF-8 nor Windows-1252 text: {last}",
        problems=[Problem("file", "unknown text encoding")],
    )


def _check_text(path: Path) -> None:
    """Refuse what is not 8-bit text before pandas guesses at it: UTF-16 (Excel's
    "Unicode text"), a zip or an executable renamed ``.csv``."""
    with path.open("rb") as fh:
        head = fh.read(64 * 1024)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or (head[1:2] == b"\x00" and head[:1] != b"\x00"):
        raise UnreadableFile(
            f'{path.name} is UTF-16 text; save it as "CSV UTF-8" (Excel) or convert it '
            "with iconv -f UTF-16 -t UTF-8",
            problems=[Problem("file", "UTF-16 text; expected UTF-8 or Windows-1252")],
        )
    if b"\x00" in head:
        kind = "a zip archive" if head[:4] == b"PK\x03\x04" else "binary data"
        raise UnreadableFile(
            f"{path.name} is {kind}, not a CSV table (text with one row per line)",
            problems=[Problem("file", f"{kind}, not text")],
        )


def find_column(columns: list[str], *candidates: str) -> str | None:
    """The first column whose name matches one of ``candidates``, ignoring case."""
    lower = {c.lower(): c for c in columns}
    for candidate in candidates:
        if candidate.lower() in lower:
            return lower[candidate.lower()]
    return None
