"""Signing in and out, and changing one's own password, as Spanish pages.

* ``GET /entrar``: the sign-in form; ``POST /entrar`` checks the name and password
  (argon2), ends any session the browser brought and starts a new one with a new
  random id (no fixation), then goes back to ``siguiente``.
* ``POST /salir``: ends the session (with its CSRF token).
* ``GET /cuenta`` and ``POST /cuenta/contrasena``: the person's own password; the
  change ends every session of theirs and opens a fresh one for this browser.

Failed sign-ins are throttled per address and per name from that address
(``api.throttle``); a throttled attempt is answered 429 before its password is checked.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from api.auth import SESSION_COOKIE, client_address, clock, same_site
from api.pages.common import (
    ROLE_ES,
    check_form,
    page_caller,
    refused,
    render,
    safe_next,
    to_sign_in,
)
from api.throttle import SignInThrottle
from geo.errors import InvalidInput, TooManyRequests
from layers import accounts
from layers.engine import on_read_connection
from layers.users import Principal

router = APIRouter(tags=["pages"])

WRONG = "Nombre de usuario o contraseña incorrectos."


def open_session(request: Request, response: Response, principal: Principal) -> None:
    """Start a session for ``principal`` and give the browser its cookie."""
    settings = request.app.state.settings
    new = accounts.start_session(
        request.app.state.engine,
        principal,
        now=clock(request),
        max_age=timedelta(hours=settings.session_hours),
        address=client_address(request),
        user_agent=request.headers.get("user-agent"),
    )
    response.set_cookie(
        SESSION_COOKIE,
        new.sid,
        max_age=settings.session_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def _end_brought_session(request: Request, caller: Principal | None) -> None:
    if caller is not None and caller.session_id is not None:
        accounts.end_session(
            request.app.state.engine, caller.session_id, actor=caller.name, now=clock(request)
        )


@router.get("/entrar", response_class=HTMLResponse, summary="Página para entrar (es-MX)")
async def sign_in_page(request: Request, siguiente: str | None = None) -> HTMLResponse:
    caller = await page_caller(request)
    ok = f"Ya entró como {caller.name}." if caller else None
    return render("entrar.html", caller=caller, siguiente=safe_next(siguiente), nombre="", ok=ok)


@router.post("/entrar", response_class=HTMLResponse, summary="Entrar con nombre y contraseña")
async def sign_in(
    request: Request,
    nombre: Annotated[str, Form(max_length=64)],
    contrasena: Annotated[str, Form(max_length=256)],
    siguiente: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    target = safe_next(siguiente)
    if not same_site(request):
        return refused("El formulario para entrar debe enviarse desde Linde.")
    throttle: SignInThrottle = request.app.state.signin_throttle
    address = client_address(request)
    try:
        throttle.check(address, nombre)
    except TooManyRequests as exc:
        page = render(
            "entrar.html",
            status_code=429,
            caller=None,
            siguiente=target,
            nombre=nombre,
            error=f"Demasiados intentos fallidos. Espere {exc.retry_after} s y vuelva a intentar.",
        )
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    engine = request.app.state.engine
    principal = await run_in_threadpool(
        on_read_connection, engine, lambda c: accounts.verify_password(c, nombre, contrasena)
    )
    if principal is None:
        throttle.failed(address, nombre)
        return render(
            "entrar.html",
            status_code=401,
            caller=None,
            siguiente=target,
            nombre=nombre,
            error=WRONG,
        )
    brought = await page_caller(request)
    response = RedirectResponse(target, status_code=303)
    await run_in_threadpool(_end_brought_session, request, brought)
    await run_in_threadpool(open_session, request, response, principal)
    return response


# A form field is text or absent, never null: ``csrf`` is a string whose absence is "",
# so the OpenAPI document does not offer a null that no form can send (Schemathesis
# took an empty list, sent as no field at all, for a refused null).
@router.post("/salir", response_class=HTMLResponse, summary="Salir (termina la sesión)")
async def sign_out(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    if not same_site(request):
        # refused before the cookie is touched: another site must not even clear it
        return refused("Para salir use el botón «Salir» de Linde.")
    caller = await page_caller(request)
    response = RedirectResponse("/entrar", status_code=303)
    if caller is not None:
        refusal = check_form(request, caller, csrf)
        if refusal is not None:
            return refusal
        await run_in_threadpool(_end_brought_session, request, caller)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/cuenta", response_class=HTMLResponse, summary="Mi cuenta: cambiar contraseña")
async def account_page(request: Request) -> Response:
    caller = await page_caller(request)
    if caller is None:
        return to_sign_in(request)
    return render(
        "cuenta.html",
        caller=caller,
        role_es=ROLE_ES[caller.role.value],
        min_password=accounts.MIN_PASSWORD,
        ok="Contraseña cambiada." if request.query_params.get("hecho") else None,
    )


@router.post(
    "/cuenta/contrasena", response_class=HTMLResponse, summary="Cambiar la contraseña propia"
)
async def change_password(
    request: Request,
    actual: Annotated[str, Form(max_length=256)],
    nueva: Annotated[str, Form(max_length=256)],
    repetida: Annotated[str, Form(max_length=256)],
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    caller = await page_caller(request)
    if caller is None:
        return to_sign_in(request)
    refusal = check_form(request, caller, csrf)
    if refusal is not None:
        return refusal

    def again(message: str, status: int = 400) -> HTMLResponse:
        return render(
            "cuenta.html",
            status_code=status,
            caller=caller,
            role_es=ROLE_ES[caller.role.value],
            min_password=accounts.MIN_PASSWORD,
            error=message,
        )

    engine = request.app.state.engine
    throttle: SignInThrottle = request.app.state.signin_throttle
    address = client_address(request)
    try:
        throttle.check(address, caller.name)
    except TooManyRequests as exc:
        return again(f"Demasiados intentos fallidos. Espere {exc.retry_after} s.", 429)
    current = await run_in_threadpool(
        on_read_connection, engine, lambda c: accounts.verify_password(c, caller.name, actual)
    )
    if current is None:
        throttle.failed(address, caller.name)
        return again("La contraseña actual no es correcta.", 401)
    if nueva != repetida:
        return again("Las dos contraseñas nuevas no coinciden.")
    try:
        await run_in_threadpool(
            lambda: accounts.set_password(
                engine, caller.name, nueva, actor=caller.name, now=clock(request)
            )
        )
    except InvalidInput:
        return again(
            f"La contraseña nueva debe tener de {accounts.MIN_PASSWORD} a "
            f"{accounts.MAX_PASSWORD} caracteres."
        )
    response = RedirectResponse("/cuenta?hecho=1", status_code=303)
    await run_in_threadpool(open_session, request, response, current)
    return response
