"""What several test modules share that is not a fixture: a hand-moved clock, the
command line run in this process, small readers of answers. Test modules import from
here (and from conftest), never from one another."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from layers.clock import Clock


class ManualClock(Clock):
    """A clock that stands still until the test moves it: "after the token expires" or
    "after the memory forgets" is a step, not a sleep, on a machine of any speed."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or Clock().now()
        self._seconds = 0.0
        self._lock = threading.Lock()  # read by the server's threads

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)
            self._seconds += seconds
