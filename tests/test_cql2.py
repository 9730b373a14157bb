"""CQL2-text filters compiled by ``layers.cql2``, run against real rows on both engines.

The rows are small squares and points around Oaxaca de Juárez (illustrative, not
INEGI data): A and B share the edge lon -96.70, C lies to the south of A.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from functools import reduce
from typing import Any

import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import ColumnElement, Table, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from geo.errors import InvalidInput, InvalidParameter
from layers.cql2 import MAX_FILTER_CHARS, compile_filter
from layers.geometry_io import to_db
from layers.schema import inspections, municipalities
from tests.conftest import Database

A = shapely.box(-96.75, 17.05, -96.70, 17.10)
B = shapely.box(-96.70, 17.05, -96.65, 17.10)
C = shapely.box(-96.75, 16.95, -96.70, 17.00)
D = shapely.box(-96.60, 17.20, -96.55, 17.25)

MUNICIPALITIES = [
    # cvegeo, name, population, valid_from, polygon
    ("20067", "Oaxaca de Juárez", 270955, datetime(2024, 1, 1, tzinfo=UTC), A),
    ("20157", "San Jacinto Amilpas", 16827, datetime(2024, 6, 1, 12, tzinfo=UTC), B),
    ("20385", "Santa Cruz Xoxocotlán", 100000, datetime(2023, 3, 15, tzinfo=UTC), C),
    ("20999", "Barrio O'Farrill_100%", None, datetime(2024, 1, 1, tzinfo=UTC), D),
]
INSPECTIONS = [
    # id, observed_at, category, severity, description, gps_accuracy_m, point
    (
        "i-a",
        datetime(2024, 3, 4, 16, 30, tzinfo=UTC),
        "contaminacion",
        3,
        "espuma",
        4.5,
        (-96.72, 17.07),
    ),
    ("i-b", datetime(2024, 3, 5, 9, 0, tzinfo=UTC), "residuos", 1, None, None, (-96.68, 17.06)),
    (
        "i-c",
        datetime(2023, 12, 31, 23, 59, 59, tzinfo=UTC),
        "relleno",
        5,
        "Escombro",
        12.0,
        (-96.72, 16.97),
    ),
]
ALL_M = {row[0] for row in MUNICIPALITIES}
ALL_I = {row[0] for row in INSPECTIONS}


def _municipality_rows() -> list[dict[str, Any]]:
    geoms = to_db([shapely.MultiPolygon([row[4]]) for row in MUNICIPALITIES])
    return [
        {
            "cvegeo": cvegeo,
            "name": name,
            "state_code": "20",
            "state_name": "Oaxaca",
            "population": population,
            "dwellings": None,
            "version": 1,
            "source": "test",
            "content_sha256": "0" * 64,
            "valid_from": valid_from,
            "geom": geom,
        }
        for (cvegeo, name, population, valid_from, _), geom in zip(
            MUNICIPALITIES, geoms, strict=True
        )
    ]


def _inspection_rows() -> list[dict[str, Any]]:
    geoms = to_db([shapely.Point(*row[6]) for row in INSPECTIONS])
    return [
        {
            "id": id_,
            "observed_at": observed_at,
            "category": category,
            "severity": severity,
            "description": description,
            "gps_accuracy_m": accuracy,
            "inspector": "test",
            "source": "test",
            "created_at": observed_at,
            "geom": geom,
        }
        for (id_, observed_at, category, severity, description, accuracy, _), geom in zip(
            INSPECTIONS, geoms, strict=True
        )
    ]


@pytest.fixture
def rows(db: Database) -> Database:
    with db.engine.begin() as conn:
        conn.execute(insert(municipalities), _municipality_rows())
        conn.execute(insert(inspections), _inspection_rows())
    return db


def queryables(table: Table) -> dict[str, ColumnElement[Any]]:
    return {c.name: c for c in table.c if c.name != "geom"}


def matches(db: Database, text: str, table: Table = municipalities) -> set[str]:
    key = table.c.cvegeo if table is municipalities else table.c.id
    with db.engine.connect() as conn:
        condition = compile_filter(text, queryables(table), table.c.geom, table, conn.dialect)
        return set(conn.execute(select(key).where(condition)).scalars())


def problem(text: str, dialect: Dialect | None = None) -> str:
    """The reason the filter is refused (compiled only: no database needed)."""
    with pytest.raises(InvalidParameter) as caught:
        compile_filter(
            text,
            queryables(municipalities),
            municipalities.c.geom,
            municipalities,
            dialect or postgresql.dialect(),
        )
    assert isinstance(caught.value, InvalidInput)
    (only,) = caught.value.problems
    assert only.field == "filter"
    return only.reason


# --- comparisons and logic ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cvegeo = '20067'", {"20067"}),
        ("cvegeo <> '20067'", ALL_M - {"20067"}),
        ("cvegeo != '20067'", ALL_M - {"20067"}),
        ("population < 100000", {"20157"}),
        ("population <= 100000", {"20157", "20385"}),
        ("population > 100000", {"20067"}),
        ("population >= 100000", {"20067", "20385"}),
        ("population > 99999.5", {"20067", "20385"}),
        ("100000 < population", {"20067"}),  # the literal on the left
        ("name = 'San Jacinto Amilpas'", {"20157"}),
        ("name = 'Oaxaca de Juárez'", {"20067"}),
        ("\"name\" = 'Oaxaca de Juárez'", {"20067"}),  # a double-quoted property
        ("cvegeo = '200670'", set()),  # a longer value is not cut to VARCHAR(5)
        ("name = 'Barrio O''Farrill_100%'", {"20999"}),  # '' is a quote
        ("population > 20000 AND population < 200000", {"20385"}),
        ("cvegeo = '20067' OR cvegeo = '20157'", {"20067", "20157"}),
        ("NOT cvegeo = '20067'", ALL_M - {"20067"}),
        ("NOT (population > 20000)", {"20157"}),  # NULL population: neither side
        ("(cvegeo = '20067' OR cvegeo = '20157') AND population < 20000", {"20157"}),
        ("1 = 1", ALL_M),
        ("1 = 2", set()),
        ("TRUE", ALL_M),
        ("FALSE", set()),
        ("population = 16827 AND\n  name = 'San Jacinto Amilpas'", {"20157"}),  # line breaks
    ],
)
def test_comparisons_and_logic(rows: Database, text: str, expected: set[str]) -> None:
    assert matches(rows, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("population + 1 = 16828", {"20157"}),
        ("population - population = 0", ALL_M - {"20999"}),  # NULL population: unknown
        ("population / 2 = 8413.5", {"20157"}),  # real division, not integer
        ("population div 2 = 8413", {"20157"}),
        ("population % 10 = 7", {"20157"}),
        ("-population < -200000", {"20067"}),
        ("population * 2 > version * 50000 + 100000", {"20067", "20385"}),
        ("2 ^ 3 = 8 AND cvegeo = '20067'", {"20067"}),
        ("version ^ 0.5 = 1", ALL_M),
        ("population / (version - 1) > 0", set()),  # division by zero: NULL, not an error
        # beyond a double: NULL on both engines, never an overflow error from PostgreSQL
        ("population * 1e100 * 1e100 * 1e100 * 1e100 > 1", set()),
        ("2 ^ population > 1", set()),
        ("(0 - version) ^ 0.5 > 0", set()),  # a negative base, a fractional exponent
    ],
)
def test_arithmetic(rows: Database, text: str, expected: set[str]) -> None:
    assert matches(rows, text) == expected


def test_and_binds_tighter_than_or(rows: Database) -> None:
    # pygeofilter alone reads this as (A OR B) AND C, which would match nothing.
    text = "cvegeo = '20067' OR cvegeo = '20157' AND population > 20000"
    assert matches(rows, text) == {"20067"}
    assert matches(rows, "population > 20000 AND cvegeo = '20385' OR cvegeo = '20157'") == {
        "20385",
        "20157",
    }
    # BETWEEN's own AND is not a connective
    text = "cvegeo = '20999' OR population BETWEEN 1 AND 20000 AND cvegeo = '20157'"
    assert matches(rows, text) == {"20999", "20157"}
    text = "(cvegeo = '20999' OR cvegeo = '20067' AND population < 0) AND version = 1"
    assert matches(rows, text) == {"20999"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name LIKE 'San%'", {"20157", "20385"}),
        ("name LIKE 'San %'", {"20157"}),
        ("name LIKE 'Sant_ Cruz%'", {"20385"}),
        ("name LIKE 'san%'", set()),  # case-sensitive on both engines
        ("CASEI(name) LIKE CASEI('san%')", {"20157", "20385"}),
        ("casei(name) = casei('OAXACA DE JUáREZ')", {"20067"}),
        ("CASEI(name) = CASEI('OAXACA DE JUÁREZ')", {"20067"}),  # SQLite's lower() keeps Á
        ("ACCENTI(name) = ACCENTI('Oaxaca de Juarez')", {"20067"}),
        ("ACCENTI(CASEI(name)) LIKE 'oaxaca de juarez'", {"20067"}),
        ("ACCENTI(name) = 'Oaxaca de Juárez'", set()),  # the literal keeps its accent
        ("name NOT LIKE 'San %'", ALL_M - {"20157"}),
        ("name LIKE '%\\_100\\%'", {"20999"}),  # escaped wildcards are literal
        ("name LIKE '%O''F%'", {"20999"}),
        ("name LIKE '%*%'", set()),  # GLOB's wildcards are literal characters in CQL2
        ("name LIKE '%[%'", set()),
        ("cvegeo IN ('20067', '20157', 'nope')", {"20067", "20157"}),
        ("cvegeo NOT IN ('20067', '20157')", {"20385", "20999"}),
        ("population IN (16827)", {"20157"}),
        ("population BETWEEN 16827 AND 100000", {"20157", "20385"}),
        ("population NOT BETWEEN 16827 AND 100000", {"20067"}),
        ("population IS NULL", {"20999"}),
        ("population IS NOT NULL", ALL_M - {"20999"}),
        # property-property
        ("name LIKE name", ALL_M),  # its own % and _ are wildcards that match themselves
        ("name NOT LIKE CASEI(name)", ALL_M),  # capitals: case-sensitive on both engines
        ("state_name LIKE name", set()),
        ("population BETWEEN version AND population", ALL_M - {"20999"}),
        ("cvegeo IN (state_code, name, cvegeo)", ALL_M),
        ("population > version", ALL_M - {"20999"}),
    ],
)
def test_like_in_between_null(rows: Database, text: str, expected: set[str]) -> None:
    assert matches(rows, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("valid_from = TIMESTAMP('2024-01-01T00:00:00Z')", {"20067", "20999"}),
        ("valid_from > TIMESTAMP('2024-01-01T00:00:00Z')", {"20157"}),
        ("valid_from < DATE('2024-01-01')", {"20385"}),
        ("valid_from = DATE('2024-01-01')", {"20067", "20999"}),  # midnight UTC
        ("valid_from >= timestamp('2024-06-01T06:00:00-06:00')", {"20157"}),  # 12:00 UTC
        ("valid_from > TIMESTAMP('2024-06-01T06:00:00-06:00')", set()),
        ("valid_from BETWEEN DATE('2023-01-01') AND DATE('2023-12-31')", {"20385"}),
        # the standard's function form (pygeofilter only read an infix one)
        ("T_BEFORE(valid_from, DATE('2024-01-01'))", {"20385"}),
        ("t_after(valid_from, TIMESTAMP('2024-01-01T00:00:00Z'))", {"20157"}),
        ("T_EQUALS(valid_from, TIMESTAMP('2024-01-01T00:00:00Z'))", {"20067", "20999"}),
        (
            "T_INTERSECTS(valid_from, INTERVAL('2024-01-01T00:00:00Z', '2024-06-01T11:59:59Z'))",
            {"20067", "20999"},
        ),
        ("T_BEFORE(TIMESTAMP('2024-01-01T00:00:00Z'), valid_from)", {"20157"}),
        ("T_DURING(valid_from, INTERVAL('2023-01-01', '..'))", ALL_M),
        ("T_DURING(valid_from, INTERVAL('..', '2024-01-01T00:00:00Z'))", {"20385"}),
        ("T_MEETS(INTERVAL('2023-01-01', valid_from), INTERVAL(valid_from, '..'))", ALL_M),
        ("T_AFTER(valid_from, valid_from)", set()),  # property-property
        ("T_DISJOINT(valid_from, INTERVAL('2024-01-01', '2024-05-31'))", {"20157", "20385"}),
    ],
)
def test_timestamps(rows: Database, text: str, expected: set[str]) -> None:
    assert matches(rows, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("severity >= 3", {"i-a", "i-c"}),
        ("gps_accuracy_m < 5", {"i-a"}),
        ("description IS NULL", {"i-b"}),
        ("category IN ('residuos', 'relleno') AND severity > 1", {"i-c"}),
        ("observed_at < TIMESTAMP('2024-01-01T00:00:00Z')", {"i-c"}),
        ("T_AFTER(observed_at, DATE('2024-03-05'))", {"i-b"}),
        (
            "S_WITHIN(geometry, POLYGON((-96.75 17.05, -96.70 17.05, -96.70 17.10, "
            "-96.75 17.10, -96.75 17.05)))",
            {"i-a"},
        ),
        (
            "S_INTERSECTS(geom, MULTIPOLYGON(((-96.75 17.05, -96.70 17.05, -96.70 17.10, "
            "-96.75 17.10, -96.75 17.05)), ((-96.75 16.95, -96.70 16.95, -96.70 17.00, "
            "-96.75 17.00, -96.75 16.95))))",
            {"i-a", "i-c"},
        ),
        ("S_EQUALS(geom, POINT(-96.68 17.06))", {"i-b"}),
        ("S_INTERSECTS(geom, MULTIPOINT((-96.68 17.06), (-96.72 16.97)))", {"i-b", "i-c"}),
        ("BBOX(geom, -96.8, 17.0, -96.6, 17.1) AND severity < 3", {"i-b"}),
    ],
)
def test_inspections(rows: Database, text: str, expected: set[str]) -> None:
    assert matches(rows, text, inspections) == expected


# --- spatial --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("S_INTERSECTS(geometry, POINT(-96.72 17.07))", {"20067"}),
        ("s_intersects(geom, point(-96.72 17.07))", {"20067"}),  # case-insensitive
        ("S_INTERSECTS(POINT(-96.72 17.07), geom)", {"20067"}),  # literal first
        ("S_INTERSECTS(geom, POINT(-96.70 17.07))", {"20067", "20157"}),  # on the shared edge
        ("S_INTERSECTS(geom, LINESTRING(-96.72 17.07, -96.68 17.07))", {"20067", "20157"}),
        ("S_INTERSECTS(geom, POINT(-96.72 17.07)) AND population > 300000", set()),
        ("S_CONTAINS(geom, POINT(-96.72 17.07))", {"20067"}),
        ("S_CONTAINS(geom, LINESTRING(-96.72 17.07, -96.68 17.07))", set()),
        ("S_WITHIN(POINT(-96.72 17.07), geom)", {"20067"}),  # = S_CONTAINS(geom, …)
        (
            "S_WITHIN(geom, POLYGON((-96.8 16.9, -96.6 16.9, -96.6 17.2, -96.8 17.2, -96.8 16.9)))",
            {"20067", "20157", "20385"},
        ),
        ("S_DISJOINT(geom, POINT(-96.72 17.07))", ALL_M - {"20067"}),
        ("S_TOUCHES(geom, POINT(-96.70 17.07))", {"20067", "20157"}),
        ("S_TOUCHES(geom, POINT(-96.72 17.07))", set()),
        ("S_CROSSES(geom, LINESTRING(-96.72 17.07, -96.68 17.07))", {"20067", "20157"}),
        (
            "S_OVERLAPS(geom, POLYGON((-96.72 17.06, -96.68 17.06, -96.68 17.08, "
            "-96.72 17.08, -96.72 17.06)))",
            {"20067", "20157"},
        ),
        (
            "S_EQUALS(geom, POLYGON((-96.75 17.05, -96.70 17.05, -96.70 17.10, "
            "-96.75 17.10, -96.75 17.05)))",
            {"20067"},
        ),
        ("BBOX(geom, -96.74, 16.96, -96.73, 17.06)", {"20067", "20385"}),
        ("S_INTERSECTS(geom, POINT Z(-96.72 17.07 1500))", {"20067"}),  # Z is dropped
        ("S_WITHIN(geom, BBOX(-96.76, 17.04, -96.69, 17.11))", {"20067"}),  # a BBOX literal
        ("S_INTERSECTS(geom, geometry)", ALL_M),  # property-property
        ("S_INTERSECTS(POINT(-96.72 17.07), POINT(-96.72 17.07))", ALL_M),  # decided here
    ],
)
def test_spatial_predicates(rows: Database, text: str, expected: set[str]) -> None:
    assert matches(rows, text) == expected


@pytest.mark.parametrize("dialect", [postgresql.dialect(), sqlite.dialect()], ids=["pg", "sqlite"])
def test_spatial_predicates_ask_the_spatial_index(dialect: Dialect) -> None:
    condition = compile_filter(
        "S_INTERSECTS(geom, POINT(-96.72 17.07))",
        queryables(municipalities),
        municipalities.c.geom,
        municipalities,
        dialect,
    )
    sql = str(select(municipalities.c.cvegeo).where(condition).compile(dialect=dialect))
    assert ("&&" in sql) if dialect.name == "postgresql" else ("idx_municipalities_geom" in sql)
    assert "-96.72" not in sql  # the WKT is a bound parameter


def test_the_database_plans_s_intersects_through_the_spatial_index(rows: Database) -> None:
    with rows.engine.connect() as conn:
        condition = compile_filter(
            "S_INTERSECTS(geom, POINT(-96.72 17.07))",
            queryables(municipalities),
            municipalities.c.geom,
            municipalities,
            conn.dialect,
        )
        query = select(municipalities.c.cvegeo).where(condition)
        sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
        if rows.kind == "postgis":
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {sql}"))
            assert "idx_municipalities_geom" in plan, plan
        else:
            plan = "\n".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
            assert "idx_municipalities_geom" in plan, plan


# --- security -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "name = 'x''; DROP TABLE municipalities; --'",
        "name = 'x'' OR ''1''=''1'",
        "cvegeo IN ('1'');DELETE FROM municipalities;--')",
        "name LIKE '%''; DROP TABLE municipalities; --'",
        "S_INTERSECTS(geom, POINT(-96.72 17.07)) AND name = ')); DROP TABLE municipalities; --'",
    ],
)
def test_injection_in_values_matches_nothing_and_tables_survive(rows: Database, text: str) -> None:
    assert matches(rows, text) == set()
    with rows.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(municipalities)).scalar_one() == 4


def test_injection_in_names_is_an_unknown_property(rows: Database) -> None:
    reason = problem('"name); DROP TABLE x; --" = 1')
    assert reason.startswith("unknown property 'name); DROP TABLE x; --' at column 1")
    assert "queryable properties: cvegeo, name, state_code" in reason
    assert "colour" in problem("colour = 'red'")
    with rows.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(municipalities)).scalar_one() == 4


def test_the_value_of_a_literal_is_never_in_the_sql() -> None:
    condition = compile_filter(
        "name = 'Robert''); DROP TABLE students;--' OR population > 7",
        queryables(municipalities),
        municipalities.c.geom,
        municipalities,
        postgresql.dialect(),
    )
    compiled = condition.compile(dialect=postgresql.dialect())
    assert "DROP" not in str(compiled) and "7" not in str(compiled)
    assert "Robert'); DROP TABLE students;--" in compiled.params.values()


# --- errors ---------------------------------------------------------------------------------


def test_syntax_errors_say_where() -> None:
    reason = problem("name = 'a' AND AND population > 1")
    assert reason.startswith("syntax error at column 20: unexpected 'population'"), reason
    assert reason.endswith("name = 'a' AND AND population > 1\n                     ^")
    assert problem("name = = 'x'").startswith(
        "syntax error at column 8: unexpected '='; expected a property or a value"
    )
    assert problem("(name = 'a'").startswith("syntax error at column 12: unexpected end of filter")
    assert "the ' opened here is never closed" in problem("name = 'abc")
    assert "line 2, column 5" in problem("name = 'a'\nAND > 3")
    assert "T_MEETS(property, TIMESTAMP(…))" in problem(
        "valid_from T_MEETS TIMESTAMP('2024-01-01T00:00:00Z')"
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("population > 'many'", "cannot compare property 'population' (a number) at column 1"),
        ("cvegeo = 20067", "quote the value: '20067'"),
        ("valid_from > '2024-01-01'", "write TIMESTAMP('2024-01-31T12:00:00Z')"),
        ("name > population", "cannot compare property 'name' (text)"),
        ("population LIKE '1%'", "LIKE needs a text property"),
        ("name LIKE 'abc\\'", "lone backslash"),
        ("name LIKE population", "needs a quoted pattern"),
        ("geom = 'x'", "can only be used in spatial predicates"),
        ("name = POINT(1 2)", "geometry literal can only be used in spatial predicates"),
        ("population + 'a' > 2", "+ needs numbers, not 'a' (text)"),
        ("population / 0 > 2 / 0", "/: division by zero"),
        ("CASEI(population) = 'x'", "CASEI needs text, not property 'population' (a number)"),
        ("ACCENTI(1) = 'x'", "ACCENTI needs text, not 1"),
        ("name = NULL", "using IS NULL"),
        ("T_BEFORE(name, DATE('2024-01-01'))", "T_BEFORE at column 1 compares timestamps"),
        ("A_CONTAINS(name, ('a'))", "A_CONTAINS at column 1 needs an array property"),
        ("upper(name) = 'X'", "unknown function 'upper'"),
        ("avg(colour) > 1", "unknown function 'avg' at column 1"),  # before its argument
        ("valid_from > TIMESTAMP('2024-02-30T00:00:00Z')", "at column 24: not a real moment"),
        ("valid_from > TIMESTAMP('2024-01-01T00:00:00')", "no time zone"),
        ("valid_from > TIMESTAMP('20240203T040506Z')", "not a timestamp"),
        ("valid_from > DATE('2024-13-01')", "DATE('2024-13-01') at column 19: not a real day"),
        ("population * 1e300 > 1", "too large for arithmetic"),
        ("S_INTERSECTS(name, POINT(1 2))", "needs the geometry property on one side"),
        ("S_INTERSECTS(geom, name)", "needs a geometry literal"),
        ("S_INTERSECTS(geom, POINT(17.07 -96.72))", "lon and lat look swapped"),
        ("S_INTERSECTS(geom, POINT(-196.72 17.07))", "outside lon -180..180"),
        (
            "S_INTERSECTS(geom, POLYGON((-96.75 17.05, -96.70 17.10, -96.70 17.05, "
            "-96.75 17.10, -96.75 17.05)))",
            "invalid: Self-intersection at (-96.725, 17.075)",
        ),
        ("S_INTERSECTS(geom, POLYGON((-96.75 17.05, -96.70 17.10)))", "cannot be built"),
        ("S_INTERSECTS(geom, POINT EMPTY)", "empty geometry"),
        ("name = 'a' AND S_WITHIN(geom, POINT(17.07 -96.72))", "S_WITHIN at column 16 has"),
        ("S_WITHIN(POINT(1 2), geom) AND S_CONTAINS(geom, POINT(1 95))", "S_CONTAINS at column"),
        ("BBOX(geom, -96.6, 17.0, -96.8, 17.1)", "lower corner"),
        ("BBOX(geom, -96.8, 17.0, -96.6, 17.1, 'EPSG:3857')", "CRS84"),
        ("name = 'a\x00'", "U+0000"),
        ("   ", "empty"),
    ],
)
def test_semantic_errors(text: str, words: str) -> None:
    assert words in problem(text), problem(text)


def test_the_position_of_the_right_occurrence_is_reported() -> None:
    reason = problem("population > 1 AND name = 'x' AND population = 'many'")
    assert "at column 35" in reason, reason


def test_size_and_nesting_are_capped() -> None:
    assert "too long" in problem("name = '" + "x" * MAX_FILTER_CHARS + "'")
    nested = "name = 'a'"
    for n in range(60):
        nested = f"name = '{n}' {'AND' if n % 2 else 'OR'} ({nested})"
    assert "nested too deeply" in problem(nested)
    assert "too complex" in problem("population IN (" + ",".join(["1"] * 2500) + ")")


def test_long_flat_chains_compile_and_run(rows: Database) -> None:
    text = " OR ".join(f"population = {n}" for n in range(400)) + " OR cvegeo = '20157'"
    assert len(text) < MAX_FILTER_CHARS
    assert matches(rows, text) == {"20157"}
    parens = "(" * 300 + "cvegeo = '20067'" + ")" * 300
    assert matches(rows, parens) == {"20067"}


# --- any text: compiled, or refused with InvalidInput -----------------------------------------

_PIECES = [
    "name",
    "population",
    "valid_from",
    "geom",
    '"cvegeo"',
    "=",
    "<>",
    "<",
    ">=",
    "AND",
    "OR",
    "NOT",
    "(",
    ")",
    ",",
    "'x'",
    "''",
    "'O''F'",
    "1",
    "-2.5",
    "1e999",
    "LIKE",
    "'%a_'",
    "IN",
    "BETWEEN",
    "IS",
    "NULL",
    "TRUE",
    "S_INTERSECTS(",
    "POINT(-96.7 17.0)",
    "POINT(200 100)",
    "BBOX(",
    "TIMESTAMP('2024-01-01T00:00:00Z')",
    "DATE('2024-02-30')",
    "CASEI(",
    "T_BEFORE",
    "INTERVAL(",
    "\n",
    "\\",
    "'",
    '"',
    "-",
    "+",
    "MULTIPOINT((1 2))",
    "SRID=4326;",
]


def _dialects() -> Iterator[Dialect]:
    yield postgresql.dialect()
    yield sqlite.dialect()


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.text(max_size=200), st.lists(st.sampled_from(_PIECES), max_size=25).map(" ".join))
)
def test_any_text_compiles_or_is_refused_cleanly(text: str) -> None:
    for dialect in _dialects():
        try:
            condition = compile_filter(
                text, queryables(municipalities), municipalities.c.geom, municipalities, dialect
            )
        except InvalidInput as exc:
            assert exc.problems and exc.problems[0].field == "filter"
            continue
        condition.compile(dialect=dialect)


_VALUES = st.sampled_from(
    [
        "'x'",
        "''''",
        "'%'",
        "1",
        "-2.5",
        "1e308",
        "9223372036854775807",
        "TRUE",
        "TIMESTAMP('2024-01-01T00:00:00Z')",
        "DATE('2024-01-01')",
        "CASEI('A')",
        "state_code",
        "population",
    ]
)
_GEOMETRIES = st.sampled_from(
    [
        "POINT(-96.72 17.07)",
        "LINESTRING(-96.72 17.07, -96.68 17.07)",
        "POLYGON((-180 -90, 180 -90, 180 90, -180 90, -180 -90))",
        "MULTIPOINT((-96.72 17.07), (-96.68 17.06))",
        "GEOMETRYCOLLECTION(POINT(-96.72 17.07), LINESTRING(-96.72 17.07, -96.68 17.07))",
        "ENVELOPE(1 2 3 4)",
        "POINT(-96.7 17.05 2000)",
    ]
)
_SPATIAL = st.sampled_from(
    [
        "S_INTERSECTS",
        "S_DISJOINT",
        "S_CONTAINS",
        "S_WITHIN",
        "S_TOUCHES",
        "S_CROSSES",
        "S_OVERLAPS",
        "S_EQUALS",
    ]
)
_PROPS = st.sampled_from(["name", "cvegeo", "population", "valid_from", "version", "CASEI(name)"])
_PREDICATES = st.one_of(
    st.builds(
        "{} {} {}".format, _PROPS, st.sampled_from(["=", "<>", "<", ">=", "T_BEFORE"]), _VALUES
    ),
    st.builds("{} LIKE {}".format, _PROPS, _VALUES),
    st.builds("{} IN ({}, {})".format, _PROPS, _VALUES, _VALUES),
    st.builds("{} BETWEEN {} AND {}".format, _PROPS, _VALUES, _VALUES),
    st.builds("{} IS NULL".format, _PROPS),
    st.builds("{}(geom, {})".format, _SPATIAL, _GEOMETRIES),
    st.builds("{}({}, geometry)".format, _SPATIAL, _GEOMETRIES),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.lists(_PREDICATES, min_size=1, max_size=3).map(" OR NOT ".join))
def test_whatever_compiles_also_runs(rows: Database, text: str) -> None:
    """No filter that compiles makes the database fail (that would be a 500)."""
    try:
        found = matches(rows, text)
    except InvalidInput:
        return
    assert found <= ALL_M


_VALID = st.sampled_from(
    [
        "name LIKE 'San%'",
        "population > 20000",
        "population IS NULL",
        "cvegeo IN ('20067', '20157')",
        "valid_from < DATE('2024-01-01')",
        "S_INTERSECTS(geom, POINT(-96.72 17.07))",
        "S_DISJOINT(geom, POINT(-96.72 17.07))",
        "CASEI(name) = CASEI('oaxaca de juárez')",
        "population BETWEEN 1 AND 20000",
    ]
)


@st.composite
def _filters(draw: st.DrawFn, depth: int = 0) -> tuple[str, Any]:
    """A random filter (AND and OR mixed, unparenthesised) and what CQL2 says it means.

    The meaning is a function of a row giving True, False or None (SQL's unknown).
    """
    terms: list[tuple[str, Any]] = []
    for _ in range(draw(st.integers(1, 4 if depth < 2 else 2))):
        if depth < 2 and draw(st.integers(0, 3)) == 0:
            text, meaning = draw(_filters(depth + 1))
            terms.append((f"({text})", meaning))
        else:
            text = draw(_VALID)
            meaning = _MEANING[text]
            if draw(st.booleans()):  # NOT takes a single predicate in this grammar
                text, meaning = f"NOT {text}", _not(meaning)
            terms.append((text, meaning))
    ops = [draw(st.sampled_from(["AND", "OR"])) for _ in terms[1:]]
    text = terms[0][0] + "".join(f" {op} {t}" for op, (t, _) in zip(ops, terms[1:], strict=True))
    groups: list[list[Any]] = [[terms[0][1]]]  # AND binds tighter than OR
    for op, (_, meaning) in zip(ops, terms[1:], strict=True):
        if op == "AND":
            groups[-1].append(meaning)
        else:
            groups.append([meaning])

    def means(r: dict[str, Any]) -> bool | None:
        return reduce(_or, (reduce(_and, (f(r) for f in group)) for group in groups))

    return text, means


def _not(f: Any) -> Any:
    return lambda r: None if f(r) is None else not f(r)


def _and(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def _or(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


def _pop(r: dict[str, Any], test: Any) -> bool | None:
    return None if r["population"] is None else bool(test(r["population"]))


_MEANING: dict[str, Any] = {
    "name LIKE 'San%'": lambda r: r["name"].startswith("San"),  # Santa Cruz too
    "population > 20000": lambda r: _pop(r, lambda p: p > 20000),
    "population IS NULL": lambda r: r["population"] is None,
    "cvegeo IN ('20067', '20157')": lambda r: r["cvegeo"] in ("20067", "20157"),
    "valid_from < DATE('2024-01-01')": lambda r: r["valid_from"] < datetime(2024, 1, 1, tzinfo=UTC),
    "S_INTERSECTS(geom, POINT(-96.72 17.07))": lambda r: r["geom"].intersects(
        shapely.Point(-96.72, 17.07)
    ),
    "S_DISJOINT(geom, POINT(-96.72 17.07))": lambda r: r["geom"].disjoint(
        shapely.Point(-96.72, 17.07)
    ),
    "CASEI(name) = CASEI('oaxaca de juárez')": lambda r: r["cvegeo"] == "20067",
    "population BETWEEN 1 AND 20000": lambda r: _pop(r, lambda p: 1 <= p <= 20000),
}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=_filters())
def test_random_filters_mean_what_cql2_says(rows: Database, case: tuple[str, Any]) -> None:
    text, meaning = case
    records = [
        {"cvegeo": c, "name": n, "population": p, "valid_from": v, "geom": g}
        for c, n, p, v, g in MUNICIPALITIES
    ]
    expected = {r["cvegeo"] for r in records if meaning(r) is True}
    assert matches(rows, text) == expected, text
