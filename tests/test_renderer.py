"""The PNG/PDF renderer: what it can reach, and how many renders it takes at once.

* Reach: a document that tries every way out (images whose URL says "tile" on other
  hosts, fetch, WebSocket, iframe, style sheet, prefetch) is rendered while two
  listeners run on 127.0.0.1: the one given as the tile server gets its tile
  request, the other gets no connection at all.
* Bounds: with one page and no queue, a render asked for while the page is taken gets
  503 with ``Retry-After`` at once (and the HTML map is still served); once the page
  is free the same render succeeds. Nothing here depends on how fast the machine is:
  the page is held by the test, not by a slow render.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import folium
import httpx
import pytest
import uvicorn
from branca.element import Figure
from PIL import Image

from api.app import create_app
from api.settings import AppSettings
from maps.export import tile_origins, to_html
from maps.renderer import Renderer, chromium_path
from maps.vector import BaseTiles
from tests.conftest import Database, free_port

pytest.importorskip("playwright.async_api")


class Listener:
    """A TCP listener on 127.0.0.1 that counts connections and answers each with a
    tiny 1x1 PNG over HTTP (so a tile request it is meant to get succeeds)."""

    PNG = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )

    def __init__(self, png: bytes | None = None, delay_s: float = 0.0) -> None:
        self.png = png or self.PNG
        self.delay_s = delay_s  # before each answer: a slow tile server
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.connections = 0
        self.requests: list[str] = []
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        # a browser may open a connection ahead of its request (a preconnect)
        with conn:
            conn.settimeout(10)
            try:
                head = conn.recv(4096).decode("latin-1")
            except OSError:
                return
            if not head:
                return
            self.requests.append(head.split("\r\n", 1)[0])
            time.sleep(self.delay_s)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close\r\n"
                + f"Content-Length: {len(self.png)}\r\n\r\n".encode()
                + self.png
            )

    def close(self) -> None:
        self._stop = True
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def listeners() -> Iterator[tuple[Listener, Listener]]:
    forbidden, tiles = Listener(), Listener()
    yield forbidden, tiles
    forbidden.close()
    tiles.close()


def escape_attempts(forbidden: Listener, tiles: Listener) -> str:
    other = forbidden.origin
    ws = f"ws://127.0.0.1:{forbidden.port}/"
    return f"""<!doctype html><html><head>
<link rel="stylesheet" href="{other}/style.css">
<link rel="prefetch" href="{other}/prefetch">
</head><body style="margin:0;background:#e8eef0">
<img src="{other}/tile/5/7/9.png" width="10" height="10">
<img src="http://localhost:{forbidden.port}/tiles/5/7/9.png" width="10" height="10">
<img src="{tiles.origin}/5/7/9.png" width="10" height="10">
<iframe src="{other}/frame"></iframe>
<div id="map" style="width:200px;height:200px;background:#08519c"></div>
<script>
  try {{ new WebSocket("{ws}"); }} catch (e) {{}}
  try {{ fetch("{other}/fetch").catch(function () {{}}); }} catch (e) {{}}
  try {{ navigator.sendBeacon("{other}/beacon", "x"); }} catch (e) {{}}
  var i = new Image(); i.src = "{other}/tile/late.png";
</script></body></html>"""


@pytest.mark.browser  # the renderer drives headless Chromium
def test_a_render_reaches_only_the_tile_server_it_was_given(
    listeners: tuple[Listener, Listener],
) -> None:
    chromium_path()
    forbidden, tiles = listeners
    # Chromium's own Local Network Access checks would stop a page's requests to
    # 127.0.0.1 (and the tile listener's tile with them): off, so Linde's fence is
    # what is tested
    renderer = Renderer(
        pages=1, queue=0, extra_args=["--disable-features=LocalNetworkAccessChecks"]
    )
    try:
        png = renderer.render(escape_attempts(forbidden, tiles), "png", tile_origins={tiles.origin})
        # the browser is reused: a second render (a PDF) is fenced in the same way
        pdf = renderer.render(escape_attempts(forbidden, tiles), "pdf", tile_origins=())
    finally:
        renderer.close()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and pdf[:5] == b"%PDF-"
    assert forbidden.connections == 0, forbidden.requests
    # the tile server named for the first render got its tile, and nothing for the second
    assert tiles.requests == ["GET /5/7/9.png HTTP/1.1"], tiles.requests


@pytest.mark.browser
def test_a_render_waits_for_basemap_tiles_asked_for_after_the_page_loaded() -> None:
    """The picture is taken once every tile layer has its tiles, not at ``load``: here
    the map moves far away once the page has loaded (as a resize or a late fit would
    move it), so the tiles of what is drawn are asked for after ``load``, from a slow
    tile server."""
    chromium_path()
    red = io.BytesIO()
    Image.new("RGB", (256, 256), (230, 20, 20)).save(red, "PNG")
    tiles = Listener(png=red.getvalue(), delay_s=0.2)
    m = folium.Map(location=[17.06, -96.72], zoom_start=12, tiles=None, zoom_control=False)
    BaseTiles(url=f"{tiles.origin}/{{z}}/{{x}}/{{y}}.png", attribution="prueba").add_to(m)
    root = m.get_root()
    assert isinstance(root, Figure)
    root.script.add_child(
        folium.Element(
            'window.addEventListener("load", function () { setTimeout(function () {'
            f" {m.get_name()}.setView([40.0, -100.0], 12); }}, 0); }});"
        )
    )
    # a wait far longer than the tiles take, so the test holds on a machine of any
    # speed: what it checks is that the render waits for them, not how fast they come
    renderer = Renderer(
        pages=1,
        queue=0,
        timeout_s=120,
        tile_wait_ms=100_000,
        extra_args=["--disable-features=LocalNetworkAccessChecks"],
    )
    try:
        png = renderer.render(to_html(m), "png", tile_origins=tile_origins(m))
    finally:
        renderer.close()
        tiles.close()
    asked = {r.split()[1].split("/")[1] for r in tiles.requests}
    assert asked == {"12"}, tiles.requests
    picture = Image.open(io.BytesIO(png)).convert("RGB")
    centre = picture.getpixel((picture.width // 2, picture.height // 2))
    assert centre == (230, 20, 20), f"drawn before its tiles came: {centre}"


def test_the_queue_admits_pages_then_a_bounded_number_of_waiters() -> None:
    renderer = Renderer(pages=1, queue=1, wait_s=60)
    entered = threading.Event()
    release = threading.Event()
    got_in: list[str] = []

    def holder() -> None:
        with renderer.admitted():
            entered.set()
            release.wait(30)

    def waiter() -> None:
        with renderer.admitted():
            got_in.append("waiter")

    first = threading.Thread(target=holder)
    first.start()
    assert entered.wait(10)
    second = threading.Thread(target=waiter)
    second.start()
    while renderer._waiting == 0:  # the waiter is in the queue (no time limit involved)
        time.sleep(0.01)
    with pytest.raises(Exception, match="renderer is busy") as refused, renderer.admitted():
        pass
    assert refused.value.retry_after == renderer.retry_after_s  # type: ignore[attr-defined]
    release.set()
    first.join(10)
    second.join(10)
    assert got_in == ["waiter"]


@pytest.fixture
def one_page_server(hostile_data: Database) -> Iterator[tuple[Any, str]]:
    """Linde over HTTP with one render page and no queue; the app is at hand."""
    app = create_app(
        AppSettings(database_url=hostile_data.url, render_pages=1, render_queue=0, render_wait_s=60)
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the test server did not start"
        time.sleep(0.05)
    yield app, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)


@pytest.mark.browser  # the renderer drives headless Chromium
def test_a_render_beyond_the_bound_gets_503_with_retry_after(
    one_page_server: tuple[Any, str],
    hostile_data: Database,
) -> None:
    chromium_path()
    app, base = one_page_server
    river = f"/maps/rivers/{hostile_data.river_id}"  # type: ignore[attr-defined]
    png = {"format": "png", "tiles": "false"}
    with httpx.Client(base_url=base, timeout=60) as http:
        # disputed zones are not public: no anonymous render of them, busy or not
        assert http.get("/maps/disputes/1", params=png).status_code == 401
        with app.state.renderer.admitted():  # the one page is taken
            busy = http.get(river, params=png)
            pdf = http.get("/maps/metro-zones/20.1.01", params={"format": "pdf"})
            html = http.get(river)
        assert busy.status_code == 503 and pdf.status_code == 503
        assert int(busy.headers["Retry-After"]) > 0
        assert busy.json()["error"]["code"] == "renderer_busy"
        assert "HTML" in busy.json()["error"]["message"]
        assert html.status_code == 200  # HTML needs no renderer
        # the page is free again: the same anonymous render of a public layer is drawn
        drawn = http.get(river, params=png)
    assert drawn.status_code == 200 and drawn.content[:8] == b"\x89PNG\r\n\x1a\n"
