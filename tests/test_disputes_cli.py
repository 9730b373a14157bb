"""``linde disputes`` and ``linde claims``, run in this process by Typer's runner, on both
engines."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from tests.conftest import METRO_2020, Database
from tests.disputes_data import locality, metro_file, official
from tests.helpers import flat, linde


def test_detect_report_show_status_and_decide(
    db: Database, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    folder = tmp_path_factory.getbasetemp()
    assert linde(db, "import", "municipalities", metro_file(folder)).returncode == 0
    assert linde(db, "import", "metro-zones", METRO_2020).returncode == 0
    done = linde(db, "claims", "official", "--zone", "20.1.01", "--valid-from", "2020-01-01")
    assert "26 official claims recorded" in done.stdout, done.stderr
    claim_file = tmp_path / "sja.geojson"
    geom = shapely.union(official().geometry["20157"], locality("201570001"))
    gpd.GeoDataFrame(geometry=[geom], crs=4326).to_file(claim_file)
    added = linde(
        db,
        "claims",
        "add",
        "20157",
        claim_file,
        "--source",
        "cadastre",
        "--valid-from",
        "2024-01-01",
    )
    assert "20157 San Jacinto Amilpas version 2 (cadastre)" in added.stdout, added.stderr

    run = linde(db, "disputes", "detect", "--zone", "20.1.01")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    # the run's number (the database's own id: PostGIS does not reuse ids of cleaned tables)
    first = re.match(
        r"Zona metropolitana de Oaxaca \(20\.1\.01\), 26 municipalities: run (\d+),", lines[0]
    )
    assert first, lines[0]
    assert "overlaps, 0 gaps:" in lines[2] and "new, 0 changed, 0 unchanged" in lines[2]
    assert "20157 San Jacinto Amilpas" in run.stdout
    zone_id = lines[4].split()[0]

    again = linde(db, "disputes", "detect", "--zone", "20.1.01")
    assert f": run {int(first[1]) + 1}, " in again.stdout.splitlines()[0]
    assert " 0 new, 0 changed," in again.stdout

    shown = linde(db, "disputes", "show", zone_id)
    assert f"zone {zone_id} (overlap, detected)" in shown.stdout
    assert "party 20157 San Jacinto Amilpas" in shown.stdout
    refused = linde(db, "disputes", "status", zone_id, "agreement")
    assert refused.returncode == 2
    assert "allowed: open, dismissed" in flat(refused.stderr)
    assert "is now open" in linde(db, "disputes", "status", zone_id, "open").stdout
    decided = linde(db, "disputes", "decide", zone_id, "--valid-from", "2025-01-01")
    assert f"zone {zone_id} resolved; new claims" in decided.stdout, decided.stderr
    history = linde(db, "claims", "history", "20157").stdout.splitlines()
    assert [line.split()[3] for line in history] == ["decision", "cadastre", "inegi"]
    listed = linde(db, "disputes", "list", "--status", "resolved").stdout
    assert f"{zone_id:>5}  overlap  resolved" in listed
