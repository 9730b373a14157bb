"""Administration in the browser (admin role, signed in), in Spanish.

* ``/admin/usuarios``: create users, disable or enable them, reset a password, change
  a role or municipality. Any change of what a user may do ends their sessions and
  tokens at once (``layers.accounts.change_user``); their records and audit stay.
* ``/admin/sesiones``: open sessions and live tokens, each revocable.
* ``/admin/bitacora``: the audit trail, filtered by who, action, entity and dates.

Every form carries the session's CSRF token (``api.pages.common.check_form``). These
are forms, not API: they stay out of the OpenAPI document (scripts use ``/users``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import URL

from api.auth import clock, session_of
from api.pages.common import ROLE_ES, check_form, refused, render, to_sign_in
from geo.errors import LindeError
from geo.roles import Role
from layers import accounts, audit, users
from layers.engine import on_read_connection
from layers.users import Principal

router = APIRouter(tags=["pages"], include_in_schema=False)
ROLES = [(r.value, ROLE_ES[r.value]) for r in Role]
Csrf = Annotated[str | None, Form(max_length=200)]


def _admin(request: Request) -> Principal | Response:
    """The signed-in admin, or the page to show instead (sign in; not allowed)."""
    caller = session_of(request)
    if caller is None:
        return to_sign_in(request)
    if caller.role is not Role.admin:
        return refused("Esta página es para quien administra Linde.")
    return caller


def _admin_form(request: Request, csrf: str | None) -> Principal | Response:
    """The signed-in admin sending a form of this site with its CSRF token, or the page
    to show instead (sign in; not allowed; the form refused)."""
    caller = _admin(request)
    if isinstance(caller, Response):
        return caller
    return check_form(request, caller, csrf) or caller


def _back(path: str, ok: str | None = None, error: str | None = None) -> RedirectResponse:
    url = URL(path)
    if ok:
        url = url.include_query_params(hecho=ok)
    if error:
        url = url.include_query_params(error=error)
    return RedirectResponse(str(url), status_code=303)


def _said(request: Request) -> dict[str, Any]:
    """A message carried back by the redirect after a form (shown as text, escaped)."""
    return {
        "ok": request.query_params.get("hecho", "")[:300] or None,
        "error": request.query_params.get("error", "")[:300] or None,
    }


@router.get("/admin/usuarios")
def users_page(request: Request) -> Response:
    caller = _admin(request)
    if isinstance(caller, Response):
        return caller
    listed = on_read_connection(request.app.state.engine, users.list_users)
    return render(
        "admin_usuarios.html",
        caller=caller,
        users=listed,
        roles=ROLES,
        min_password=accounts.MIN_PASSWORD,
        **_said(request),
    )


@router.post("/admin/usuarios")
def create_user(
    request: Request,
    nombre: Annotated[str, Form(max_length=64)],
    rol: Annotated[str, Form(max_length=16)],
    contrasena: Annotated[str, Form(max_length=256)],
    municipio: Annotated[str, Form(max_length=5)] = "",
    csrf: Csrf = None,
) -> Response:
    caller = _admin_form(request, csrf)
    if isinstance(caller, Response):
        return caller
    try:
        users.add_user(
            request.app.state.engine,
            nombre,
            rol,
            actor=caller.name,
            days=request.app.state.settings.token_days,
            password=contrasena,
            cvegeo=municipio.strip() or None,
        )
    except LindeError as exc:
        return _back("/admin/usuarios", error=f"No se dio de alta: {exc.message}")
    return _back("/admin/usuarios", ok=f"Usuario {nombre} dado de alta.")


@router.post("/admin/usuarios/{name}")
def change_user(
    request: Request,
    name: str,
    rol: Annotated[str | None, Form(max_length=16)] = None,
    municipio: Annotated[str | None, Form(max_length=5)] = None,
    habilitado: Annotated[str | None, Form(max_length=2)] = None,
    csrf: Csrf = None,
) -> Response:
    caller = _admin_form(request, csrf)
    if isinstance(caller, Response):
        return caller
    try:
        changed = accounts.change_user(
            request.app.state.engine,
            name,
            actor=caller.name,
            role=rol,
            cvegeo=municipio.strip() if municipio is not None else None,
            disabled=None if habilitado is None else habilitado != "si",
            now=clock(request),
        )
    except LindeError as exc:
        return _back("/admin/usuarios", error=f"No se cambió {name}: {exc.message}")
    if not changed["changed"]:
        return _back("/admin/usuarios", ok=f"{name}: sin cambios.")
    ended = changed["ended"]
    return _back(
        "/admin/usuarios",
        ok=f"{name} cambiado; se cerraron {ended['sessions']} sesiones y {ended['tokens']} tokens.",
    )


@router.post("/admin/usuarios/{name}/contrasena")
def reset_password(
    request: Request,
    name: str,
    contrasena: Annotated[str, Form(max_length=256)],
    csrf: Csrf = None,
) -> Response:
    caller = _admin_form(request, csrf)
    if isinstance(caller, Response):
        return caller
    try:
        ended = accounts.set_password(
            request.app.state.engine, name, contrasena, actor=caller.name, now=clock(request)
        )
    except LindeError as exc:
        return _back("/admin/usuarios", error=f"No se restableció: {exc.message}")
    return _back(
        "/admin/usuarios", ok=f"Contraseña de {name} restablecida; {ended} sesiones cerradas."
    )


@router.get("/admin/sesiones")
def sessions_page(request: Request) -> Response:
    caller = _admin(request)
    if isinstance(caller, Response):
        return caller
    now = clock(request)

    def read(conn: Any) -> dict[str, Any]:
        return {
            "sessions": accounts.live_sessions(conn, now),
            "tokens": accounts.live_tokens(conn, now),
        }

    listed = on_read_connection(request.app.state.engine, read)
    return render("admin_sesiones.html", caller=caller, **listed, **_said(request))


@router.post("/admin/sesiones/{session_id}/terminar")
def end_session(request: Request, session_id: int, csrf: Csrf = None) -> Response:
    caller = _admin_form(request, csrf)
    if isinstance(caller, Response):
        return caller
    accounts.end_session(
        request.app.state.engine, session_id, actor=caller.name, now=clock(request)
    )
    return _back("/admin/sesiones", ok=f"Sesión {session_id} terminada.")


@router.post("/admin/tokens/{token_id}/revocar")
async def end_token(request: Request, token_id: int, csrf: Csrf = None) -> Response:
    caller = await run_in_threadpool(_admin_form, request, csrf)
    if isinstance(caller, Response):
        return caller
    await run_in_threadpool(
        accounts.end_token,
        request.app.state.engine,
        token_id,
        actor=caller.name,
        now=clock(request),
    )
    request.app.state.token_cache.clear()
    return _back("/admin/sesiones", ok=f"Token {token_id} revocado.")


def _day(value: str | None) -> datetime | None:
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC) if value else None
    except ValueError:
        return None


@router.get("/admin/bitacora")
def audit_page(
    request: Request,
    actor: str | None = None,
    accion: str | None = None,
    entidad: str | None = None,
    desde: str | None = None,
    hasta: str | None = None,
) -> Response:
    caller = _admin(request)
    if isinstance(caller, Response):
        return caller
    until = _day(hasta)
    filters = {"actor": actor, "accion": accion, "entidad": entidad, "desde": desde, "hasta": hasta}
    entries = on_read_connection(
        request.app.state.engine,
        lambda conn: audit.recent(
            conn,
            limit=500,
            entity=entidad or None,
            actor=actor or None,
            action=accion or None,
            since=_day(desde),
            until=until + timedelta(days=1) if until else None,
        ),
    )
    return render("admin_bitacora.html", caller=caller, entries=entries, f=filters)
