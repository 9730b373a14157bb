"""Who is calling: a bearer token (scripts), HTTP Basic (desktop GIS) or a session
cookie (people in a browser), and the CSRF check every cookie-authorised write passes.

* ``Authorization: Bearer <token>``: looked up by its SHA-256 (``layers.users``).
* ``Authorization: Basic``: a user name and password, checked with argon2. QGIS and
  GDAL send them on every request; a worker remembers, for a password it verified,
  a keyed digest beside the hash it matched, so the next request skips argon2 but
  still reads the user's row (a disabled user or a new password stops it at once).
* the ``linde_session`` cookie: HttpOnly, SameSite=Lax, Secure over HTTPS; read from
  the ``sessions`` table on every request, so ending it holds on every worker.

A session authorises a state-changing request (anything but GET/HEAD/OPTIONS) only
with the session's CSRF token in ``X-CSRF-Token`` (or the ``csrf`` form field, read
by the page routes), and only from this site: an ``Origin`` (or, without one, a
``Sec-Fetch-Site``) naming another site is refused. Tokens and Basic are not sent by a
browser on its own, so they need no CSRF token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from cachetools import LRUCache
from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from api.throttle import SignInThrottle
from api.tokens import TokenCache
from geo.errors import Forbidden, Unauthenticated
from layers import accounts
from layers.clock import Clock
from layers.engine import on_read_connection
from layers.users import Principal, check_token, token_digest

SESSION_COOKIE = "linde_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def client_address(request: Request) -> str:
    """The client's address: the connection's, or the one a configured proxy named
    (``linde serve`` hands uvicorn ``LINDE_TRUSTED_PROXIES``, and nothing else)."""
    return request.client.host if request.client else "unknown"


def clock(request: Request) -> datetime:
    """This moment by the app's clock (``layers.clock``; a test moves its own)."""
    now: Clock = request.app.state.clock
    return now.now()


def _throttle(request: Request) -> SignInThrottle:
    throttle: SignInThrottle = request.app.state.signin_throttle
    return throttle


class BasicMemory:
    """For each user name, a keyed digest of the last password verified and the hash it
    matched. The key is random per process, so the memory alone reveals nothing."""

    def __init__(self, size: int = 1000) -> None:
        self._key = secrets.token_bytes(32)
        self._seen: LRUCache[str, tuple[bytes, str]] = LRUCache(maxsize=size)
        self._lock = threading.Lock()

    def _digest(self, name: str, password: str) -> bytes:
        return hmac.new(self._key, f"{name}\0{password}".encode(), hashlib.sha256).digest()

    def knows(self, name: str, password: str, password_hash: str) -> bool:
        with self._lock:
            seen = self._seen.get(name)
        return (
            seen is not None
            and seen[1] == password_hash
            and hmac.compare_digest(seen[0], self._digest(name, password))
        )

    def remember(self, name: str, password: str, password_hash: str) -> None:
        with self._lock:
            self._seen[name] = (self._digest(name, password), password_hash)


def _basic_pair(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthenticated("HTTP Basic credentials must be base64 of name:password") from None
    name, sep, password = decoded.partition(":")
    if not sep or not name:
        raise Unauthenticated("HTTP Basic credentials must be base64 of name:password")
    return name, password


def _check_basic(request: Request, name: str, password: str) -> Principal:
    """In a worker thread: the user whose name and password these are."""
    engine = request.app.state.engine
    memory: BasicMemory = request.app.state.basic_memory
    found = on_read_connection(engine, lambda c: accounts.password_user(c, name[:64]))
    if found is not None and memory.knows(name, password, found[1]):
        return found[0]
    if not accounts.password_matches(
        password[: accounts.MAX_PASSWORD], found[1] if found else None
    ):
        _throttle(request).failed(client_address(request), name)
        raise Unauthenticated("wrong user name or password")
    assert found is not None
    memory.remember(name, password, found[1])
    return found[0]


async def _by_basic(request: Request, value: str) -> Principal:
    name, password = _basic_pair(value)
    _throttle(request).check(client_address(request), name)
    return await run_in_threadpool(_check_basic, request, name, password)


def _checked_token(request: Request, token: str) -> Principal:
    """In a worker thread: who ``token`` belongs to. A wrong one counts against the
    address, and once the address is over its limit is answered 429 instead of 401."""
    try:
        now = clock(request)
        return on_read_connection(
            request.app.state.engine, lambda c: check_token(c, token, now=now)
        )
    except Unauthenticated:
        address = client_address(request)
        throttle = _throttle(request)
        throttle.check(address)
        throttle.failed(address)
        raise


async def _by_token(request: Request, token: str) -> Principal:
    cache: TokenCache = request.app.state.token_cache
    digest = token_digest(token)
    principal = cache.get(digest)
    if principal is None:
        principal = await run_in_threadpool(_checked_token, request, token)
        cache.put(digest, principal)
    return principal


def session_of(request: Request) -> Principal | None:
    """In a worker thread: the user of the request's session cookie; ``None`` without a
    live one (none sent, ended, idle or past its expiry, user disabled)."""
    sid = request.cookies.get(SESSION_COOKIE)
    if not sid or len(sid) > 100:
        return None
    engine = request.app.state.engine
    settings = request.app.state.settings
    idle = timedelta(minutes=settings.session_idle_minutes)
    now = clock(request)
    return on_read_connection(
        engine, lambda c: accounts.session_principal(engine, c, sid, now=now, idle=idle)
    )


def same_site(request: Request) -> bool:
    """Whether the request comes from a page of this service (``Origin``, else
    ``Sec-Fetch-Site``; a request with neither, such as curl's, is not a browser's)."""
    origin = request.headers.get("origin")
    if origin is not None:
        parts = urlsplit(origin)
        own = urlsplit(str(request.base_url))
        return (parts.scheme, parts.netloc) == (own.scheme, own.netloc)
    return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


def check_csrf(request: Request, principal: Principal, sent: str | None) -> None:
    """Refuse a state-changing request a session authorises without its CSRF token or
    from another site.

    Raises:
        Forbidden: another site's request, or a missing or wrong CSRF token (403).
    """
    if request.method in SAFE_METHODS:
        return
    if not same_site(request):
        raise Forbidden("a request from another site cannot use this session")
    expected = principal.csrf_token or ""
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Forbidden(
            "this request needs the session's CSRF token (X-CSRF-Token header or csrf field); "
            "reload the page and try again"
        )


async def caller_of(request: Request) -> Principal | None:
    """The caller of a request; ``None`` for an anonymous one.

    Raises:
        Unauthenticated: an ``Authorization`` header that is not Bearer or Basic, or
            whose credential is wrong, revoked or expired (401).
        TooManyRequests: too many failed sign-ins from this address (429).
        Forbidden: a session used for a write without its CSRF token or cross-site (403).
    """
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return await _by_token(request, value.strip())
        if scheme.lower() == "basic" and value.strip():
            return await _by_basic(request, value.strip())
        raise Unauthenticated("use Authorization: Bearer <token>, or HTTP Basic")
    if SESSION_COOKIE not in request.cookies:
        return None
    principal = await run_in_threadpool(session_of, request)
    if principal is not None:
        check_csrf(request, principal, request.headers.get(CSRF_HEADER))
    return principal
