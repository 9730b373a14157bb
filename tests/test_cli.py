"""The ``linde`` command line, run in this process by Typer's runner, against both engines.

``test_cli_process.py`` runs it as a real process (its start, its imports).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from layers.schema import audit_log, import_runs, municipalities, municipality_versions, users
from layers.users import authenticate
from tests.conftest import Database
from tests.helpers import flat, linde, run_linde

LON, LAT = -96.7266, 17.0654  # the centre of Oaxaca de Juárez, inside the "20157" square


def square(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


BOW_TIE = {
    "type": "Polygon",
    "coordinates": [
        [[-96.80, 17.04], [-96.75, 17.09], [-96.75, 17.04], [-96.80, 17.09], [-96.80, 17.04]]
    ],
}


def feature(geometry: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def write_geojson(path: Path, *features: dict[str, Any]) -> Path:
    collection = {"type": "FeatureCollection", "features": list(features)}
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    return path


OAXACA_CENTRO = feature(
    square(-96.75, 17.04, -96.70, 17.09), cvegeo="20157", nom_agem="Oaxaca de Juárez", pob=270955
)


def counts(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {
            table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for table in (municipalities, municipality_versions, import_runs, audit_log)
        }


# --- import --------------------------------------------------------------------------------


def test_import_municipalities_then_again_changes_nothing(db: Database, tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "municipios.geojson",
        OAXACA_CENTRO,
        feature(square(-96.80, 17.04, -96.75, 17.09), cvegeo="20067", nom_agem="Vecino"),
    )
    first = linde(db, "import", "municipalities", path)
    assert first.returncode == 0, first.stderr
    assert "municipalities: 2 created, 0 updated, 0 unchanged" in first.stdout

    again = linde(db, "import", "municipalities", path)
    assert again.returncode == 0, again.stderr
    assert "municipalities: 0 created, 0 updated, 2 unchanged" in again.stdout

    with db.engine.connect() as conn:
        rows = conn.execute(
            select(municipalities.c.cvegeo, municipalities.c.name, municipalities.c.version)
        ).all()
    assert sorted(tuple(r) for r in rows) == [
        ("20067", "Vecino", 1),
        ("20157", "Oaxaca de Juárez", 1),
    ]
    assert counts(db)["import_runs"] == 2


def test_import_of_a_changed_municipality_is_an_update(db: Database, tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "v1.geojson", OAXACA_CENTRO)
    assert linde(db, "import", "municipalities", path).returncode == 0
    changed = feature(
        square(-96.76, 17.03, -96.70, 17.09), cvegeo="20157", nom_agem="Oaxaca de Juárez"
    )
    result = linde(db, "import", "municipalities", write_geojson(tmp_path / "v2.geojson", changed))
    assert result.returncode == 0, result.stderr
    assert "municipalities: 0 created, 1 updated, 0 unchanged" in result.stdout
    with db.engine.connect() as conn:
        versions = conn.execute(
            select(municipality_versions.c.version, municipality_versions.c.valid_to).order_by(
                municipality_versions.c.version
            )
        ).all()
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].valid_to is not None and versions[1].valid_to is None


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        (
            "bow_tie.geojson",
            [OAXACA_CENTRO, feature(BOW_TIE, cvegeo="20067", nom_agem="Moño")],
            ["row 2", "Self-intersection", "nothing was imported"],
        ),
        (
            "swapped.geojson",
            [
                feature(
                    {
                        "type": "Polygon",
                        "coordinates": [
                            [
                                [y, x]
                                for x, y in square(-96.75, 17.04, -96.70, 17.09)["coordinates"][0]
                            ]
                        ],
                    },
                    cvegeo="20157",
                    nom_agem="Al revés",
                )
            ],
            ["row 1", "swapped"],
        ),
        (
            "bad_key.geojson",
            [
                OAXACA_CENTRO,
                feature(square(-96.80, 17.04, -96.75, 17.09), cvegeo="99999", nom_agem="X"),
            ],
            ["row 2", "99999", "5-digit"],
        ),
        (
            "no_key.geojson",
            [feature(square(-96.75, 17.04, -96.70, 17.09), nom_agem="Sin clave")],
            ["no municipal key column", "CVEGEO", "nom_agem"],
        ),
        ("notes.geojson", "these are not the boundaries you are looking for\n", ["notes.geojson"]),
        ("empty.geojson", "", ["empty.geojson"]),
    ],
    ids=["bow-tie", "swapped", "bad-key", "no-key-column", "plain-text", "empty-file"],
)
def test_broken_import_exits_2_and_writes_nothing(
    db: Database, tmp_path: Path, name: str, content: str | list[dict[str, Any]], words: list[str]
) -> None:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        write_geojson(path, *content)
    before = counts(db)
    result = linde(db, "import", "municipalities", path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    message = flat(result.stderr)
    assert message.startswith("error ("), message
    for word in words:
        assert word in message, (word, message)
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert counts(db) == before == dict.fromkeys(before, 0)


def test_broken_import_leaves_earlier_data_alone(db: Database, tmp_path: Path) -> None:
    good = write_geojson(tmp_path / "good.geojson", OAXACA_CENTRO)
    assert linde(db, "import", "municipalities", good).returncode == 0
    before = counts(db)
    changed = feature(BOW_TIE, cvegeo="20157", nom_agem="Oaxaca de Juárez")
    result = linde(db, "import", "municipalities", write_geojson(tmp_path / "bad.geojson", changed))
    assert result.returncode == 2
    assert "Self-intersection" in flat(result.stderr)
    assert counts(db) == before


def test_missing_file_exits_2(db: Database, tmp_path: Path) -> None:
    result = linde(db, "import", "municipalities", tmp_path / "nowhere.geojson")
    assert result.returncode == 2
    assert "no such file" in flat(result.stderr)
    assert counts(db)["municipalities"] == 0


# --- users ---------------------------------------------------------------------------------


def test_users_add_prints_only_the_token(db: Database) -> None:
    result = linde(db, "users", "add", "ana", "--role", "planner")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    token = lines[0]
    assert token.startswith("linde_") and " " not in token
    assert "ana" in result.stderr and token not in result.stderr
    with db.engine.connect() as conn:
        principal = authenticate(conn, token)
    assert principal is not None
    assert (principal.name, principal.role.value) == ("ana", "planner")

    listed = linde(db, "users", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["ana", "planner", "state"]  # no municipality


def test_users_add_twice_is_a_conflict(db: Database) -> None:
    assert linde(db, "users", "add", "ana", "--role", "planner").returncode == 0
    again = linde(db, "users", "add", "ana", "--role", "admin")
    assert again.returncode == 2
    assert again.stdout == ""
    assert "conflict" in flat(again.stderr) and "ana" in again.stderr


@pytest.mark.parametrize(
    "args",
    [["ana", "--role", "boss"], ["ana"], ["ana maria", "--role", "planner"]],
    ids=["unknown-role", "no-role", "bad-name"],
)
def test_users_add_refuses_bad_input(db: Database, args: list[str]) -> None:
    result = linde(db, "users", "add", *args)
    assert result.returncode != 0
    assert "linde_" not in result.stdout
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(users)).scalar_one() == 0


def test_users_revoke_makes_the_token_useless(db: Database) -> None:
    token = linde(db, "users", "add", "ana", "--role", "planner").stdout.strip()
    result = linde(db, "users", "revoke", "ana")
    assert result.returncode == 0, result.stderr
    assert "1 token(s) revoked" in result.stdout
    with db.engine.connect() as conn:
        assert authenticate(conn, token) is None


# --- lookup --------------------------------------------------------------------------------


def test_lookup_prints_json(db: Database, tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "municipios.geojson", OAXACA_CENTRO)
    assert linde(db, "import", "municipalities", path).returncode == 0
    result = linde(db, "lookup", f"--lon={LON}", f"--lat={LAT}")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["point"] == {"lon": LON, "lat": LAT}
    assert answer["municipality"]["cvegeo"] == "20157"
    assert answer["municipality"]["name"] == "Oaxaca de Juárez"
    assert answer["municipality"]["state"] == {"code": "20", "name": "Oaxaca"}
    assert answer["claims"] == []

    outside = linde(db, "lookup", "--lon=-99.13", "--lat=19.43")
    assert outside.returncode == 0, outside.stderr
    assert json.loads(outside.stdout)["municipality"] is None


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ([f"--lon={LON}", "--lat=-96.7"], ["lat", "between -90 and 90"]),
        ([f"--lon={LAT}", f"--lat={LON}"], ["lat", "swapped"]),
        (["--lon=-196.7", f"--lat={LAT}"], ["lon", "between -180 and 180"]),
        (["--lon=abc", f"--lat={LAT}"], ["lon"]),
        ([f"--lon={LON}"], ["lat"]),
    ],
    ids=["lat-out-of-range", "swapped", "lon-out-of-range", "not-a-number", "no-lat"],
)
def test_lookup_refuses_bad_coordinates(db: Database, args: list[str], words: list[str]) -> None:
    result = linde(db, "lookup", *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    message = flat(result.stderr)
    for word in words:
        assert word in message, (word, message)


# --- db ------------------------------------------------------------------------------------


def test_db_status_names_the_engine(db: Database) -> None:
    result = linde(db, "db", "status")
    assert result.returncode == 0, result.stderr
    assert f"engine: {db.kind}" in result.stdout
    assert "schema: empty" not in result.stdout
    if db.kind == "postgis":
        assert db.url.rsplit("/", 1)[1] in result.stdout


def test_unknown_database_url_exits_2() -> None:
    result = run_linde("mysql://nobody@127.0.0.1/linde", "db", "status")
    assert result.returncode == 2
    assert "LINDE_DATABASE_URL" in flat(result.stderr)
    assert "Traceback" not in result.stderr
