"""Which export format an ``Accept`` header asks for (HTTP content negotiation)."""

from __future__ import annotations

from formats import FORMATS, ExportFormat

# Media types (without parameters) that name an export format, the official one
# first; the others are spellings clients and servers use in the wild.
_MEDIA_TYPES: dict[str, str] = {
    "application/geo+json": "geojson",
    "application/vnd.geo+json": "geojson",
    "application/json": "geojson",
    "text/csv": "csv",
    "application/csv": "csv",
    "application/geopackage+sqlite3": "gpkg",
    "application/geopackage+vnd.sqlite3": "gpkg",
    "application/zip": "shp",
    "application/x-zipped-shp": "shp",
    "application/x-shapefile": "shp",
    "application/vnd.shp": "shp",
    "application/vnd.google-earth.kml+xml": "kml",
    "application/flatgeobuf": "fgb",
    "application/vnd.flatgeobuf": "fgb",
}


def format_for_media_type(accept: str) -> ExportFormat | None:
    """The export format an ``Accept`` header asks for most, or None.

    Entries are weighed by ``q`` (default 1; ``q=0`` means "not this"); among
    equal weights the first listed wins. Wildcards (``*/*``, ``application/*``)
    never select an export: the caller keeps its own default (usually HTML or
    JSON). Malformed entries are ignored.
    """
    best: tuple[float, ExportFormat] | None = None
    for entry in accept.split(","):
        media, *params = (part.strip() for part in entry.split(";"))
        key = _MEDIA_TYPES.get(media.lower())
        if key is None:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(float(value.strip()), 1.0)
                except ValueError:
                    q = 0.0
        if q > 0 and (best is None or q > best[0]):
            best = (q, FORMATS[key])
    return best[1] if best else None
