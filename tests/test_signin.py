"""People sign in with a name and a password: sessions, CSRF, expiry, throttling,
HTTP Basic and proxy headers. Over real HTTP, on both engines.

Expiry is tested with a clock the test moves (``create_app(clock=…)``), never by
waiting; throttling is tested by counts, never by rates.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from layers.schema import sessions
from layers.users import add_user
from tests.conftest import Database
from tests.helpers import PASSWORD, ManualClock, sign_in


class Clock(ManualClock):
    """A clock the test moves by hand, in minutes as sessions are measured."""

    def __init__(self) -> None:
        super().__init__(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))

    def advance(self, seconds: float = 0, **delta: float) -> None:
        super().advance(seconds + timedelta(**delta).total_seconds())


def csrf_of(client: httpx.Client) -> str:
    """The session's CSRF token, as the signed-in page writes it into its forms."""
    page = client.get("/cuenta")
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


@pytest.fixture
def people(db: Database, serve: Any) -> tuple[Database, str, Clock]:
    """An empty database served with a movable clock, and four people with passwords."""
    clock = Clock()
    base = serve(db, clock=clock, failed_signins_per_minute=0)
    for name, role in (("ana", "commission"), ("beto", "planner"), ("root", "admin")):
        add_user(db.engine, name, role, actor="test", password=PASSWORD)
    return db, base, clock


def test_sign_in_act_and_sign_out(people: tuple[Database, str, Clock]) -> None:
    _db, base, _clock = people
    with httpx.Client(base_url=base, timeout=30) as browser:
        form = browser.get("/entrar")
        assert form.status_code == 200 and "Contraseña" in form.text and 'lang="es"' in form.text
        signed = sign_in(base, "ana", client=browser)
        assert signed.status_code == 303 and signed.headers["location"] == "/cuenta"
        cookie = signed.headers["set-cookie"]
        assert "linde_session=" in cookie
        assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
        assert "secure" not in cookie.lower()  # served over plain HTTP here
        me = browser.get("/me")
        assert me.status_code == 200 and me.json()["name"] == "ana"
        # a write the session authorises: with its CSRF token it passes the door
        token = csrf_of(browser)
        wrote = browser.post(
            "/disputes",
            json={"name": "x"},
            headers={"X-CSRF-Token": token, "Origin": base},
        )
        assert wrote.status_code == 422, wrote.text  # past auth, refused for its body
        out = browser.post("/salir", data={"csrf": token}, headers={"Origin": base})
        assert out.status_code == 303
        browser.cookies.clear()
        browser.cookies.set("linde_session", cookie.split(";")[0].split("=", 1)[1])
        assert browser.get("/me").status_code == 401  # the ended session is gone


def test_a_wrong_password_is_refused_in_spanish(people: tuple[Database, str, Clock]) -> None:
    _db, base, _clock = people
    wrong = sign_in(base, "ana", "no-es-la-contraseña")
    assert wrong.status_code == 401
    assert "incorrectos" in wrong.text and "set-cookie" not in wrong.headers
    nobody = sign_in(base, "nadie", PASSWORD)
    assert nobody.status_code == 401 and "incorrectos" in nobody.text


def test_writes_need_the_csrf_token_and_this_site(people: tuple[Database, str, Clock]) -> None:
    _db, base, _clock = people
    with httpx.Client(base_url=base, timeout=30) as browser:
        sign_in(base, "ana", client=browser)
        token = csrf_of(browser)
        # what another site's form or script can send: the cookie, no token
        forged = browser.post(
            "/disputes", json={"name": "x"}, headers={"Origin": "https://evil.example"}
        )
        assert forged.status_code == 403, forged.text
        assert browser.post("/disputes", json={"name": "x"}).status_code == 403
        wrong = browser.post("/disputes", json={"name": "x"}, headers={"X-CSRF-Token": "x" * 43})
        assert wrong.status_code == 403
        # even with the token, another site's origin is refused
        cross = browser.post(
            "/disputes",
            json={"name": "x"},
            headers={"X-CSRF-Token": token, "Origin": "https://evil.example"},
        )
        assert cross.status_code == 403
        fetched = browser.post(
            "/disputes",
            json={"name": "x"},
            headers={"X-CSRF-Token": token, "Sec-Fetch-Site": "cross-site"},
        )
        assert fetched.status_code == 403
        # sign-out and the page forms need it too
        assert browser.post("/salir", headers={"Origin": base}).status_code == 403
        assert browser.get("/me").status_code == 200
    # a sign-in form posted from another site (login CSRF) is refused
    assert sign_in(base, "ana", headers={"Origin": "https://evil.example"}).status_code == 403


def test_no_session_fixation(people: tuple[Database, str, Clock]) -> None:
    _db, base, _clock = people
    with httpx.Client(base_url=base, timeout=30) as browser:
        first = sign_in(base, "beto", client=browser)
        planted = first.cookies["linde_session"]
        # the browser still carries beto's session when ana signs in on it
        second = sign_in(base, "ana", client=browser)
        fresh = second.cookies["linde_session"]
        assert fresh != planted
        assert browser.get("/me").json()["name"] == "ana"
    with httpx.Client(base_url=base, timeout=30, cookies={"linde_session": planted}) as old:
        assert old.get("/me").status_code == 401  # the brought session was ended
    chosen = "a" * 43  # an id an attacker picked: never adopted
    with httpx.Client(base_url=base, timeout=30, cookies={"linde_session": chosen}) as browser:
        signed = sign_in(base, "ana", client=browser)
        assert signed.cookies["linde_session"] != chosen


def test_a_session_after_a_password_reset_is_refused(people: tuple[Database, str, Clock]) -> None:
    db, base, _clock = people
    _user, admin_token = add_user(db.engine, "token-admin", "admin", actor="test")
    with httpx.Client(base_url=base, timeout=30) as browser:
        sign_in(base, "beto", client=browser)
        assert browser.get("/me").status_code == 200
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin_token}"}) as a:
            reset = a.put("/users/beto/password", json={"password": "otra-contraseña-2"})
        assert reset.status_code == 200 and reset.json()["sessions_ended"] == 1
        assert browser.get("/me").status_code == 401
        assert sign_in(base, "beto").status_code == 401  # the old password is gone
        assert sign_in(base, "beto", "otra-contraseña-2").status_code == 303


def test_people_change_their_own_password(people: tuple[Database, str, Clock]) -> None:
    _db, base, _clock = people
    with httpx.Client(base_url=base, timeout=30) as elsewhere:
        sign_in(base, "beto", client=elsewhere)
        with httpx.Client(base_url=base, timeout=30) as browser:
            sign_in(base, "beto", client=browser)
            form = {
                "actual": PASSWORD,
                "nueva": "nueva-contraseña-3",
                "repetida": "nueva-contraseña-3",
            }
            mistaken = browser.post(
                "/cuenta/contrasena",
                data={**form, "actual": "equivocada!!", "csrf": csrf_of(browser)},
                headers={"Origin": base},
            )
            assert mistaken.status_code == 401 and "no es correcta" in mistaken.text
            changed = browser.post(
                "/cuenta/contrasena",
                data={**form, "csrf": csrf_of(browser)},
                headers={"Origin": base},
            )
            assert changed.status_code == 303, changed.text
            assert browser.get("/me").status_code == 200  # a fresh session for this browser
        assert elsewhere.get("/me").status_code == 401  # every other session ended
    assert sign_in(base, "beto", "nueva-contraseña-3").status_code == 303


def test_idle_and_absolute_expiry(people: tuple[Database, str, Clock]) -> None:
    _db, base, clock = people
    with httpx.Client(base_url=base, timeout=30) as browser:
        sign_in(base, "beto", client=browser)
        clock.advance(minutes=29)
        assert browser.get("/me").status_code == 200  # used: the idle time starts again
        clock.advance(minutes=29)
        assert browser.get("/me").status_code == 200
        clock.advance(minutes=31)
        assert browser.get("/me").status_code == 401  # idle too long
    with httpx.Client(base_url=base, timeout=30) as browser:
        sign_in(base, "beto", client=browser)
        for _ in range(28):  # used every 25 minutes, for 11 h 40 min: never idle
            clock.advance(minutes=25)
            assert browser.get("/me").status_code == 200
        clock.advance(minutes=25)  # 12 h 5 min after signing in, 25 min after last use
        assert browser.get("/me").status_code == 401


def test_ended_sessions_are_purged_after_a_month(people: tuple[Database, str, Clock]) -> None:
    """A session that ended holds an address and a browser name and can never be used
    again: a sign-in a month after it ended deletes it; live ones and recent ones stay."""
    db, base, clock = people

    def kept() -> int:
        with db.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(sessions)).scalar_one())

    with httpx.Client(base_url=base, timeout=30) as old, httpx.Client(base_url=base) as out:
        sign_in(base, "beto", client=old)  # expires in 12 h, never signed out
        sign_in(base, "ana", client=out)
        assert out.post("/salir", data={"csrf": csrf_of(out)}).status_code in (200, 303)
        assert kept() == 2
        clock.advance(days=29)
        with httpx.Client(base_url=base, timeout=30) as recent:
            sign_in(base, "root", client=recent)  # the ended two are still recent
        assert kept() == 3
        clock.advance(days=2)
        with httpx.Client(base_url=base, timeout=30) as later:
            sign_in(base, "ana", client=later)
            assert later.get("/me").status_code == 200
        # the two that ended a month ago are gone; root's (ended 2 days ago) and ana's stay
        assert kept() == 2
        assert old.get("/me").status_code == 401


def test_pages_send_a_browser_without_a_session_to_sign_in(
    people: tuple[Database, str, Clock],
) -> None:
    _db, base, _clock = people
    with httpx.Client(base_url=base, timeout=30) as browser:
        page = browser.get("/inspecciones/nueva")
        assert page.status_code == 303
        assert page.headers["location"] == "/entrar?siguiente=/inspecciones/nueva"
        assert browser.get("/disputas/5").headers["location"] == "/entrar?siguiente=/disputas/5"
        signed = browser.post(
            "/entrar",
            data={"nombre": "ana", "contrasena": PASSWORD, "siguiente": "/disputas/5"},
            headers={"Origin": base},
        )
        assert signed.headers["location"] == "/disputas/5"
        assert browser.get("/disputas/5").status_code == 200
        # no open redirect: only a path of this site
        away = browser.post(
            "/entrar",
            data={"nombre": "ana", "contrasena": PASSWORD, "siguiente": "//evil.example/x"},
            headers={"Origin": base},
        )
        assert away.headers["location"] == "/mapas"


def test_disabling_a_user_ends_sessions_and_tokens_at_once(
    people: tuple[Database, str, Clock],
) -> None:
    db, base, _clock = people
    _user, admin_token = add_user(db.engine, "token-admin", "admin", actor="test")
    _user, beto_token = add_user(db.engine, "beto2", "planner", actor="test", password=PASSWORD)
    admin = {"Authorization": f"Bearer {admin_token}"}
    with httpx.Client(base_url=base, timeout=30) as browser:
        sign_in(base, "beto2", client=browser)
        assert browser.get("/me").status_code == 200
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {beto_token}"}) as s:
            assert s.get("/me").status_code == 200
            for loose in (1, 0, "yes"):  # true or false only (0 was taken as false)
                refused = httpx.patch(
                    f"{base}/users/beto2", json={"disabled": loose}, headers=admin
                )
                assert refused.status_code == 422 and "disabled" in refused.text, refused.text
            assert s.get("/me").status_code == 200
            changed = httpx.patch(f"{base}/users/beto2", json={"disabled": True}, headers=admin)
            assert changed.status_code == 200, changed.text
            assert changed.json()["ended"] == {"sessions": 1, "tokens": 1}
            assert s.get("/me").status_code == 401
        assert browser.get("/me").status_code == 401
    assert sign_in(base, "beto2").status_code == 401
    audit = httpx.get(f"{base}/audit", params={"entity": "user"}, headers=admin).json()
    assert any(e["entity_id"] == "beto2" and e["action"] == "user.changed" for e in audit)
    assert any(e["actor"] == "beto2" and e["action"] == "session.started" for e in audit)


# --- throttling, proxy headers ---------------------------------------------------------------


def test_wrong_passwords_cannot_lock_a_person_out(db: Database, serve: Any) -> None:
    """An attacker's address is throttled; the person, from their own address, signs in."""
    base = serve(
        db,
        trusted_proxies=["127.0.0.1"],
        failed_signins_per_minute=20,
        failed_signins_per_name_per_minute=3,
    )
    add_user(db.engine, "ana", "commission", actor="test", password=PASSWORD)
    attacker = {"X-Forwarded-For": "203.0.113.66"}
    answers = [
        sign_in(base, "ana", "adivina-adivina", headers=attacker).status_code for _ in range(5)
    ]
    assert answers == [401, 401, 401, 429, 429]
    # throttled: even the right password is not checked from that address for that name
    assert sign_in(base, "ana", headers=attacker).status_code == 429
    # the person, from their office, is not locked out
    assert sign_in(base, "ana", headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 303


def test_forwarded_for_is_not_believed_by_default(db: Database, serve: Any) -> None:
    """Issue 17 item 5: 200 wrong tokens with a rotating X-Forwarded-For were never throttled."""
    base = serve(db, failed_signins_per_minute=5)
    statuses = [
        httpx.get(
            f"{base}/me",
            headers={"Authorization": "Bearer linde_guess", "X-Forwarded-For": f"10.0.0.{i}"},
        ).status_code
        for i in range(8)
    ]
    assert statuses == [401] * 5 + [429] * 3


# --- HTTP Basic ------------------------------------------------------------------------------


def basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


def test_http_basic_over_the_same_identities(db: Database, serve: Any) -> None:
    base = serve(db, failed_signins_per_minute=4, failed_signins_per_name_per_minute=3)
    add_user(db.engine, "qgis", "planner", actor="test", password=PASSWORD)
    add_user(db.engine, "gdal", "planner", actor="test", password=PASSWORD)
    _user, admin_token = add_user(db.engine, "token-admin", "admin", actor="test")
    with httpx.Client(base_url=base, timeout=30) as gis:
        for name in ("qgis", "qgis", "gdal"):  # a repeat is answered from the worker's memory
            ok = gis.get("/collections/inspections/items", headers=basic(name, PASSWORD))
            assert ok.status_code == 200, ok.text
        wrong = gis.get("/collections/inspections/items", headers=basic("qgis", "mala"))
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"] == 'Basic realm="Linde"'
        # a browser's script never gets a Basic challenge (no password dialog)
        assert gis.get("/me").headers["www-authenticate"] == "Bearer"
        # a disabled user stops at once, though this worker remembers its password
        disabled = httpx.patch(
            f"{base}/users/gdal",
            json={"disabled": True},
            headers={"Authorization": f"Bearer {admin_token}"},
        )
        assert disabled.status_code == 200
        assert gis.get("/me", headers=basic("gdal", PASSWORD)).status_code == 401
        assert gis.get("/me", headers={"Authorization": "Basic no-es-base64!"}).status_code == 401
        assert gis.get("/me", headers=basic("qgis", "x")).status_code == 401
        assert gis.get("/me", headers=basic("qgis", "y")).status_code == 401
        # three wrong for the name from this address: throttled, the right one included
        assert gis.get("/me", headers=basic("qgis", PASSWORD)).status_code == 429


def test_gdal_opens_a_protected_collection_with_basic(db: Database, serve: Any) -> None:
    """Issue 18 item 8: GDAL_HTTP_USERPWD, as QGIS's Basic authentication sends it."""
    import os
    import shutil
    import subprocess
    import uuid

    ogrinfo = shutil.which("ogrinfo")
    if ogrinfo is None:
        pytest.fail("ogrinfo (Debian gdal-bin) is missing; scripts/setup.sh installs it")
    base = serve(db)
    _user, token = add_user(db.engine, "campo", "inspector", actor="test", password=PASSWORD)
    add_user(db.engine, "qgis", "planner", actor="test", password=PASSWORD)
    point = {
        "type": "Feature",
        "id": str(uuid.uuid4()),
        "geometry": {"type": "Point", "coordinates": [-96.72, 17.06]},
        "properties": {
            "observed_at": "2026-03-05T10:30:00-06:00",
            "category": "solid_waste",
            "severity": 3,
        },
    }
    created = httpx.post(
        f"{base}/inspections", json=point, headers={"Authorization": f"Bearer {token}"}
    )
    assert created.status_code == 201, created.text

    def run(userpwd: str | None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GDAL_HTTP")}
        if userpwd:
            env["GDAL_HTTP_USERPWD"] = userpwd
        return subprocess.run(
            [ogrinfo, "-ro", "-so", f"OAPIF:{base}/collections/inspections", "inspections"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    opened = run(f"qgis:{PASSWORD}")
    assert opened.returncode == 0, opened.stderr
    assert "Feature Count: 1" in opened.stdout, opened.stdout
    assert run(None).returncode != 0  # anonymous: refused
    assert run("qgis:no-es-esta").returncode != 0
