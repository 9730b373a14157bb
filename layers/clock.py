"""The time Linde reads where the moment decides an answer (token expiry, token memory).

One small object instead of ``datetime.now`` and ``time.monotonic`` scattered where a
test cannot reach them: the app takes a clock (``create_app(clock=...)``), and a test
hands it one it moves by hand, so "after expiry" is a step of the test, not a sleep.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


class Clock:
    """The real time: wall-clock UTC for moments stored in the database, and a monotonic
    count of seconds for how long something has been remembered."""

    def now(self) -> datetime:
        """This moment, timezone-aware UTC."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """Seconds on a counter that never goes back (only differences mean anything)."""
        return time.monotonic()


SYSTEM_CLOCK = Clock()
