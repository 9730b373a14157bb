"""The audit trail: every write records who, when and what."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypedDict

from sqlalchemy import Connection, insert, select

from layers.schema import audit_log


def now() -> datetime:
    return datetime.now(UTC)


def record(
    conn: Connection,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Append one entry, inside the caller's transaction (so it commits or rolls back with it)."""
    record_many(conn, actor, [(action, entity, entity_id, details)])


def record_many(
    conn: Connection,
    actor: str,
    entries: Sequence[tuple[str, str, str | None, Mapping[str, Any] | None]],
) -> None:
    if not entries:
        return
    at = now()
    conn.execute(
        insert(audit_log),
        [
            {
                "at": at,
                "actor": actor,
                "action": action,
                "entity": entity,
                "entity_id": entity_id,
                "details": json.dumps(details, default=str, ensure_ascii=False)
                if details
                else None,
            }
            for action, entity, entity_id, details in entries
        ],
    )


class AuditEntry(TypedDict):
    """One audit-log entry as read, newest first in :func:`recent`."""

    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str | None
    details: dict[str, Any] | None  # free per action (what changed, from, to…)


def recent(
    conn: Connection,
    limit: int = 100,
    entity: str | None = None,
    *,
    actor: str | None = None,
    action: str | None = None,
    entity_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditEntry]:
    """The newest entries, newest first, matching every filter given (``action`` by
    prefix: ``user.`` is every action on users; ``until`` is exclusive)."""
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if entity:
        query = query.where(audit_log.c.entity == entity)
    if actor:
        query = query.where(audit_log.c.actor == actor)
    if action:
        query = query.where(audit_log.c.action.startswith(action, autoescape=True))
    if entity_id:
        query = query.where(audit_log.c.entity_id == entity_id)
    if since:
        query = query.where(audit_log.c.at >= since)
    if until:
        query = query.where(audit_log.c.at < until)
    return [
        AuditEntry(
            id=row.id,
            at=row.at,
            actor=row.actor,
            action=row.action,
            entity=row.entity,
            entity_id=row.entity_id,
            details=json.loads(row.details) if row.details else None,
        )
        for row in conn.execute(query)
    ]
