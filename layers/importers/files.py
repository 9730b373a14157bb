"""Reading the files users bring: any vector format GDAL reads, zipped or not; CSV tables."""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from pyproj import CRS
from pyproj.exceptions import CRSError

from geo.errors import Problem, UnreadableFile


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


def read_geodata(
    path: Path, *, crs: str | None = None, layer: str | None = None
) -> gpd.GeoDataFrame:
    """Read a vector file (GeoJSON, GeoPackage, Shapefile; zipped or not) in EPSG:4326.

    Args:
        path: the file; ``.zip`` archives are opened in place (GDAL's /vsizip/).
        crs: the CRS of the data when the file does not declare one, or to override a wrong
            declaration (e.g. ``"EPSG:6372"``).
        layer: the layer to read from a multi-layer source (GeoPackage); default the first.

    Raises:
        UnreadableFile: the file is missing, not a format GDAL reads, has no geometry,
            or has no CRS and none was given.
    """
    _check_exists(path)
    try:
        gdf = gpd.read_file(path, layer=layer, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise UnreadableFile(
            f"{path.name} is not a geodata file Linde can read "
            "(GeoJSON, GeoPackage, Shapefile, zipped or not): "
            f"{str(exc).splitlines()[0]}",
            problems=[Problem("file", "not a readable vector data file")],
        ) from exc
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


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV table as text columns (keys keep their leading zeros); UTF-8 or Windows-1252.

    Header names are stripped of surrounding spaces (the 2015 delimitation has ``"MC "``).
    """
    _check_exists(path)
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


def find_column(columns: list[str], *candidates: str) -> str | None:
    """The first column whose name matches one of ``candidates``, ignoring case."""
    lower = {c.lower(): c for c in columns}
    for candidate in candidates:
        if candidate.lower() in lower:
            return lower[candidate.lower()]
    return None
