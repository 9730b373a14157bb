"""People: passwords (argon2 through ``pwdlib``), browser sessions, and what an admin
changes about a user (disable, reset a password, change a role or municipality).

Sessions live in the ``sessions`` table, never in a worker's memory: every request
with a session cookie reads its row, so ending a session (sign-out, a password
reset, a disabled or re-scoped user) holds on every worker at the next request.
The cookie carries 32 random bytes; only their SHA-256 is stored. Times come from
the caller (``now``), so expiry is tested with a clock the test moves, not by waiting.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict

from pwdlib import PasswordHash
from sqlalchemy import Connection, Engine, func, or_, select, update

from geo.errors import InvalidInput, NotFound, Problem
from geo.roles import Role
from layers import audit
from layers.engine import write_connection
from layers.schema import api_tokens, municipalities, sessions, users
from layers.users import Principal, parse_role

#: argon2id with pwdlib's recommended parameters
_hasher = PasswordHash.recommended()
MIN_PASSWORD = 10
MAX_PASSWORD = 256
#: a session's last-seen time is written at most this often (not on every request)
TOUCH_EVERY = timedelta(seconds=60)


def check_password_rules(password: str, field: str = "password") -> str:
    """The password, if long enough and not absurdly long.

    Raises:
        InvalidInput: shorter than ``MIN_PASSWORD`` or longer than ``MAX_PASSWORD``.
    """
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(
            f"a password must be {MIN_PASSWORD}-{MAX_PASSWORD} characters",
            problems=[Problem(field, f"{MIN_PASSWORD}-{MAX_PASSWORD} characters")],
        )
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(check_password_rules(password))


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so both cases cost the same time.
    Made on first use, not at import: an argon2 hash is a third of a second of every
    process's start (each ``linde`` command, each server)."""
    return _hasher.hash(secrets.token_urlsafe(16))


def password_matches(password: str, password_hash: str | None) -> bool:
    """Whether ``password`` matches; a missing hash still costs one verification."""
    ok = _hasher.verify(password, password_hash or _dummy_hash())
    return ok and password_hash is not None


def _user_row(conn: Connection, name: str) -> Any:
    return conn.execute(
        select(
            users.c.id,
            users.c.name,
            users.c.role,
            users.c.cvegeo,
            users.c.password_hash,
            users.c.disabled_at,
        ).where(users.c.name == name)
    ).first()


def _principal(row: Any, via: str) -> Principal:
    return Principal(row.id, row.name, Role(row.role), cvegeo=row.cvegeo, via=via)


def password_user(conn: Connection, name: str) -> tuple[Principal, str] | None:
    """An enabled user with a password, and its hash; ``None`` otherwise."""
    row = _user_row(conn, name)
    if row is None or row.disabled_at is not None or row.password_hash is None:
        return None
    return _principal(row, "password"), row.password_hash


def verify_password(conn: Connection, name: str, password: str) -> Principal | None:
    """The enabled user ``name`` if ``password`` is theirs; ``None`` otherwise (an
    unknown name costs the same argon2 verification as a known one)."""
    found = password_user(conn, name[:64])
    ok = password_matches(password[:MAX_PASSWORD], found[1] if found else None)
    return found[0] if ok and found else None


def set_password(
    engine: Engine, name: str, password: str, *, actor: str, now: datetime | None = None
) -> int:
    """Give ``name`` a new password and end every browser session of theirs (a reset,
    or a change by the user, who then gets a fresh session). Tokens stay: they are
    for scripts, revoked on their own. Returns the number of sessions ended.

    Raises:
        InvalidInput: the password breaks the rules. NotFound: no such user.
    """
    hashed = hash_password(password)
    moment = now or audit.now()
    with write_connection(engine) as conn:
        user_id = conn.execute(select(users.c.id).where(users.c.name == name)).scalar()
        if user_id is None:
            raise NotFound(f"no user named {name!r}")
        conn.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(password_hash=hashed, password_changed_at=moment)
        )
        ended = end_sessions(conn, user_id, moment)
        audit.record(conn, actor, "user.password_set", "user", name, {"sessions_ended": ended})
    return ended


def end_sessions(conn: Connection, user_id: int, now: datetime) -> int:
    return conn.execute(
        update(sessions)
        .where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount


def _end_tokens(conn: Connection, user_id: int, now: datetime) -> int:
    return conn.execute(
        update(api_tokens)
        .where(api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount


def check_cvegeo(conn: Connection, cvegeo: str | None) -> str | None:
    """``cvegeo`` if it names an imported municipality (``None``/empty: the state).

    Raises:
        InvalidInput: not five digits, or no such municipality imported.
    """
    if not cvegeo:
        return None
    if len(cvegeo) != 5 or not cvegeo.isdigit():
        raise InvalidInput(
            f"cvegeo must be 5 digits (INEGI key, e.g. 20157), not {cvegeo!r}",
            problems=[Problem("cvegeo", "5 digits, e.g. 20157")],
        )
    found = conn.execute(select(func.count()).where(municipalities.c.cvegeo == cvegeo)).scalar_one()
    if not found:
        raise InvalidInput(
            f"no municipality {cvegeo} is imported; import it first (linde import municipalities)",
            problems=[Problem("cvegeo", "an imported municipality")],
        )
    return cvegeo


class EndedCounts(TypedDict):
    """How many sessions and tokens a change ended."""

    sessions: int
    tokens: int


class UserChange(TypedDict):
    """What :func:`change_user` changed (``api.wire.users.UserChanged``)."""

    name: str
    changed: list[str]
    ended: EndedCounts


def change_user(
    engine: Engine,
    name: str,
    *,
    actor: str,
    role: str | None = None,
    cvegeo: str | None = None,
    disabled: bool | None = None,
    now: datetime | None = None,
) -> UserChange:
    """Change a user's role, municipality (``cvegeo``: a key, ``""`` for the state,
    ``None`` to leave it) or whether it is disabled. Any change of what a user may do ends their
    sessions and tokens at once; their records and audit entries stay.

    Raises:
        NotFound: no such user. InvalidInput: a bad role or municipality.
    """
    moment = now or audit.now()
    with write_connection(engine) as conn:
        row = _user_row(conn, name)
        if row is None:
            raise NotFound(f"no user named {name!r}")
        values: dict[str, Any] = {}
        if role is not None and role != row.role:
            values["role"] = parse_role(role).value
        if cvegeo is not None and (cvegeo or None) != row.cvegeo:
            values["cvegeo"] = check_cvegeo(conn, cvegeo or None)
        if disabled is not None and disabled != (row.disabled_at is not None):
            values["disabled_at"] = moment if disabled else None
        ended = EndedCounts(sessions=0, tokens=0)
        if values:
            conn.execute(update(users).where(users.c.id == row.id).values(**values))
            ended = EndedCounts(
                sessions=end_sessions(conn, row.id, moment),
                tokens=_end_tokens(conn, row.id, moment),
            )
            details = {
                k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in values.items()
            }
            audit.record(conn, actor, "user.changed", "user", name, {**details, "ended": ended})
    return UserChange(name=name, changed=sorted(values), ended=ended)


@dataclass(frozen=True)
class NewSession:
    sid: str  # the cookie value, shown once
    csrf_token: str
    expires_at: datetime


def sid_digest(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def start_session(
    engine: Engine,
    principal: Principal,
    *,
    now: datetime,
    max_age: timedelta,
    address: str | None,
    user_agent: str | None,
) -> NewSession:
    """A new session with a new random id (never one the browser brought: no fixation)."""
    sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with write_connection(engine) as conn:
        purge_ended_sessions(conn, now)
        conn.execute(
            sessions.insert().values(
                user_id=principal.user_id,
                sid_sha256=sid_digest(sid),
                csrf_token=csrf,
                created_at=now,
                last_seen_at=now,
                expires_at=now + max_age,
                address=address,
                user_agent=(user_agent or "")[:300],
            )
        )
        audit.record(conn, principal.name, "session.started", "user", principal.name)
    return NewSession(sid, csrf, now + max_age)


#: how long a session that ended (expired or signed out) is kept for the admin's view
ENDED_SESSIONS_KEPT = timedelta(days=30)


def purge_ended_sessions(conn: Connection, now: datetime) -> int:
    """Delete sessions that ended more than :data:`ENDED_SESSIONS_KEPT` ago (they hold an
    address and a browser name, and can never be used again); the audit log keeps their
    start and end. Run on every sign-in, so the table holds about a month of sessions."""
    cutoff = now - ENDED_SESSIONS_KEPT
    return int(
        conn.execute(
            sessions.delete().where(
                or_(sessions.c.expires_at < cutoff, sessions.c.revoked_at < cutoff)
            )
        ).rowcount
    )


def session_principal(
    engine: Engine, conn: Connection, sid: str, *, now: datetime, idle: timedelta
) -> Principal | None:
    """The user of a live session; ``None`` when it is unknown, ended, idle longer than
    ``idle``, past its absolute expiry, or its user is disabled. A live session's
    last-seen time is written at most once a minute."""
    row = conn.execute(
        select(
            sessions.c.id.label("session_id"),
            sessions.c.csrf_token,
            sessions.c.last_seen_at,
            sessions.c.expires_at,
            users.c.id,
            users.c.name,
            users.c.role,
            users.c.cvegeo,
        )
        .join(users, users.c.id == sessions.c.user_id)
        .where(
            sessions.c.sid_sha256 == sid_digest(sid),
            sessions.c.revoked_at.is_(None),
            users.c.disabled_at.is_(None),
        )
    ).first()
    if row is None or row.expires_at <= now or row.last_seen_at + idle <= now:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        with write_connection(engine) as write:
            write.execute(
                update(sessions).where(sessions.c.id == row.session_id).values(last_seen_at=now)
            )
    return Principal(
        row.id,
        row.name,
        Role(row.role),
        cvegeo=row.cvegeo,
        via="session",
        csrf_token=row.csrf_token,
        session_id=row.session_id,
    )


def _revoke(
    engine: Engine, table: Any, row_id: int, *, actor: str, now: datetime, action: str, kind: str
) -> bool:
    """Set ``revoked_at`` on one live row of ``table`` and audit it; False if already
    revoked or unknown."""
    with write_connection(engine) as conn:
        ended = conn.execute(
            update(table)
            .where(table.c.id == row_id, table.c.revoked_at.is_(None))
            .values(revoked_at=now)
        ).rowcount
        if ended:
            audit.record(conn, actor, action, kind, str(row_id))
    return bool(ended)


def end_session(engine: Engine, session_id: int, *, actor: str, now: datetime) -> bool:
    """End one session (sign-out, or an admin's revocation); False if already ended."""
    return _revoke(
        engine, sessions, session_id, actor=actor, now=now, action="session.ended", kind="session"
    )


def end_token(engine: Engine, token_id: int, *, actor: str, now: datetime) -> bool:
    """Revoke one token by its id (admin page); False if already revoked or unknown."""
    return _revoke(
        engine, api_tokens, token_id, actor=actor, now=now, action="token.revoked", kind="token"
    )


class LiveSession(TypedDict):
    """A session on the admin page (``admin_sesiones.html``)."""

    id: int
    name: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    address: str | None


class LiveToken(TypedDict):
    """A token on the admin page: never its value, only when it was made and ends."""

    id: int
    name: str
    created_at: datetime
    expires_at: datetime | None


def live_sessions(conn: Connection, now: datetime) -> list[LiveSession]:
    """Sessions not ended and not past their absolute expiry, newest first."""
    rows = conn.execute(
        select(
            sessions.c.id,
            users.c.name,
            sessions.c.created_at,
            sessions.c.last_seen_at,
            sessions.c.expires_at,
            sessions.c.address,
        )
        .join(users, users.c.id == sessions.c.user_id)
        .where(sessions.c.revoked_at.is_(None), sessions.c.expires_at > now)
        .order_by(sessions.c.id.desc())
        .limit(500)
    )
    return [
        LiveSession(
            id=r.id,
            name=r.name,
            created_at=r.created_at,
            last_seen_at=r.last_seen_at,
            expires_at=r.expires_at,
            address=r.address,
        )
        for r in rows
    ]


def live_tokens(conn: Connection, now: datetime) -> list[LiveToken]:
    """Tokens not revoked and not expired (never their value: only a digest is kept)."""
    rows = conn.execute(
        select(
            api_tokens.c.id,
            users.c.name,
            api_tokens.c.created_at,
            api_tokens.c.expires_at,
        )
        .join(users, users.c.id == api_tokens.c.user_id)
        .where(
            api_tokens.c.revoked_at.is_(None),
            (api_tokens.c.expires_at.is_(None)) | (api_tokens.c.expires_at > now),
        )
        .order_by(api_tokens.c.id.desc())
        .limit(500)
    )
    return [
        LiveToken(id=r.id, name=r.name, created_at=r.created_at, expires_at=r.expires_at)
        for r in rows
    ]
