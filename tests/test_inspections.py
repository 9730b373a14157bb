"""Field inspections on both engines, over real HTTP: exactly-once capture, photos, bad input,
imports (GeoJSON, CSV, ODK, Kobo), review, annotations kept up to date, real CONAGUA sites."""

from __future__ import annotations

import io
import json
import os
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
from alembic import command
from PIL import Image
from sqlalchemy import func, insert, select, text

from geo.inspections import Submission
from layers import migrate
from layers.claims import add_claim
from layers.engine import make_engine, write_connection
from layers.importers.inspections import import_inspections
from layers.importers.municipalities import import_municipalities
from layers.importers.rivers import import_rivers
from layers.inspections import annotate, reference_layers, store
from layers.schema import (
    audit_log,
    disputed_zone_parties,
    disputed_zones,
    import_runs,
    inspections,
    municipalities,
)
from layers.settings import Settings
from tests.conftest import (
    CONAGUA_SITES,
    ENGINES,
    METRO_2020,
    OAXACA,
    Database,
    _create_pg_database,
    _drop_pg_database,
)

# A point on the Atoyac's left (east) bank, in Oaxaca de Juárez
SPOT = (-96.73815, 17.06201)


@pytest.fixture(scope="module")
def field(engine_kind: str, seeded_database: Any) -> Database:
    """Real Oaxaca municipalities, the 2020 metro zones and Natural Earth rivers, served."""
    database: Database = seeded_database(engine_kind, "inspections", metro_zones=(METRO_2020,))
    return database


@pytest.fixture
def fresh(field: Database) -> Database:
    """The field database with no inspections and no claims or zones left by another test."""
    with field.engine.begin() as conn:
        for table in ("inspection_events", "inspection_photos", "inspections", "claims"):
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(text("DELETE FROM disputed_zone_parties"))
        conn.execute(text("DELETE FROM disputed_zones"))
    return field


def feature(
    inspection_id: str | None = None, *, lon: float = SPOT[0], lat: float = SPOT[1], **props: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "observed_at": "2024-03-05T10:30:00-06:00",
            "category": "debris_fill",
            "severity": 4,
            "description": "relleno con escombro en la ribera",
            "gps_accuracy_m": 6.0,
            **props,
        },
    }
    if inspection_id is not None:
        body["id"] = inspection_id
    return body


def count(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(inspections)).scalar_one())


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def test_post_once_retry_same_record_and_conflict(fresh: Database) -> None:
    inspection_id = str(uuid.uuid4())
    with fresh.client("inspector") as client:
        first = client.post("/inspections", json=feature(inspection_id))
        assert first.status_code == 201, first.text
        again = client.post("/inspections", json=feature(inspection_id))
        assert again.status_code == 200
        assert again.json() == first.json()
        other = client.post("/inspections", json=feature(inspection_id, severity=2))
        assert other.status_code == 409
        assert other.json()["error"]["code"] == "conflict"
        # an Idempotency-Key instead of an id: the same key is the same inspection
        keyed = [
            client.post("/inspections", json=feature(), headers={"Idempotency-Key": "phone-7/42"})
            for _ in range(3)
        ]
        assert [r.status_code for r in keyed] == [201, 200, 200]
        assert len({r.json()["id"] for r in keyed}) == 1
        missing = client.post("/inspections", json=feature())
        assert missing.status_code == 422
        assert missing.json()["error"]["details"][0]["field"] == "id"
    assert count(fresh) == 2
    props = first.json()["properties"]
    assert props["municipality_cvegeo"] == "20067"
    assert props["river_name"] == "Atoyac"
    assert 100 < props["river_distance_m"] < 2600
    assert props["bank_side"] in ("left", "right")
    assert props["in_federal_zone"] is False
    assert props["metro_zone_codes"] == ["20.1.01"]
    assert props["review_status"] == "pending"
    with fresh.engine.connect() as conn:
        actions = conn.execute(
            select(audit_log.c.action).where(audit_log.c.entity_id == inspection_id)
        ).scalars()
        assert list(actions) == ["inspection.created"]


def test_the_devices_utc_offset_is_kept_and_returned(fresh: Database) -> None:
    """observed_at is stored as the instant; the phone's offset comes back beside it."""
    mexico, kathmandu = str(uuid.uuid4()), str(uuid.uuid4())
    with fresh.client("inspector") as client:
        made = client.post("/inspections", json=feature(mexico))
        assert made.status_code == 201, made.text
        assert made.json()["properties"]["observed_offset_min"] == -360
        far = client.post(
            "/inspections", json=feature(kathmandu, observed_at="2024-03-05T22:15:00+05:45")
        )
        assert far.json()["properties"]["observed_offset_min"] == 345
        bogus = client.post(
            "/inspections",
            json=feature(str(uuid.uuid4()), observed_at="2024-03-05T10:30:00+23:00"),
        )
        assert bogus.status_code == 422
        detail = bogus.json()["error"]["details"][0]
        assert detail["field"] == "observed_at" and "-12:00 to +14:00" in detail["reason"]
    with fresh.client("planner") as client:
        items = client.get("/collections/inspections/items").json()["features"]
        csv = client.get("/collections/inspections/items", params={"f": "csv"})
    stored = {f["id"]: f["properties"] for f in items}
    assert stored[mexico]["observed_offset_min"] == -360
    assert stored[mexico]["observed_at"].startswith("2024-03-05T16:30:00")  # the instant, UTC
    assert stored[kathmandu]["observed_offset_min"] == 345
    header, *rows = csv.text.splitlines()
    assert "observed_offset_min" in header.split(",")
    assert any(",-360," in f",{r}," for r in rows)
    assert count(fresh) == 2


def test_concurrent_retries_store_one_row(fresh: Database) -> None:
    inspection_id = str(uuid.uuid4())
    codes: list[int] = []

    def post() -> None:
        with fresh.client("inspector") as client:
            codes.append(client.post("/inspections", json=feature(inspection_id)).status_code)

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200] * 7 + [201]
    assert count(fresh) == 1


@pytest.mark.parametrize(
    ("body", "field_name"),
    [
        (feature(str(uuid.uuid4()), lon=17.06, lat=-96.73), "geometry"),
        (feature(str(uuid.uuid4()), lon=-3.7, lat=40.4), "geometry"),
        (
            {
                **feature(str(uuid.uuid4())),
                "geometry": {"type": "LineString", "coordinates": [[-96.7, 17.0], [-96.71, 17.01]]},
            },
            "geometry",
        ),
        (
            feature(
                str(uuid.uuid4()), observed_at=(datetime.now(UTC) + timedelta(days=2)).isoformat()
            ),
            "observed_at",
        ),
        (feature(str(uuid.uuid4()), observed_at=None), "properties.observed_at"),
        (feature(str(uuid.uuid4()), observed_at="2024-03-05T10:30:00"), "properties.observed_at"),
        (feature(str(uuid.uuid4()), category="graffiti"), "category"),
        (feature(str(uuid.uuid4()), severity=9), "severity"),
        (feature("not-a-uuid"), "id"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    fresh: Database, body: dict[str, Any], field_name: str
) -> None:
    with fresh.client("inspector") as client:
        response = client.post("/inspections", json=body)
    assert response.status_code == 422, response.text
    fields = [d["field"] for d in response.json()["error"]["details"]]
    assert field_name in fields
    if field_name == "geometry" and body["geometry"]["coordinates"] == [17.06, -96.73]:
        assert "swapped" in response.json()["error"]["message"]
    assert count(fresh) == 0


def test_roles(fresh: Database) -> None:
    with fresh.client("planner") as client:
        assert client.post("/inspections", json=feature(str(uuid.uuid4()))).status_code == 403
    with fresh.client() as client:
        assert client.get("/collections/inspections/items").status_code == 401


def test_photos_checked_by_content_stored_and_served(fresh: Database) -> None:
    image = png_bytes()
    inspection_id = str(uuid.uuid4())
    form = {"inspection": json.dumps(feature(inspection_id))}
    with fresh.client("inspector") as client:
        created = client.post(
            "/inspections", data=form, files=[("photos", ("ribera.jpg", image, "image/jpeg"))]
        )
        assert created.status_code == 201, created.text
        photo = created.json()["properties"]["photos"][0]
        assert photo["media_type"] == "image/png"  # by content, not by name or declared type
        retry = client.post(
            "/inspections", data=form, files=[("photos", ("ribera.jpg", image, "image/jpeg"))]
        )
        assert retry.status_code == 200
        bad = client.post(
            "/inspections",
            data={"inspection": json.dumps(feature(str(uuid.uuid4())))},
            files=[("photos", ("x.jpg", b"GIF89a not a photo at all", "image/jpeg"))],
        )
        assert bad.status_code == 422
        assert bad.json()["error"]["details"][0]["field"] == "photos[0]"
        truncated = client.post(
            "/inspections",
            data={"inspection": json.dumps(feature(str(uuid.uuid4())))},
            files=[("photos", ("y.png", image[:40], "image/png"))],
        )
        assert truncated.status_code == 422
        huge = b"\xff\xd8\xff" + b"\0" * (10 * 1024 * 1024)
        too_big = client.post(
            "/inspections",
            data={"inspection": json.dumps(feature(str(uuid.uuid4())))},
            files=[("photos", ("z.jpg", huge, "image/jpeg"))],
        )
        assert too_big.status_code == 422
        assert "limit" in too_big.json()["error"]["message"]
    with fresh.client("planner") as client:
        served = client.get(f"/inspections/{inspection_id}/photos/{photo['sha256']}")
        assert served.status_code == 200
        assert served.content == image
        assert served.headers["content-type"] == "image/png"
    with fresh.client() as client:
        anonymous = client.get(f"/inspections/{inspection_id}/photos/{photo['sha256']}")
        assert anonymous.status_code == 401
    assert count(fresh) == 1


def test_review_and_follow_up_keep_history(fresh: Database) -> None:
    inspection_id = str(uuid.uuid4())
    with fresh.client("inspector") as client:
        assert client.post("/inspections", json=feature(inspection_id)).status_code == 201
        assert (
            client.post(f"/inspections/{inspection_id}/review", json={"status": "approved"})
        ).status_code == 403
    with fresh.client("commission") as client:
        ok = client.post(
            f"/inspections/{inspection_id}/review", json={"status": "approved", "note": "visto"}
        )
        assert ok.status_code == 200
        again = client.post(f"/inspections/{inspection_id}/review", json={"status": "rejected"})
        assert again.status_code == 409
        no_target = client.post(
            f"/inspections/{inspection_id}/follow-up", json={"status": "referred"}
        )
        assert no_target.status_code == 422
        referred = client.post(
            f"/inspections/{inspection_id}/follow-up",
            json={"status": "referred", "referred_to": "20067"},
        )
        assert referred.status_code == 200
        done = client.post(f"/inspections/{inspection_id}/follow-up", json={"status": "attended"})
        props = done.json()["properties"]
    assert props["review_status"] == "approved"
    assert props["follow_up_status"] == "attended"
    assert props["referred_to"] == "20067"
    assert [
        (h["kind"], h["from_status"], h["to_status"], h["actor"]) for h in props["history"]
    ] == [
        ("review", "pending", "approved", "commission-user"),
        ("follow_up", "open", "referred", "commission-user"),
        ("follow_up", "referred", "attended", "commission-user"),
    ]
    with fresh.client("planner") as client:
        listed = client.get(
            "/collections/inspections/items", params={"review_status": "approved"}
        ).json()
    assert [f["id"] for f in listed["features"]] == [inspection_id]


def test_admin_extends_categories(fresh: Database) -> None:
    with fresh.client("inspector") as client:
        denied = client.post("/inspections/categories", json={"code": "dead_fish", "label": "x"})
        assert denied.status_code == 403
        assert (
            client.post(
                "/inspections", json=feature(str(uuid.uuid4()), category="dead_fish")
            ).status_code
            == 422
        )
    with fresh.client("admin") as client:
        added = client.post(
            "/inspections/categories", json={"code": "dead_fish", "label": "Peces muertos"}
        )
        assert added.status_code == 201
        assert (
            client.post(
                "/inspections/categories", json={"code": "dead_fish", "label": "x"}
            ).status_code
            == 409
        )
    with fresh.client("inspector") as client:
        assert (
            client.post(
                "/inspections", json=feature(str(uuid.uuid4()), category="dead_fish")
            ).status_code
            == 201
        )
        codes = [c["code"] for c in client.get("/inspections/categories").json()]
    assert "dead_fish" in codes and "water_contamination" in codes
    with fresh.engine.begin() as conn:
        conn.execute(text("DELETE FROM inspections"))
        conn.execute(text("DELETE FROM inspection_categories WHERE code = 'dead_fish'"))


def test_annotations_follow_claims_and_disputed_zones(fresh: Database) -> None:
    inspection_id = str(uuid.uuid4())
    with fresh.client("inspector") as client:
        assert client.post("/inspections", json=feature(inspection_id)).status_code == 201
    with fresh.engine.connect() as conn:
        geom = conn.execute(
            select(func.ST_AsBinary(municipalities.c.geom)).where(
                municipalities.c.cvegeo == "20067"
            )
        ).scalar_one()
    import shapely

    oaxaca = shapely.from_wkb(bytes(geom))
    claim = add_claim(
        fresh.engine,
        cvegeo="20157",
        geom=oaxaca,
        source="decree",
        valid_from=datetime(2020, 1, 1, tzinfo=UTC),
        recorded_by="test",
    )
    assert claim["cvegeo"] == "20157"
    with fresh.client("planner") as client:
        props = client.get(f"/inspections/{inspection_id}").json()["properties"]
    assert props["claim_cvegeos"] == ["20157"]
    # A zone in dispute, registered with the issue-4 tables, and the refresh its writes call
    zone = shapely.buffer(shapely.Point(*SPOT), 0.002)
    with write_connection(fresh.engine) as conn:
        from geo.validation import to_multi
        from layers.geometry_io import to_db

        zone_id = conn.execute(
            insert(disputed_zones).values(
                name="Los Sauces (prueba)",
                kind="manual",
                status="open",
                parties_key="20067,20157",
                area_m2=1.0,
                area_ha=0.0001,
                perimeter_m=1.0,
                contested_length_m=0.0,
                version=1,
                geom_revision=1,
                created_by="test",
                created_at=datetime.now(UTC),
                updated_at=datetime.now(UTC),
                geom=to_db(to_multi([zone]))[0],
            )
        ).inserted_primary_key
        assert zone_id is not None
        zone_id = zone_id[0]
        conn.execute(
            insert(disputed_zone_parties),
            [{"zone_id": zone_id, "cvegeo": "20067"}, {"zone_id": zone_id, "cvegeo": "20157"}],
        )
        assert annotate.refresh(conn, bboxes=[reference_layers.geometry_bbox(zone)]) == 1
    with fresh.client("planner") as client:
        props = client.get(f"/inspections/{inspection_id}").json()["properties"]
        looked = client.get("/lookup", params={"lon": SPOT[0], "lat": SPOT[1]}).json()
    assert props["disputed_zone_id"] == zone_id
    assert props["dispute"] == (
        "responsabilidad en disputa entre Oaxaca de Juárez y San Jacinto Amilpas"
    )
    assert looked["disputed_zone"]["text"] == props["dispute"]
    assert looked["river"]["name"] == "Atoyac"
    assert looked["river"]["chainage_m"] == pytest.approx(props["chainage_m"], abs=0.01)
    with write_connection(fresh.engine) as conn:
        conn.execute(
            disputed_zones.update().where(disputed_zones.c.id == zone_id).values(status="resolved")
        )
        annotate.refresh(conn, disputed_zone_ids=[zone_id])
    with fresh.client("planner") as client:
        props = client.get(f"/inspections/{inspection_id}").json()["properties"]
    assert props["disputed_zone_id"] is None and props["dispute"] is None


def test_river_change_reannotates_in_the_same_transaction(fresh: Database, tmp_path: Path) -> None:
    inspection_id = str(uuid.uuid4())
    with fresh.client("inspector") as client:
        assert client.post("/inspections", json=feature(inspection_id)).status_code == 201
    # a (made-up) stream passing 3 m east of the point, importing as a new river
    lon, lat = SPOT
    path = tmp_path / "arroyo.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "Arroyo de prueba"},
                        "geometry": {
                            "type": "LineString",
                            "coordinates": [
                                [lon + 0.00003, lat + 0.01],
                                [lon + 0.00003, lat - 0.01],
                            ],
                        },
                    }
                ],
            }
        )
    )
    import_rivers(fresh.engine, path, actor="test", federal_zone_width_m=10)
    try:
        with fresh.client("planner") as client:
            props = client.get(f"/inspections/{inspection_id}").json()["properties"]
        assert props["river_name"] == "Arroyo de prueba"
        assert props["river_distance_m"] < 10 and props["in_federal_zone"] is True
        # flowing south, a point to the west is on the right bank
        assert props["bank_side"] == "right"
    finally:
        with write_connection(fresh.engine) as conn:
            conn.execute(text("DELETE FROM rivers WHERE name = 'Arroyo de prueba'"))
            annotate.refresh(conn, everything=True)


def write(path: Path, content: str) -> Path:
    path.write_text(content, encoding="utf-8")
    return path


def test_csv_odk_and_kobo_imports(fresh: Database, tmp_path: Path) -> None:
    plain = write(
        tmp_path / "plain.csv",
        "lon,lat,observed_at,category,severity,description\n"
        "-96.73815,17.06201,2024-03-05T10:30:00-06:00,solid_waste,3,basura\n"
        "-96.7557,17.0930,2024-03-05 11:00,discharge,4,descarga\n",
    )
    odk = write(
        tmp_path / "odk.csv",
        "SubmissionDate,start,datos-category,datos-severity,punto-Latitude,punto-Longitude,"
        "punto-Altitude,punto-Accuracy,meta-instanceID,KEY\n"
        "2024-03-06T18:00:00.000Z,2024-03-06T10:00:00.000-06:00,discharge,5,17.0620,-96.7381,"
        f"1550,4.5,uuid:{uuid.uuid4()},x\n",
    )
    kobo = write(
        tmp_path / "kobo.csv",
        "start,category,severity,ubicacion,_uuid\n"
        f"2024-03-07T09:00:00-06:00,solid_waste,2,17.0930 -96.7557 1540 8,{uuid.uuid4()}\n",
    )
    for path, expected in ((plain, 2), (odk, 1), (kobo, 1)):
        summary = import_inspections(fresh.engine, path, actor="test")
        assert (summary.created, summary.unchanged) == (expected, 0)
        again = import_inspections(fresh.engine, path, actor="test")
        assert (again.created, again.unchanged) == (0, expected)
    assert count(fresh) == 4
    with fresh.engine.connect() as conn:
        row = conn.execute(
            select(inspections.c.gps_accuracy_m, inspections.c.observed_at).where(
                inspections.c.category == "discharge", inspections.c.severity == 5
            )
        ).one()
    assert row.gps_accuracy_m == 4.5
    assert row.observed_at == datetime(2024, 3, 6, 16, 0, tzinfo=UTC)


def test_import_all_or_nothing_and_partial_over_http(fresh: Database, tmp_path: Path) -> None:
    content = (
        "lon,lat,observed_at,category,severity\n"
        "-96.73815,17.06201,2024-03-05T10:30:00-06:00,solid_waste,3\n"
        "17.06201,-96.73815,2024-03-05T10:30:00-06:00,solid_waste,3\n"
        "-96.7557,17.0930,2024-03-05T10:30:00-06:00,graffiti,3\n"
        "-96.7557,17.0931,,solid_waste,3\n"
    )
    with fresh.engine.connect() as conn:
        runs_before = conn.execute(select(func.count()).select_from(import_runs)).scalar_one()
    with fresh.client("inspector") as client:
        refused = client.post(
            "/inspections/import", files={"file": ("lote.csv", content, "text/csv")}
        )
        assert refused.status_code == 422
        details = refused.json()["error"]["details"]
        assert {(d["row"], d["field"]) for d in details} == {
            (2, "geometry"),
            (3, "category"),
            (4, "observed_at"),
        }
        assert count(fresh) == 0
        with fresh.engine.connect() as conn:
            runs = conn.execute(select(func.count()).select_from(import_runs)).scalar_one()
        assert runs == runs_before  # no trace
        partial = client.post(
            "/inspections/import",
            files={"file": ("lote.csv", content, "text/csv")},
            data={"mode": "partial"},
        )
        assert partial.status_code == 200
        report = partial.json()
        assert (report["created"], report["refused"]) == (1, 3)
        assert sorted(p["row"] for p in report["problems"]) == [2, 3, 4]
        broken = client.post(
            "/inspections/import",
            files={"file": ("roto.csv", 'lon,lat,category\n-96.7,17.0,"solid_waste\n', "text/csv")},
        )
        assert broken.status_code == 422
        assert broken.json()["error"]["details"][0]["field"] == "file"
        no_coords = client.post(
            "/inspections/import",
            files={"file": ("sin.csv", "a,b\n1,2\n", "text/csv")},
        )
        assert no_coords.status_code == 422
        assert "lon" in no_coords.json()["error"]["details"][0]["field"]
    assert count(fresh) == 1


def test_conagua_sites_real_data_acceptance(fresh: Database) -> None:
    """The 28 real CONAGUA sites, imported as inspections against Natural Earth's Atoyac."""
    summary = import_inspections(
        fresh.engine,
        CONAGUA_SITES,
        actor="test",
        id_field="CLAVE",
        description_field="SITIO",
        defaults={
            "category": "water_contamination",
            "severity": 3,
            "observed_at": datetime(2019, 12, 31, tzinfo=UTC),
            "inspector": "CONAGUA",
        },
    )
    assert (summary.created, summary.unchanged) == (28, 0)
    again = import_inspections(
        fresh.engine,
        CONAGUA_SITES,
        actor="test",
        id_field="CLAVE",
        description_field="SITIO",
        defaults={
            "category": "water_contamination",
            "severity": 3,
            "observed_at": datetime(2019, 12, 31, tzinfo=UTC),
            "inspector": "CONAGUA",
        },
    )
    assert (again.created, again.unchanged) == (0, 28)

    sites = gpd.read_file(CONAGUA_SITES)
    official = gpd.read_file(OAXACA)[["cvegeo", "geometry"]]
    expected = gpd.sjoin(sites, official, predicate="within", how="left")
    truth = dict(zip(expected["SITIO"], expected["cvegeo"], strict=True))
    metro = set(
        pd.read_csv(METRO_2020, dtype=str).query("CVE_ZONA == '20.1.01'")["CVEGEO"].tolist()
    )
    with fresh.engine.connect() as conn:
        stored = pd.DataFrame(
            conn.execute(
                select(
                    inspections.c.description,
                    inspections.c.municipality_cvegeo,
                    inspections.c.river_name,
                    inspections.c.river_distance_m,
                    inspections.c.chainage_m,
                    func.ST_Y(inspections.c.geom).label("lat"),
                )
            ).all()
        )
    assert len(stored) == 28
    for row in stored.itertuples():
        expected = truth[row.description]
        if isinstance(expected, str):
            assert row.municipality_cvegeo == expected, row.description
        else:  # outside the 26 municipalities of the extract
            assert not isinstance(row.municipality_cvegeo, str), row.description
    assert stored.municipality_cvegeo.notna().sum() == 15  # 13 sites lie beyond the zone
    atoyac = stored[stored.description.isin(sites[sites["CUERPO DE AGUA"] == "RIO ATOYAC"].SITIO)]
    in_metro = atoyac[atoyac.municipality_cvegeo.isin(metro)]
    assert len(in_metro) >= 8
    assert (in_metro.river_name == "Atoyac").all()
    assert in_metro.river_distance_m.between(100, 2600).all(), in_metro
    # The Atoyac flows north to south here: going downstream (south), chainage grows.
    near = atoyac[atoyac.river_distance_m <= 2600].sort_values("lat", ascending=False)
    assert len(near) >= 12
    assert near.chainage_m.is_monotonic_increasing, near[["description", "chainage_m"]]
    assert near.chainage_m.iloc[0] < 5000  # Huitzo, near the line's upstream end


@pytest.mark.parametrize("kind", ENGINES)
def test_existing_rows_survive_the_upgrade(kind: str, tmp_path: Path) -> None:
    """A database at revision 0002 holding an inspection is upgraded to the head."""
    if kind == "postgis":
        name = f"linde_test_upgrade_{os.getpid()}"
        url = _create_pg_database(name)
    else:
        url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = make_engine(url, Settings(database_url=url))
    try:
        config = migrate._config()
        with engine.execution_options(linde_write=True).connect() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0002")
            conn.commit()
        point = "GeomFromText('POINT(-96.73815 17.06201)', 4326)"
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO inspections (id, observed_at, category, severity, description, "
                    "gps_accuracy_m, inspector, source, created_at, geom) VALUES "
                    "('00000000-0000-0000-0000-000000000001', :t, 'graffiti', 3, 'antes', 5.0, "
                    f"'ana', 'demo', :t, {'ST_' + point if kind == 'postgis' else point})"
                ),
                {"t": datetime(2024, 3, 5, 10, 30, tzinfo=UTC)},
            )
        migrate.upgrade(engine)
        import_municipalities(engine, OAXACA, actor="test")  # re-annotates the point
        with engine.connect() as conn:
            row = conn.execute(select(inspections)).mappings().one()
            categories = store.categories(conn)
        assert row["description"] == "antes" and row["inspector"] == "ana"
        assert row["observed_at"] == datetime(2024, 3, 5, 10, 30, tzinfo=UTC)
        assert row["review_status"] == "pending" and row["follow_up_status"] == "open"
        assert row["observed_offset_min"] is None  # the offset was never kept: not guessed
        assert row["annotated_at"] is not None
        assert row["municipality_cvegeo"] == "20067"
        assert "graffiti" in categories  # a category in use is kept
    finally:
        engine.dispose()
        if kind == "postgis":
            _drop_pg_database(name)


def test_save_is_idempotent_within_one_batch(fresh: Database) -> None:
    sub = Submission(
        id=str(uuid.uuid4()),
        lon=SPOT[0],
        lat=SPOT[1],
        observed_at=datetime(2024, 1, 1, tzinfo=UTC),
        category="other",
        severity=1,
        description=None,
        gps_accuracy_m=None,
        inspector="ana",
    )
    with write_connection(fresh.engine) as conn:
        result = store.save(conn, [sub, sub], recorded_by="t", source="t")
    assert (len(result.created), len(result.unchanged)) == (1, 1)


def test_large_import_goes_through_the_bulk_path(fresh: Database, tmp_path: Path) -> None:
    """Enough rows for COPY on PostGIS (executemany on SpatiaLite); values survive exactly."""
    n = 2500
    lines = ["id,lon,lat,observed_at,category,severity,description,gps_accuracy_m"]
    for k in range(n):
        description = "" if k % 3 == 0 else ("" if k % 3 == 1 else f'dice "hola", línea {k}')
        accuracy = "" if k % 2 else f"{k % 50}.5"
        lines.append(
            f"{uuid.UUID(int=k + 1)},{-96.80 + k * 0.00005:.6f},{17.02 + k * 0.00003:.6f},"
            f"2024-02-01T08:00:00-06:00,solid_waste,{1 + k % 5},"
            + (f'"{description.replace(chr(34), chr(34) * 2)}"' if description else "")
            + f",{accuracy}"
        )
    path = write(tmp_path / "lote_grande.csv", "\n".join(lines) + "\n")
    summary = import_inspections(fresh.engine, path, actor="test")
    assert (summary.created, summary.unchanged) == (n, 0)
    assert import_inspections(fresh.engine, path, actor="test").unchanged == n
    with fresh.engine.connect() as conn:
        rows = {
            r.id: r
            for r in conn.execute(
                select(
                    inspections.c.id,
                    inspections.c.description,
                    inspections.c.gps_accuracy_m,
                    inspections.c.observed_at,
                    inspections.c.municipality_cvegeo,
                    inspections.c.review_status,
                    inspections.c.annotated_at,
                )
            )
        }
    assert len(rows) == n
    sample = rows[str(uuid.UUID(int=3))]  # k = 2
    assert sample.description == 'dice "hola", línea 2'
    assert sample.gps_accuracy_m == 2.5
    assert sample.observed_at == datetime(2024, 2, 1, 14, 0, tzinfo=UTC)
    assert rows[str(uuid.UUID(int=2))].gps_accuracy_m is None  # k = 1: empty is NULL
    assert rows[str(uuid.UUID(int=1))].description is None  # k = 0: empty cell, no text
    assert all(r.review_status == "pending" and r.annotated_at is not None for r in rows.values())
    assert sum(r.municipality_cvegeo is not None for r in rows.values()) > n * 0.9


def test_registered_zone_and_its_closing_reannotate(fresh: Database) -> None:
    """The disputed-zone writes of issue 4 keep the inspections' dispute up to date."""
    import shapely

    from layers.disputes.zone_edits import move_status, register_zone

    inspection_id = str(uuid.uuid4())
    with fresh.client("inspector") as client:
        assert client.post("/inspections", json=feature(inspection_id)).status_code == 201
    zone = register_zone(
        fresh.engine,
        name="Los Sauces (prueba)",
        geom=shapely.buffer(shapely.Point(*SPOT), 0.003),
        parties=["20157", "20067"],
        actor="test",
    )
    with fresh.client("planner") as client:
        props = client.get(f"/inspections/{inspection_id}").json()["properties"]
        stretch = client.get(
            "/collections/inspections/items",
            params={"filter": f"disputed_zone_id = {zone['id']} AND chainage_m BETWEEN 0 AND 1e6"},
        ).json()
    assert props["disputed_zone_id"] == zone["id"]
    assert props["dispute"] == (
        "responsabilidad en disputa entre Oaxaca de Juárez y San Jacinto Amilpas"
    )
    assert [f["id"] for f in stretch["features"]] == [inspection_id]
    move_status(
        fresh.engine,
        zone["id"],
        "dismissed",
        actor="test",
        admin=True,
        expected_version=zone["version"],
        note="prueba",
    )
    with fresh.client("planner") as client:
        props = client.get(f"/inspections/{inspection_id}").json()["properties"]
    assert props["disputed_zone_id"] is None and props["dispute"] is None


def test_an_id_taken_meanwhile_is_skipped_not_an_error(
    fresh: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A concurrent writer stores an id between our check and our insert: on PostGIS the
    COPY hits the primary key and the batch goes round ON CONFLICT DO NOTHING instead."""
    base = datetime(2024, 1, 1, tzinfo=UTC)
    subs = [
        Submission(
            id=str(uuid.UUID(int=10_000 + k)),
            lon=-96.80 + k * 0.00004,
            lat=17.02 + k * 0.00002,
            observed_at=base + timedelta(minutes=k),
            category="other",
            severity=1 + k % 5,
            description=None,
            gps_accuracy_m=None,
            inspector="ana",
        )
        for k in range(2500)
    ]
    with write_connection(fresh.engine) as conn:  # "the other writer", committed first
        assert store.save(conn, subs[:1], recorded_by="t", source="t").created == [subs[0].id]
    real = store.existing_fingerprints
    calls: list[int] = []

    def blind_first(conn: Any, ids: Any) -> dict[str, str | None]:
        calls.append(len(ids))
        return {} if len(calls) == 1 else real(conn, ids)

    monkeypatch.setattr(store, "existing_fingerprints", blind_first)
    with write_connection(fresh.engine) as conn:
        result = store.save(conn, subs, recorded_by="t", source="t")
    assert len(result.created) == 2499 and result.unchanged == [subs[0].id]
    assert not result.conflicts
    assert count(fresh) == 2500
