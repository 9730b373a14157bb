"""SIGKILL in the middle of the big writes; after a restart each happened whole or not at all.

A real ``linde serve`` process is killed (SIGKILL: no cleanup, no rollback by Linde)
while it imports 100,000 inspections, while it runs a detection and while it applies
a decision; it is started again on the same database and the invariants are checked:

* inspections: 0 or 100,000 rows, and re-importing the file gives exactly 100,000;
* claims never overlap their own previous version in time, and each municipality
  has at most one claim in force;
* every disputed zone's parties are municipalities, and each zone has parties;
* inspection annotations match the geometry (the official municipality holding
  each point, checked with Shapely on a sample);
* a decision either resolved its zone and made both new claims, or did neither.

On both engines. The import is killed once its writes are seen in progress
(PostgreSQL: an active statement on ``inspections`` in ``pg_stat_activity``;
SQLite: the write-ahead log growing), so the kill lands in the middle of writing.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg
import pytest
import shapely
from shapely.geometry import mapping, shape
from sqlalchemy import func, select

from layers.importers.localities import import_localities
from layers.schema import (
    claims,
    disputed_zone_parties,
    disputed_zones,
    inspections,
    municipalities,
)
from layers.users import add_user
from tests.conftest import Database, free_port
from tests.disputes_data import SAN_JACINTO, localities_file, official
from tests.helpers import claim_sja, load_metro, synthetic_inspections

REPO = Path(__file__).resolve().parents[1]
ROWS = 100_000

pytestmark = pytest.mark.crash


class Server:
    """``linde serve`` in its own process, on one database, killable and restartable."""

    def __init__(self, db: Database, photos: Path) -> None:
        self.db = db
        self.env = {
            **os.environ,
            "LINDE_DATABASE_URL": db.url,
            "LINDE_PHOTOS_DIR": str(photos),
            "PYTHONIOENCODING": "utf-8",
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = ""

    def start(self) -> None:
        port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--port", str(port)],
            cwd=REPO,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.base = f"http://127.0.0.1:{port}"
        # a wait for the event (it answers, or it died), not a bound on the machine's
        # speed: after a kill its start migrates and reads every page of a SpatiaLite
        # file, which took over a minute on the shared machine; 10 minutes means a hang
        deadline = time.monotonic() + 600
        while self.proc.poll() is None and time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        if self.proc.poll() is None:
            self.proc.kill()
        pytest.fail(f"linde serve did not start (exit status {self.proc.wait()})")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def client(self, token: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.base, headers={"Authorization": f"Bearer {token}"}, timeout=600
        )


@pytest.fixture
def server(db: Database, tmp_path: Path) -> Iterator[Server]:
    running = Server(db, tmp_path / "photos")
    yield running
    if running.proc is not None and running.proc.poll() is None:
        running.kill()


def _in_background(call: Callable[[], httpx.Response]) -> tuple[threading.Thread, list[Any]]:
    """Run ``call`` in a thread; the list receives its response or its exception."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(call())
        except httpx.TransportError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def _writing_started(db: Database, table: str, wal_bytes: int) -> Callable[[], bool]:
    """Whether the server is in the middle of writing ``table``."""
    if db.kind == "postgis":
        conninfo = db.url.replace("postgresql+psycopg://", "postgresql://")
        name = conninfo.rsplit("/", 1)[1]

        def active() -> bool:
            with psycopg.connect(conninfo.rsplit("/", 1)[0] + "/postgres") as conn:
                rows = conn.execute(
                    "SELECT query FROM pg_stat_activity WHERE datname = %s AND state = 'active' "
                    "AND pid <> pg_backend_pid()",
                    (name,),
                ).fetchall()
            return any(
                table in q.lower() and q.lstrip().upper().startswith(("COPY", "INSERT"))
                for (q,) in rows
            )

        return active
    wal = Path(db.url.removeprefix("sqlite:///") + "-wal")

    def growing() -> bool:
        return wal.exists() and wal.stat().st_size > wal_bytes

    return growing


def _kill_when(
    server: Server, started: Callable[[], bool], outcome: list[Any], timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if outcome:
            seen = getattr(outcome[0], "text", outcome[0])
            pytest.fail(f"the request ended before its writes were seen: {seen}")
        if started():
            server.kill()
            return
        time.sleep(0.02)
    pytest.fail("the server's writes were never seen")


def _check_invariants(db: Database) -> None:
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(
                claims.c.cvegeo, claims.c.version, claims.c.valid_from, claims.c.valid_to
            ).order_by(claims.c.cvegeo, claims.c.version)
        ).all()
        for earlier, later in itertools.pairwise(rows):
            if earlier.cvegeo != later.cvegeo:
                continue
            assert later.version == earlier.version + 1, (earlier, later)
            assert earlier.valid_to is not None and earlier.valid_to <= later.valid_from, (
                earlier,
                later,
            )
        in_force = conn.execute(
            select(claims.c.cvegeo, func.count())
            .where(claims.c.valid_to.is_(None))
            .group_by(claims.c.cvegeo)
            .having(func.count() > 1)
        ).all()
        assert in_force == []
        keys = set(conn.execute(select(municipalities.c.cvegeo)).scalars())
        parties = conn.execute(select(disputed_zone_parties)).all()
        assert {p.cvegeo for p in parties} <= keys
        zone_ids = set(conn.execute(select(disputed_zones.c.id)).scalars())
        assert zone_ids <= {p.zone_id for p in parties}, "a zone without parties"
        sample = conn.execute(
            select(inspections.c.municipality_cvegeo, func.ST_AsBinary(inspections.c.geom))
            .order_by(inspections.c.id)
            .limit(300)
        ).all()
        if sample:
            official = conn.execute(
                select(municipalities.c.cvegeo, func.ST_AsBinary(municipalities.c.geom))
            ).all()
    if sample:
        polygons = shapely.from_wkb([bytes(r[1]) for r in official])
        tree = shapely.STRtree(polygons)
        points = shapely.from_wkb([bytes(r[1]) for r in sample])
        where, which = tree.query(points, predicate="within")
        expected: dict[int, str] = {}
        for point_i, polygon_i in zip(where, which, strict=True):
            expected.setdefault(int(point_i), official[int(polygon_i)][0])
        for i, row in enumerate(sample):
            assert row[0] == expected.get(i), f"annotation of point {i} does not match"


def _count(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(inspections)).scalar_one())


def test_killed_in_the_middle_of_a_100k_import(
    db: Database, server: Server, tmp_path: Path
) -> None:
    load_metro(db, tmp_path)
    _user, token = add_user(db.engine, "ines", "inspector", actor="test")
    file = tmp_path / "inspecciones.geojson"
    synthetic_inspections(file, ROWS, shapely.union_all(official().geometry.to_numpy()))
    body = file.read_bytes()
    server.start()
    wal = Path(db.url.removeprefix("sqlite:///") + "-wal")
    baseline = wal.stat().st_size if db.kind == "spatialite" and wal.exists() else 0

    def post() -> httpx.Response:
        with server.client(token) as http:
            return http.post(
                "/inspections/import",
                files={"file": ("inspecciones.geojson", body, "application/geo+json")},
                data={"mode": "all"},
            )

    thread, outcome = _in_background(post)
    _kill_when(server, _writing_started(db, "inspections", baseline + (4 << 20)), outcome)
    thread.join(timeout=60)
    assert outcome and isinstance(outcome[0], httpx.TransportError), outcome

    server.start()
    assert _count(db) in (0, ROWS)
    _check_invariants(db)
    # the same file again: exactly the 100,000, whatever the crash left
    with server.client(token) as http:
        again = http.post(
            "/inspections/import",
            files={"file": ("inspecciones.geojson", body, "application/geo+json")},
            data={"mode": "all"},
        )
    assert again.status_code in (200, 201), again.text
    assert _count(db) == ROWS
    _check_invariants(db)


def _prepare_disputes(db: Database, folder: Path) -> str:
    load_metro(db, folder)
    import_localities(db.engine, localities_file(folder), actor="test")
    _user, token = add_user(db.engine, "comision", "commission", actor="test")
    return token


def test_killed_during_detection_and_decisions(
    db: Database, server: Server, tmp_path: Path
) -> None:
    token = _prepare_disputes(db, tmp_path)
    server.start()
    with server.client(token) as http:
        made = http.post(
            "/claims/official", json={"zone": "20.1.01", "valid_from": "2020-01-01T00:00:00Z"}
        )
        assert made.status_code == 201, made.text
        claim_sja(http, 0.0, "2024-01-01T00:00:00Z")

    def zones_now() -> set[int]:
        with db.engine.connect() as conn:
            return set(conn.execute(select(disputed_zones.c.id)).scalars())

    # detection, killed at growing delays: nothing or a whole run each time
    cut = 0
    rng = np.random.default_rng(7)
    for delay in (0.05, 0.2, float(rng.uniform(0.3, 0.8))):
        before = zones_now()

        def detect() -> httpx.Response:
            with server.client(token) as http:
                return http.post("/detection-runs", json={"zone": "20.1.01"})

        thread, outcome = _in_background(detect)
        time.sleep(delay)
        server.kill()
        thread.join(timeout=30)
        cut += bool(outcome) and isinstance(outcome[0], httpx.TransportError)
        server.start()
        _check_invariants(db)
        after = zones_now()
        if after != before:  # the run happened: its zones have parties (checked above)
            assert before <= after
    assert cut >= 1, "no detection was interrupted: the kills came too late"

    with server.client(token) as http:
        done = http.post("/detection-runs", json={"zone": "20.1.01"})
        assert done.status_code == 201, done.text
        listed = http.get("/disputes", params={"cvegeo": SAN_JACINTO}).json()["zones"]
    zone_id = listed[0]["id"]

    # a decision, killed at growing delays: the zone resolved with both new claims, or neither
    resolved = False
    for delay in (0.0, 0.03, 0.08, 0.15, 0.3, 0.6):
        with server.client(token) as http:
            zone = http.get(f"/disputes/{zone_id}").json()
            if zone["status"] == "detected":
                moved = http.post(
                    f"/disputes/{zone_id}/status",
                    json={"status": "open"},
                    headers={"If-Match": zone["etag"]},
                )
                assert moved.status_code == 200, moved.text
                zone = moved.json()
        with db.engine.connect() as conn:
            claims_before = conn.execute(select(func.count()).select_from(claims)).scalar_one()
        geom = shape(zone["geometry"])

        def decide(etag: str = zone["etag"], geom: Any = geom) -> httpx.Response:
            with server.client(token) as http:
                return http.post(
                    f"/disputes/{zone_id}/decision",
                    json={"parts": [{"cvegeo": SAN_JACINTO, "geometry": mapping(geom)}]},
                    headers={"If-Match": etag},
                )

        thread, outcome = _in_background(decide)
        time.sleep(delay)
        server.kill()
        thread.join(timeout=30)
        server.start()
        _check_invariants(db)
        with db.engine.connect() as conn:
            status = conn.execute(
                select(disputed_zones.c.status).where(disputed_zones.c.id == zone_id)
            ).scalar_one()
            claims_after = conn.execute(select(func.count()).select_from(claims)).scalar_one()
        if status == "resolved":
            assert claims_after == claims_before + 2  # both parties' new claims
            resolved = True
            break
        assert status == "open" and claims_after == claims_before
    if not resolved:  # every kill came first: the decision still applies once, whole
        with server.client(token) as http:
            zone = http.get(f"/disputes/{zone_id}").json()
            final = http.post(
                f"/disputes/{zone_id}/decision",
                json={"parts": [{"cvegeo": SAN_JACINTO, "geometry": mapping(geom)}]},
                headers={"If-Match": zone["etag"]},
            )
            assert final.status_code == 200, final.text
    _check_invariants(db)
