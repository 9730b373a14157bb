"""Users and tokens (admin), and ``/me`` for any authenticated caller."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import Admin, ConnectionDep, EngineDep, Planner
from geo.roles import Role
from layers import audit, users

router = APIRouter(tags=["users"])


class UserCreate(BaseModel):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[\w.@-]+$")
    role: Role


@router.get("/me", summary="The caller's name and role")
def me(caller: Planner) -> dict[str, Any]:
    return {"name": caller.name, "role": caller.role.value}


@router.get("/users", summary="Users and their roles (admin)")
def list_users(conn: ConnectionDep, _caller: Admin) -> list[dict[str, Any]]:
    return users.list_users(conn)


@router.post(
    "/users", status_code=201, summary="Create a user; the token is shown only here (admin)"
)
def create_user(engine: EngineDep, caller: Admin, body: UserCreate) -> dict[str, Any]:
    user, token = users.add_user(engine, body.name, body.role.value, actor=caller.name)
    return {"name": user.name, "role": user.role.value, "token": token}


@router.get("/audit", summary="The newest audit entries (admin)")
def audit_log(
    conn: ConnectionDep, _caller: Admin, entity: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    return audit.recent(conn, limit=max(1, min(limit, 1000)), entity=entity)
