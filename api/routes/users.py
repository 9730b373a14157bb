"""Users and tokens (admin), and ``/me`` for any authenticated caller."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from api.deps import Admin, ConnectionDep, EngineDep, Planner
from api.wire import answers
from api.wire import users as wire
from geo.roles import Role
from layers import accounts, audit, users

router = APIRouter(tags=["users"])


Days = Field(
    default=None,
    strict=True,  # a whole number, not true/false
    ge=0,
    le=users.MAX_TOKEN_DAYS,
    description="Days the token is valid; 0: never expires. Default: LINDE_TOKEN_DAYS (365).",
)
UserName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[\w.@-]+$")]


Cvegeo = Field(
    default=None,
    pattern=r"^(\d{5})?$",
    description="The municipality the user acts for (INEGI cvegeo); empty or null: the state.",
)
Password = Field(min_length=accounts.MIN_PASSWORD, max_length=accounts.MAX_PASSWORD)


class UserCreate(BaseModel):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[\w.@-]+$")
    role: Role
    days: int | None = Days
    password: str | None = Field(
        default=None,
        min_length=accounts.MIN_PASSWORD,
        max_length=accounts.MAX_PASSWORD,
        description="To sign in at /entrar and with HTTP Basic; without one, tokens only.",
    )
    cvegeo: str | None = Cvegeo


class UserUpdate(BaseModel):
    role: Role | None = None
    cvegeo: str | None = Cvegeo
    disabled: bool | None = Field(default=None, strict=True)  # true/false, not 0 or "no"


class PasswordReset(BaseModel):
    password: str = Password


class TokenCreate(BaseModel):
    days: int | None = Days


def _days(request: Request, days: int | None) -> int:
    return request.app.state.settings.token_days if days is None else days


@router.get("/me", summary="The caller's name and role", responses=answers(wire.Me))
def me(caller: Planner) -> dict[str, Any]:
    return {"name": caller.name, "role": caller.role.value, "cvegeo": caller.cvegeo}


@router.get(
    "/users", summary="Users and their roles (admin)", responses=answers(list[wire.UserRow])
)
def list_users(conn: ConnectionDep, _caller: Admin) -> Sequence[Mapping[str, Any]]:
    return users.list_users(conn)


@router.post(
    "/users",
    status_code=201,
    summary="Create a user; the token is shown only here (admin)",
    responses=answers(wire.NewUser, 201),
)
def create_user(
    request: Request, engine: EngineDep, caller: Admin, body: UserCreate
) -> dict[str, Any]:
    days = _days(request, body.days)
    user, token = users.add_user(
        engine,
        body.name,
        body.role.value,
        actor=caller.name,
        days=days,
        password=body.password,
        cvegeo=body.cvegeo or None,
    )
    return {
        "name": user.name,
        "role": user.role.value,
        "cvegeo": user.cvegeo,
        "token": token,
        "valid_days": days,
    }


@router.patch(
    "/users/{name}",
    summary="Change a user's role, municipality or state (admin)",
    responses=answers(wire.UserChanged),
)
def change_user(
    request: Request, engine: EngineDep, caller: Admin, name: UserName, body: UserUpdate
) -> Mapping[str, Any]:
    """Any change ends the user's sessions and tokens at once, on every worker; their
    records and audit entries stay. ``cvegeo`` "" moves the user to the state."""
    changed = accounts.change_user(
        engine,
        name,
        actor=caller.name,
        role=body.role.value if body.role else None,
        cvegeo=body.cvegeo,
        disabled=body.disabled,
        now=request.app.state.clock.now(),
    )
    request.app.state.token_cache.clear()
    return changed


@router.put(
    "/users/{name}/password",
    summary="Set a user's password (admin)",
    responses=answers(wire.PasswordSet),
)
def reset_password(
    request: Request, engine: EngineDep, caller: Admin, name: UserName, body: PasswordReset
) -> dict[str, Any]:
    """Ends every session of the user (their tokens stay: revoke those on their own)."""
    ended = accounts.set_password(
        engine, name, body.password, actor=caller.name, now=request.app.state.clock.now()
    )
    return {"name": name, "sessions_ended": ended}


@router.post(
    "/users/{name}/tokens",
    status_code=201,
    summary="Issue another token for a user; shown only here (admin)",
    responses=answers(wire.NewToken, 201),
)
def create_token(
    request: Request,
    engine: EngineDep,
    caller: Admin,
    name: UserName,
    body: TokenCreate | None = None,
) -> dict[str, Any]:
    days = _days(request, body.days if body else None)
    token = users.new_token(engine, name, actor=caller.name, days=days)
    return {"name": name, "token": token, "valid_days": days}


@router.delete(
    "/users/{name}/tokens",
    summary="Revoke every token of a user (admin)",
    responses=answers(wire.TokensRevoked),
)
def revoke_tokens(
    request: Request, engine: EngineDep, caller: Admin, name: UserName
) -> dict[str, Any]:
    """The tokens stop working at once on this worker; on other worker processes within
    ``LINDE_TOKEN_CACHE_SECONDS`` (default 5)."""
    revoked = users.revoke_tokens(engine, name, actor=caller.name)
    request.app.state.token_cache.clear()
    return {"name": name, "revoked": revoked}


@router.get("/audit", summary="The newest audit entries (admin)")
def audit_log(
    conn: ConnectionDep, _caller: Admin, entity: str | None = None, limit: int = 100
) -> Sequence[Mapping[str, Any]]:
    return audit.recent(conn, limit=max(1, min(limit, 1000)), entity=entity)
