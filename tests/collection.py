"""How the suite is collected: which engines each test runs on, which tests are slow.

A pytest plugin of its own (conftest imports its hooks and fixture), so that
``test_collection.py`` can run it on a throw-away suite and show that it selects.

* Every test that reaches a database (through ``db``, ``api``, ``oaxaca`` … which all
  rest on ``engine_kind``) runs once per engine, PostGIS and SpatiaLite; one marked
  ``postgis_only`` runs on PostGIS alone (the way geoalchemy2's ``pytest_generate_tests``
  picks dialects per test). A test that parametrizes ``engine_kind`` itself keeps its own
  choice.
* A test marked ``browser`` runs on one engine, PostGIS (where the officials use the
  pages): a page asks the API what it shows, and the API's answers are checked on both
  engines over HTTP by the other tests. A browser test whose page draws what each engine
  makes its own way (vector tiles, offline map packs) is marked ``both_engines`` and
  runs on both. Every page on both engines was over a third of the suite's time.
* A test marked ``browser``, ``bulk``, ``crash``, ``fuzz`` or ``subprocess`` is also ``slow``, so
  ``-m "not slow"`` is the quick loop and ``-m slow`` the rest.
* The tests that take minutes each (``fuzz``, ``crash``) are dealt out first, one worker
  after the other: ``scripts/test`` runs ``pytest -n 2 --dist worksteal``, which hands
  each worker one contiguous share of the list and lets an idle worker steal only from
  the end of another's share. Put anywhere else, the two fuzz runs could end up one after
  the other on one worker, or start last while the other worker idles. Only the order
  changes; the rest keep pytest's order (grouped by engine, so each engine's databases
  are built once per worker).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import pytest

T = TypeVar("T")

ENGINES = ["postgis", "spatialite"]
#: markers of the kinds of test that take seconds each; each one implies ``slow``
SLOW_KINDS = ("browser", "bulk", "crash", "fuzz", "subprocess")
#: the kinds that take minutes per test, longest first: each worker starts with its share
FIRST = ("fuzz", "crash")


@pytest.fixture(scope="session")
def engine_kind(request: pytest.FixtureRequest) -> str:
    """``postgis`` or ``spatialite``: chosen for each test by :func:`pytest_generate_tests`."""
    kind: str = request.param
    return kind


#: fixtures that rest on ``engine_kind``; parametrizing one of them would not pick an engine
ENGINE_FIXTURES = {"_empty_db", "db", "api", "oaxaca"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine_kind" not in metafunc.fixturenames:
        return
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs.get("argnames", "")
        listed = names.replace(" ", "").split(",") if isinstance(names, str) else names
        if "engine_kind" in listed:
            return
        if clash := sorted(ENGINE_FIXTURES & set(listed)):
            raise pytest.UsageError(
                f"{metafunc.definition.nodeid}: parametrizing {clash} does not choose an"
                " engine; mark the test postgis_only, or parametrize engine_kind"
            )
    marked = metafunc.definition.get_closest_marker
    only_postgis = marked("postgis_only") is not None or (
        marked("browser") is not None and marked("both_engines") is None
    )
    kinds = ["postgis"] if only_postgis else ENGINES
    metafunc.parametrize("engine_kind", kinds, indirect=True, scope="session")


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> Iterator[None]:
    # before -m deselects (a wrapper runs around it): "not slow" must see these
    for item in items:
        if any(item.get_closest_marker(kind) for kind in SLOW_KINDS):
            item.add_marker(pytest.mark.slow)
    result = yield
    # after the deselection and pytest's grouping of the tests by engine
    workerinput = getattr(config, "workerinput", None)  # set on a pytest-xdist worker
    workers = int(workerinput["workercount"]) if workerinput else 1
    items[:] = longest_first(items, workers, _rank)
    return result


def _rank(item: pytest.Item) -> tuple[int, str] | None:
    """Its kind's place in FIRST and the test's name (the engines of a test side by side)."""
    for place, kind in enumerate(FIRST):
        if item.get_closest_marker(kind):
            return place, getattr(item, "originalname", item.name)
    return None


def longest_first(
    items: Sequence[T], workers: int, rank: Callable[[T], tuple[int, str] | None]
) -> list[T]:
    """``items`` in an order that starts each of ``workers`` equal contiguous shares
    (what ``--dist worksteal`` hands out first) with its turn of the long ones.

    ``rank``: ``(0, name)`` for a test of the longest kind, ``(1, name)`` for the next,
    ``None`` for the rest. The long ones are dealt round-robin in that order (so the
    ``[postgis]`` and ``[spatialite]`` runs of one test go to different workers); each
    share is then filled up with the rest, in their order.
    """
    ranked = sorted(((r, i) for i, item in enumerate(items) if (r := rank(item)) is not None))
    if not ranked:
        return list(items)
    workers = max(1, min(workers, len(items)))
    long_ones = [[items[i] for _r, i in ranked[w::workers]] for w in range(workers)]
    rest = [item for item in items if rank(item) is None]
    ordered: list[T] = []
    for w in range(workers):
        # worksteal's first split: worker w gets len(pending) // workers_left of the rest
        share = (len(items) - len(ordered)) // (workers - w)
        ordered += long_ones[w]
        take = max(0, share - len(long_ones[w]))
        ordered += rest[:take]
        rest = rest[take:]
    return ordered + rest
