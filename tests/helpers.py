"""What several test modules share that is not a fixture: a hand-moved clock, the
command line run in this process, small readers of answers. Test modules import from
here (and from conftest), never from one another."""

from __future__ import annotations

import io
import re
import shutil
import ssl
import threading
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import httpx
import numpy as np
import orjson
import pytest
import shapely
import shapely.geometry
from PIL import Image
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine
from typer.testing import CliRunner

from layers.clock import Clock
from layers.importers.metro_zones import import_metro_zones
from layers.importers.municipalities import import_municipalities

if TYPE_CHECKING:
    from tests.conftest import Database

#: Every test server speaks plain HTTP on 127.0.0.1, yet an httpx client builds a TLS
#: context (reading certifi's CA bundle) when it is made: that was a fifth of the quick
#: loop's CPU. The tests' clients share this one, made once (``verify=TLS``).
TLS = ssl.create_default_context()


class ManualClock(Clock):
    """A clock that stands still until the test moves it: "after the token expires" or
    "after the memory forgets" is a step, not a sleep, on a machine of any speed."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or Clock().now()
        self._seconds = 0.0
        self._lock = threading.Lock()  # read by the server's threads

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)
            self._seconds += seconds


# --- the command line, run in this process ---------------------------------------------


@dataclass
class Ran:
    """A finished ``linde`` command, with the names of ``subprocess.CompletedProcess``."""

    returncode: int
    stdout: str
    stderr: str


def run_linde(url: str, *args: str | Path) -> Ran:
    """Run ``linde ARGS`` in this process (Typer's ``CliRunner``) with ``LINDE_DATABASE_URL=url``.

    The same code path as the installed command but the interpreter's start: settings
    are read afresh from the environment, every engine a command makes is disposed
    after it, and an exception that escapes a command is reported on stderr as a
    traceback with exit 1, as Python would (so "no traceback" can still be asserted).
    ``tests/test_cli_process.py`` runs the real process.
    """
    import cli.main
    import layers.engine
    from layers.settings import get_settings

    made: list[Engine] = []
    real_make_engine = layers.engine.make_engine

    def make_engine(*a: Any, **kw: Any) -> Engine:
        engine = real_make_engine(*a, **kw)
        made.append(engine)
        return engine

    get_settings.cache_clear()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(layers.engine, "make_engine", make_engine)
            result = CliRunner().invoke(
                cli.main.app, [str(a) for a in args], env={"LINDE_DATABASE_URL": url}
            )
    finally:
        get_settings.cache_clear()
        for engine in made:
            engine.dispose()
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return Ran(result.exit_code, result.stdout, stderr)


def linde(db: Database, *args: str | Path) -> Ran:
    """Run ``linde ARGS`` in this process against ``db`` (see :func:`run_linde`)."""
    return run_linde(db.url, *args)


def flat(text: str) -> str:
    """Text with line wrapping undone (rich wraps long messages to the console width)."""
    return " ".join(text.split())


# --- answers over HTTP -----------------------------------------------------------------


def ok(response: httpx.Response, status: int = 200) -> Any:
    """The JSON body of an answer that must have ``status`` (else its text in the failure)."""
    assert response.status_code == status, response.text
    return response.json()


def decoded(text: str) -> str:
    """A page's text with JSON's ``\\uXXXX`` escapes turned back into letters."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda g: chr(int(g.group(1), 16)), text)


# --- the Oaxaca metro zone and its dispute -----------------------------------------------


def load_metro(db: Database, folder: Path) -> None:
    """The 26 municipalities of the Oaxaca metro zone and the 2020 metro-zone table."""
    from tests.conftest import METRO_2020
    from tests.disputes_data import metro_file

    import_municipalities(db.engine, metro_file(folder), actor="test")
    import_metro_zones(db.engine, METRO_2020, actor="test")


def claim_sja(http: httpx.Client, grow_m: float, valid_from: str) -> Any:
    """San Jacinto Amilpas claims its official polygon plus its locality (grown by metres)."""
    from tests.disputes_data import SAN_JACINTO, locality, official

    geom = shapely.union(official().geometry[SAN_JACINTO], locality("201570001"))
    if grow_m:
        geom = shapely.buffer(geom, grow_m / 111_000)
    return ok(
        http.post(
            "/claims",
            json={
                "cvegeo": SAN_JACINTO,
                "source": "survey",
                "valid_from": valid_from,
                "geometry": shapely.geometry.mapping(geom),
            },
        ),
        201,
    )


def biggest(db: Database) -> dict[str, Any]:
    """The largest disputed zone San Jacinto Amilpas is party to, as GET /disputes/{id} gives it."""
    from tests.disputes_data import SAN_JACINTO

    with db.client("planner") as http:
        zones = ok(http.get("/disputes", params={"cvegeo": SAN_JACINTO}))["zones"]
        assert zones, "the fixture should leave zones"
        return ok(http.get(f"/disputes/{zones[0]['id']}"))


# --- pages in headless Chromium (the browser fixture is in conftest) -----------------------

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@dataclass
class Offline:
    """What a page did with the network cut off."""

    blocked: list[tuple[str, str]] = field(default_factory=list)  # (resource type, url)
    console_errors: list[tuple[str, str]] = field(default_factory=list)  # (text, url)
    page_errors: list[str] = field(default_factory=list)

    def unexpected_console_errors(self) -> list[tuple[str, str]]:
        """Console errors other than the failed loads of basemap tiles: those blocked
        here, and OpenStreetMap tiles of a sandboxed map frame, some of which were seen
        to pass the page's route (Chromium runs such a frame in a process of its own)
        and fail on this machine's missing DNS instead."""
        tiles = {url for kind, url in self.blocked if kind == "image" and "tile" in url}
        return [
            (text, url)
            for text, url in self.console_errors
            if not (
                text.startswith("Failed to load resource")
                and (url in tiles or urlparse(url).hostname == "tile.openstreetmap.org")
            )
        ]


#: Every URL but the test server's own (and the browser's data:, blob:, about:, file:).
#: A route given this pattern is matched by Playwright's driver, so the page's own
#: requests (hundreds of tiles) never make the round trip to this process that a
#: route on "**/*" makes for each of them; only what is blocked reaches Python.
OUTSIDE = re.compile(r"^(?!(data:|blob:|about:|file:|https?://(127\.0\.0\.1|localhost)(:\d+)?/))")


def offline_page(
    browser: Any, width: int = 1280, height: int = 800, **context: Any
) -> tuple[Any, Offline]:
    """A page in a new browser context (``context``: Playwright's options, such as
    ``geolocation``) where only the test server answers; what it did is recorded."""
    record = Offline()
    page = browser.new_context(viewport={"width": width, "height": height}, **context).new_page()

    def route(r: Any) -> None:
        record.blocked.append((r.request.resource_type, r.request.url))
        r.abort()

    page.route(OUTSIDE, route)
    page.on(
        "console",
        lambda m: (
            record.console_errors.append((m.text, m.location.get("url", "")))
            if m.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda e: record.page_errors.append(str(e)))
    return page, record


def shot(page: Any, name: str, kind: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{kind}.png"))


# --- many inspections at once ------------------------------------------------------------

CATEGORIES = [
    "water_contamination",
    "solid_waste",
    "debris_fill",
    "informal_parking",
    "discharge",
    "other",
]


def synthetic_inspections(path: Path, rows: int, outline: BaseGeometry) -> None:
    """``rows`` made-up inspection points inside ``outline``, as one GeoJSON file; the
    same file for the same arguments (a fixed seed). bench/ingest_inspections.py makes
    its files the same way (it imports this one); tests do not import bench/."""
    rng = np.random.default_rng(20240305)
    x0, y0, x1, y1 = outline.bounds
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    shapely.prepare(outline)
    have = 0
    while have < rows:
        x = rng.uniform(x0, x1, rows)
        y = rng.uniform(y0, y1, rows)
        inside = shapely.contains_xy(outline, x, y)
        xs.append(x[inside])
        ys.append(y[inside])
        have += int(inside.sum())
    lon = np.round(np.concatenate(xs)[:rows], 6)
    lat = np.round(np.concatenate(ys)[:rows], 6)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    ids = [str(uuid.UUID(int=int(v), version=4)) for v in rng.integers(0, 2**62, rows)]
    minutes = rng.integers(0, 60 * 24 * 300, rows)
    cats = rng.integers(0, len(CATEGORIES), rows)
    sev = rng.integers(1, 6, rows)
    acc = np.round(rng.uniform(2, 25, rows), 1)
    features = [
        {
            "type": "Feature",
            "properties": {
                "id": ids[i],
                "observed_at": (start + timedelta(minutes=int(minutes[i]))).isoformat(),
                "category": CATEGORIES[int(cats[i])],
                "severity": int(sev[i]),
                "description": f"punto sintético {i}",
                "gps_accuracy_m": float(acc[i]),
                "inspector": f"inspector-{i % 40}",
            },
            "geometry": {"type": "Point", "coordinates": [float(lon[i]), float(lat[i])]},
        }
        for i in range(rows)
    ]
    path.write_bytes(orjson.dumps({"type": "FeatureCollection", "features": features}))


# --- people signing in ---------------------------------------------------------------------

PASSWORD = "contraseña-de-prueba-1"
#: the repository's root (for commands a test runs from it)
REPO = Path(__file__).resolve().parents[1]


def sign_in(
    base: str,
    name: str,
    password: str = PASSWORD,
    *,
    client: httpx.Client | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST the sign-in form as the browser does (same-origin)."""
    http = client or httpx.Client(base_url=base, timeout=30, verify=TLS)
    return http.post(
        "/entrar",
        data={"nombre": name, "contrasena": password, "siguiente": "/cuenta"},
        headers={"Origin": base, **(headers or {})},
    )


def get(db: Database, path: str, role: str | None = None, **kw: Any) -> httpx.Response:
    with db.client(role) as http:
        return http.get(path, **kw)


def ids(body: dict[str, Any]) -> list[Any]:
    return [f["id"] for f in body["features"]]


def problem(r: httpx.Response, status: int, field: str) -> str:
    assert r.status_code == status, r.text
    details = r.json()["error"]["details"]
    assert details and details[0]["field"] == field, details
    return str(details[0]["reason"])


# --- the OGC API --------------------------------------------------------------------------

OAXACA_CENTRE = (-96.7266, 17.0654)  # in Oaxaca de Juárez (20067)


def sign_in_in_browser(page: Any, base: str, name: str, then: str) -> None:
    """Sign ``name`` (password ``PASSWORD``) in through /entrar, as a person does in the
    browser, and wait to land on ``then``."""
    page.goto(f"{base}/entrar?siguiente={then}")
    page.fill("#nombre", name)
    page.fill("#contrasena", PASSWORD)
    page.click("form.caja button.primary")
    page.wait_for_url(f"**{then}")


def person_with_password(db: Database, role: str, cvegeo: str | None = None) -> str:
    """A person with a password (``PASSWORD``), of ``role``, to sign in through the page."""
    from layers.users import add_user

    name = f"{role}-persona" + (f"-{cvegeo}" if cvegeo else "")
    add_user(db.engine, name, role, actor="test", password=PASSWORD, cvegeo=cvegeo)
    return name


def sign_in_where_sent(page: Any, name: str) -> None:
    """On /entrar, where a page without a session sends the browser: name, password."""
    page.wait_for_url(re.compile(r"/entrar\?siguiente="))
    page.fill("#nombre", name)
    page.fill("#contrasena", PASSWORD)
    page.click("form.caja button.primary")


# --- inspections to review ------------------------------------------------------------------


def png_photo(rgb: tuple[int, int, int] = (30, 120, 200)) -> bytes:
    """A tiny real PNG (photos are checked by content)."""

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), rgb).save(buffer, "PNG")
    return buffer.getvalue()


def post_inspection(
    db: Database,
    at: tuple[float, float],
    category: str,
    severity: int,
    when: str,
    *,
    photo: bytes | None = None,
    inspection_id: str | None = None,
    description: str = "punto de prueba",
) -> dict[str, Any]:
    """Record an inspection as the inspector does (multipart when it carries a photo)."""
    body = {
        "type": "Feature",
        "id": inspection_id or str(uuid.uuid4()),
        "geometry": {"type": "Point", "coordinates": list(at)},
        "properties": {
            "observed_at": when,
            "category": category,
            "severity": severity,
            "description": description,
        },
    }
    with db.client("inspector") as http:
        if photo is not None:
            r = http.post(
                "/inspections",
                data={"inspection": orjson.dumps(body).decode()},
                files=[("photos", ("ribera.png", photo, "image/png"))],
            )
        else:
            r = http.post("/inspections", json=body)
    return dict(ok(r, 201))


# --- inspections a planner downloads -------------------------------------------------------


def two_inspections_on_the_atoyac(db: Database) -> None:
    """Post, as the inspector, two solid-waste points on the Atoyac's left bank in Oaxaca
    de Juárez (ids ``UUID(int=1)`` and ``UUID(int=2)``); the first with a PNG photo."""
    for n, photo in enumerate((png_photo(), None)):
        post_inspection(
            db,
            (-96.73815, 17.06201 + n * 0.001),
            "solid_waste",
            3,
            "2024-03-05T10:30:00-06:00",
            photo=photo,
            inspection_id=str(uuid.UUID(int=n + 1)),
            description=f"residuos en la ribera {n}",
        )


def river_id(db: Database, key: str) -> str:
    """The id of the river keyed ``key`` ("Atoyac", "Atoyac #2" …), as the picker's value."""
    with db.client() as http:
        found = http.get("/collections/rivers/items", params={"key": key}).json()["features"]
    assert len(found) == 1, found
    return str(found[0]["id"])
