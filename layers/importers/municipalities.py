"""``linde import municipalities FILE``: official municipal polygons, versioned.

Accepts INEGI's shapefiles (``CVEGEO``, ``CVE_ENT``, ``CVE_MUN``, ``NOMGEO``, in
EPSG:6372) and INEGI's web GeoJSON (``cvegeo``, ``nom_agem``, ``pob``, ``viv``),
or any layer with equivalent columns, in any CRS. Re-importing the same data
changes nothing; a municipality whose geometry or attributes changed gets a new
version and the previous one is closed, never overwritten.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict

import geopandas as gpd
import numpy as np
import pandas as pd
from geoalchemy2 import WKBElement
from sqlalchemy import Engine, bindparam, insert, select, update

from geo.errors import ImportRejected, Problem, ProblemList
from geo.fingerprint import fingerprint
from geo.mexico import normalize_cvegeo, state_of
from geo.validation import DEFAULT_MAX_VERTICES, POLYGONAL, check_geometries, to_multi
from layers import audit, metro_zones, reference_changes, tile_bands
from layers.engine import write_connection
from layers.geometry_io import to_db
from layers.importers.files import find_column, read_geodata
from layers.importers.runs import ImportRun, ImportSummary, Progress, no_progress
from layers.inspections.reference_layers import geometry_bbox
from layers.schema import municipalities, municipality_versions

KEY_COLUMNS = ("cvegeo",)
STATE_COLUMNS = ("cve_ent", "cve_agee")
MUN_COLUMNS = ("cve_mun", "cve_agem")
NAME_COLUMNS = ("nomgeo", "nom_agem", "nom_mun", "nombre", "name")
POPULATION_COLUMNS = ("pob", "pobtot", "pob1", "population")
DWELLING_COLUMNS = ("viv", "vivtot", "dwellings")
DEFAULT_SOURCE = "INEGI, Marco Geoestadístico"
BATCH = 250


@dataclass
class MunicipalityRow:
    row: int
    cvegeo: str
    name: str
    population: int | None
    dwellings: int | None
    geom: Any
    sha: str


def prepare(
    gdf: gpd.GeoDataFrame, *, max_vertices: int = DEFAULT_MAX_VERTICES
) -> list[MunicipalityRow]:
    """Map columns, check every row, and return the rows ready to write.

    Raises:
        ImportRejected: listing every bad row (up to 20) with its number and reason;
            a missing key or name column is reported once, naming the columns found.
    """
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    key_col = find_column(columns, *KEY_COLUMNS)
    state_col, mun_col = find_column(columns, *STATE_COLUMNS), find_column(columns, *MUN_COLUMNS)
    name_col = find_column(columns, *NAME_COLUMNS)
    pop_col = find_column(columns, *POPULATION_COLUMNS)
    viv_col = find_column(columns, *DWELLING_COLUMNS)
    missing: list[Problem] = []
    if key_col is None and (state_col is None or mun_col is None):
        missing.append(
            Problem(
                "cvegeo",
                "no municipal key column: expected CVEGEO, or CVE_ENT "
                f"and CVE_MUN; the file has {', '.join(columns) or 'no columns'}",
            )
        )
    if name_col is None:
        missing.append(
            Problem(
                "name",
                "no name column: expected NOMGEO, NOM_AGEM or NOM_MUN; "
                f"the file has {', '.join(columns) or 'no columns'}",
            )
        )
    if missing:
        raise ImportRejected("; ".join(p.reason for p in missing), problems=missing)

    problems = ProblemList()
    if key_col is not None:
        raw_keys = gdf[key_col].tolist()
    else:
        assert state_col is not None and mun_col is not None
        raw_keys = [
            None
            if pd.isna(s) or pd.isna(m)
            else f"{str(s).strip().zfill(2)}{str(m).strip().zfill(3)}"
            for s, m in zip(gdf[state_col], gdf[mun_col], strict=True)
        ]
    populations = _integers(gdf, pop_col, problems)
    dwellings = _integers(gdf, viv_col, problems)
    seen: dict[str, int] = {}
    keys: list[str] = []
    names: list[str] = []
    for i, (raw, raw_name) in enumerate(zip(raw_keys, gdf[name_col], strict=True)):
        row = i + 1
        key = normalize_cvegeo(raw)
        if key is None:
            shown = (
                "empty" if raw is None or (isinstance(raw, float) and np.isnan(raw)) else repr(raw)
            )
            problems.add(
                Problem(
                    "cvegeo",
                    f"{shown} is not a 5-digit INEGI municipal key "
                    "(state 01-32 + municipality, e.g. 20157)",
                    row,
                )
            )
        elif key in seen:
            problems.add(Problem("cvegeo", f"{key} appears again (first at row {seen[key]})", row))
        else:
            seen[key] = row
        name = "" if raw_name is None or pd.isna(raw_name) else str(raw_name).strip()
        if not name:
            problems.add(Problem(str(name_col), "the municipality name is empty", row))
        keys.append(key or "")
        names.append(name)

    geoms = gdf.geometry.to_numpy()
    check_geometries(geoms, allowed_types=POLYGONAL, max_vertices=max_vertices, problems=problems)
    if problems:
        raise ImportRejected(
            f"{problems.total} bad row(s); nothing was imported:\n{problems.summary()}",
            problems=problems.items,
        )
    multi = to_multi(geoms)
    out = []
    for i in range(len(gdf)):
        attrs = {"name": names[i], "population": populations[i], "dwellings": dwellings[i]}
        out.append(
            MunicipalityRow(
                i + 1,
                keys[i],
                names[i],
                populations[i],
                dwellings[i],
                multi[i],
                fingerprint(multi[i], attrs),
            )
        )
    return out


def _integers(gdf: gpd.GeoDataFrame, column: str | None, problems: ProblemList) -> list[int | None]:
    if column is None:
        return [None] * len(gdf)
    values: list[int | None] = []
    for i, raw in enumerate(gdf[column].tolist()):
        if raw is None or (isinstance(raw, float) and np.isnan(raw)) or str(raw).strip() == "":
            values.append(None)
            continue
        try:
            number = float(str(raw).replace(",", ""))
        except ValueError:
            problems.add(Problem(column, f"{raw!r} is not a whole number", i + 1))
            values.append(None)
            continue
        if number < 0 or number != int(number):
            problems.add(Problem(column, f"{raw!r} is not a non-negative whole number", i + 1))
        values.append(int(number))
    return values


def import_municipalities(
    engine: Engine,
    path: Path,
    *,
    actor: str,
    crs: str | None = None,
    layer: str | None = None,
    source: str = DEFAULT_SOURCE,
    max_vertices: int = DEFAULT_MAX_VERTICES,
    progress: Progress = no_progress,
) -> ImportSummary:
    """Import municipal polygons from ``path`` in one transaction.

    Every row is checked before anything is written; a bad row raises
    :class:`ImportRejected` and the database is left as it was. New keys are
    created at version 1, changed ones get version n+1 (the old version is closed
    with ``valid_to``), identical ones are counted as unchanged. Metro zones holding
    a created or changed municipality get their outline recomputed.
    """
    started = time.perf_counter()
    rows = prepare(read_geodata(path, crs=crs, layer=layer), max_vertices=max_vertices)
    return write_municipalities(
        engine, rows, path=path, actor=actor, source=source, progress=progress, started=started
    )


def write_municipalities(
    engine: Engine,
    rows: list[MunicipalityRow],
    *,
    path: Path,
    actor: str,
    source: str,
    progress: Progress = no_progress,
    started: float | None = None,
) -> ImportSummary:
    with write_connection(engine) as conn:
        # before any write: the tiles' band copies are remade at the end of this
        # transaction, and no other writer may slip a geometry in meanwhile
        tile_bands.lock_for_refresh(conn, "municipalities")
        run = ImportRun(conn, "municipalities", path, actor, started)
        current = {
            r.cvegeo: (r.version, r.content_sha256)
            for r in conn.execute(
                select(
                    municipalities.c.cvegeo,
                    municipalities.c.version,
                    municipalities.c.content_sha256,
                )
            )
        }
        created = [r for r in rows if r.cvegeo not in current]
        changed = [r for r in rows if r.cvegeo in current and current[r.cvegeo][1] != r.sha]
        run.summary.unchanged = len(rows) - len(created) - len(changed)
        done = run.summary.unchanged
        progress(done, len(rows))
        at = audit.now()

        for start in range(0, len(created), BATCH):
            batch = created[start : start + BATCH]
            wkb = to_db([r.geom for r in batch])
            conn.execute(
                insert(municipalities),
                [_current_values(r, g, 1, source, at) for r, g in zip(batch, wkb, strict=True)],
            )
            conn.execute(
                insert(municipality_versions),
                [
                    _version_values(r, g, 1, source, at, run.id)
                    for r, g in zip(batch, wkb, strict=True)
                ],
            )
            done += len(batch)
            progress(done, len(rows))

        for start in range(0, len(changed), BATCH):
            batch = changed[start : start + BATCH]
            wkb = to_db([r.geom for r in batch])
            conn.execute(
                update(municipality_versions)
                .where(
                    municipality_versions.c.cvegeo == bindparam("k"),
                    municipality_versions.c.valid_to.is_(None),
                )
                .values(valid_to=at),
                [{"k": r.cvegeo} for r in batch],
            )
            conn.execute(
                insert(municipality_versions),
                [
                    _version_values(r, g, current[r.cvegeo][0] + 1, source, at, run.id)
                    for r, g in zip(batch, wkb, strict=True)
                ],
            )
            conn.execute(
                update(municipalities)
                .where(municipalities.c.cvegeo == bindparam("k"))
                .values(
                    {
                        c: bindparam(f"v_{c}")
                        for c in (
                            "name",
                            "state_code",
                            "state_name",
                            "population",
                            "dwellings",
                            "version",
                            "source",
                            "content_sha256",
                            "valid_from",
                            "geom",
                        )
                    }
                ),
                [
                    {
                        "k": r.cvegeo,
                        **{
                            f"v_{c}": v
                            for c, v in _current_values(
                                r, g, current[r.cvegeo][0] + 1, source, at
                            ).items()
                            if c != "cvegeo"
                        },
                    }
                    for r, g in zip(batch, wkb, strict=True)
                ],
            )
            done += len(batch)
            progress(done, len(rows))

        run.summary.created, run.summary.updated = len(created), len(changed)
        audit.record_many(
            conn,
            actor,
            [
                (
                    "municipality.created",
                    "municipality",
                    r.cvegeo,
                    {"version": 1, "import_run": run.id},
                )
                for r in created
            ]
            + [
                (
                    "municipality.new_version",
                    "municipality",
                    r.cvegeo,
                    {"version": current[r.cvegeo][0] + 1, "import_run": run.id},
                )
                for r in changed
            ],
        )
        touched = {r.cvegeo for r in created} | {r.cvegeo for r in changed}
        if touched:
            metro_zones.refresh_geometries(conn, metro_zones.zones_with_members(conn, touched))
            reference_changes.changed(
                conn,
                bboxes=[geometry_bbox(r.geom) for r in (*created, *changed)],
                municipality_keys=sorted(touched),
            )
            # the tiles' per-band copies, in this transaction: the same commit moves the
            # layer's counter, so no tile's ETag outlives the copies it was drawn from
            tile_bands.refresh(conn, "municipalities")
        return run.finish()


class _CurrentValues(TypedDict):
    """A ``municipalities`` row to insert: the version in force."""

    cvegeo: str
    name: str
    state_code: str
    state_name: str
    population: int | None
    dwellings: int | None
    version: int
    source: str
    content_sha256: str
    valid_from: datetime
    geom: WKBElement


class _VersionValues(TypedDict):
    """A ``municipality_versions`` row to insert: the history, never overwritten."""

    cvegeo: str
    version: int
    name: str
    population: int | None
    dwellings: int | None
    source: str
    content_sha256: str
    valid_from: datetime
    valid_to: datetime | None
    import_run_id: int | None
    geom: WKBElement


def _current_values(
    r: MunicipalityRow, geom: WKBElement, version: int, source: str, at: datetime
) -> _CurrentValues:
    state_code, state_name = state_of(r.cvegeo)
    return _CurrentValues(
        cvegeo=r.cvegeo,
        name=r.name,
        state_code=state_code,
        state_name=state_name,
        population=r.population,
        dwellings=r.dwellings,
        version=version,
        source=source,
        content_sha256=r.sha,
        valid_from=at,
        geom=geom,
    )


def _version_values(
    r: MunicipalityRow,
    geom: WKBElement,
    version: int,
    source: str,
    at: datetime,
    run_id: int | None,
) -> _VersionValues:
    return _VersionValues(
        cvegeo=r.cvegeo,
        version=version,
        name=r.name,
        population=r.population,
        dwellings=r.dwellings,
        source=source,
        content_sha256=r.sha,
        valid_from=at,
        valid_to=None,
        import_run_id=run_id,
        geom=geom,
    )
