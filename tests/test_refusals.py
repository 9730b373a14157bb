"""Clear answers where a 500 or a traceback was (issue 17, the "Low" list): lists in
parameters, nesting in bodies, the connection after a 500, photo file names."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from api.app import create_app
from layers.settings import Settings
from tests.conftest import Database
from tests.servers import start


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("sortby", ",".join(["-cvegeo"] * 3000), "at most 8"),
        ("properties", ",".join(["name"] * 3000), "at most 64"),
        ("sortby", "name,-name", "twice"),
    ],
)
def test_long_lists_in_parameters_are_refused_naming_the_cap(
    oaxaca: Database, name: str, value: str, says: str
) -> None:
    with oaxaca.client() as client:
        for f in ("json", "csv"):
            answer = client.get("/collections/municipalities/items", params={name: value, "f": f})
            assert answer.status_code == 400, answer.text
            error = answer.json()["error"]
            assert says in error["message"]
            assert error["details"][0]["field"] == name


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def feature() -> dict[str, object]:
    return {
        "type": "Feature",
        "id": str(uuid.uuid4()),
        "geometry": {"type": "Point", "coordinates": [-96.7266, 17.0654]},
        "properties": {
            "observed_at": "2026-01-05T10:00:00-06:00",
            "category": "solid_waste",
            "severity": 2,
        },
    }


@pytest.mark.parametrize("depth", [2_000, 200_000])
def test_deeply_nested_json_is_a_client_error(api: Database, depth: int) -> None:
    deep = nested(depth)
    with api.client("inspector") as client:
        as_json = client.post(
            "/inspections", content=deep, headers={"Content-Type": "application/json"}
        )
        assert as_json.status_code == 422, as_json.text
        assert "nested" in as_json.json()["error"]["message"]
        as_form = client.post("/inspections", data={"inspection": deep}, files={"x": b""})
        assert 400 <= as_form.status_code < 500, as_form.text
        if len(deep) < 1024 * 1024:  # a larger form field is refused by its size first
            assert as_form.json()["error"]["details"][0]["field"] == "inspection"
        # nested inside an otherwise good Feature
        inner = json.dumps(feature()).replace('"severity": 2', f'"severity": {nested(depth)}')
        answer = client.post(
            "/inspections", content=inner, headers={"Content-Type": "application/json"}
        )
        assert 400 <= answer.status_code < 500, answer.text


@pytest.fixture
def breaking(db: Database, tmp_path: Path) -> Iterator[str]:
    """A real app with one more route that fails as a defect would."""
    app = create_app(Settings(database_url=db.url, photos_dir=tmp_path))

    @app.get("/defect")
    def defect() -> None:
        raise RuntimeError("a defect")

    url, stop = start(app)
    yield url
    stop()


def test_a_500_says_connection_close_and_the_next_request_works(breaking: str) -> None:
    with httpx.Client(base_url=breaking, timeout=30) as client:
        failed = client.get("/defect")
        assert failed.status_code == 500
        assert failed.headers["connection"] == "close"
        assert "a defect" not in failed.text
        assert client.get("/health").status_code == 200


def test_a_photo_is_served_under_a_neutral_name(api: Database) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (20, 120, 30)).save(buffer, "PNG")
    body = feature()
    hostile = "informe\"; filename*=UTF-8''x.html; a=\".png"
    with api.client("inspector") as client:
        stored = client.post(
            "/inspections",
            data={"inspection": json.dumps(body)},
            files=[("photos", (hostile, buffer.getvalue(), "image/png"))],
        )
        assert stored.status_code == 201, stored.text
        sha256 = stored.json()["properties"]["photos"][0]["sha256"]
    with api.client("planner") as client:
        served = client.get(f"/inspections/{body['id']}/photos/{sha256}")
    assert served.status_code == 200
    assert served.headers["content-disposition"] == f'inline; filename="foto-{sha256[:12]}.png"'


def test_a_property_filter_past_a_small_columns_range_matches_nothing(api: Database) -> None:
    """``observed_offset_min`` is a SMALLINT: 40291 (from the fuzzer) was bound with the
    column's type and failed in the driver (a 500). Any 64-bit integer now compares with
    any integer column; past 64 bits it is a 400 naming the parameter."""
    with api.client("planner") as http:
        for name, value in (
            ("observed_offset_min", "40291"),
            ("observed_offset_min", "-40291"),
            ("severity", str(2**63 - 1)),
        ):
            got = http.get("/collections/inspections/items", params={name: value})
            assert got.status_code == 200, (name, value, got.text)
            assert got.json()["numberMatched"] == 0
        refused = http.get("/collections/inspections/items", params={"severity": str(2**63)})
        assert refused.status_code == 400 and "severity" in refused.text, refused.text
