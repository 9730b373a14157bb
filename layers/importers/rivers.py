"""``linde import rivers FILE --name-field NAME``: river lines from any line layer.

Each river is identified by ``--id-field`` when given, else by its name; when a
name repeats in the file (Natural Earth has several "Verde"), the repeats are told
apart by their order in the file (``Verde``, ``Verde #2``…) and the summary says
so, suggesting an id field.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, insert, select, update

from geo.errors import ImportRejected, Problem, ProblemList
from geo.fingerprint import fingerprint
from geo.validation import DEFAULT_MAX_VERTICES, LINEAR, check_geometries, to_multi
from layers import audit, reference_changes
from layers.engine import write_connection
from layers.geometry_io import to_db
from layers.importers.files import find_column, read_geodata
from layers.importers.runs import ImportRun, ImportSummary, Progress, no_progress
from layers.inspections.reference_layers import river_bbox
from layers.schema import rivers

DEFAULT_FEDERAL_ZONE_WIDTH_M = 10.0


def import_rivers(
    engine: Engine,
    path: Path,
    *,
    actor: str,
    name_field: str = "name",
    id_field: str | None = None,
    skip_unnamed: bool = False,
    federal_zone_width_m: float = DEFAULT_FEDERAL_ZONE_WIDTH_M,
    crs: str | None = None,
    layer: str | None = None,
    source: str | None = None,
    max_vertices: int = DEFAULT_MAX_VERTICES,
    progress: Progress = no_progress,
) -> ImportSummary:
    """Import river lines in one transaction (upsert by key).

    Raises:
        ImportRejected: unknown name/id field, empty names (unless ``skip_unnamed``),
            repeated ids, wrong geometry types, lines nowhere near Mexico.
    """
    if not federal_zone_width_m > 0:
        raise ImportRejected(
            "--federal-zone-width-m must be a positive number of metres",
            problems=[Problem("federal_zone_width_m", "must be > 0")],
        )
    started = time.perf_counter()
    gdf = read_geodata(path, crs=crs, layer=layer)
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    name_col = find_column(columns, name_field)
    id_col = find_column(columns, id_field) if id_field else None
    missing = []
    if name_col is None:
        missing.append(
            Problem(
                "name_field",
                f"the file has no field {name_field!r}; "
                f"choose one of {', '.join(columns)} with --name-field",
            )
        )
    if id_field and id_col is None:
        missing.append(
            Problem(
                "id_field",
                f"the file has no field {id_field!r}; "
                f"choose one of {', '.join(columns)} with --id-field",
            )
        )
    if missing:
        raise ImportRejected("; ".join(p.reason for p in missing), problems=missing)
    assert name_col is not None

    names = ["" if pd.isna(v) else str(v).strip() for v in gdf[name_col]]
    keep = [i for i, n in enumerate(names) if n or not skip_unnamed]
    skipped = len(names) - len(keep)
    problems = ProblemList()
    for i in keep:
        if not names[i]:
            problems.add(
                Problem(
                    name_col,
                    "the river name is empty (use --skip-unnamed to leave such lines out)",
                    i + 1,
                )
            )
    geoms = gdf.geometry.to_numpy()
    sub = ProblemList()
    check_geometries(
        geoms[keep],
        allowed_types=LINEAR,
        extent="intersects",
        max_vertices=max_vertices,
        problems=sub,
    )
    for p in sub.items:
        problems.add(Problem(p.field, p.reason, keep[p.row - 1] + 1 if p.row else None))
    keys: list[str] = []
    if id_col is not None:
        seen: dict[str, int] = {}
        for i in keep:
            raw = gdf[id_col].iloc[i]
            key = "" if pd.isna(raw) else str(raw).strip()
            if not key:
                problems.add(Problem(id_col, "the id is empty", i + 1))
            elif key in seen:
                problems.add(
                    Problem(id_col, f"{key} appears again (first at row {seen[key]})", i + 1)
                )
            seen.setdefault(key, i + 1)
            keys.append(f"{id_col}:{key}")
    else:
        counts: Counter[str] = Counter()
        for i in keep:
            counts[names[i]] += 1
            keys.append(names[i] if counts[names[i]] == 1 else f"{names[i]} #{counts[names[i]]}")
    if problems:
        raise ImportRejected(
            f"{problems.total} bad row(s); nothing was imported:\n{problems.summary()}",
            problems=problems.items,
        )

    lines = to_multi(geoms[keep])
    label = source or f"{path.name}"
    with write_connection(engine) as conn:
        run = ImportRun(conn, "rivers", path, actor, started)
        current = dict(conn.execute(select(rivers.c.key, rivers.c.content_sha256)).all())
        at = audit.now()
        entries = []
        moved: list[Any] = []
        changed_keys: list[str] = []
        for n, (i, key, line) in enumerate(zip(keep, keys, lines, strict=True), start=1):
            sha = fingerprint(line, {"name": names[i], "width": federal_zone_width_m})
            values = {
                "name": names[i],
                "source": label,
                "federal_zone_width_m": federal_zone_width_m,
                "content_sha256": sha,
                "updated_at": at,
                "geom": to_db([line])[0],
            }
            if key not in current:
                conn.execute(insert(rivers).values(key=key, **values))
                moved.append(line)
                run.summary.created += 1
                entries.append(("river.created", "river", key, {"import_run": run.id}))
            elif current[key] != sha:
                conn.execute(update(rivers).where(rivers.c.key == key).values(**values))
                moved.append(line)
                changed_keys.append(key)
                run.summary.updated += 1
                entries.append(("river.updated", "river", key, {"import_run": run.id}))
            else:
                run.summary.unchanged += 1
            progress(n, len(keep))
        audit.record_many(conn, actor, entries)
        if moved:  # nearest river, distance, chainage or side may change near these lines
            reference_changes.changed(
                conn,
                bboxes=[river_bbox(line) for line in moved],
                river_ids=list(
                    conn.execute(
                        select(rivers.c.id).where(rivers.c.key.in_(changed_keys))
                    ).scalars()
                )
                if changed_keys
                else [],
            )
        if skipped:
            run.summary.warnings.append(f"{skipped} unnamed line(s) skipped")
        repeated = sum(1 for k in keys if " #" in k)
        if repeated and id_col is None:
            run.summary.warnings.append(
                f"{repeated} line(s) share a name with another and are keyed by their order in "
                "the file; pass --id-field for a stable key"
            )
        return run.finish()
