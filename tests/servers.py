"""Serving an app the test itself built (to reach its state, or add a route) over real HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from tests.conftest import free_port


def start(app: FastAPI) -> tuple[str, Callable[[], None]]:
    """Serve ``app`` with uvicorn on 127.0.0.1; return its URL and a function that stops it."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    return f"http://127.0.0.1:{port}", stop
