"""A bad day for the database (issue 17, the "Low" list): unreachable, busy, damaged, full.

Each answer is a clear 503 (with Retry-After) or one clear line, never a 500, a
traceback or a row's values. Nothing here waits for a time to pass; a wait is for an
event, with a generous deadline.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.settings import AppSettings
from layers.engine import make_engine
from layers.migrate import upgrade
from layers.users import add_user
from tests.conftest import Database
from tests.helpers import REPO
from tests.servers import start

#: the busy-file lock is SpatiaLite's own: PostgreSQL has no such thing to test
only_spatialite = pytest.mark.parametrize("engine_kind", ["spatialite"], indirect=True)


class Plug:
    """A TCP relay in front of PostgreSQL that can be pulled out and put back."""

    def __init__(self, port: int = 5432) -> None:
        self.target = ("127.0.0.1", port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.plugged = True
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.plugged:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def pull(self) -> None:
        """The database is gone: new connections are refused, open ones cut."""
        self.plugged = False
        with self.lock:
            for s in self.open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            self.open.clear()

    def put_back(self) -> None:
        self.plugged = True

    def close(self) -> None:
        self.pull()
        self.listener.close()


@pytest.fixture
def plugged(db: Database, tmp_path: Path) -> Iterator[tuple[str, Plug, str]]:
    _user, token = add_user(db.engine, "planner-plug", "planner", actor="test")
    plug = Plug()
    url = db.url.replace("127.0.0.1:5432", f"127.0.0.1:{plug.port}")
    app = create_app(AppSettings(database_url=url, photos_dir=tmp_path, database_timeout_seconds=2))
    base, stop = start(app)
    yield base, plug, token
    stop()
    plug.close()


@pytest.mark.postgis_only
def test_an_unreachable_database_is_a_503_and_linde_recovers(
    plugged: tuple[str, Plug, str],
) -> None:
    base, plug, token = plugged
    paths = ["/health", "/collections/municipalities/items?limit=1", "/lookup?lon=-96.72&lat=17.06"]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=60, headers=headers) as client:
        for path in paths:
            assert client.get(path).status_code == 200, path
        plug.pull()
        for path in paths:
            answer = client.get(path)
            assert answer.status_code == 503, (path, answer.text)
            assert int(answer.headers["retry-after"]) > 0
            error = answer.json()["error"]
            assert error["code"] in ("database_unavailable", "database_busy")
            assert "psycopg" not in answer.text and "5432" not in answer.text
        plug.put_back()
        for path in paths:
            assert client.get(path).status_code == 200, path


@only_spatialite
def test_a_busy_spatialite_file_is_a_503_and_then_works(db: Database, tmp_path: Path) -> None:
    app = create_app(
        AppSettings(
            database_url=db.url, photos_dir=tmp_path, sqlite_busy_seconds=0.2, token_cache_seconds=0
        )
    )
    _user, token = add_user(db.engine, "admin-busy", "admin", actor="test")
    base, stop = start(app)
    # another process (POSIX locks do not stop a process locking itself out) holds the
    # write lock, as a long `linde import` does
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, db.url.removeprefix("sqlite:///")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with httpx.Client(
            base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            busy = client.post(
                "/inspections/categories", json={"code": "vertido_busy", "label": "Vertido"}
            )
            assert busy.status_code == 503, busy.text
            assert int(busy.headers["retry-after"]) > 0
            assert busy.json()["error"]["code"] == "database_busy"
            holder.communicate("", timeout=60)  # the import ends
            done = client.post(
                "/inspections/categories", json={"code": "vertido_busy", "label": "Vertido"}
            )
            assert done.status_code == 201, done.text
    finally:
        holder.kill()
        holder.wait()
        stop()


HOLD_WRITE_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""


def damage(path: Path) -> None:
    """Overwrite pages in the middle of an SQLite file with garbage."""
    size = path.stat().st_size
    with path.open("r+b") as fh:
        for offset in range(size // 3, size - 4096, max(size // 40, 4096)):
            fh.seek(offset)
            fh.write(b"\xde\xad" * 2048)


@pytest.mark.subprocess
def test_a_damaged_spatialite_file_is_told_at_start_and_by_health(tmp_path: Path) -> None:
    path = tmp_path / "linde.sqlite"
    url = f"sqlite:///{path}"
    engine = make_engine(url, AppSettings(database_url=url))
    upgrade(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    app = create_app(AppSettings(database_url=url, photos_dir=tmp_path))
    base, stop = start(app)
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            assert client.get("/health").json()["status"] == "ok"
        damage(path)
        app.state.integrity_watch.passed_at = None  # as if the minute had passed
        with httpx.Client(base_url=base, timeout=60) as client:
            health = client.get("/health")
        assert health.status_code == 503, health.text
        error = health.json()["error"]
        assert error["code"] == "database_damaged"
        assert "linde restore" in error["message"]
    finally:
        stop()
    env = {**os.environ, "LINDE_DATABASE_URL": url}
    started = subprocess.run(
        [sys.executable, "-m", "cli.main", "serve", "--port", "9"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert started.returncode == 2
    lines = started.stderr.strip().splitlines()
    assert len(lines) == 1, started.stderr
    assert "damaged" in lines[0] and "linde restore" in lines[0]
    assert "Traceback" not in started.stderr + started.stdout


def _no_bigger_files(limit: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, not kills
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@pytest.mark.subprocess
def test_a_full_disk_during_a_cli_import_is_one_line_without_data(tmp_path: Path) -> None:
    path = tmp_path / "linde.sqlite"
    url = f"sqlite:///{path}"
    engine = make_engine(url, AppSettings(database_url=url))
    upgrade(engine)
    engine.dispose()
    secret = "Valor-Privado-20067"
    ring = [[-96.80 + 0.1 * i / 4000, 17.00 + 0.0001 * (i % 2)] for i in range(4000)] + [
        [-96.70, 17.10],
        [-96.80, 17.10],
        [-96.80, 17.00],
    ]
    features = [
        {
            "type": "Feature",
            "properties": {"CVEGEO": f"20{n:03d}", "NOMGEO": f"{secret} {n}"},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        }
        for n in range(1, 60)
    ]
    data = tmp_path / "municipios.geojson"
    data.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    env = {**os.environ, "LINDE_DATABASE_URL": url, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "import", "municipalities", str(data)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        preexec_fn=lambda: _no_bigger_files(256 * 1024 + 100),
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "full" in lines[0] and "nothing" in lines[0], lines[0]
    assert secret not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
