"""Administration in the browser (admin, signed in, every form with its CSRF token),
and passwords from the command line. Over real HTTP, on both engines."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from contextlib import closing
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from layers.accounts import verify_password
from layers.schema import users
from layers.users import add_user
from tests.conftest import Database
from tests.helpers import PASSWORD, REPO, sign_in


def _signed_in(base: str, name: str) -> closing[httpx.Client]:
    """A browser signed in as ``name`` (closed by ``with``)."""
    browser = httpx.Client(base_url=base, timeout=30)
    assert sign_in(base, name, client=browser).status_code == 303
    return closing(browser)


def _csrf(browser: httpx.Client, page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', browser.get(page).text)
    assert found
    return found.group(1)


def test_only_a_signed_in_admin_gets_the_admin_pages(api: Database) -> None:
    add_user(api.engine, "root", "admin", actor="test", password=PASSWORD)
    add_user(api.engine, "ana", "commission", actor="test", password=PASSWORD)
    pages = ("/admin/usuarios", "/admin/sesiones", "/admin/bitacora")
    with httpx.Client(base_url=api.base_url, timeout=30) as anonymous:
        for page in pages:
            answer = anonymous.get(page)
            assert answer.status_code == 303 and answer.headers["location"].startswith("/entrar")
    with _signed_in(api.base_url, "ana") as ana:
        for page in pages:
            refused = ana.get(page)
            assert refused.status_code == 403 and "administra Linde" in refused.text
    with _signed_in(api.base_url, "root") as root:
        for page in pages:
            assert root.get(page).status_code == 200
        listed = root.get("/admin/usuarios").text
        assert "ana" in listed and "comisión de límites" in listed
    # a token, even an admin's, is for the API, not for these forms
    bearer = {"Authorization": f"Bearer {api.tokens['admin']}"}
    assert httpx.get(f"{api.base_url}/admin/usuarios", headers=bearer).status_code == 303


def test_admin_manages_users_sessions_and_tokens(api: Database) -> None:
    base = api.base_url
    add_user(api.engine, "root", "admin", actor="test", password=PASSWORD)
    _user, ana_token = add_user(api.engine, "ana", "planner", actor="test", password=PASSWORD)
    origin = {"Origin": base}
    with _signed_in(base, "root") as root, _signed_in(base, "ana") as ana:
        csrf = _csrf(root, "/admin/usuarios")
        # without the CSRF token the form is refused and nothing changes
        forged = root.post("/admin/usuarios/ana", data={"habilitado": "no"}, headers=origin)
        assert forged.status_code == 403
        assert ana.get("/me").status_code == 200
        created = root.post(
            "/admin/usuarios",
            data={
                "nombre": "rosa",
                "rol": "inspector",
                "contrasena": "rosa-contraseña-1",
                "csrf": csrf,
            },
            headers=origin,
        )
        assert created.status_code == 303 and "hecho=" in created.headers["location"]
        assert sign_in(base, "rosa", "rosa-contraseña-1").status_code == 303
        # a municipality that is not imported is refused, with the reason, in the page
        bad = root.post(
            "/admin/usuarios/ana", data={"municipio": "99999", "csrf": csrf}, headers=origin
        )
        assert "error=" in bad.headers["location"]
        assert "No se cambió ana" in root.get(bad.headers["location"]).text
        # a new role ends ana's session and token at once
        changed = root.post(
            "/admin/usuarios/ana", data={"rol": "inspector", "csrf": csrf}, headers=origin
        )
        assert changed.status_code == 303
        assert ana.get("/me").status_code == 401
        assert (
            httpx.get(f"{base}/me", headers={"Authorization": f"Bearer {ana_token}"}).status_code
            == 401
        )
        # a reset password
        reset = root.post(
            "/admin/usuarios/ana/contrasena",
            data={"contrasena": "otra-contraseña-9", "csrf": csrf},
            headers=origin,
        )
        assert reset.status_code == 303
        assert sign_in(base, "ana", "otra-contraseña-9").status_code == 303
        # sessions and tokens listed, and revoked from the page
        sessions = root.get("/admin/sesiones").text
        ids = re.findall(r"/admin/sesiones/(\d+)/terminar", sessions)
        assert ids and "rosa" in sessions
        _u, token = add_user(api.engine, "script", "planner", actor="test")
        listed = root.get("/admin/sesiones").text
        token_id = re.findall(r"/admin/tokens/(\d+)/revocar", listed)[0]  # newest first
        revoked = root.post(
            f"/admin/tokens/{token_id}/revocar", data={"csrf": csrf}, headers=origin
        )
        assert revoked.status_code == 303
        assert (
            httpx.get(f"{base}/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        )
        # the audit trail, filtered
        trail = root.get("/admin/bitacora", params={"actor": "root", "accion": "user."}).text
        assert "user.created" in trail and "user.changed" in trail and "user.password_set" in trail
        assert "session.started" not in trail
        none = root.get("/admin/bitacora", params={"actor": "nadie"}).text
        assert "Nada con esos filtros." in none


def _linde(db: Database, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LINDE_DATABASE_URL": db.url, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=REPO,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


@pytest.mark.subprocess  # `linde` run as a process, its password on stdin
def test_cli_sets_passwords_from_standard_input(db: Database) -> None:
    made = _linde(
        db,
        "users",
        "add",
        "root",
        "--role",
        "admin",
        "--password-stdin",
        stdin="contraseña-raíz-1\n",
    )
    assert made.returncode == 0, made.stderr
    assert "sign in at /entrar" in made.stderr and made.stdout.startswith("linde_")
    with db.engine.connect() as conn:
        assert verify_password(conn, "root", "contraseña-raíz-1") is not None
        stored: Any = conn.execute(
            select(users.c.password_hash).where(users.c.name == "root")
        ).scalar()
    # Linde's own cost (pwdlib's recommended argon2id), not the cheap one of the tests'
    # own process (conftest)
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$") and "contraseña" not in stored
    short = _linde(db, "users", "password", "root", "--password-stdin", stdin="corta\n")
    assert short.returncode != 0 and "10-256 characters" in short.stderr
    # no terminal and no --password-stdin: tokens only, and it says so
    old = _linde(db, "users", "add", "bot", "--role", "planner")
    assert old.returncode == 0 and "no password" in old.stderr
    moved = _linde(db, "users", "set", "bot", "--role", "inspector")
    assert moved.returncode == 0 and "1 token(s) ended" in moved.stderr
