"""``linde import localities FILE``: INEGI locality polygons (urban and rural amanzanadas).

The commission reads a disputed zone against them: which localities it touches and
how much of each lies inside. Recognised columns are INEGI's web GeoJSON (``cvegeo``
of 9 characters, ``nom_loc``, ``ambito``, ``pob``) and its shapefile form
(``CVEGEO``, ``NOMGEO``, ``AMBITO``). Upsert by key, one transaction; re-importing
the same file changes nothing.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, insert, select, update

from geo.errors import ImportRejected, Problem, ProblemList
from geo.fingerprint import fingerprint
from geo.validation import DEFAULT_MAX_VERTICES, POLYGONAL, check_geometries, to_multi
from layers import audit
from layers.engine import write_connection
from layers.geometry_io import to_db
from layers.importers.files import find_column, read_geodata
from layers.importers.runs import ImportRun, ImportSummary, Progress, no_progress
from layers.schema import localities

DEFAULT_SOURCE = "INEGI, Marco Geoestadístico (localidades)"


def import_localities(
    engine: Engine,
    path: Path,
    *,
    actor: str,
    crs: str | None = None,
    layer: str | None = None,
    source: str | None = None,
    progress: Progress = no_progress,
) -> ImportSummary:
    """Import locality polygons in one transaction (upsert by 9-character cvegeo).

    Raises:
        ImportRejected: missing key/name columns, keys that are not 9 digits or repeat,
            wrong geometry types or invalid polygons (every bad row, numbered).
    """
    started = time.perf_counter()
    gdf = read_geodata(path, crs=crs, layer=layer)
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    key_col = find_column(columns, "cvegeo")
    name_col = find_column(columns, "nom_loc", "nomgeo", "name")
    ambit_col = find_column(columns, "ambito")
    pop_col = find_column(columns, "pob", "pobtot")
    if key_col is None or name_col is None:
        raise ImportRejected(
            "a locality file needs a cvegeo (9 digits) and a name column (nom_loc or nomgeo)",
            problems=[Problem("file", f"columns found: {', '.join(columns)}")],
        )
    problems = ProblemList()
    keys: list[str] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(gdf[key_col], start=1):
        key = "" if pd.isna(raw) else str(raw).strip()
        if len(key) != 9 or not key.isdigit():
            problems.add(Problem(key_col, f"{key!r} is not a 9-digit locality key", i))
        elif key in seen:
            problems.add(Problem(key_col, f"{key} appears again (first at row {seen[key]})", i))
        seen.setdefault(key, i)
        keys.append(key)
    geoms = gdf.geometry.to_numpy()
    check_geometries(
        geoms, allowed_types=POLYGONAL, max_vertices=DEFAULT_MAX_VERTICES, problems=problems
    )
    if problems:
        raise ImportRejected(
            f"{problems.total} bad row(s); nothing was imported:\n{problems.summary()}",
            problems=problems.items,
        )
    names = [str(v).strip() for v in gdf[name_col]]
    ambits = [None if ambit_col is None or pd.isna(v) else str(v) for v in gdf.get(ambit_col, [])]
    if ambit_col is None:
        ambits = [None] * len(keys)
    pops: list[int | None] = []
    for v in gdf[pop_col] if pop_col else [None] * len(keys):
        try:
            pops.append(int(str(v).strip()) if v is not None and not pd.isna(v) else None)
        except ValueError:
            pops.append(None)
    multis = to_multi(geoms)
    label = source or DEFAULT_SOURCE
    with write_connection(engine) as conn:
        run = ImportRun(conn, "localities", path, actor, started)
        current = dict(conn.execute(select(localities.c.cvegeo, localities.c.content_sha256)).all())
        now = audit.now()
        new_rows = []
        for n, (key, name, ambit, pop, geom) in enumerate(
            zip(keys, names, ambits, pops, multis, strict=True), start=1
        ):
            sha = fingerprint(geom, {"name": name, "ambit": ambit, "population": pop})
            values = {
                "name": name,
                "municipality_cvegeo": key[:5],
                "ambit": ambit,
                "population": pop,
                "source": label,
                "content_sha256": sha,
                "updated_at": now,
            }
            if key not in current:
                new_rows.append({"cvegeo": key, **values, "geom": geom})
                run.summary.created += 1
            elif current[key] != sha:
                conn.execute(
                    update(localities)
                    .where(localities.c.cvegeo == key)
                    .values(**values, geom=to_db([geom])[0])
                )
                run.summary.updated += 1
            else:
                run.summary.unchanged += 1
            if n % 500 == 0:
                progress(n, len(keys))
        if new_rows:
            wkb = to_db([r["geom"] for r in new_rows])
            conn.execute(
                insert(localities), [{**r, "geom": g} for r, g in zip(new_rows, wkb, strict=True)]
            )
        progress(len(keys), len(keys))
        return run.finish()
