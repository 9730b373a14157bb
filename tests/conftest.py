"""Fixtures: one suite, run on a real PostGIS and a real SpatiaLite file.

* ``db`` — an empty, migrated database, cleaned before each test, per engine.
* ``oaxaca`` — a database holding the 26 real municipalities of the Oaxaca metro zone,
  its rows of both metro-zone delimitations and the Natural Earth Atoyac and Salado
  (all from ``data/``), served over real HTTP by uvicorn,
  with one token per role. Loaded once per engine; tests must not change it.

When ``LINDE_TEST_REQUIRE_ENGINES=1`` or ``CI`` is set, a test skipped because an
engine is missing fails the run instead of passing silently.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from hypothesis import settings as hypothesis_settings
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Engine, delete, insert

from api.app import create_app, proxy_options
from api.settings import AppSettings
from layers import accounts
from layers.clock import SYSTEM_CLOCK, Clock
from layers.engine import make_engine
from layers.geometry_io import to_db
from layers.importers.metro_zones import import_metro_zones
from layers.importers.municipalities import import_municipalities
from layers.importers.rivers import import_rivers
from layers.migrate import upgrade
from layers.schema import (
    inspection_categories,
    inspections,
    layer_changes,
    layer_versions,
    metadata,
)
from layers.settings import Settings
from layers.users import add_user
from tests.collection import ENGINES as ENGINES  # where the engines are chosen per test
from tests.helpers import TLS

# The real extract shipped in the repository (data/README.md): the Oaxaca metro zone.
# No test may read or write the user's own Linde data folder (~/.local/share/linde: the
# demo's database and photos): the suite's default data folder is one of its own, so a
# command run without LINDE_DATABASE_URL meets an empty database, never a real one.
_OWN_DATA_HOME = tempfile.mkdtemp(prefix="linde-test-data-")
atexit.register(shutil.rmtree, _OWN_DATA_HOME, ignore_errors=True)
os.environ["XDG_DATA_HOME"] = _OWN_DATA_HOME
os.environ.pop("LINDE_DATABASE_URL", None)
os.environ.pop("LINDE_PHOTOS_DIR", None)

DATA = Path(__file__).resolve().parents[1] / "data"
OAXACA = DATA / "municipios_zm_oaxaca_inegi.geojson"  # the 26 municipalities of ZM Oaxaca
LOCALITIES = DATA / "localidades_zm_oaxaca_inegi.geojson"  # their 235 locality polygons
METRO_2020 = DATA / "zm_oaxaca_2020.csv"  # Metrópolis de México 2020, zone 20.1.01
METRO_2015 = DATA / "zm_oaxaca_2015.csv"  # Delimitación 2015, zone 20.01
RIVERS = DATA / "rios_atoyac_salado_ne_10m.geojson"  # Natural Earth: Atoyac x3, Salado x2
CONAGUA_SITES = DATA / "conagua_sitios_atoyac_salado_2019.geojson"  # 28 sites
PG_ADMIN = os.environ.get(
    "LINDE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


# Passwords in this process are hashed with argon2id at its lowest cost: Linde's own
# (64 MiB, 3 passes, pwdlib's recommended) is about 0.1 s of CPU for each hash and each
# check, and the sign-in tests make hundreds of them (a third of their time). Every hash
# still names its parameters, so either kind checks the other. `linde` run as a process
# keeps Linde's cost, and tests/test_admin_pages.py checks the parameters it stores.
accounts._hasher = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),))

# No property test has a time limit per example: Hypothesis' default deadline (200 ms)
# is a bound on the machine's speed, and failed a tile-pack example that took 306 ms on
# a busy machine and 22 ms when Hypothesis ran it again.
hypothesis_settings.register_profile("linde", deadline=None)
hypothesis_settings.load_profile("linde")

# the engine each test runs on, the slow markers (tests/collection.py); pytester runs
# that plugin on a throw-away suite in tests/test_collection.py
pytest_plugins = ["pytester", "tests.collection", "tests.hostile"]

ROLES = ("planner", "inspector", "commission", "admin")


def strict() -> bool:
    return bool(os.environ.get("LINDE_TEST_REQUIRE_ENGINES") or os.environ.get("CI"))


_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if strict() and _skipped and exitstatus == 0:
        print(f"\n{len(_skipped)} test(s) skipped while every engine is required: failing the run")
        for nodeid in _skipped[:20]:
            print(f"  skipped: {nodeid}")
        session.exitstatus = 1


def _pg_conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _create_pg_database(name: str, template: str | None = None) -> str:
    """A new database ``name`` (dropped first if it was left behind), empty or a copy of
    ``template`` (which no one may be connected to)."""
    copy_of = f' TEMPLATE "{template}"' if template else ""
    try:
        with psycopg.connect(_pg_conninfo(PG_ADMIN), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"{copy_of}')
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL is not reachable at {PG_ADMIN}: {exc}"
        if strict():
            pytest.fail(message)
        pytest.skip(message)
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def _drop_pg_database(name: str) -> None:
    with psycopg.connect(_pg_conninfo(PG_ADMIN), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Database:
    kind: str
    url: str
    engine: Engine
    tokens: dict[str, str] = field(default_factory=dict)
    base_url: str = ""
    photos_dir: Path | None = None
    label: str = ""
    #: the server started first for it (``serve``), stopped by :func:`release`
    server: tuple[uvicorn.Server, threading.Thread] | None = None

    def client(self, role: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30, verify=TLS)


@pytest.fixture(scope="session")
def database_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """``make(kind, label)``: a new migrated database of one engine.

    Each is a copy of one migrated template per engine and worker, made by the first
    call (``CREATE DATABASE … TEMPLATE``; a copy of the SpatiaLite file): running the
    migrations was 0.9 s (PostGIS) and 0.4 s (SpatiaLite) of each of the suite's
    databases. ``test_migrations`` runs them on databases of its own.
    """
    created: list[str] = []
    engines: list[Engine] = []
    templates: dict[str, str] = {}

    def template(kind: str) -> str:
        """The template's database name (PostGIS) or file (SpatiaLite), migrated once."""
        if kind not in templates:
            if kind == "postgis":
                source = f"linde_test_template_{os.getpid()}"
                url = _create_pg_database(source)
                created.append(source)
            else:
                source = str(tmp_path_factory.mktemp("template") / "linde.sqlite")
                url = f"sqlite:///{source}"
            engine = make_engine(url, Settings(database_url=url))
            upgrade(engine)
            engine.dispose()  # a template must have no one connected (and no -wal file)
            templates[kind] = source
        return templates[kind]

    def make(kind: str, label: str) -> Database:
        if kind == "postgis":
            name = f"linde_test_{label}_{os.getpid()}"
            url = _create_pg_database(name, template=template(kind))
            created.append(name)
        else:
            path = tmp_path_factory.mktemp(label) / "linde.sqlite"
            shutil.copyfile(template(kind), path)
            url = f"sqlite:///{path}"
        engine = make_engine(url, Settings(database_url=url))
        engines.append(engine)
        database = Database(kind, url, engine, label=label)
        _made.append(database)
        return database

    yield make
    for engine in engines:
        engine.dispose()
    for name in created:
        _drop_pg_database(name)


#: every database made this session, in order (:func:`_release_module_databases`)
_made: list[Database] = []
#: the labels of the databases kept for the whole session (``db``/``api`` and ``oaxaca``)
SESSION_LABELS = {"empty", "oaxaca"}


def release(database: Database) -> None:
    """Stop the database's server, close its connections and drop it (PostGIS) or leave
    its file to pytest's temporary folder (SpatiaLite)."""
    if database.server is not None:
        _stop([database.server])
        database.server = None
    database.engine.dispose()
    if database.kind == "postgis":
        _drop_pg_database(database.url.rsplit("/", 1)[1])


@pytest.fixture(scope="module", autouse=True)
def _release_module_databases() -> Iterator[None]:
    """A database a module (or one of its tests) made for itself is gone when the module
    is: its server and connections would otherwise stay to the end of the session, and
    two workers' dozens of idle servers came within one of PostgreSQL's 100 connections."""
    first = len(_made)
    yield
    for database in _made[first:]:
        if database.label not in SESSION_LABELS:
            release(database)
    _made[first:] = [d for d in _made[first:] if d.label in SESSION_LABELS]


def clean(engine: Engine) -> None:
    """Every row gone but what the migrations made (counters, the first categories)."""
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            if table is inspection_categories:
                conn.execute(delete(table).where(table.c.created_by != "migration 0004"))
            elif table is not layer_versions and table is not layer_changes:
                # the change log goes with the counters: tiles' ETags depend on both
                conn.execute(delete(table))


@pytest.fixture(scope="session")
def _empty_db(engine_kind: str, database_factory: object) -> Database:
    return database_factory(engine_kind, "empty")  # type: ignore[operator]


@pytest.fixture
def db(_empty_db: Database) -> Database:
    """An empty migrated database of each engine, cleaned before the test."""
    clean(_empty_db.engine)
    return _empty_db


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Start Linde over real HTTP (uvicorn on 127.0.0.1) for a database.

    The first server of a database (``database.base_url`` still empty: ``oaxaca``,
    ``api``, a module's own database) runs to the end of the session; one started for
    a database that already has its server (a test's own settings) is stopped when
    that test ends, so servers and their connections do not pile up over a session.
    ``clock``: the time its token checks read (a ``tests.helpers.ManualClock`` to step it).
    """
    kept: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(database: Database, clock: Clock = SYSTEM_CLOCK, **settings: Any) -> str:
        port = free_port()
        photos = tmp_path_factory.mktemp("photos")
        app_settings = AppSettings(database_url=database.url, photos_dir=photos, **settings)
        app = create_app(app_settings, clock=clock)
        first = not database.base_url
        if first:
            database.photos_dir = photos
        # proxy headers as `linde serve` treats them (none believed unless configured)
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=port,
                log_level="warning",
                **proxy_options(app_settings),
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        # a wait for the event, not a bound on the machine's speed
        deadline = time.monotonic() + 120
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                pytest.fail("the test server did not start")
            time.sleep(0.05)
        (kept if first else _for_this_test).append((server, thread))
        if first:
            database.server = (server, thread)
        return f"http://127.0.0.1:{port}"

    yield start
    _stop(kept)


_for_this_test: list[tuple[uvicorn.Server, threading.Thread]] = []


def _stop(servers: list[tuple[uvicorn.Server, threading.Thread]]) -> None:
    for server, _thread in servers:
        server.should_exit = True
    for _server, thread in servers:
        thread.join(timeout=30)
    servers.clear()


@pytest.fixture(autouse=True)
def _stop_the_servers_of_this_test() -> Iterator[None]:
    yield
    _stop(_for_this_test)


@pytest.fixture(scope="session")
def seeded_database(database_factory: Any, serve: Any) -> Any:
    """Make a database of one engine holding real Oaxaca data, served over HTTP, with a
    user and token per role: the one recipe behind ``oaxaca`` and the module fixtures
    that need a copy of their own (they write to it).

    ``make(kind, label, metro_zones=..., rivers=..., roles=..., **settings)``: the metro
    zone tables to import, whether to import the rivers, the roles to make users for,
    and settings for the server (e.g. ``failed_signins_per_minute=0``).
    """

    def make(
        kind: str,
        label: str,
        *,
        metro_zones: tuple[Path, ...] = (METRO_2020, METRO_2015),
        rivers: bool = True,
        roles: tuple[str, ...] = ROLES,
        **settings: Any,
    ) -> Database:
        database: Database = database_factory(kind, label)
        import_municipalities(database.engine, OAXACA, actor="test")
        for table in metro_zones:
            import_metro_zones(database.engine, table, actor="test")
        if rivers:
            import_rivers(database.engine, RIVERS, actor="test", skip_unnamed=True)
        for role in roles:
            _user, database.tokens[role] = add_user(
                database.engine, f"{role}-user", role, actor="test"
            )
        database.base_url = serve(database, **settings)
        return database

    return make


@pytest.fixture(scope="session")
def oaxaca(engine_kind: str, seeded_database: Any) -> Database:
    """The real Oaxaca metro zone on each engine, served over HTTP, with a token per role."""
    database: Database = seeded_database(engine_kind, "oaxaca")
    return database


@pytest.fixture
def api(db: Database, serve: object) -> Database:
    """The empty database of each engine, served over HTTP, with a token per role."""
    if not db.base_url:
        db.base_url = serve(db)  # type: ignore[operator]
    for role in ROLES:
        _user, token = add_user(db.engine, f"{role}-user", role, actor="test")
        db.tokens[role] = token
    return db


@pytest.fixture
def metro(api: Database, tmp_path_factory: pytest.TempPathFactory) -> Database:
    """The Oaxaca metro zone with official claims and San Jacinto's locality claim, detected."""
    from layers.importers.localities import import_localities
    from tests.disputes_data import localities_file
    from tests.helpers import claim_sja, load_metro, ok

    folder = tmp_path_factory.getbasetemp()
    load_metro(api, folder)
    import_localities(api.engine, localities_file(folder), actor="test")
    with api.client("commission") as http:
        ok(
            http.post(
                "/claims/official", json={"zone": "20.1.01", "valid_from": "2020-01-01T00:00:00Z"}
            ),
            201,
        )
        claim_sja(http, 0.0, "2024-01-01T00:00:00Z")
        ok(http.post("/detection-runs", json={"zone": "20.1.01"}), 201)
    return api


@pytest.fixture(scope="module")
def _chromium() -> Iterator[Any]:
    """Debian's headless chromium, through Playwright (never a browser it downloads).

    One per module, not per session: Playwright's sync API keeps an event loop running
    in this thread while it is started, and a later test's ``asyncio.run`` then fails."""
    from playwright.sync_api import sync_playwright

    from tests.helpers import CHROMIUM, FLAGS

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is needed for the browser tests: scripts/setup.sh --test")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def browser(_chromium: Any) -> Iterator[Any]:
    """The module's chromium; the contexts (and their pages, cookies, storage, service
    workers) a test opened are closed when it ends, so no page of one test runs on
    through the next."""
    yield _chromium
    for context in list(_chromium.contexts):
        context.close()


@pytest.fixture
def atoyac_inspections(api: Database) -> Database:
    """Natural Earth rivers and the 28 CONAGUA sites as inspection points."""
    import_rivers(api.engine, RIVERS, actor="test", skip_unnamed=True)
    from tests import maps_data  # geopandas; only the map tests need it

    points = maps_data.conagua_inspections()
    now = datetime.now(UTC)
    rows = [
        {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"conagua/{row.id}")),
            "observed_at": row.observed_at.to_pydatetime(),
            "category": row.category,
            "severity": row.severity,
            "description": row.description,
            "inspector": "test",
            "source": "CONAGUA, calidad del agua superficial 2019",
            "created_at": now,
            "geom": geom,
        }
        for row, geom in zip(points.itertuples(), to_db(points.geometry.values), strict=True)
    ]
    with api.engine.begin() as conn:
        conn.execute(insert(inspections), rows)
    return api
