"""What the pages share: their templates, the signed-in person, and redirects to /entrar.

Pages know a person only by the session cookie (``api.auth``); nothing a page's
script can read holds a credential. The CSRF token a page writes into its forms and
its ``<meta name="csrf-token">`` is useless without the HttpOnly cookie.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from api.auth import check_csrf, session_of
from geo.errors import Forbidden
from layers.users import Principal

env = Environment(
    loader=PackageLoader("api.pages", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

ROLE_ES = {
    "planner": "planeación",
    "inspector": "inspección",
    "commission": "comisión de límites",
    "admin": "administración",
}


def render(template: str, *, status_code: int = 200, **values: Any) -> HTMLResponse:
    html = env.get_template(template).render(role_es_of=ROLE_ES, **values)
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})


async def page_caller(request: Request) -> Principal | None:
    """The person signed in to this browser (their session), or ``None``."""
    return await run_in_threadpool(session_of, request)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/mapas"
    return target


def to_sign_in(request: Request) -> RedirectResponse:
    """Send the browser to /entrar, to come back here once signed in."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/entrar?siguiente={quote(here, safe='/')}", status_code=303)


def check_form(request: Request, caller: Principal, csrf: str | None) -> HTMLResponse | None:
    """A page form's POST: the session's CSRF token in the ``csrf`` field, from this site.
    ``None`` when it passes; else the Spanish page that refuses it (403)."""
    try:
        if caller.via != "session":
            raise Forbidden("page forms are for signed-in people")
        check_csrf(request, caller, csrf)
    except Forbidden:
        return refused(
            "El formulario venía sin su clave de seguridad o desde otro sitio. "
            "Vuelva a abrir la página y repita lo que hacía."
        )
    return None


def refused(message: str, status_code: int = 403) -> HTMLResponse:
    return render(
        "error.html", status_code=status_code, caller=None, titulo="No se puede", mensaje=message
    )
