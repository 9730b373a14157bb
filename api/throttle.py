"""Failed sign-ins are rate-limited per client address and per user name from that
address (``limits``' moving window), without letting an attacker lock anyone out.

* A bearer token is always looked up: a right one passes even from an address that
  sent many wrong ones (a 256-bit token cannot be guessed, so there is nothing to
  slow down but the answers). A wrong one counts against its address; past
  ``LINDE_FAILED_SIGNINS_PER_MINUTE`` the address's wrong tokens get 429, not 401.
* A password (the sign-in page, HTTP Basic) can be guessed, so a throttled attempt
  is refused with 429 *before* it is checked: when its address made too many failed
  sign-ins of any kind in the last minute, or too many wrong passwords for this name
  (``LINDE_FAILED_SIGNINS_PER_NAME_PER_MINUTE``). The name is counted per address, so
  wrong passwords sent from elsewhere never lock the person out of their own office.
  An open session is not a sign-in and is never throttled.

The client address is the connection's, or the one a configured proxy names
(``LINDE_TRUSTED_PROXIES``). The windows live where ``api.store`` says: shared by every
worker with ``LINDE_REDIS_URL``, else in each worker process's memory, where with N
workers an address gets at most N times the limit.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from geo.errors import TooManyRequests


class SignInThrottle:
    def __init__(
        self, per_minute: int, per_name_per_minute: int = 0, storage: Storage | None = None
    ) -> None:
        self.limit = RateLimitItemPerMinute(per_minute) if per_minute > 0 else None
        self.name_limit = (
            RateLimitItemPerMinute(per_name_per_minute) if per_name_per_minute > 0 else None
        )
        self._limiter = MovingWindowRateLimiter(storage or MemoryStorage())

    def _wait(self, limit: RateLimitItemPerMinute | None, *key: str) -> int | None:
        if limit is None or self._limiter.test(limit, *key):
            return None
        reset_at, _remaining = self._limiter.get_window_stats(limit, *key)
        return max(1, math.ceil(reset_at - time.time()))

    def check(self, address: str, name: str | None = None) -> None:
        """Raise :class:`TooManyRequests` while ``address`` (or ``name`` from it) is over
        its limit."""
        wait, limit = self._wait(self.limit, "address", address), self.limit
        if wait is None and name is not None:
            wait, limit = (
                self._wait(self.name_limit, "name", address, name.lower()),
                self.name_limit,
            )
        if wait is not None:
            assert limit is not None
            raise TooManyRequests(
                f"too many failed sign-ins from this address ({limit.amount} per minute"
                f"{' for this name' if limit is self.name_limit else ''}); "
                f"try again in {wait} s",
                retry_after=wait,
            )

    def failed(self, address: str, name: str | None = None) -> None:
        if self.limit is not None:
            self._limiter.hit(self.limit, "address", address)
        if self.name_limit is not None and name is not None:
            self._limiter.hit(self.name_limit, "name", address, name.lower())
