"""``GET /health``: is the service up, on which engine, at which schema version."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from api.deps import EngineDep
from layers import migrate
from layers.engine import engine_name

router = APIRouter(tags=["service"])


@router.get("/health", summary="Service health, engine and schema version")
def health(request: Request, engine: EngineDep) -> dict[str, Any]:
    """Also what this worker's response cache holds, against its bound (a memory
    watch tells the cache's growth, which stops at the bound, from a leak)."""
    current = migrate.current_revision(engine)
    head = migrate.head_revision()
    return {
        "status": "ok" if current == head else "schema_outdated",
        "engine": engine_name(engine),
        "schema_version": current,
        "schema_head": head,
        "response_cache": request.app.state.response_cache.stats(),
    }
