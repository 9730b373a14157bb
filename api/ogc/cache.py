"""ETags and a small in-process cache of rendered responses.

An ETag is a hash of the change counters of the layers behind a response
(``layer_versions``, bumped by database triggers on every write, whichever process
or tool made it) and of everything in the request that shapes the body: the URL
and the negotiated format. The counters are read on every request, so a cached
body is never served after its data changed, and every worker process can keep
its own cache. The cache is bounded in bytes and evicts least recently used.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class Cached:
    body: bytes
    media_type: str
    headers: tuple[tuple[str, str], ...]


def etag(*parts: str) -> str:
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()
    return f'"{digest}"'


def matches(if_none_match: str | None, tag: str) -> bool:
    """Does an ``If-None-Match`` header name this ETag (weak comparison, as RFC 9110)?"""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    wanted = tag.removeprefix("W/")
    return any(c.strip().removeprefix("W/") == wanted for c in if_none_match.split(","))


class ResponseCache:
    def __init__(self, max_bytes: int, max_entry_bytes: int | None = None) -> None:
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes or max(max_bytes // 8, 1)
        self._entries: OrderedDict[str, Cached] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def stats(self) -> dict[str, int]:
        """What the cache holds now (bodies only), against its bound."""
        with self._lock:
            return {
                "entries": len(self._entries),
                "bytes": self._size,
                "limit_bytes": self.max_bytes,
                "hits": self.hits,
                "misses": self.misses,
            }

    def get(self, key: str) -> Cached | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key: str, entry: Cached) -> None:
        size = len(entry.body)
        if self.max_bytes <= 0 or size > self.max_entry_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._size -= len(old.body)
            self._entries[key] = entry
            self._size += size
            while self._size > self.max_bytes and self._entries:
                _, evicted = self._entries.popitem(last=False)
                self._size -= len(evicted.body)
