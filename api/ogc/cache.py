"""ETags and a small in-process cache of rendered responses.

An ETag is a hash of the change counters of the layers behind a response
(``layer_versions``, bumped by database triggers on every write, whichever process
or tool made it) and of everything in the request that shapes the body: the URL
and the negotiated format. The counters are read on every request, so a cached
body is never served after its data changed, and every worker process can keep
its own cache.

The cache holds one body per resource (URL and format), with the ETag it was
rendered under. It is bounded in bytes and evicts least recently used, and two
rules keep it from churning under writes:

* a body is stored on the second miss of the same resource under the same ETag,
  as a proxy's "minimum uses" (nginx's ``proxy_cache_min_uses 2``): a page whose
  layer changes between two requests for it (inspections while inspectors post)
  or that is asked for once is rendered and sent, never stored;
* a body whose ETag no longer matches is dropped when its resource is next asked
  for: the counters only go up, so it could never be served again.

Which resources were seen, and under which ETag, is remembered for a bounded
number of them (``seen_limit``), not their bodies.
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


def resource_key(url: str, negotiated: str) -> bytes:
    """What identifies a cached body apart from the data's version: URL and format."""
    return hashlib.blake2b(f"{url}\x1f{negotiated}".encode(), digest_size=16).digest()


class ResponseCache:
    def __init__(
        self,
        max_bytes: int,
        max_entry_bytes: int | None = None,
        seen_limit: int = 8192,
        *,
        min_uses: int = 2,
    ) -> None:
        if min_uses not in (1, 2):
            raise ValueError("a body is stored on its first or its second miss")
        self.max_bytes = max_bytes
        #: 2: stored on the second miss under the same ETag (above); 1: on the first, for
        #: bodies that cost seconds to make (maps drawn by Chromium)
        self.min_uses = min_uses
        self.max_entry_bytes = max_entry_bytes or max(max_bytes // 8, 1)
        self.seen_limit = seen_limit
        #: resource -> (ETag, body), least recently used first
        self._entries: OrderedDict[bytes, tuple[str, Cached]] = OrderedDict()
        #: resource -> the ETag of its last miss that was not stored
        self._seen: OrderedDict[bytes, str] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.stored = 0
        self.dropped_stale = 0

    def stats(self) -> dict[str, int]:
        """What the cache holds now (bodies only), against its bound, and its counters."""
        with self._lock:
            return {
                "entries": len(self._entries),
                "bytes": self._size,
                "limit_bytes": self.max_bytes,
                "hits": self.hits,
                "misses": self.misses,
                "stored": self.stored,
                "dropped_stale": self.dropped_stale,
            }

    def get(self, resource: bytes, tag: str) -> Cached | None:
        """The body of ``resource`` rendered under ``tag``; a stale one is dropped."""
        with self._lock:
            held = self._entries.get(resource)
            if held is not None and held[0] == tag:
                self._entries.move_to_end(resource)
                self.hits += 1
                return held[1]
            if held is not None:
                del self._entries[resource]
                self._size -= len(held[1].body)
                self.dropped_stale += 1
            self.misses += 1
            return None

    def holds(self, resource: bytes) -> bool:
        """Whether a body of ``resource`` is held, under any ETag. When not, it is a miss
        (counted as :meth:`get` would): the caller builds the body without reading
        the change counters first, then offers it (:meth:`offer`)."""
        with self._lock:
            if resource in self._entries:
                return True
            self.misses += 1
            return False

    def offer(self, resource: bytes, tag: str, entry: Cached) -> bool:
        """A body just rendered after a miss; stored if it is the resource's second miss
        under this ETag (its first, with ``min_uses=1``) and it fits. Whether it was
        stored."""
        size = len(entry.body)
        if self.max_bytes <= 0 or size > self.max_entry_bytes:
            return False
        with self._lock:
            if self.min_uses == 2 and self._seen.pop(resource, None) != tag:
                self._seen[resource] = tag
                if len(self._seen) > self.seen_limit:
                    self._seen.popitem(last=False)
                return False
            held = self._entries.pop(resource, None)
            if held is not None:
                self._size -= len(held[1].body)
            self._entries[resource] = (tag, entry)
            self._size += size
            self.stored += 1
            while self._size > self.max_bytes and self._entries:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._size -= len(evicted.body)
            return True
