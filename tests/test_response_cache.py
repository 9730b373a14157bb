"""The response cache's rules, without a server: stored on the second miss under the
same ETag, stale bodies dropped, bounded in bytes and in remembered resources."""

from __future__ import annotations

from api.ogc.cache import Cached, ResponseCache, resource_key


def body(n: int) -> Cached:
    return Cached(b"x" * n, "application/geo+json", ())


PAGE = resource_key("http://x/collections/claims/items", "")


def test_a_body_is_stored_on_its_second_miss_under_the_same_etag() -> None:
    cache = ResponseCache(1000)
    assert cache.get(PAGE, '"v1"') is None
    assert cache.offer(PAGE, '"v1"', body(10)) is False  # asked once: not stored
    assert cache.get(PAGE, '"v1"') is None
    assert cache.offer(PAGE, '"v1"', body(10)) is True
    assert cache.get(PAGE, '"v1"') == body(10)
    assert cache.stats() | {"limit_bytes": 0} == {
        "entries": 1,
        "bytes": 10,
        "limit_bytes": 0,
        "hits": 1,
        "misses": 2,
        "stored": 1,
        "dropped_stale": 0,
    }


def test_a_page_whose_data_changes_between_requests_is_never_stored() -> None:
    cache = ResponseCache(1000)
    for version in range(1, 6):  # every request sees a new version: a write in between
        tag = f'"v{version}"'
        assert cache.get(PAGE, tag) is None
        assert cache.offer(PAGE, tag, body(10)) is False
    assert cache.stats()["entries"] == 0 and cache.stats()["stored"] == 0


def test_a_stale_body_is_dropped_when_its_resource_is_asked_for_again() -> None:
    cache = ResponseCache(1000)
    for _ in range(2):
        cache.offer(PAGE, '"v1"', body(100))
    assert cache.stats()["bytes"] == 100
    assert cache.get(PAGE, '"v2"') is None  # the layer changed
    stats = cache.stats()
    assert (stats["entries"], stats["bytes"], stats["dropped_stale"]) == (0, 0, 1)
    assert cache.offer(PAGE, '"v2"', body(50)) is False
    assert cache.offer(PAGE, '"v2"', body(50)) is True
    assert cache.get(PAGE, '"v1"') is None  # an old ETag never gets the new body back


def test_bounded_in_bytes_least_recently_used_first() -> None:
    cache = ResponseCache(300, max_entry_bytes=150)
    pages = [resource_key(f"http://x/items?offset={i}", "") for i in range(4)]
    for page in pages[:3]:
        cache.offer(page, '"v"', body(100))
        cache.offer(page, '"v"', body(100))
    assert cache.get(pages[0], '"v"') is not None  # 0 is now the most recently used
    cache.offer(pages[3], '"v"', body(100))
    cache.offer(pages[3], '"v"', body(100))
    assert cache.stats()["bytes"] == 300
    assert cache.get(pages[1], '"v"') is None  # the least recently used went
    assert all(cache.get(p, '"v"') is not None for p in (pages[0], pages[2], pages[3]))
    big = resource_key("http://x/big", "")
    for _ in range(3):
        assert cache.offer(big, '"v"', body(151)) is False  # over the per-entry bound


def test_what_it_remembers_of_unstored_misses_is_bounded() -> None:
    cache = ResponseCache(10_000, seen_limit=3)
    pages = [resource_key(f"http://x/items?offset={i}", "") for i in range(5)]
    for page in pages:
        cache.offer(page, '"v"', body(10))
    assert cache.offer(pages[0], '"v"', body(10)) is False  # forgotten: a first miss again
    assert cache.offer(pages[4], '"v"', body(10)) is True  # remembered


def test_off_stores_nothing() -> None:
    cache = ResponseCache(0)
    for _ in range(3):
        assert cache.get(PAGE, '"v"') is None
        assert cache.offer(PAGE, '"v"', body(1)) is False


def test_holds_answers_without_an_etag_and_counts_a_miss_when_not() -> None:
    """``holds`` lets a request skip the counters' read when no body could be served:
    it is a miss then, and the body built without the counters is offered as usual."""
    cache = ResponseCache(1000)
    assert cache.holds(PAGE) is False
    cache.offer(PAGE, '"v1"', body(10))
    assert cache.holds(PAGE) is False
    cache.offer(PAGE, '"v1"', body(10))  # the second miss under this ETag: stored
    assert cache.holds(PAGE) is True  # under any ETag: the caller reads the counters
    assert cache.get(PAGE, '"v2"') is None  # and a stale body is still dropped by get
    assert cache.stats()["misses"] == 3 and cache.stats()["dropped_stale"] == 1
