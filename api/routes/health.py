"""``GET /health``: is the service up, on which engine, at which schema version.

"ok" means the database answered, its schema is current and, on SpatiaLite, its file
passed SQLite's quick check (every page read, at most once a minute per worker: the
check costs about a second per few hundred MB). A damaged file answers 503
``database_damaged``, an unreachable database 503 ``database_unavailable``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import Engine

from api.deps import EngineDep
from layers import migrate
from layers.engine import engine_name
from layers.failures import check_integrity

router = APIRouter(tags=["service"])

#: Seconds a passed integrity check stands for.
INTEGRITY_CHECK_EVERY_S = 60.0


class IntegrityWatch:
    """When this worker last found the database file sound."""

    def __init__(self) -> None:
        self.passed_at: float | None = None
        self.lock = threading.Lock()

    def check(self, engine: Engine) -> None:
        with self.lock:  # one check at a time; the others wait for its answer
            now = time.monotonic()
            if self.passed_at is not None and now - self.passed_at < INTEGRITY_CHECK_EVERY_S:
                return
            check_integrity(engine)
            self.passed_at = now


@router.get("/health", summary="Service health, engine and schema version")
def health(request: Request, engine: EngineDep) -> dict[str, Any]:
    """Also what this worker's response and map caches hold, against their bounds (a
    memory watch tells a cache's growth, which stops at the bound, from a leak), and its
    downloads under way."""
    watch: IntegrityWatch = request.app.state.integrity_watch
    watch.check(engine)
    current = migrate.current_revision(engine)
    head = migrate.head_revision()
    return {
        "status": "ok" if current == head else "schema_outdated",
        "engine": engine_name(engine),
        "schema_version": current,
        "schema_head": head,
        "response_cache": request.app.state.response_cache.stats(),
        "map_cache": request.app.state.map_cache.stats(),
        "downloads": request.app.state.export_slots.stats(),
    }
