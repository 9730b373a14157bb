"""How the suite is collected: which engines each test runs on, which tests are slow.

A pytest plugin of its own (conftest imports its hooks and fixture), so that
``test_collection.py`` can run it on a throw-away suite and show that it selects.

* Every test that reaches a database (through ``db``, ``api``, ``oaxaca`` … which all
  rest on ``engine_kind``) runs once per engine, PostGIS and SpatiaLite; one marked
  ``postgis_only`` runs on PostGIS alone (the way geoalchemy2's ``pytest_generate_tests``
  picks dialects per test). A test that parametrizes ``engine_kind`` itself keeps its own
  choice.
* A test marked ``browser``, ``bulk``, ``crash``, ``fuzz`` or ``subprocess`` is also ``slow``, so
  ``-m "not slow"`` is the quick loop and ``-m slow`` the rest.
"""

from __future__ import annotations

import pytest

ENGINES = ["postgis", "spatialite"]
#: markers of the kinds of test that take seconds each; each one implies ``slow``
SLOW_KINDS = ("browser", "bulk", "crash", "fuzz", "subprocess")


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
    only_postgis = metafunc.definition.get_closest_marker("postgis_only") is not None
    kinds = ["postgis"] if only_postgis else ENGINES
    metafunc.parametrize("engine_kind", kinds, indirect=True, scope="session")


@pytest.hookimpl(tryfirst=True)  # before -m deselects: "not slow" must see these
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(item.get_closest_marker(kind) for kind in SLOW_KINDS):
            item.add_marker(pytest.mark.slow)
