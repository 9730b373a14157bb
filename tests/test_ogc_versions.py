"""Versions of a feature over the OGC API, Memento style (the OGC "Versioned Features"
proposal), on both engines: ``datetime=`` on an item selects the version valid then,
``/items/{id}/versions`` lists them all."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import shapely
from shapely.geometry import box, mapping, shape

from layers.importers.municipalities import import_municipalities
from tests.conftest import Database

SAN_JACINTO = "20157"


def one_municipality(path: Path, outline: shapely.Polygon) -> Path:
    feature = {
        "type": "Feature",
        "properties": {"cvegeo": SAN_JACINTO, "nom_agem": "San Jacinto Amilpas", "pob": 1},
        "geometry": mapping(outline),
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return path


def test_a_municipality_answers_for_each_of_its_versions(api: Database, tmp_path: Path) -> None:
    first, second = box(-96.72, 17.08, -96.70, 17.10), box(-96.72, 17.08, -96.69, 17.10)
    import_municipalities(api.engine, one_municipality(tmp_path / "a.geojson", first), actor="t")
    import_municipalities(api.engine, one_municipality(tmp_path / "b.geojson", second), actor="t")
    with httpx.Client(base_url=api.base_url) as http:
        history = http.get(f"/collections/municipalities/items/{SAN_JACINTO}/versions")
        assert history.status_code == 200, history.text
        versions = history.json()["features"]
        assert [v["properties"]["version"] for v in versions] == [1, 2]
        v1, v2 = (v["properties"] for v in versions)
        assert v1["valid_to"] == v2["valid_from"] and v2["valid_to"] is None
        assert shape(versions[0]["geometry"]).equals(first)

        memento = versions[0]["links"][0]
        assert memento["rel"] == "memento"
        then = http.get(memento["href"])
        assert then.status_code == 200, then.text
        assert then.json()["properties"]["version"] == 1
        assert shape(then.json()["geometry"]).equals(first)
        assert then.headers["memento-datetime"].endswith("GMT")

        now = http.get(f"/collections/municipalities/items/{SAN_JACINTO}").json()
        assert shape(now["geometry"]).equals(second)
        assert any(link["rel"] == "version-history" for link in now["links"])

        before = http.get(
            f"/collections/municipalities/items/{SAN_JACINTO}", params={"datetime": "1990-01-01"}
        )
        assert before.status_code == 404 and before.json()["code"] == "not_found"
        bad = http.get(
            f"/collections/municipalities/items/{SAN_JACINTO}", params={"datetime": "ayer"}
        )
        assert bad.status_code == 400 and bad.json()["error"]["details"][0]["field"] == "datetime"
        unversioned = http.get("/collections/rivers/items/1/versions")
        assert unversioned.status_code == 404


def test_a_claim_answers_for_each_version_of_its_municipalitys_line(
    api: Database, tmp_path: Path
) -> None:
    outline = box(-96.75, 17.04, -96.70, 17.09)
    import_municipalities(api.engine, one_municipality(tmp_path / "m.geojson", outline), actor="t")
    lines = [box(-96.74, 17.05, -96.71, 17.08), box(-96.74, 17.05, -96.72, 17.08)]
    ids = []
    with api.client("commission") as http:
        for day, line in zip(("2024-01-01", "2025-01-01"), lines, strict=True):
            body = {
                "cvegeo": SAN_JACINTO,
                "source": "decree",
                "geometry": mapping(line),
                "valid_from": f"{day}T00:00:00Z",
            }
            r = http.post("/claims", json=body)
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
    with api.client("planner") as http:
        history = http.get(f"/collections/claims/items/{ids[1]}/versions")
        assert history.status_code == 200, history.text
        assert [f["id"] for f in history.json()["features"]] == ids
        in_2024 = http.get(f"/collections/claims/items/{ids[1]}", params={"datetime": "2024-06-01"})
        assert in_2024.status_code == 200, in_2024.text
        assert in_2024.json()["id"] == ids[0]
        assert shape(in_2024.json()["geometry"]).equals(lines[0])
    anonymous = httpx.get(f"{api.base_url}/collections/claims/items/{ids[0]}/versions")
    assert anonymous.status_code == 401
