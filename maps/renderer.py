"""PNG and PDF from one headless Chromium per process, reused, bounded and fenced in.

* **One browser, reused.** It is started on the first render and kept; each render
  gets a fresh browser context (no cookies, storage or cache shared between renders)
  that is closed when the picture is taken. A browser that died is started again.
* **Bounded.** At most ``pages`` renders run at once; up to ``queue`` more wait, each
  at most ``wait_s`` seconds. Beyond that :class:`RendererBusy` (HTTP 503 with
  ``Retry-After``) is raised at once, so a burst of requests costs neither memory nor
  threads: the memory of the renders is that of one browser and ``pages`` pages.
* **Fenced in**, three times over. The document is served to the page by Linde
  itself (from a route handler, at an address that is never looked up) with a
  Content-Security-Policy that allows inline code and ``data:`` images only, plus
  the tile server's exact origin when the map has a basemap. Every other request is
  aborted by the route handler; WebSockets are answered by Playwright and never
  reach a server; service workers are blocked. And the context's only way out is a
  proxy where nothing listens, bypassed for the tile server's host alone, so not
  even a speculative connection leaves. Maps are exported self-contained
  (``maps.export.to_html``): Linde's own assets are inlined, nothing else is needed.

The browser is Debian's ``chromium`` driven by Playwright's Python package (with
``executable_path``; Playwright never downloads a browser here). Playwright's async
API runs on the renderer's own thread and event loop; callers in any thread wait on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import threading
from collections.abc import Collection, Iterator, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Literal

from geo.errors import RendererBusy, RendererUnavailable

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--dns-prefetch-disable",
    "--no-first-run",
    "--mute-audio",
]
#: paper sizes (width, height in mm, portrait) a planner's report is printed on
PAPER_MM: dict[str, tuple[float, float]] = {"a4": (210.0, 297.0), "letter": (215.9, 279.4)}
#: a PNG is the page at twice CSS resolution (192 px per inch): sharp when printed
PNG_SCALE = 2
#: the map's interactive controls: none may be visible in a PNG or PDF
CONTROLS_SELECTOR = (
    ".leaflet-control-zoom, .leaflet-control-layers, .leaflet-control-fullscreen, "
    ".leaflet-control-measure, .linde-filter"
)
#: how long a render waits for basemap tiles (they may never come offline)
TILE_WAIT_MS = 4000
#: after the document's ``load``: one frame and the tasks queued before it (the map's
#: scripts defer work with ``setTimeout(…, 0)``: label placement, the date filter)
SETTLED_SCRIPTS_JS = "() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))"
#: the page is drawn when its fonts are in and every Leaflet tile layer on the map has
#: loaded or given up on each of its tiles (a tile that fails counts as done, so a
#: basemap that cannot be reached ends the wait too). Event-driven, where Playwright's
#: "networkidle" always waited half a second more, even for a map that loads nothing.
TILES_SETTLED_JS = """() => document.fonts.status === "loaded" && (typeof L === "undefined" ||
  Object.values(window).every(v => !(v instanceof L.GridLayer) || !v._map || !v.isLoading()))"""
#: where the page loads the document from; answered by the route handler, never looked up
DOCUMENT_URL = "https://render.linde.invalid/"
#: every connection of a render's browser context goes to this proxy, where nothing
#: listens, but the tile server's: Chromium opens a connection to a frame's host before
#: its CSP and the route handler refuse the frame, and this keeps even that one in.
NOWHERE_PROXY = "http://127.0.0.1:1"


def page_mm(paper: str, orientation: str) -> tuple[float, float]:
    """The page's (width, height) in mm.

    Raises:
        ValueError: a paper or orientation Linde does not offer.
    """
    if paper not in PAPER_MM or orientation not in ("portrait", "landscape"):
        raise ValueError(
            f"no page {paper!r} {orientation!r}: use {sorted(PAPER_MM)}, portrait or landscape"
        )
    short, long = PAPER_MM[paper]
    return (long, short) if orientation == "landscape" else (short, long)


def chromium_path() -> str:
    """The Chromium executable: ``LINDE_CHROMIUM``, else ``chromium`` on the PATH.

    Raises:
        RendererUnavailable: none found (the message says how to install it).
    """
    configured = os.environ.get("LINDE_CHROMIUM")
    if configured:
        if not (os.path.isfile(configured) and os.access(configured, os.X_OK)):
            raise RendererUnavailable(f"LINDE_CHROMIUM={configured} is not an executable file")
        return configured
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise RendererUnavailable(
        "PNG and PDF are drawn by headless Chromium, which is not installed on this "
        "server: install Debian's 'chromium' package (scripts/setup.sh does) or set "
        "LINDE_CHROMIUM; the HTML format works without it"
    )


def document_policy(tile_origins: Collection[str]) -> str:
    """The Content-Security-Policy of a self-contained map (a render, an exported file):
    inline code and ``data:`` only, images also from the given tile origins; no
    connections at all."""
    images = " ".join(["data:", "blob:", *sorted(tile_origins)])
    return "; ".join(
        [
            "default-src 'none'",
            # Folium writes its maps inline; leaflet-measure compiles templates with Function()
            "script-src 'unsafe-inline' 'unsafe-eval'",
            "style-src 'unsafe-inline'",
            f"img-src {images}",
            "font-src data:",
            "connect-src 'none'",
            "media-src 'none'",
            "object-src 'none'",
            "frame-src 'none'",
            "worker-src 'none'",
            "manifest-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


@dataclass(frozen=True)
class Paged:
    """A PDF of as many pages as the document needs (a dossier, not a map): printed
    with margins and ``footer_html`` at the foot of each page, where Chromium fills
    ``<span class="pageNumber">`` and ``<span class="totalPages">``. The footer is
    Linde's own markup: no text from data goes into it."""

    footer_html: str
    margin_mm: float = 16.0


class Renderer:
    """Draws self-contained HTML maps as PNG or PDF; see the module's description.

    Args:
        pages: renders at once (each one browser page).
        queue: renders that may wait for a page; more are refused at once.
        wait_s: how long a render waits for a page before it is refused.
        timeout_s: how long one render may take once it has a page.
        retry_after_s: what a refused caller is told to wait.
        tile_wait_ms: how long a render waits for basemap tiles before it draws what
            it has (they may never come offline).
        extra_args: more Chromium switches (the tests turn Chromium's own
            Local Network Access checks off, to show the fence holds without them).
    """

    def __init__(
        self,
        *,
        pages: int = 2,
        queue: int = 8,
        wait_s: float = 20.0,
        timeout_s: float = 30.0,
        retry_after_s: int = 10,
        tile_wait_ms: int = TILE_WAIT_MS,
        extra_args: Sequence[str] = (),
    ) -> None:
        if pages < 1 or queue < 0:
            raise ValueError("a renderer needs at least one page and a queue of zero or more")
        self.pages = pages
        self.queue = queue
        self.wait_s = wait_s
        self.timeout_s = timeout_s
        self.retry_after_s = retry_after_s
        self.tile_wait_ms = tile_wait_ms
        self.args = [*CHROMIUM_FLAGS, *extra_args]
        self._slots = threading.BoundedSemaphore(pages)
        self._lock = threading.Lock()
        self._waiting = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._playwright: Any = None
        self._browser: Any = None
        self._executable: str | None = None
        self._launch_lock: asyncio.Lock | None = None

    # -- admission ------------------------------------------------------------------

    @contextlib.contextmanager
    def admitted(self) -> Iterator[None]:
        """Hold one of the ``pages`` slots; wait in the queue if there is room.

        Raises:
            RendererBusy: the queue is full, or no slot came free within ``wait_s``.
        """
        if not self._slots.acquire(blocking=False):
            with self._lock:
                if self._waiting >= self.queue:
                    raise self._busy(f"{self.pages} render(s) running and {self._waiting} waiting")
                self._waiting += 1
            try:
                got = self._slots.acquire(timeout=self.wait_s)
            finally:
                with self._lock:
                    self._waiting -= 1
            if not got:
                raise self._busy(f"no render finished within {self.wait_s:g} s")
        try:
            yield
        finally:
            self._slots.release()

    def _busy(self, why: str) -> RendererBusy:
        return RendererBusy(
            f"the map renderer is busy ({why}); try again in {self.retry_after_s} s, or "
            "download the HTML map, which needs no renderer",
            retry_after=self.retry_after_s,
        )

    # -- rendering ------------------------------------------------------------------

    def render(
        self,
        document: str,
        fmt: Literal["png", "pdf"],
        *,
        tile_origins: Collection[str] = (),
        paper: str = "a4",
        orientation: str = "landscape",
    ) -> bytes:
        """Draw a self-contained HTML map as a PNG or a one-page PDF of the given paper.

        Both are drawn with print styles, so neither shows the map's interactive
        controls (zoom, layers, full screen, measure, date filter): the page is checked
        for them before the picture is taken.

        Args:
            tile_origins: exact origins (``https://tile.openstreetmap.org``) the page may
                load images from; nothing else is reachable.

        Raises:
            RendererUnavailable: no Chromium or no Playwright, or the browser failed.
            RendererBusy: too many renders at once (see :meth:`admitted`).
        """
        chromium_path()  # before queueing: a server without a browser says so at once
        with self.admitted():
            return self.draw(
                document, fmt, tile_origins=tile_origins, paper=paper, orientation=orientation
            )

    def draw(
        self,
        document: str,
        fmt: Literal["png", "pdf"],
        *,
        tile_origins: Collection[str] = (),
        paper: str = "a4",
        orientation: str = "landscape",
        paged: Paged | None = None,
    ) -> bytes:
        """:meth:`render` for a caller already inside :meth:`admitted` (one that also
        had other work to do, such as reading the map's features, while it held a slot)."""
        executable = chromium_path()
        loop = self._ensure_loop()
        size_mm = page_mm(paper, orientation)
        job = self._render(executable, document, fmt, frozenset(tile_origins), size_mm, paged)
        future = asyncio.run_coroutine_threadsafe(job, loop)
        try:
            return future.result(timeout=self.timeout_s + 5)
        except FutureTimeout as exc:
            future.cancel()
            raise RendererUnavailable(
                f"the map took longer than {self.timeout_s:g} s to draw"
            ) from exc

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="linde-renderer", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    async def _browser_for(self, executable: str) -> Any:
        if self._launch_lock is None:
            self._launch_lock = asyncio.Lock()
        async with self._launch_lock:
            if self._browser is not None and (
                not self._browser.is_connected() or self._executable != executable
            ):
                with contextlib.suppress(Exception):
                    await self._browser.close()
                self._browser = None
            if self._browser is None:
                try:
                    from playwright.async_api import async_playwright
                except ImportError as exc:  # pragma: no cover - a dependency of Linde
                    raise RendererUnavailable(f"the Playwright package is missing ({exc})") from exc
                if self._playwright is None:
                    self._playwright = await async_playwright().start()
                self._browser = await self._playwright.chromium.launch(
                    executable_path=executable, args=self.args
                )
                self._executable = executable
            return self._browser

    async def _render(
        self,
        executable: str,
        document: str,
        fmt: str,
        tile_origins: frozenset[str],
        size_mm: tuple[float, float],
        paged: Paged | None = None,
    ) -> bytes:
        from playwright.async_api import Error as PlaywrightError

        try:
            return await asyncio.wait_for(
                self._draw(executable, document, fmt, tile_origins, size_mm, paged),
                self.timeout_s,
            )
        except PlaywrightError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise RendererUnavailable(f"headless Chromium failed: {first}") from exc
        except TimeoutError as exc:
            raise RendererUnavailable(
                f"the map took longer than {self.timeout_s:g} s to draw"
            ) from exc

    async def _draw(
        self,
        executable: str,
        document: str,
        fmt: str,
        tile_origins: frozenset[str],
        size_mm: tuple[float, float],
        paged: Paged | None = None,
    ) -> bytes:
        from playwright.async_api import Error as PlaywrightError

        browser = await self._browser_for(executable)
        width, height = (round(mm / 25.4 * 96) for mm in size_mm)
        bypass = ",".join(sorted(filter(None, (_host_port(o) for o in tile_origins))))
        context = await browser.new_context(
            viewport={"width": width, "height": height},
            device_scale_factor=PNG_SCALE if fmt == "png" else 1,
            service_workers="block",
            proxy={"server": NOWHERE_PROXY, "bypass": bypass or "render.linde.invalid"},
        )
        try:
            policy = document_policy(tile_origins)

            async def route(r: Any) -> None:
                request = r.request
                if request.url == DOCUMENT_URL and request.is_navigation_request():
                    await r.fulfill(
                        status=200,
                        content_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": policy},
                        body=document,
                    )
                elif request.resource_type == "image" and _origin(request.url) in tile_origins:
                    await r.continue_()
                else:
                    await r.abort()

            async def no_sockets(ws: Any) -> None:
                await ws.close(code=1008, reason="a rendered map opens no connection")

            await context.route("**/*", route)
            await context.route_web_socket(lambda _url: True, no_sockets)
            page = await context.new_page()
            # print styles before the map is laid out, so its labels are placed once, as printed
            await page.emulate_media(media="print")
            await page.goto(DOCUMENT_URL, wait_until="load")
            await page.evaluate(SETTLED_SCRIPTS_JS)
            # tiles still loading after the wait: draw what is there
            with contextlib.suppress(PlaywrightError):
                await page.wait_for_function(
                    TILES_SETTLED_JS, polling="raf", timeout=self.tile_wait_ms
                )
            shown = await page.evaluate(
                """(sel) => [...document.querySelectorAll(sel)]
                     .filter(e => e.getClientRects().length > 0).length""",
                CONTROLS_SELECTOR,
            )
            if shown:
                raise RendererUnavailable(
                    f"the map still shows {shown} interactive control(s) in print"
                )
            if fmt == "png":
                return bytes(await page.screenshot(full_page=False, type="png"))
            if paged is not None:
                margin = f"{paged.margin_mm}mm"
                return bytes(
                    await page.pdf(
                        width=f"{size_mm[0]}mm",
                        height=f"{size_mm[1]}mm",
                        print_background=True,
                        display_header_footer=True,
                        header_template="<span></span>",
                        footer_template=paged.footer_html,
                        margin={"top": margin, "right": margin, "bottom": margin, "left": margin},
                    )
                )
            return bytes(
                await page.pdf(
                    width=f"{size_mm[0]}mm",
                    height=f"{size_mm[1]}mm",
                    print_background=True,
                    margin={"top": "0", "right": "0", "bottom": "0", "left": "0"},
                    page_ranges="1",
                )
            )
        finally:
            with contextlib.suppress(Exception):
                await context.close()

    def close(self) -> None:
        """Stop the browser and the renderer's thread (a later render starts them again)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None:
            return

        async def stop() -> None:
            with contextlib.suppress(Exception):
                if self._browser is not None:
                    await self._browser.close()
            with contextlib.suppress(Exception):
                if self._playwright is not None:
                    await self._playwright.stop()
            self._browser = self._playwright = None
            self._launch_lock = None

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=15)
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=5)
        loop.close()


def _host_port(origin: str) -> str:
    """``host[:port]`` of an origin, for Chromium's proxy bypass list."""
    from urllib.parse import urlsplit

    parts = urlsplit(origin)
    if not parts.hostname:
        return ""
    return f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL, lower-case; ``""`` for one without a host."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if not parts.hostname:
        return ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}".lower()
