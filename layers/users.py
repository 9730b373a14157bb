"""Users and their bearer tokens. Tokens are shown once and stored only as SHA-256 digests."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypedDict

from sqlalchemy import Connection, Engine, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from geo.errors import Conflict, InvalidInput, NotFound, Problem, Unauthenticated
from geo.roles import Role
from layers import audit
from layers.engine import write_connection
from layers.schema import api_tokens, users

TOKEN_PREFIX = "linde_"  # noqa: S105 (a visible prefix, not a secret)
#: the longest a token may be made to last
MAX_TOKEN_DAYS = 3650


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    user_id: int
    name: str
    role: Role
    #: when the token that named this caller stops working (None: never)
    expires_at: datetime | None = field(default=None, compare=False)
    #: the municipality the caller acts for (INEGI cvegeo); None: the state
    cvegeo: str | None = None
    #: how the caller proved who it is: "token", "password" (HTTP Basic) or "session"
    via: str = field(default="token", compare=False)
    #: a session's CSRF token, which its state-changing requests must echo
    csrf_token: str | None = field(default=None, compare=False, repr=False)
    session_id: int | None = field(default=None, compare=False)


def token_digest(token: str) -> str:
    """The SHA-256 a token is stored and looked up by (tokens are never kept in clear)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _check_name(name: str) -> str:
    clean = name.strip()
    if not clean or len(clean) > 64 or not all(c.isalnum() or c in "._-@" for c in clean):
        raise InvalidInput(
            "user name must be 1-64 letters, digits or . _ - @",
            problems=[Problem("name", "1-64 letters, digits or . _ - @")],
        )
    return clean


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidInput(
            f"role must be one of {', '.join(r.value for r in Role)}, not {value!r}",
            problems=[Problem("role", f"one of {', '.join(r.value for r in Role)}")],
        ) from None


def expiry(days: int | None) -> datetime | None:
    """When a token made now for ``days`` days expires (``None`` or 0: never).

    Raises:
        InvalidInput: a negative or absurdly long validity.
    """
    if not days:
        return None
    if days < 0 or days > MAX_TOKEN_DAYS:
        raise InvalidInput(
            f"days must be 1-{MAX_TOKEN_DAYS} (or 0 for a token that never expires), not {days}",
            problems=[Problem("days", f"1-{MAX_TOKEN_DAYS}, or 0 for never")],
        )
    return audit.now() + timedelta(days=days)


def add_user(
    engine: Engine,
    name: str,
    role: str,
    *,
    actor: str,
    days: int | None = None,
    password: str | None = None,
    cvegeo: str | None = None,
) -> tuple[Principal, str]:
    """Create a user with a first token valid ``days`` days (``None``/0: no expiry),
    a password to sign in with (``None``: tokens only) and the municipality it acts
    for (``None``: the state). Returns the user and the token (shown once).

    Raises:
        InvalidInput: bad name, role, days, password or municipality.
        Conflict: the name is taken.
    """
    from layers.accounts import check_cvegeo, hash_password

    clean, parsed = _check_name(name), parse_role(role)
    expires_at = expiry(days)
    hashed = hash_password(password) if password is not None else None
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    try:
        with write_connection(engine) as conn:
            scope = check_cvegeo(conn, cvegeo)
            now = audit.now()
            result = conn.execute(
                insert(users).values(
                    name=clean,
                    role=parsed.value,
                    created_at=now,
                    password_hash=hashed,
                    password_changed_at=now if hashed else None,
                    cvegeo=scope,
                )
            )
            pk = result.inserted_primary_key
            assert pk is not None
            user_id = int(pk[0])
            _store_token(conn, user_id, token, expires_at)
            audit.record(
                conn,
                actor,
                "user.created",
                "user",
                clean,
                {
                    "role": parsed.value,
                    "cvegeo": scope,
                    "password": hashed is not None,
                    "token_expires_at": _iso(expires_at),
                },
            )
    except IntegrityError:
        raise Conflict(
            f"a user named {clean!r} already exists", problems=[Problem("name", "already taken")]
        ) from None
    return Principal(user_id, clean, parsed, cvegeo=scope), token


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def new_token(engine: Engine, name: str, *, actor: str, days: int | None = None) -> str:
    """Issue another token for an existing user, valid ``days`` days (``None``/0: no
    expiry); the old ones stay valid until they expire or are revoked.

    Raises:
        NotFound: no such user. InvalidInput: bad days.
    """
    expires_at = expiry(days)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with write_connection(engine) as conn:
        user_id = conn.execute(select(users.c.id).where(users.c.name == name)).scalar()
        if user_id is None:
            raise NotFound(f"no user named {name!r}")
        _store_token(conn, user_id, token, expires_at)
        audit.record(conn, actor, "token.created", "user", name, {"expires_at": _iso(expires_at)})
    return token


def revoke_tokens(engine: Engine, name: str, *, actor: str) -> int:
    with write_connection(engine) as conn:
        user_id = conn.execute(select(users.c.id).where(users.c.name == name)).scalar()
        if user_id is None:
            raise NotFound(f"no user named {name!r}")
        count = conn.execute(
            update(api_tokens)
            .where(api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=audit.now())
        ).rowcount
        audit.record(conn, actor, "token.revoked", "user", name, {"tokens": count})
    return count


def _store_token(conn: Connection, user_id: int, token: str, expires_at: datetime | None) -> None:
    conn.execute(
        insert(api_tokens).values(
            user_id=user_id,
            token_sha256=token_digest(token),
            created_at=audit.now(),
            expires_at=expires_at,
        )
    )


_AUTHENTICATE = (
    select(users.c.id, users.c.name, users.c.role, users.c.cvegeo, api_tokens.c.expires_at)
    .join(api_tokens, api_tokens.c.user_id == users.c.id)
    .where(
        api_tokens.c.token_sha256 == bindparam("digest"),
        api_tokens.c.revoked_at.is_(None),
        users.c.disabled_at.is_(None),
    )
)


def check_token(conn: Connection, token: str, now: datetime | None = None) -> Principal:
    """The user a bearer token belongs to, at ``now`` (default: this moment).

    Runs on every authenticated request: the statement is built once and only bound.

    Raises:
        Unauthenticated: the token is unknown, revoked, expired or its user disabled.
    """
    row = conn.execute(_AUTHENTICATE, {"digest": token_digest(token)}).first()
    if row is None:
        raise Unauthenticated("the bearer token is unknown or revoked")
    if row.expires_at is not None and row.expires_at <= (now or audit.now()):
        raise Unauthenticated(
            f"the bearer token expired on {row.expires_at:%Y-%m-%d %H:%M} UTC; "
            "an admin issues a new one (linde users token NAME, or POST /users/NAME/tokens)"
        )
    return Principal(row.id, row.name, Role(row.role), row.expires_at, cvegeo=row.cvegeo)


def authenticate(conn: Connection, token: str) -> Principal | None:
    """The user a bearer token belongs to, or ``None`` if unknown, revoked, expired or
    disabled (:func:`check_token` says which)."""
    try:
        return check_token(conn, token)
    except Unauthenticated:
        return None


class UserRow(TypedDict):
    """A user as ``GET /users`` lists it (``api.wire.users.UserRow``)."""

    name: str
    role: str
    cvegeo: str | None
    created_at: datetime
    disabled_at: datetime | None
    has_password: bool


def list_users(conn: Connection) -> list[UserRow]:
    rows = conn.execute(
        select(
            users.c.name,
            users.c.role,
            users.c.cvegeo,
            users.c.created_at,
            users.c.disabled_at,
            users.c.password_hash.is_not(None).label("has_password"),
        ).order_by(users.c.name)
    )
    return [
        UserRow(
            name=r.name,
            role=r.role,
            cvegeo=r.cvegeo,
            created_at=r.created_at,
            disabled_at=r.disabled_at,
            has_password=r.has_password,
        )
        for r in rows
    ]
