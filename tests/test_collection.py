"""The collection hooks of tests/collection.py, run by pytester on a throw-away suite:
``postgis_only`` really selects the engine, a browser test runs on PostGIS unless
marked ``both_engines``, a test parametrizing ``engine_kind`` keeps
its own choice, and the slow kinds are ``slow``."""

from __future__ import annotations

import pytest

SUITE = """
import pytest

@pytest.fixture
def db(engine_kind):
    return engine_kind

def test_both(db):
    pass

@pytest.mark.postgis_only
def test_postgis_alone(db):
    pass

@pytest.mark.parametrize("engine_kind", ["spatialite"], indirect=True)
def test_named_its_own(db):
    pass

def test_no_database():
    pass

@pytest.mark.browser
def test_in_a_browser(db):
    pass

@pytest.mark.browser
@pytest.mark.both_engines
def test_tiles_in_a_browser(db):
    pass

@pytest.mark.browser
def test_page_without_a_database():
    pass
"""


def _collected(pytester: pytest.Pytester, *args: str) -> list[str]:
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_inprocess("-p", "tests.collection", "--collect-only", "-q", *args)
    return sorted(line for line in result.outlines if "::" in line)


# this very process has imported the plugin already, so pytest cannot rewrite its asserts
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")


def test_postgis_only_and_browser_tests_run_on_postgis_alone(pytester: pytest.Pytester) -> None:
    assert _collected(pytester) == [
        "test_suite.py::test_both[postgis]",
        "test_suite.py::test_both[spatialite]",
        "test_suite.py::test_in_a_browser[postgis]",
        "test_suite.py::test_named_its_own[spatialite]",
        "test_suite.py::test_no_database",
        "test_suite.py::test_page_without_a_database",
        "test_suite.py::test_postgis_alone[postgis]",
        "test_suite.py::test_tiles_in_a_browser[postgis]",
        "test_suite.py::test_tiles_in_a_browser[spatialite]",
    ]


def test_the_slow_kinds_are_slow(pytester: pytest.Pytester) -> None:
    quick = _collected(pytester, "-m", "not slow")
    assert [name for name in quick if "browser" in name] == []
    assert "test_suite.py::test_both[postgis]" in quick
    slow = _collected(pytester, "-m", "slow")
    assert slow == [
        "test_suite.py::test_in_a_browser[postgis]",
        "test_suite.py::test_page_without_a_database",
        "test_suite.py::test_tiles_in_a_browser[postgis]",
        "test_suite.py::test_tiles_in_a_browser[spatialite]",
    ]


def test_parametrizing_a_database_fixture_is_refused(pytester: pytest.Pytester) -> None:
    """The old way (``parametrize("oaxaca", ["postgis"], indirect=True)``) would now run
    on both engines without a word: it is an error that says what to do instead."""
    pytester.makepyfile(
        test_old_way="""
import pytest

@pytest.fixture
def oaxaca(engine_kind):
    return engine_kind

@pytest.mark.parametrize("oaxaca", ["postgis"], indirect=True)
def test_old(oaxaca):
    pass
"""
    )
    result = pytester.runpytest_inprocess("-p", "tests.collection", "--collect-only", "-q")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*does not choose an engine; mark the test postgis_only*"])


def test_each_worker_starts_with_its_share_of_the_long_tests() -> None:
    """Two workers under ``--dist worksteal`` each get one half of the list: each half
    opens with its turn of the long ones (fuzz before crash, the two engines of a test
    on different workers), and the rest keep their order."""
    from tests.collection import longest_first

    kinds = {"fuzz[pg]": 0, "fuzz[sl]": 0, "crash[pg]": 1, "crash[sl]": 1}
    items = ["a", "crash[pg]", "b", "fuzz[pg]", "c", "crash[sl]", "d", "fuzz[sl]", "e", "f"]

    def rank(item: str) -> tuple[int, str] | None:
        return (kinds[item], item.split("[")[0]) if item in kinds else None

    two = longest_first(items, 2, rank)
    assert two[:5] == ["fuzz[pg]", "crash[pg]", "a", "b", "c"]
    assert two[5:] == ["fuzz[sl]", "crash[sl]", "d", "e", "f"]
    assert longest_first(items, 1, rank) == [
        "fuzz[pg]", "fuzz[sl]", "crash[pg]", "crash[sl]", "a", "b", "c", "d", "e", "f"
    ]  # fmt: skip
    assert longest_first(["a", "b"], 2, rank) == ["a", "b"]
