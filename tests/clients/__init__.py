"""Helpers of the client-conformance tests: scripts run by other interpreters, and a
request log around the app."""

from __future__ import annotations

from typing import Any


class Recorder:
    """An ASGI wrapper that logs (method, path, query string) of every HTTP request: the
    access log the client tests count requests in."""

    def __init__(self, app: Any, log: list[tuple[str, str, str]]) -> None:
        self.app, self.log = app, log

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.log.append((scope["method"], scope["path"], scope["query_string"].decode()))
        await self.app(scope, receive, send)
