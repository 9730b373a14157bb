"""``linde import metro-zones FILE``: the official delimitations of metropolitan zones.

Two formats are recognised by their columns:

* 2015, "Delimitación de las zonas metropolitanas de México 2015": ``CVE_ZM``,
  ``NOM_ZM``, ``CVE_MUN`` (without leading zero), ``NOM_MUN``;
* 2020, "Metrópolis de México 2020": ``CVE_ZONA``, ``NOM_ZM``, ``TIPOMET``,
  ``CVEGEO``, ``NOMGEO``.

Each zone is stored once with its member keys; its outline is the union of the
members already imported (and is recomputed when they are imported or change).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, delete, insert, select, update

from geo.errors import ImportRejected, Problem, ProblemList
from geo.fingerprint import fingerprint
from geo.mexico import normalize_cvegeo
from layers import audit, metro_zones, reference_changes
from layers.engine import write_connection
from layers.importers.files import find_column, read_table
from layers.importers.runs import ImportRun, ImportSummary, Progress, no_progress
from layers.schema import metro_zone_members, municipalities
from layers.schema import metro_zones as zones_table

SOURCES = {
    2015: "SEDATU, CONAPO, INEGI: Delimitación de las zonas metropolitanas de México 2015",
    2020: "SEDATU, CONAPO, INEGI: Metrópolis de México 2020",
}


@dataclass
class Zone:
    code: str
    name: str
    year: int
    kind: str
    first_row: int
    members: dict[str, str] = field(default_factory=dict)

    @property
    def sha(self) -> str:
        return fingerprint(
            None,
            {
                "name": self.name,
                "year": self.year,
                "kind": self.kind,
                "members": sorted(self.members.items()),
            },
        )


def prepare(path: Path) -> list[Zone]:
    """Read and check a delimitation table; raise ImportRejected naming each bad row."""
    frame = read_table(path)
    cols = list(frame.columns)
    if find_column(cols, "CVE_ZONA") and find_column(cols, "CVEGEO"):
        year, code_col, key_col = 2020, find_column(cols, "CVE_ZONA"), find_column(cols, "CVEGEO")
        member_col, kind_col = find_column(cols, "NOMGEO"), find_column(cols, "TIPOMET")
    elif find_column(cols, "CVE_ZM") and find_column(cols, "CVE_MUN"):
        year, code_col, key_col = 2015, find_column(cols, "CVE_ZM"), find_column(cols, "CVE_MUN")
        member_col, kind_col = find_column(cols, "NOM_MUN"), None
    else:
        problem = Problem(
            "columns",
            "not an official delimitation table: expected CVE_ZONA, NOM_ZM, CVEGEO (2020) or "
            f"CVE_ZM, NOM_ZM, CVE_MUN (2015); the file has {', '.join(cols[:12])}",
        )
        raise ImportRejected(problem.reason, problems=[problem])
    name_col = find_column(cols, "NOM_ZM")
    if name_col is None:
        raise ImportRejected(
            "no NOM_ZM (zone name) column", problems=[Problem("NOM_ZM", "missing")]
        )
    assert code_col and key_col

    problems = ProblemList()
    zones: dict[str, Zone] = {}
    # column by column: pandas' row-wise to_dict walks its Arrow strings one cell at a
    # time (0.07 s for the zone's 26 rows, on every import)
    values = [frame[c].tolist() for c in cols]
    for i, row_values in enumerate(zip(*values, strict=True)):
        rec = dict(zip(cols, row_values, strict=True))
        row = i + 1
        code, name = rec[code_col].strip(), rec[name_col].strip()
        key = normalize_cvegeo(rec[key_col])
        member = rec[member_col].strip() if member_col else ""
        kind = rec[kind_col].strip() if kind_col else "Zona metropolitana"
        if not code:
            problems.add(Problem(code_col, "the zone key is empty", row))
            continue
        if key is None:
            problems.add(Problem(key_col, f"{rec[key_col]!r} is not an INEGI municipal key", row))
            continue
        if not name:
            problems.add(Problem(name_col, "the zone name is empty", row))
            continue
        zone = zones.setdefault(code, Zone(code, name, year, kind, row))
        if zone.name != name:
            problems.add(
                Problem(
                    name_col,
                    f"zone {code} is named {zone.name!r} at row {zone.first_row} but {name!r} here",
                    row,
                )
            )
        if key in zone.members:
            problems.add(
                Problem(key_col, f"municipality {key} is listed twice in zone {code}", row)
            )
        zone.members[key] = member or key
    if problems:
        raise ImportRejected(
            f"{problems.total} bad row(s); nothing was imported:\n{problems.summary()}",
            problems=problems.items,
        )
    if not zones:
        raise ImportRejected(f"{path.name} has no rows", problems=[Problem("file", "empty")])
    return list(zones.values())


def import_metro_zones(
    engine: Engine,
    path: Path,
    *,
    actor: str,
    source: str | None = None,
    progress: Progress = no_progress,
) -> ImportSummary:
    """Import a delimitation table in one transaction (upsert by zone key).

    ``source`` overrides the provenance recorded for the zones (default: the official
    delimitation the table's format belongs to).
    """
    started = time.perf_counter()
    zones = prepare(path)
    with write_connection(engine) as conn:
        run = ImportRun(conn, "metro_zones", path, actor, started)
        current = dict(conn.execute(select(zones_table.c.code, zones_table.c.content_sha256)).all())
        known = set(conn.execute(select(municipalities.c.cvegeo)).scalars())
        at = audit.now()
        touched: list[str] = []
        for n, zone in enumerate(zones, start=1):
            values = {
                "name": zone.name,
                "delimitation_year": zone.year,
                "kind": zone.kind,
                "source": source or SOURCES[zone.year],
                "content_sha256": zone.sha,
                "updated_at": at,
            }
            if zone.code not in current:
                conn.execute(insert(zones_table).values(code=zone.code, **values))
                run.summary.created += 1
                action = "metro_zone.created"
            elif current[zone.code] != zone.sha:
                conn.execute(
                    update(zones_table).where(zones_table.c.code == zone.code).values(**values)
                )
                conn.execute(
                    delete(metro_zone_members).where(metro_zone_members.c.zone_code == zone.code)
                )
                run.summary.updated += 1
                action = "metro_zone.updated"
            else:
                run.summary.unchanged += 1
                progress(n, len(zones))
                continue
            conn.execute(
                insert(metro_zone_members),
                [
                    {"zone_code": zone.code, "cvegeo": k, "member_name": v}
                    for k, v in zone.members.items()
                ],
            )
            audit.record(
                conn,
                actor,
                action,
                "metro_zone",
                zone.code,
                {"members": sorted(zone.members), "import_run": run.id},
            )
            touched.append(zone.code)
            progress(n, len(zones))
        metro_zones.refresh_geometries(conn, touched)
        if touched:  # inspections in a member municipality, old members or new
            reference_changes.changed(
                conn,
                municipality_keys=sorted(
                    {k for z in zones if z.code in touched for k in z.members}
                ),
                metro_zone_codes=touched,
            )
        absent = sorted({k for z in zones for k in z.members} - known)
        if absent:
            run.summary.warnings.append(
                f"{len(absent)} member municipalities are not imported yet "
                f"(e.g. {', '.join(absent[:5])}); zone outlines cover the ones present and grow "
                "when the rest are imported"
            )
        return run.finish()
