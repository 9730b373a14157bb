"""Pausing Python's cyclic garbage collector while a bulk job builds many objects.

Reading a large import file makes hundreds of thousands of dicts, lists and
datetimes that all stay alive until the job ends; each generation-2 collection
then walks all of them again, which costs more than the reading itself. Reference
counting still frees everything as usual; only the search for cycles waits until
the last pause ends. Nested and concurrent pauses (threads of one server) are
counted, and the collector is switched back on only if it was on before the first.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block (reference counting goes on)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
