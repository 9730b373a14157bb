"""Dependencies shared by the routes: the database connection and the caller.

They are ``async``: FastAPI runs a sync dependency in a worker thread, and each
thread hop costs about as much as a small query under load. Their database work
is short (a pool checkout, one indexed token lookup), so it runs on the event
loop; the route itself, if sync, runs in one worker thread with that connection.
A semaphore sized to the pool makes sure a checkout never waits on the loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, Engine

from api.throttle import SignInThrottle
from api.tokens import TokenCache
from geo.errors import Forbidden, Unauthenticated
from geo.roles import Role
from layers.engine import read_connection
from layers.users import Principal, check_token, token_digest


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def get_connection(request: Request) -> AsyncIterator[Connection]:
    """A read connection for the duration of the request."""
    async with request.app.state.connection_slots:
        with read_connection(request.app.state.engine) as conn:
            yield conn


EngineDep = Annotated[Engine, Depends(get_engine)]
ConnectionDep = Annotated[Connection, Depends(get_connection)]

_bearer = HTTPBearer(auto_error=False, description="Token printed by `linde users add`.")


def principal_of(request: Request, conn: Connection) -> Principal | None:
    """The caller named by the request's ``Authorization`` header; ``None`` without one.

    A wrong token counts against the client's address (see ``api.throttle``); a
    token seen lately is answered from this worker's memory (see ``api.tokens``).

    Raises:
        Unauthenticated: a header that is not ``Bearer <token>``, or a token that is
            unknown, revoked or expired (401).
        TooManyRequests: the address sent too many wrong tokens lately (429).
    """
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("use Authorization: Bearer <token>")
    throttle: SignInThrottle = request.app.state.signin_throttle
    address = request.client.host if request.client else "unknown"
    throttle.check(address)
    token = token.strip()
    cache: TokenCache = request.app.state.token_cache
    digest = token_digest(token)
    principal = cache.get(digest)
    if principal is not None:
        return principal
    try:
        principal = check_token(conn, token)
    except Unauthenticated:
        throttle.failed(address)
        raise
    cache.put(digest, principal)
    return principal


def require_role(required: Role) -> Callable[..., Coroutine[None, None, Principal]]:
    """A dependency that admits the caller named by ``Authorization: Bearer <token>``
    when its role is ``required`` or above.

    One dependency, not a chain (identify, then check): each link costs FastAPI a
    resolution on every request.

    Raises:
        Unauthenticated: no token, or a token that is unknown, revoked or expired (401).
        TooManyRequests: too many wrong tokens from this address lately (429).
        Forbidden: the caller's role is below ``required`` (403).
    """

    async def check(
        request: Request,
        conn: ConnectionDep,
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        # the request's own connection (FastAPI resolves ConnectionDep once per request)
        principal = principal_of(request, conn)
        if principal is None:
            raise Unauthenticated("this resource needs a bearer token (Authorization: Bearer …)")
        if not principal.role.can_act_as(required):
            raise Forbidden(
                f"this needs the {required.value} role; {principal.name} is {principal.role.value}"
            )
        return principal

    return check


Planner = Annotated[Principal, Depends(require_role(Role.planner))]
Inspector = Annotated[Principal, Depends(require_role(Role.inspector))]
Commission = Annotated[Principal, Depends(require_role(Role.commission))]
Admin = Annotated[Principal, Depends(require_role(Role.admin))]


async def optional_principal(
    request: Request,
    conn: ConnectionDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """The caller when a bearer token is sent, ``None`` for an anonymous request.

    For resources that are public but show more to a signed-in role. A token that is
    sent but unknown or revoked is still refused (401), never silently ignored.
    """
    return principal_of(request, conn)


MaybeCaller = Annotated[Principal | None, Depends(optional_principal)]
