"""What the Shapefile needs beyond GDAL: .dbf field names of at most 10
characters, and a ZIP of its parts made while it is sent."""

from __future__ import annotations

import csv
import io
import os
import re
import time
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from typing import Any

from formats.base import COPY_BYTES

SHAPEFILE_NAME_LENGTH = 10
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
#: The file beside the .shp that maps each .dbf name to the column's full name.
FIELD_MAP_SUFFIX = "_campos.csv"
FIELD_MAP_HEADER = ("campo_shp", "nombre_completo")


def shapefile_field_names(names: Sequence[str]) -> dict[str, str]:
    """Map column names to unique .dbf names of at most 10 ASCII characters.

    Names that already fit keep their spelling; the others are folded to ASCII
    (``año`` → ``ano``), truncated and, where that collides (.dbf names are
    case-insensitive), end in ``_1``, ``_2`` … The same input always gives the
    same mapping.
    """

    def clean(name: str) -> str:
        ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        return re.sub(r"[^A-Za-z0-9_]", "_", ascii_name) or "field"

    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:  # first reserve the names that fit as they are
        if clean(name) == name and len(name) <= SHAPEFILE_NAME_LENGTH and name.upper() not in used:
            out[name] = name
            used.add(name.upper())
    for name in names:
        if name in out:
            continue
        base = clean(name)[:SHAPEFILE_NAME_LENGTH]
        candidate, n = base, 0
        while candidate.upper() in used:
            n += 1
            suffix = f"_{n}"
            candidate = base[: SHAPEFILE_NAME_LENGTH - len(suffix)] + suffix
        out[name] = candidate
        used.add(candidate.upper())
    return out


def field_map_csv(names: Sequence[tuple[str, str]]) -> bytes:
    """The field-name map as CSV (UTF-8 with a BOM, for Excel): one row per column,
    its .dbf name first and its full name second, in the order of the .dbf."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(FIELD_MAP_HEADER)
    writer.writerows(names)
    return buffer.getvalue().encode("utf-8")


class _Pending(io.RawIOBase):
    """A write-only, unseekable sink: ``zipfile`` writes into it, we drain it."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


def zip_parts(workdir: str, base: str, extra: dict[str, bytes] | None = None) -> Iterator[bytes]:
    """A ZIP of the Shapefile's parts, made while it is sent (data descriptors, no seek).

    ``extra`` adds small files after the parts (name → content), such as the field map.
    """
    sink = _Pending()
    now = time.localtime()
    stamp = (now.tm_year, now.tm_mon, now.tm_mday, now.tm_hour, now.tm_min, now.tm_sec)
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for suffix in SHAPEFILE_PARTS:
            path = os.path.join(workdir, base + suffix)
            if not os.path.exists(path):
                continue
            info = zipfile.ZipInfo(base + suffix, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.file_size = os.path.getsize(path)  # decides whether ZIP64 is needed
            with open(path, "rb") as src, archive.open(info, "w") as dst:
                while piece := src.read(COPY_BYTES):
                    dst.write(piece)
                    if data := sink.drain():
                        yield data
            if data := sink.drain():
                yield data
        for name, content in (extra or {}).items():
            archive.writestr(zipfile.ZipInfo(name, date_time=stamp), content, zipfile.ZIP_DEFLATED)
            if data := sink.drain():
                yield data
    yield sink.drain()
