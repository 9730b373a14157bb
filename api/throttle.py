"""Failed sign-ins are rate-limited per client address (``limits``' moving window).

Every request whose bearer token is wrong (unknown, revoked, expired) counts against
its address; once an address has made ``LINDE_FAILED_SIGNINS_PER_MINUTE`` of them
in the last minute, every request from it that carries a token is answered 429 with
``Retry-After`` until the window has room again, without looking the token up.
Requests without a token are not counted: anonymous reading is not a sign-in. The
window lives where ``api.store`` says: shared by every worker with
``LINDE_REDIS_URL``, else in each worker process's memory, where with N workers an
address gets at most N times the limit.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from geo.errors import TooManyRequests


class SignInThrottle:
    def __init__(self, per_minute: int, storage: Storage | None = None) -> None:
        self.limit = RateLimitItemPerMinute(per_minute) if per_minute > 0 else None
        self._limiter = MovingWindowRateLimiter(storage or MemoryStorage())

    def check(self, address: str) -> None:
        """Raise :class:`TooManyRequests` while ``address`` is over its limit."""
        if self.limit is None or self._limiter.test(self.limit, address):
            return
        reset_at, _remaining = self._limiter.get_window_stats(self.limit, address)
        wait = max(1, math.ceil(reset_at - time.time()))
        raise TooManyRequests(
            f"too many requests with a wrong bearer token from this address "
            f"({self.limit.amount} per minute); try again in {wait} s",
            retry_after=wait,
        )

    def failed(self, address: str) -> None:
        if self.limit is not None:
            self._limiter.hit(self.limit, address)
