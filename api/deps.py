"""Dependencies shared by the routes: the database connection and the caller.

They are ``async``: FastAPI runs a sync dependency in a worker thread, and each
thread hop costs about as much as a small query under load. Their work is short
(a pool checkout; a token seen lately is answered from memory), so it runs on the
event loop; the route itself, if sync, runs in one worker thread with that
connection. A semaphore sized to the pool makes sure a checkout never waits on the
loop. The role checks hold no connection of their own: a token not in memory is
looked up in a worker thread (see :func:`caller_of`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, Engine

from api.replica import ReadTarget
from api.throttle import SignInThrottle
from api.tokens import TokenCache
from geo.errors import Forbidden, Unauthenticated
from geo.roles import Role
from layers.engine import on_read_connection, read_connection
from layers.users import Principal, check_token, token_digest


async def get_engine(request: Request) -> Engine:
    """The primary's engine: writes, and reads that must see them."""
    engine: Engine = request.app.state.engine
    return engine


def read_target(request: Request) -> ReadTarget:
    """Where this request's reads go: the read replica when one is configured and has
    caught up with the caller's last write (see ``api.replica``), else the primary."""
    target: ReadTarget | None = request.scope.get("state", {}).get("linde_read_target")
    if target is None:
        return ReadTarget(request.app.state.engine, request.app.state.async_reader)
    return target


class HeldConnection:
    """A read connection taken on the event loop, within the loop's connection slots.

    ``ConnectionDep`` gives a route one for the whole request. A hot route that
    needs it only around its statement (``/lookup`` on SQLite) takes it with
    ``async with``: a generator dependency costs FastAPI a shielded cancel scope and
    an exit stack per request, about 0.1 ms here, four times the checkout itself.
    """

    __slots__ = ("_conn", "_request", "_slots")

    def __init__(self, request: Request) -> None:
        self._request = request
        self._slots: asyncio.Semaphore = request.app.state.connection_slots

    async def __aenter__(self) -> Connection:
        await self._slots.acquire()
        try:
            self._conn = read_connection(read_target(self._request).engine)
        except BaseException:
            self._slots.release()
            raise
        return self._conn

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            self._conn.close()
        finally:
            self._slots.release()


async def get_connection(request: Request) -> AsyncIterator[Connection]:
    """A read connection for the duration of the request."""
    async with HeldConnection(request) as conn:
        yield conn


EngineDep = Annotated[Engine, Depends(get_engine)]
ConnectionDep = Annotated[Connection, Depends(get_connection)]

_bearer = HTTPBearer(auto_error=False, description="Token printed by `linde users add`.")


def _bearer_token(request: Request) -> str | None:
    """The token of the request's ``Authorization`` header; ``None`` without one.

    Raises:
        Unauthenticated: a header that is not ``Bearer <token>`` (401).
        TooManyRequests: the address sent too many wrong tokens lately (429).
    """
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("use Authorization: Bearer <token>")
    throttle: SignInThrottle = request.app.state.signin_throttle
    throttle.check(_address(request))
    return token.strip()


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _checked(request: Request, conn: Connection, token: str) -> Principal:
    """Ask the database who ``token`` belongs to; a wrong one counts against the address."""
    try:
        return check_token(conn, token)
    except Unauthenticated:
        throttle: SignInThrottle = request.app.state.signin_throttle
        throttle.failed(_address(request))
        raise


async def caller_of(request: Request) -> Principal | None:
    """The caller named by the request's ``Authorization`` header; ``None`` without one.

    A wrong token counts against the client's address (see ``api.throttle``). A
    token seen lately (nearly every request) is answered from this worker's memory
    (see ``api.tokens``), with no connection at all. Any other is looked up in a
    worker thread on a connection of its own: the request may already hold one of
    the event loop's connection slots, so taking a second slot here could leave
    requests waiting on each other; in a thread a checkout may wait without
    stopping the loop.

    Raises:
        Unauthenticated: a header that is not ``Bearer <token>``, or a token that is
            unknown, revoked or expired (401).
        TooManyRequests: the address sent too many wrong tokens lately (429).
    """
    token = _bearer_token(request)
    if token is None:
        return None
    cache: TokenCache = request.app.state.token_cache
    digest = token_digest(token)
    principal = cache.get(digest)
    if principal is None:
        principal = await run_in_threadpool(
            on_read_connection, request.app.state.engine, lambda c: _checked(request, c, token)
        )
        cache.put(digest, principal)
    return principal


def require_role(required: Role) -> Callable[..., Coroutine[None, None, Principal]]:
    """A dependency that admits the caller named by ``Authorization: Bearer <token>``
    when its role is ``required`` or above.

    One dependency, not a chain (identify, then check): each link costs FastAPI a
    resolution on every request. It takes no connection of the request (see
    :func:`caller_of`), so a route that needs none, like ``/lookup``, pays for none.

    Raises:
        Unauthenticated: no token, or a token that is unknown, revoked or expired (401).
        TooManyRequests: too many wrong tokens from this address lately (429).
        Forbidden: the caller's role is below ``required`` (403).
    """

    async def check(
        request: Request,
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        principal = await caller_of(request)
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
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """The caller when a bearer token is sent, ``None`` for an anonymous request.

    For resources that are public but show more to a signed-in role. A token that is
    sent but unknown or revoked is still refused (401), never silently ignored.
    """
    return await caller_of(request)


MaybeCaller = Annotated[Principal | None, Depends(optional_principal)]
