"""Downloads that clients never read must not freeze the server (issue 17, item 2).

The clients here are raw sockets with a tiny receive buffer that read the status line
and headers of a download and then nothing more, as the attackers' did. Nothing here
depends on the machine's speed: the tests wait for events (a slot given back), never
for a time to pass.
"""

from __future__ import annotations

import io
import json
import os
import socket
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image

from api.app import create_app
from api.settings import AppSettings
from layers.importers.municipalities import import_municipalities
from tests.conftest import Database
from tests.servers import start

DOWNLOAD = "/collections/municipalities/items?f=geojson"

# every test here reads (or refuses to read) downloads bigger than the kernel's socket
# buffers, from a layer of 480,000 vertices made for the purpose: huge on purpose
pytestmark = pytest.mark.bulk


#: the download must outgrow what the kernel buffers between server and client (on
#: Linux up to net.ipv4.tcp_wmem's 4 MB on the server's side, a few KB on the client's),
#: or a client that reads nothing holds nothing: the server hands it all to the kernel
DOWNLOAD_BYTES_AT_LEAST = 8 * 1024 * 1024


@pytest.fixture(scope="module")
def big_layer(
    engine_kind: str, database_factory: Any, tmp_path_factory: pytest.TempPathFactory
) -> Database:
    """Municipalities whose GeoJSON download is bigger than the socket buffers: 60
    disjoint made-up ones with 8,000 vertices each (the metro zone's real 26 are ~300 KB)."""
    features = []
    for n in range(60):
        x0 = -97.0 + 0.01 * n
        ring = [[x0 + 0.009 * i / 8000, 17.0 + 0.0001 * (i % 2)] for i in range(8000)]
        ring += [[x0 + 0.009, 17.05], [x0, 17.05], ring[0]]
        features.append(
            {
                "type": "Feature",
                "properties": {"CVEGEO": f"20{n + 1:03d}", "NOMGEO": f"Municipio {n + 1}"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    path = tmp_path_factory.mktemp("big") / "municipios.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    database: Database = database_factory(engine_kind, "downloads")
    import_municipalities(database.engine, path, actor="test")
    return database


@pytest.fixture
def guarded(big_layer: Database, tmp_path: Path) -> Iterator[Callable[..., tuple[str, FastAPI]]]:
    stops: list[Callable[[], None]] = []

    def make(**settings: Any) -> tuple[str, FastAPI]:
        app = create_app(AppSettings(database_url=big_layer.url, photos_dir=tmp_path, **settings))
        url, stop = start(app)
        stops.append(stop)
        return url, app

    yield make
    for stop in stops:
        stop()


def open_download(base_url: str, path: str) -> tuple[socket.socket, int, dict[str, str]]:
    """Ask for ``path`` on a socket that then reads nothing past the headers."""
    parts = urlsplit(base_url)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(60)
    sock.connect((parts.hostname, parts.port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {parts.hostname}\r\n\r\n".encode())
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        assert byte, "the server closed the connection before its headers"
        head += byte
    status_line, *lines = head.decode("latin-1").strip().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    return sock, int(status_line.split()[1]), headers


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


def test_stalled_downloads_hold_no_connection_and_block_nothing(
    guarded: Callable[..., tuple[str, FastAPI]],
) -> None:
    url, app = guarded(exports_at_once=4, exports_per_client=4)
    stalled = [open_download(url, DOWNLOAD) for _ in range(24)]
    try:
        statuses = sorted(status for _, status, _ in stalled)
        assert statuses == [200] * 4 + [503] * 20
        for _, status, headers in stalled:
            if status == 503:
                assert int(headers["retry-after"]) > 0
            else:
                assert int(headers["content-length"]) > DOWNLOAD_BYTES_AT_LEAST
        # the other clients are served meanwhile, and no connection is held for the stalled
        with httpx.Client(base_url=url, timeout=30) as client:
            assert client.get("/health").json()["status"] == "ok"
            assert client.get("/maps/static/leaflet-1.9.4/leaflet.css").status_code == 200
            page = client.get("/collections/municipalities/items", params={"limit": 2})
            assert page.status_code == 200 and len(page.json()["features"]) == 2
            refused = client.get(DOWNLOAD)
            assert refused.status_code == 503
            assert refused.json()["error"]["code"] == "too_many_downloads"
            assert "LINDE_EXPORTS_AT_ONCE" in refused.json()["error"]["message"]
        assert app.state.engine.pool.checkedout() == 0
        assert app.state.export_slots.active == 4
    finally:
        for sock, _, _ in stalled:
            sock.close()
    wait_until(lambda: app.state.export_slots.active == 0, "every slot given back")


def test_downloads_are_bounded_per_client(guarded: Callable[..., tuple[str, FastAPI]]) -> None:
    url, app = guarded(exports_at_once=4, exports_per_client=1)
    sock, status, _ = open_download(url, DOWNLOAD)
    try:
        assert status == 200
        with httpx.Client(base_url=url, timeout=30) as client:
            second = client.get(DOWNLOAD)
        assert second.status_code == 503
        assert second.headers["retry-after"]
        assert "LINDE_EXPORTS_PER_CLIENT" in second.json()["error"]["message"]
    finally:
        sock.close()
    wait_until(lambda: app.state.export_slots.active == 0, "the slot given back")
    with httpx.Client(base_url=url, timeout=30) as client:
        assert client.get(DOWNLOAD).status_code == 200


def test_a_stalled_client_is_cut_off(guarded: Callable[..., tuple[str, FastAPI]]) -> None:
    url, app = guarded(export_stall_seconds=0.5)
    sock, status, headers = open_download(url, DOWNLOAD)
    try:
        assert status == 200
        wait_until(lambda: app.state.export_slots.active == 0, "the stalled download cut off")
        received = 0
        try:
            while chunk := sock.recv(1 << 16):
                received += len(chunk)
        except ConnectionResetError:
            pass
        assert received < int(headers["content-length"])
    finally:
        sock.close()


def _open_in(folder: Path) -> list[str]:
    """This process's open files inside ``folder`` (anonymous temporary files too)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder)):
            found.append(target)
    return found


@pytest.mark.parametrize("key", ["gpkg", "csv"])
def test_an_aborted_download_leaves_no_file_or_handle(
    guarded: Callable[..., tuple[str, FastAPI]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    key: str,
) -> None:
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    url, app = guarded()
    sock, status, _ = open_download(url, f"/collections/municipalities/items?f={key}")
    assert status == 200
    sock.close()  # the client goes
    wait_until(lambda: app.state.export_slots.active == 0, "the download noticed the client left")
    assert list(private.iterdir()) == []
    assert _open_in(private) == []


def _noise_png(side: int) -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.postgis_only
def test_stalled_answers_of_ordinary_routes_hold_no_connection(
    api: Database, tmp_path: Path
) -> None:
    """Not only downloads: a route's connection is given back before its answer is sent,
    so clients that never read a photo do not hold the connections (and the loop's
    connection slots) every other route needs."""
    app = create_app(AppSettings(database_url=api.url, photos_dir=tmp_path))
    url, stop = start(app)
    try:
        feature = {
            "type": "Feature",
            "id": str(uuid.uuid4()),
            "geometry": {"type": "Point", "coordinates": [-96.7266, 17.0654]},
            "properties": {
                "observed_at": "2026-01-05T10:00:00-06:00",
                "category": "solid_waste",
                "severity": 2,
            },
        }
        inspector = {"Authorization": f"Bearer {api.tokens['inspector']}"}
        with httpx.Client(base_url=url, timeout=60, headers=inspector) as client:
            stored = client.post(
                "/inspections",
                data={"inspection": json.dumps(feature)},
                files=[("photos", ("ribera.png", _noise_png(1200), "image/png"))],
            )
        assert stored.status_code == 201, stored.text
        sha = stored.json()["properties"]["photos"][0]["sha256"]
        photo = f"/inspections/{feature['id']}/photos/{sha}"
        parts = urlsplit(url)
        stalled = []
        for _ in range(24):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(60)
            sock.connect((parts.hostname, parts.port))
            sock.sendall(
                f"GET {photo} HTTP/1.1\r\nHost: {parts.hostname}\r\n"
                f"Authorization: Bearer {api.tokens['planner']}\r\n\r\n".encode()
            )
            assert sock.recv(12).startswith(b"HTTP/1.1 200")
            stalled.append(sock)
        try:
            planner = {"Authorization": f"Bearer {api.tokens['planner']}"}
            with httpx.Client(base_url=url, timeout=60, headers=planner) as client:
                assert client.get("/inspections/categories").status_code == 200
                assert client.get(f"/inspections/{feature['id']}").status_code == 200
            assert app.state.engine.pool.checkedout() == 0
        finally:
            for sock in stalled:
                sock.close()
    finally:
        stop()
