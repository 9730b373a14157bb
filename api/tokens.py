"""Who a bearer token belongs to, remembered for a few seconds in each worker.

Without it every authenticated request asks the database who its token belongs to:
a round trip made on the event loop, about a quarter of a ``/lookup`` under load.
With it, a token seen in the last ``token_cache_seconds`` is answered from memory.
It is off by default (0), so that a revoked token, or a disabled or re-scoped user,
stops at once on every worker; an operator who wants the saved round trip turns it
on. What that costs, stated plainly: revoking tokens over the API
(``DELETE /users/{name}/tokens``) empties this worker's memory at once, but a token
revoked elsewhere (``linde users revoke``, another worker process) keeps working
here for at most ``token_cache_seconds``. An expired token is never answered from
memory. ``LINDE_TOKEN_CACHE_SECONDS=0`` turns it off: every request asks again.
"""

from __future__ import annotations

import threading

from cachetools import TTLCache

from layers.clock import SYSTEM_CLOCK, Clock
from layers.users import Principal


class TokenCache:
    def __init__(
        self, seconds: float, max_tokens: int = 10_000, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self._clock = clock
        self._entries: TTLCache[str, Principal] | None = (
            TTLCache(maxsize=max_tokens, ttl=seconds, timer=clock.monotonic)
            if seconds > 0
            else None
        )
        self._lock = threading.Lock()

    def get(self, digest: str) -> Principal | None:
        """The caller of a token digest seen lately and not expired since; else None."""
        if self._entries is None:
            return None
        with self._lock:
            principal = self._entries.get(digest)
        if principal is None:
            return None
        if principal.expires_at is not None and principal.expires_at <= self._clock.now():
            return None
        return principal

    def put(self, digest: str, principal: Principal) -> None:
        if self._entries is not None:
            with self._lock:
                self._entries[digest] = principal

    def clear(self) -> None:
        if self._entries is not None:
            with self._lock:
                self._entries.clear()
