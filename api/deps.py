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
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPBasic, HTTPBearer
from sqlalchemy import Connection, Engine

from api.auth import SESSION_COOKIE, caller_of
from api.replica import ReadTarget
from geo.access import Action, RowScope, scope
from geo.errors import Forbidden, Unauthenticated
from geo.roles import Role
from layers.engine import read_connection
from layers.users import Principal


async def get_engine(request: Request) -> Engine:
    """The primary's engine: writes, and reads that must see them."""
    engine: Engine = request.app.state.engine
    return engine


def read_target(request: Request) -> ReadTarget:
    """Where this request's reads go: the read replica when one is configured and has
    caught up with the caller's last write (see ``api.replica``), else the primary."""
    target: ReadTarget | None = request.scope.get("state", {}).get("linde_read_target")
    if target is None:
        state = request.app.state
        return ReadTarget(state.engine, state.async_reader, state.page_reader)
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
#: Released when the route returns, before the response is sent: a client that reads
#: its answer slowly, or never, must not hold a connection (and a loop slot) meanwhile.
ConnectionDep = Annotated[Connection, Depends(get_connection, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="Token printed by `linde users add`.")


class _BasicScheme(HTTPBasic):
    """HTTP Basic in the OpenAPI document only: ``api.auth`` reads the header itself
    (FastAPI's own parser refuses UTF-8 passwords, which QGIS and GDAL send)."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


_basic = _BasicScheme(auto_error=False, description="User name and password (desktop GIS).")
_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description="The session a person gets at /entrar; writes also need X-CSRF-Token.",
)
#: the three ways in, so that OpenAPI lists them on every protected operation
Credentials = (Depends(_bearer), Depends(_basic), Depends(_cookie))


def require_role(required: Role) -> Callable[..., Coroutine[None, None, Principal]]:
    """A dependency that admits the caller (a token, HTTP Basic or a session; see
    ``api.auth``) when its role is ``required`` or above.

    One dependency, not a chain (identify, then check): each link costs FastAPI a
    resolution on every request. It takes no connection of the request (see
    :func:`caller_of`), so a route that needs none, like ``/lookup``, pays for none.

    Raises:
        Unauthenticated: no credential, or one that is wrong, revoked or expired (401).
        TooManyRequests: too many failed sign-ins from this address lately (429).
        Forbidden: the caller's role is below ``required``, or a session's write came
            without its CSRF token (403).
    """

    async def check(
        request: Request,
        _b: Annotated[object, Credentials[0]],
        _a: Annotated[object, Credentials[1]],
        _c: Annotated[object, Credentials[2]],
    ) -> Principal:
        return await admitted(request, required)

    return check


async def admitted(request: Request, required: Role) -> Principal:
    """The caller, if its role is ``required`` or above (see :func:`require_role`)."""
    principal = await caller_of(request)
    if principal is None:
        raise Unauthenticated(
            "this resource needs you signed in (/entrar), a bearer token "
            "(Authorization: Bearer …) or HTTP Basic"
        )
    if not principal.role.can_act_as(required):
        raise Forbidden(
            f"this needs the {required.value} role; {principal.name} is {principal.role.value}"
        )
    return principal


Planner = Annotated[Principal, Depends(require_role(Role.planner))]
Inspector = Annotated[Principal, Depends(require_role(Role.inspector))]
Commission = Annotated[Principal, Depends(require_role(Role.commission))]
Admin = Annotated[Principal, Depends(require_role(Role.admin))]


async def optional_principal(
    request: Request,
    _b: Annotated[object, Credentials[0]],
    _a: Annotated[object, Credentials[1]],
    _c: Annotated[object, Credentials[2]],
) -> Principal | None:
    """The caller when a credential is sent, ``None`` for an anonymous request.

    For resources that are public but show more to a signed-in role. A token that is
    sent but unknown or revoked is still refused (401), never silently ignored; a
    session cookie that has ended is anonymous.
    """
    return await caller_of(request)


MaybeCaller = Annotated[Principal | None, Depends(optional_principal)]


@dataclass(frozen=True)
class Access:
    """A caller admitted to an action, and the rows it reaches (``geo.access.SPEC``)."""

    caller: Principal
    rows: RowScope

    @property
    def name(self) -> str:
        return self.caller.name


def access_of(caller: Principal, action: Action) -> Access:
    return Access(caller, scope(caller.role, caller.cvegeo, caller.name, action))


def require_access(action: Action, door: Role) -> Callable[..., Coroutine[None, None, Access]]:
    """A dependency that admits callers of role ``door`` or above (as
    :func:`require_role`) and gives the route the rows ``action`` reaches for them.

    The one place routes learn their row scope; ``layers.access`` turns it into SQL and
    ``geo.access.allows`` checks one row. Reusable by any router (tiles, pages).

    Raises:
        Unauthenticated, TooManyRequests: as :func:`require_role`.
        Forbidden: the role is below ``door``, or ``action`` reaches no row for it (403).
    """

    async def check(
        request: Request,
        _b: Annotated[object, Credentials[0]],
        _a: Annotated[object, Credentials[1]],
        _c: Annotated[object, Credentials[2]],
    ) -> Access:
        caller = await admitted(request, door)
        granted = access_of(caller, action)
        if granted.rows.reach.value == "none":
            raise Forbidden(f"{caller.name} may not {action.value.replace('.', ' ')}")
        return granted

    return check


ZoneReader = Annotated[Access, Depends(require_access(Action.zone_read, Role.planner))]
ZoneEvidence = Annotated[Access, Depends(require_access(Action.zone_evidence, Role.commission))]
ZoneDecider = Annotated[Access, Depends(require_access(Action.zone_decide, Role.commission))]
ClaimRecorder = Annotated[Access, Depends(require_access(Action.claim_record, Role.commission))]
OfficialRecorder = Annotated[
    Access, Depends(require_access(Action.claim_official, Role.commission))
]
InspectionReader = Annotated[Access, Depends(require_access(Action.inspection_read, Role.planner))]
InspectionReviewer = Annotated[
    Access, Depends(require_access(Action.inspection_review, Role.commission))
]
InspectionFollowUp = Annotated[
    Access, Depends(require_access(Action.inspection_follow_up, Role.commission))
]
