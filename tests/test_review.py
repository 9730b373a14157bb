"""The supervisors' review API on both engines, over real HTTP: filters and counts, the
row scope, one and bulk moves (all or nothing, stale versions refused in Spanish), and
the exports (CSV for people, GeoPackage, KML, a bounded ZIP with the photos)."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

import httpx
import pyogrio
import pytest
from sqlalchemy import text

from layers.users import add_user
from tests.conftest import METRO_2020, Database
from tests.helpers import ok, png_photo, post_inspection

SPOT = (-96.73815, 17.06201)  # on the Atoyac's left bank, in Oaxaca de Juárez (20067)
ELSEWHERE = (-96.67344, 17.06772)  # inside Santa Lucía del Camino (20390)


@pytest.fixture(scope="module")
def review_db(engine_kind: str, seeded_database: Any) -> Database:
    database: Database = seeded_database(engine_kind, "review", metro_zones=(METRO_2020,))
    for name, role, cvegeo in (
        ("rep-20067", "commission", "20067"),
        ("plan-20390", "planner", "20390"),
    ):
        _user, database.tokens[name] = add_user(
            database.engine, name, role, actor="test", cvegeo=cvegeo
        )
    return database


@pytest.fixture
def seeded(review_db: Database) -> dict[str, Any]:
    """Three fresh inspections: two in Oaxaca de Juárez (one with a photo), one elsewhere."""
    with review_db.engine.begin() as conn:
        for table in ("inspection_events", "inspection_photos", "inspections"):
            conn.execute(text(f"DELETE FROM {table}"))
    made = {
        "river": post_inspection(
            review_db, SPOT, "debris_fill", 4, "2024-03-05T10:30:00-06:00", photo=png_photo()
        ),
        "river2": post_inspection(review_db, SPOT, "solid_waste", 2, "2024-04-10T09:00:00-06:00"),
        "away": post_inspection(review_db, ELSEWHERE, "discharge", 5, "2024-05-01T08:00:00-06:00"),
    }
    return {"db": review_db, **made}


def _list(db: Database, role: str = "commission", **params: Any) -> dict[str, Any]:
    with db.client(role) as http:
        return dict(ok(http.get("/inspections-review", params=params)))


def _act(db: Database, role: str, action: str, items: list[tuple[str, int]], **more: Any) -> Any:
    with db.client(role) as http:
        return http.post(
            "/inspections-review/actions",
            json={"action": action, "items": [{"id": i, "version": v} for i, v in items], **more},
        )


def test_filters_counts_and_scope(seeded: dict[str, Any]) -> None:
    db = seeded["db"]
    river, away = seeded["river"], seeded["away"]
    assert river["properties"]["municipality_cvegeo"] == "20067"
    assert away["properties"]["municipality_cvegeo"] == "20390"
    everything = _list(db)
    assert everything["total"] == 3 and everything["shown"] == 3
    assert everything["counts"]["review_status"] == {"pending": 3}
    assert everything["counts"]["follow_up_status"] == {"open": 3}
    first = everything["features"][0]  # newest first
    assert first["id"] == away["id"] and first["properties"]["version"] == 1
    with_photo = next(f for f in everything["features"] if f["id"] == river["id"])
    assert with_photo["properties"]["photos"] == [river["properties"]["photos"][0]["sha256"]]

    def listed(**params: Any) -> set[str]:
        return {f["id"] for f in _list(db, **params)["features"]}

    assert listed(municipality="20067") == {river["id"], seeded["river2"]["id"]}
    assert listed(category="discharge") == {away["id"]}
    assert listed(severity_min=4) == {river["id"], away["id"]}
    assert listed(observed_from="2024-04-01", observed_to="2024-04-10") == {seeded["river2"]["id"]}
    assert listed(inspector="inspector-user") == {river["id"], seeded["river2"]["id"], away["id"]}
    river_id = river["properties"]["river_id"]
    chainage = river["properties"]["chainage_m"]
    assert river_id is not None and chainage is not None
    near = listed(river_id=river_id, chainage_min_m=chainage - 10, chainage_max_m=chainage + 10)
    assert near == {river["id"], seeded["river2"]["id"]}
    farther = listed(river_id=river_id, chainage_min_m=chainage + 10)
    assert river["id"] not in farther and seeded["river2"]["id"] not in farther
    assert listed(review_status="approved") == set()

    # a planner of Santa Lucía reads only its own; an inspector is refused in Spanish
    scoped = _list(db, "plan-20390")
    assert [f["id"] for f in scoped["features"]] == [away["id"]] and scoped["total"] == 1
    with db.client("inspector") as http:
        refused = http.get("/inspections-review")
        assert refused.status_code == 403
        assert "supervisores" in refused.json()["error"]["message"]
        bad = http.get("/inspections-review", params={"municipality": "Oaxaca"})
        assert bad.status_code == 422
    with db.client("commission") as http:
        for day in ("0", "2024-02-30"):
            wrong = http.get("/inspections-review", params={"observed_to": day})
            assert wrong.status_code == 422, wrong.text
            assert wrong.json()["error"]["details"][0]["field"].endswith("observed_to")
    with db.client() as http:
        assert http.get("/inspections-review").status_code == 401


def test_one_and_bulk_moves_all_or_nothing_with_versions(seeded: dict[str, Any]) -> None:
    db = seeded["db"]
    a, b, c = seeded["river"]["id"], seeded["river2"]["id"], seeded["away"]["id"]
    done = ok(_act(db, "commission", "approve", [(a, 1)], note="bien documentada"))
    assert done["done"] == [{"id": a, "version": 2, "status": "approved"}]
    with db.client("commission") as http:
        read = http.get(f"/inspections/{a}")
        assert read.headers["ETag"] == f'"inspection-{a}-v2"'
        assert read.json()["properties"]["history"][0]["note"] == "bien documentada"

    # one refused item refuses the lot: b stays pending, the reasons are per item, in Spanish
    lot = _act(db, "commission", "approve", [(b, 1), (a, 2)])
    assert lot.status_code == 409, lot.text
    details = lot.json()["error"]["details"]
    assert [d["field"] for d in details] == ["items[1]"]
    assert "ya está «aprobada»" in details[0]["reason"]
    assert "no se cambió ninguna" in lot.json()["error"]["message"]
    assert _list(db, review_status="pending")["total"] == 2

    # a stale version (someone approved a meanwhile) is refused, not overwritten
    stale = _act(db, "commission", "attend", [(b, 1), (a, 1)])
    assert stale.status_code == 412, stale.text
    reason = stale.json()["error"]["details"][0]["reason"]
    assert "alguien la cambió" in reason and "versión 1, ahora es la 2" in reason
    assert _list(db, follow_up_status="attended")["total"] == 0

    # the single-inspection API refuses a stale If-Match the same way
    with db.client("commission") as http:
        old = http.post(
            f"/inspections/{a}/follow-up",
            json={"status": "attended"},
            headers={"If-Match": f'"inspection-{a}-v1"'},
        )
        assert old.status_code == 412

    needs_reason = _act(db, "commission", "reject", [(b, 1)])
    assert needs_reason.status_code == 422
    assert needs_reason.json()["error"]["details"][0]["field"] == "note"
    assert (
        ok(_act(db, "commission", "reject", [(b, 1)], note="foto borrosa"))["done"][0]["version"]
        == 2
    )
    needs_town = _act(db, "commission", "refer", [(c, 1)])
    assert needs_town.json()["error"]["details"][0]["field"] == "referred_to"
    referred = ok(_act(db, "commission", "refer", [(c, 1)], referred_to="20390"))
    assert referred["done"][0]["status"] == "referred"
    bulk = ok(_act(db, "commission", "attend", [(a, 2), (b, 2), (c, 2)]))
    assert sorted(d["version"] for d in bulk["done"]) == [3, 3, 3]
    counts = _list(db)["counts"]
    assert counts["review_status"] == {"approved": 1, "pending": 1, "rejected": 1}
    assert counts["follow_up_status"] == {"attended": 3}
    with db.client("commission") as http:
        history = http.get(f"/inspections/{c}").json()["properties"]["history"]
    assert [(h["to_status"], h["referred_to"]) for h in history] == [
        ("referred", "20390"),
        ("attended", None),
    ]


def test_who_may_act(seeded: dict[str, Any]) -> None:
    db = seeded["db"]
    a, c = seeded["river"]["id"], seeded["away"]["id"]
    planner = _act(db, "planner", "approve", [(a, 1)])
    assert planner.status_code == 403 and "supervisores" in planner.json()["error"]["message"]
    # Oaxaca de Juárez's representative follows up its own municipality's points only
    assert _act(db, "rep-20067", "approve", [(a, 1)]).status_code == 403
    outside = _act(db, "rep-20067", "attend", [(c, 1)])
    assert outside.status_code == 404
    assert "no existe o no está a su alcance" in outside.json()["error"]["details"][0]["reason"]
    assert ok(_act(db, "rep-20067", "attend", [(a, 1)]))["done"][0]["status"] == "attended"
    assert _act(db, "inspector", "approve", [(a, 2)]).status_code == 403


def test_exports_csv_gpkg_kml_and_zip_with_photos(
    seeded: dict[str, Any], serve: Any, tmp_path: Any
) -> None:
    db = seeded["db"]
    river = seeded["river"]
    sha = river["properties"]["photos"][0]["sha256"]
    with db.client("commission") as http:
        people = http.get("/inspections-review/export", params={"format": "csv"})
        assert people.status_code == 200 and people.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(people.content.decode("utf-8-sig"))))
        assert len(rows) == 3
        assert {"Categoría", "Revisión", "Seguimiento", "Municipio", "Cadenamiento (m)"} <= set(
            rows[0]
        )
        assert rows[0]["Categoría"] == "Relleno con escombro" and rows[0]["Revisión"] == "pendiente"

        gpkg = http.get(
            "/inspections-review/export", params={"format": "gpkg", "municipality": "20067"}
        )
        path = tmp_path / "r.gpkg"
        path.write_bytes(gpkg.content)
        frame = pyogrio.read_dataframe(path)
        assert len(frame) == 2 and set(frame["category"]) == {"debris_fill", "solid_waste"}

        kml = http.get("/inspections-review/export", params={"format": "kml"})
        assert kml.content.count(b"<Placemark") == 3
        assert "Relleno con escombro" in kml.content.decode()

        packed = http.get("/inspections-review/export", params={"format": "zip"})
        assert packed.status_code == 200, packed.text
    archive = zipfile.ZipFile(io.BytesIO(packed.content))
    names = archive.namelist()
    assert "inspecciones.csv" in names and f"photos/{sha}.png" in names
    in_zip = list(csv.DictReader(io.StringIO(archive.read("inspecciones.csv").decode("utf-8-sig"))))
    by_id = {r["id"]: r for r in in_zip}
    assert by_id[river["id"]]["Fotos"] == f"photos/{sha}.png"
    assert by_id[seeded["away"]["id"]]["Fotos"] == ""
    assert archive.read(f"photos/{sha}.png") == png_photo()

    # the ZIP is bounded: over the limit, a clear Spanish refusal and no file
    small = serve(db, review_zip_max_bytes=10)
    with httpx.Client(
        base_url=small, headers={"Authorization": f"Bearer {db.tokens['admin']}"}
    ) as h:
        big = h.get("/inspections-review/export", params={"format": "zip"})
    assert big.status_code == 422
    assert "Acote los filtros" in big.json()["error"]["message"]
