"""cql2-json filters: any JSON is compiled or refused with a 400 on ``filter``, and what
compiles also runs on both engines (a database error would be a 500 or a 422)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import ColumnElement, select
from sqlalchemy.dialects import postgresql, sqlite

from geo.errors import InvalidInput
from layers.cql2 import compile_filter
from layers.schema import municipalities
from tests.conftest import Database

_QUERYABLES: dict[str, ColumnElement[Any]] = {
    c.name: c for c in municipalities.c if c.name != "geom"
}

_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(
        [
            {"property": "name"},
            {"property": "population"},
            {"property": "valid_from"},
            {"property": "geometry"},
            {"property": "nope"},
            {"timestamp": "2024-01-01T00:00:00Z"},
            {"timestamp": "2024-02-30T00:00:00Z"},
            {"date": "2024-01-01"},
            {"interval": ["2024-01-01", ".."]},
            {"interval": [{"property": "valid_from"}, "2025-01-01T00:00:00Z"]},
            {"bbox": [-96.8, 17.0, -96.6, 17.1]},
            {"bbox": [1, 2]},
            {"type": "Point", "coordinates": [-96.72, 17.07]},
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]},
            {"type": "Point", "coordinates": [17.07, -96.72, 3]},
        ]
    ),
)
_OPS = st.sampled_from(
    [
        "and", "or", "not", "=", "<>", "<", ">=", "like", "between", "in", "isNull", "casei",
        "accenti", "s_intersects", "s_within", "s_disjoint", "t_before", "t_during",
        "t_intersects", "a_contains", "a_overlaps", "+", "-", "*", "/", "%", "div", "^", "avg",
    ]
)  # fmt: skip
_TREES = st.recursive(
    _LEAVES,
    lambda children: st.one_of(
        st.builds(lambda op, args: {"op": op, "args": args}, _OPS, st.lists(children, max_size=3)),
        st.lists(children, max_size=3),
    ),
    max_leaves=12,
)

# Mostly well-formed trees, so that many compile and reach the databases.
_NUMBERS = st.one_of(
    st.sampled_from([{"property": "population"}, {"property": "version"}]),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.integers(-(10**6), 10**6),
)
_ARITHMETIC = st.builds(
    lambda op, a, b: {"op": op, "args": [a, b]},
    st.sampled_from(["+", "-", "*", "/", "%", "div", "^"]),
    _NUMBERS,
    _NUMBERS,
)
_NUMERIC = st.one_of(_NUMBERS, _ARITHMETIC)
_TEXTS = st.one_of(
    st.sampled_from([{"property": "name"}, {"property": "cvegeo"}]),
    st.text(max_size=8),
    st.builds(
        lambda v: {"op": "casei", "args": [v]}, st.sampled_from(["São", {"property": "name"}])
    ),
)
_TIMES = st.sampled_from(
    [
        {"property": "valid_from"},
        {"timestamp": "2024-01-01T00:00:00Z"},
        {"date": "2023-06-30"},
        {"interval": ["2024-01-01", ".."]},
        {"interval": [{"property": "valid_from"}, "2025-01-01T00:00:00Z"]},
    ]
)
_SHAPES = st.sampled_from(
    [
        {"property": "geometry"},
        {"type": "Point", "coordinates": [-96.72, 17.07]},
        {"bbox": [-96.8, 17.0, -96.6, 17.1]},
        {"type": "LineString", "coordinates": [[-96.8, 17.0], [-96.6, 17.1]]},
    ]
)
_COMPARE = st.sampled_from(["=", "<>", "<", "<=", ">", ">="])
_PREDICATES = st.one_of(
    st.builds(lambda op, a, b: {"op": op, "args": [a, b]}, _COMPARE, _NUMERIC, _NUMERIC),
    st.builds(lambda op, a, b: {"op": op, "args": [a, b]}, _COMPARE, _TEXTS, _TEXTS),
    st.builds(lambda a, b: {"op": "like", "args": [a, b]}, _TEXTS, _TEXTS),
    st.builds(lambda a, b, c: {"op": "between", "args": [a, b, c]}, _NUMERIC, _NUMERIC, _NUMERIC),
    st.builds(lambda a, b: {"op": "in", "args": [a, b]}, _TEXTS, st.lists(_TEXTS, max_size=3)),
    st.builds(lambda a: {"op": "isNull", "args": [a]}, st.one_of(_NUMERIC, _TEXTS)),
    st.builds(
        lambda op, a, b: {"op": op, "args": [a, b]},
        st.sampled_from(["s_intersects", "s_within", "s_contains", "s_disjoint", "s_touches"]),
        _SHAPES,
        _SHAPES,
    ),
    st.builds(
        lambda op, a, b: {"op": op, "args": [a, b]},
        st.sampled_from(["t_before", "t_after", "t_during", "t_intersects", "t_meets"]),
        _TIMES,
        _TIMES,
    ),
)
_CONDITIONS = st.recursive(
    _PREDICATES,
    lambda children: st.one_of(
        st.builds(lambda a: {"op": "not", "args": [a]}, children),
        st.builds(
            lambda op, args: {"op": op, "args": args},
            st.sampled_from(["and", "or"]),
            st.lists(children, min_size=2, max_size=3),
        ),
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(_TREES)
def test_any_json_compiles_or_is_refused_cleanly(tree: Any) -> None:
    text = json.dumps(tree)
    for dialect in (postgresql.dialect(), sqlite.dialect()):
        try:
            condition = compile_filter(
                text, _QUERYABLES, municipalities.c.geom, municipalities, dialect, lang="cql2-json"
            )
        except InvalidInput as exc:
            (only,) = exc.problems
            assert only.field == "filter"
            assert "Error" not in only.reason and "Traceback" not in only.reason, only.reason
            continue
        condition.compile(dialect=dialect)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_CONDITIONS)
def test_whatever_json_compiles_also_runs(db: Database, tree: Any) -> None:
    with db.engine.connect() as conn:
        try:
            condition = compile_filter(
                json.dumps(tree),
                _QUERYABLES,
                municipalities.c.geom,
                municipalities,
                conn.dialect,
                lang="cql2-json",
            )
        except InvalidInput:
            return
        conn.execute(select(municipalities.c.cvegeo).where(condition)).all()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{", "not valid JSON at line 1, column 2"),
        ('{"foo": 1}', "not a CQL2-JSON expression"),
        ('{"op": "=", "args": [{"property": "name"}]}', "= takes 2 arguments, not 1"),
        ('{"op": "s_within", "args": [{"property": "geom"}, 3]}', "S_WITHIN needs a geometry"),
        ('{"op": "between", "args": [{"property": "name"}, 1, 2]}', "cannot compare"),
        ('{"op": "avg", "args": [{"property": "population"}]}', "unknown function 'avg'"),
        ('{"op": "=", "args": [{"property": "name"}, "a\\u0000"]}', "NUL character"),
    ],
)
def test_json_errors(text: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        compile_filter(
            text,
            _QUERYABLES,
            municipalities.c.geom,
            municipalities,
            postgresql.dialect(),
            lang="cql2-json",
        )
    (only,) = caught.value.problems
    assert words in only.reason, only.reason
