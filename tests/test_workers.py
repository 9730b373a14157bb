"""More than one worker process: limits shared through the optional Redis store.

``linde serve --workers 2`` is started for real; the kernel spreads fresh
connections over both processes, and the failed-sign-in window must still count
every one of them once. Redis is the one at ``LINDE_TEST_REDIS_URL`` (default
``redis://127.0.0.1:6379/9``); each test counts for an address (or under a key
prefix) of its own, so runs sharing that Redis do not meet.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from api.settings import AppSettings
from api.store import is_shared, limits_storage
from api.throttle import SignInThrottle
from cli.common import workers_notes
from geo.errors import TooManyRequests
from tests.conftest import Database, free_port, strict

REDIS_URL = os.environ.get("LINDE_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def redis_url() -> str:
    """The test Redis, when it answers."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        message = f"Redis is not reachable at {REDIS_URL}: {exc}"
        if strict():
            pytest.fail(message)
        pytest.skip(message)
    return REDIS_URL


def test_without_redis_each_process_keeps_its_own_windows() -> None:
    assert not is_shared(limits_storage(AppSettings(redis_url=None)))
    notes = workers_notes("postgis", 4, AppSettings(redis_url=None))
    assert any("up to 4x" in line and "LINDE_REDIS_URL" in line for line in notes)
    assert workers_notes("postgis", 1, AppSettings()) == []


def test_a_url_that_is_not_redis_is_refused() -> None:
    with pytest.raises(ValueError, match="LINDE_REDIS_URL"):
        limits_storage(AppSettings(redis_url="postgresql://127.0.0.1/x"))


def test_two_throttles_on_redis_share_one_window(redis_url: str) -> None:
    """Two workers' throttles (one per process) count in the same window."""
    settings = AppSettings(redis_url=redis_url)
    prefix = f"linde-test-{uuid.uuid4().hex}"
    first = SignInThrottle(3, storage=limits_storage(settings, prefix))
    second = SignInThrottle(3, storage=limits_storage(settings, prefix))
    assert is_shared(limits_storage(settings, prefix))
    first.failed("192.0.2.7")
    second.failed("192.0.2.7")
    first.failed("192.0.2.7")
    with pytest.raises(TooManyRequests):
        second.check("192.0.2.7")
    second.check("192.0.2.8")  # another address is not affected


@pytest.fixture
def two_workers(db: Database, redis_url: str) -> Iterator[str]:
    """``linde serve --workers 2`` on the empty PostGIS database, stopped at the end."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LINDE_DATABASE_URL": db.url,
        "LINDE_REDIS_URL": redis_url,
        "LINDE_FAILED_SIGNINS_PER_MINUTE": "6",
    }
    command = [sys.executable, "-c", "from cli.main import app; app()", "serve"]
    process = subprocess.Popen(
        [*command, "--workers", "2", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if process.poll() is not None:
                pytest.fail(f"linde serve exited: {process.stdout.read().decode()}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)  # polling for start-up, not a timing assumption
        else:
            pytest.fail("linde serve --workers 2 did not answer")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.postgis_only
@pytest.mark.subprocess
def test_two_workers_count_wrong_tokens_in_one_window(two_workers: str) -> None:
    # an address of this run's own (linde serve trusts X-Forwarded-For from 127.0.0.1)
    address = f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"
    statuses = []
    for attempt in range(8):
        # a fresh connection each time, so both workers take some of them
        with httpx.Client(base_url=two_workers, timeout=30) as client:
            headers = {"Authorization": f"Bearer wrong-{attempt}", "X-Forwarded-For": address}
            answer = client.get("/me", headers=headers)
        statuses.append(answer.status_code)
    assert statuses[:6] == [401] * 6
    assert statuses[6:] == [429, 429]
