"""The CQL2 standard's own example filters, run on both engines.

``tests/data/cql2_examples`` holds the 120 cql2-text and 110 cql2-json examples of
OGC 21-065r2 unchanged (see its NOTICE). Their property names (``floors``,
``eo:cloud_cover`` …) are rewritten here to queryables of the inspections table,
then each example is compiled and run against a few illustrative rows. The ones
that do not run are listed below with the reason Linde gives, and each must be
refused with that reason (a 400), never a crash: they are what the share leaves out.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import shapely
from sqlalchemy import ColumnElement, func, insert, select

from geo.errors import InvalidInput
from layers.cql2 import compile_filter
from layers.cql2.source import tokens
from layers.geometry_io import to_db
from layers.schema import inspections
from tests.conftest import Database

EXAMPLES = Path(__file__).parent / "data" / "cql2_examples"
ARRAYS = frozenset({"claim_cvegeos", "metro_zone_codes"})

#: the standard's property names -> queryables of ``inspections`` (same kind of value)
RENAME = {
    "windSpeed": "severity",
    "city": "category",
    "balance": "gps_accuracy_m",
    "updated": "observed_at",
    "name": "description",
    "depth": "chainage_m",
    "cityName": "category",
    "category": "severity",
    "road_class": "category",
    "etat_vol": "description",
    "road": "geometry",
    "event_time": "observed_at",
    "touchdown": "observed_at",
    "liftOff": "annotated_at",
    "layer:ids": "metro_zone_codes",
    "vehicle_height": "river_distance_m",
    "bridge_clearance": "gps_accuracy_m",
    "landsat:scene_id": "id",
    "eo:instrument": "inspector",
    "landsat:wrs_path": "severity",
    "landsat:wrs_row": "severity",
    "eo:cloud_cover": "gps_accuracy_m",
    "footprint": "geometry",
    "beamMode": "category",
    "swathDirection": "review_status",
    "polarization": "source",
    "floors": "severity",
    "taxes": "river_distance_m",
    "owner": "inspector",
    "swimming_pool": "in_federal_zone",
    "material": "description",
    "built": "observed_at",
    "starts_at": "observed_at",
    "ends_at": "annotated_at",
    "location": "geometry",
    "geophys:SURVEY_NAME": "description",
    "value": "chainage_m",
    "foo": "severity",
    "bar": "gps_accuracy_m",
    "x": "river_distance_m",
    "values": "claim_cvegeos",
    "updated_at": "observed_at",
}
#: where one example uses a name with another kind of value than the others do
RENAME_IN = {
    "example03": {"landsat:wrs_path": "source"},  # IN ('153','154','15X'): text
    "example40": {"value": "category"},  # NOT IN ('a', 'b', 'c')
    "example40-alt01": {"value": "category"},
}

_CUSTOM_FUNCTION = "Linde's filters know CASEI, ACCENTI, the S_, T_ and A_ functions"
#: examples that do not run, and why (the message's words)
REFUSED = {
    # custom functions (conformance class "functions"), which Linde does not offer
    "clause6_01": _CUSTOM_FUNCTION,  # avg(windSpeed)
    "clause6_02b": _CUSTOM_FUNCTION,
    "clause7_18": _CUSTOM_FUNCTION,  # Buffer(geometry, 10, 'm')
    "example68": _CUSTOM_FUNCTION,  # Foo("geometry")
    "example69": _CUSTOM_FUNCTION,  # Bar("geometry", …)
    # literal arrays of booleans, numbers or timestamps against an array of text keys
    "example81": "the list must hold text keys",
    "example82": "the list must hold text keys",
    # randomly generated geometries of the test suite that are not valid
    "example46": "is invalid: Ring Self-intersection at (-0.333333, 89)",
    "example46-alt01": "is invalid: Ring Self-intersection at (-0.333333, 89)",
    "example49": "is invalid",
    "example49-alt01": "is invalid",
}


def _rows() -> list[dict[str, Any]]:
    points = to_db([shapely.Point(-96.72, 17.07), shapely.Point(-96.68, 17.06)])
    base = {
        "inspector": "test",
        "source": "test",
        "review_status": "pending",
        "description": None,
        "gps_accuracy_m": None,
        "chainage_m": None,
        "river_distance_m": None,
        "metro_zone_codes": None,
        "annotated_at": None,
    }
    return [
        {
            **base,
            "id": "i-a",
            "observed_at": datetime(2024, 3, 4, 16, 30, tzinfo=UTC),
            "annotated_at": datetime(2024, 3, 4, 16, 31, tzinfo=UTC),
            "created_at": datetime(2024, 3, 4, 16, 31, tzinfo=UTC),
            "category": "contaminacion",
            "severity": 3,
            "description": "espuma en el río",
            "gps_accuracy_m": 4.5,
            "chainage_m": 1200.0,
            "river_distance_m": 12.0,
            "in_federal_zone": True,
            "claim_cvegeos": "20067,20157",
            "metro_zone_codes": "20.1.01",
            "geom": points[0],
        },
        {
            **base,
            "id": "i-b",
            "observed_at": datetime(2024, 3, 5, 9, 0, tzinfo=UTC),
            "created_at": datetime(2024, 3, 5, 9, 1, tzinfo=UTC),
            "category": "residuos",
            "severity": 1,
            "in_federal_zone": False,
            "claim_cvegeos": "",
            "geom": points[1],
        },
    ]


@pytest.fixture
def rows(db: Database) -> Database:
    with db.engine.begin() as conn:
        conn.execute(insert(inspections), _rows())
    return db


def _queryables() -> dict[str, ColumnElement[Any]]:
    return {c.name: c for c in inspections.c if c.name != "geom"}


def rewrite_text(name: str, text: str) -> str:
    """The example with its property names replaced (strings and functions untouched)."""
    rename = {**RENAME, **RENAME_IN.get(name, {})}
    toks = tokens(text)
    out, last = [], 0
    for n, tok in enumerate(toks):
        called = n + 1 < len(toks) and toks[n + 1].text == "("
        if tok.kind == "name" and not called and tok.text in rename:
            new = rename[tok.text]
        elif tok.kind == "quoted_name" and tok.text[1:-1] in rename:
            new = f'"{rename[tok.text[1:-1]]}"'
        else:
            continue
        out += [text[last : tok.start], new]
        last = tok.end
    return "".join([*out, text[last:]])


def rewrite_json(name: str, tree: Any) -> Any:
    rename = {**RENAME, **RENAME_IN.get(name, {})}
    if isinstance(tree, dict):
        if set(tree) == {"property"}:
            return {"property": rename.get(tree["property"], tree["property"])}
        return {key: rewrite_json(name, value) for key, value in tree.items()}
    if isinstance(tree, list):
        return [rewrite_json(name, item) for item in tree]
    return tree


def _examples(kind: str) -> list[tuple[str, str]]:
    out = []
    for path in sorted((EXAMPLES / kind).iterdir()):
        raw = path.read_text(encoding="utf-8")
        if kind == "text":
            out.append((path.stem, rewrite_text(path.stem, raw.strip())))
        else:
            out.append((path.stem, json.dumps(rewrite_json(path.stem, json.loads(raw)))))
    return out


TEXT = _examples("text")
JSON = _examples("json")


def _run(db: Database, text: str, lang: str) -> int:
    with db.engine.connect() as conn:
        condition = compile_filter(
            text,
            _queryables(),
            inspections.c.geom,
            inspections,
            conn.dialect,
            lang=lang,  # type: ignore[arg-type]
            arrays=ARRAYS,
        )
        query = select(func.count()).select_from(inspections).where(condition)
        return int(conn.execute(query).scalar_one())


def _check(db: Database, name: str, text: str, lang: str) -> None:
    if name in REFUSED:
        with pytest.raises(InvalidInput) as caught:
            _run(db, text, lang)
        (only,) = caught.value.problems
        assert REFUSED[name] in only.reason, (text, only.reason)
        assert "Traceback" not in only.reason and "Error" not in only.reason
    else:
        assert 0 <= _run(db, text, lang) <= 2, text


@pytest.mark.parametrize(("name", "text"), TEXT, ids=[n for n, _ in TEXT])
def test_text_examples(rows: Database, name: str, text: str) -> None:
    _check(rows, name, text, "cql2-text")


@pytest.mark.parametrize(("name", "text"), JSON, ids=[n for n, _ in JSON])
def test_json_examples(rows: Database, name: str, text: str) -> None:
    _check(rows, name, text, "cql2-json")


def test_the_share_that_runs() -> None:
    text_run = [n for n, _ in TEXT if n not in REFUSED]
    json_run = [n for n, _ in JSON if n not in REFUSED]
    assert (len(TEXT), len(text_run)) == (120, 109)
    assert (len(JSON), len(json_run)) == (109, 100)


def test_rewriting_keeps_strings_and_functions() -> None:
    text = "CASEI(name) = CASEI('name') AND \"value\" > 1 AND avg(x) < 2"
    assert rewrite_text("any", text) == (
        "CASEI(description) = CASEI('name') AND \"chainage_m\" > 1 AND avg(river_distance_m) < 2"
    )


def test_a_few_examples_mean_what_they_say(rows: Database) -> None:
    def count(text: str) -> int:
        return _run(rows, text, "cql2-text")

    assert count(rewrite_text("example14", "swimming_pool = true")) == 1
    assert count(rewrite_text("example18", "NOT (floors<5) OR swimming_pool=true")) == 1
    assert count(rewrite_text("x", "A_CONTAINS(values, ('20157'))")) == 1
    assert count(rewrite_text("x", "A_CONTAINEDBY(values, ('20067', '20157', '20001'))")) == 2
    assert count(rewrite_text("x", "A_EQUALS(values, ('20157', '20067'))")) == 1
    assert count(rewrite_text("x", "A_OVERLAPS(values, ('20001', '20157'))")) == 1
    assert count(rewrite_text("x", '"value" = ((-1 * 1200) * -1)')) == 1
    assert count(rewrite_text("x", '0 = ("foo" % 2)')) == 0  # severities 3 and 1
    assert count(rewrite_text("x", '1 = ("foo" div 2)')) == 1  # 3 div 2
    assert count(rewrite_text("x", '"value" <= (2 ^ "foo") * 200')) == 1  # 1200 <= 1600
    # property-property: {20067, 20157} and {} on i-b; metro zones {20.1.01} and NULL
    assert count("A_CONTAINS(claim_cvegeos, claim_cvegeos)") == 2
    assert count("A_OVERLAPS(claim_cvegeos, metro_zone_codes)") == 0
    assert count("A_CONTAINEDBY(claim_cvegeos, metro_zone_codes)") == 0  # NULL on i-b
    assert count("ACCENTI(description) = ACCENTI('espuma en el rio')") == 1
    assert count("CASEI(description) LIKE CASEI('ESPUMA%')") == 1
