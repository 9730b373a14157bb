"""Serving downloads so that a client that reads slowly, or never, costs Linde nothing
but a bounded file on disk.

A download (``f=csv``, ``f=gpkg`` … of an items query) is made in three steps:

1. A slot is taken: at most ``exports_at_once`` downloads per worker, and at most
   ``exports_per_client`` per client address, are under way at once. Beyond that the
   request gets 503 with ``Retry-After`` at once; it never waits for a slot.
2. The file is written whole, in a worker thread, into an anonymous temporary file
   (unlinked as it is made: nothing is left on disk even if the process dies). The
   database connection behind it is closed as soon as the last row is read, so the
   pool never waits on a client. An error found on the way is an ordinary JSON error,
   not a cut file.
3. The file is sent from disk in small pieces, with a ``Content-Length``. A piece the
   client does not take within ``export_stall_seconds`` ends the download: the
   connection is dropped (not closed politely, which would wait for the client to
   read what is buffered), the file closed (its space freed) and the slot given back.
   A client that hangs up is noticed at once, with the same clean-up.

The slots live in one worker's memory: with several workers, each has its own.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.types import Message, Receive, Scope, Send

from geo.errors import ServiceUnavailable

log = logging.getLogger("linde.downloads")

#: Bytes read from the temporary file at a time (in a worker thread).
READ_BYTES = 1 << 20
#: Bytes per message to the client: a stalled socket holds at most about this much
#: beyond the server's 64 KiB write buffer.
SEND_BYTES = 64 * 1024
#: What a refused download is told to wait, in seconds.
RETRY_AFTER_S = 10
#: Prefix of the (anonymous) temporary files.
TEMP_PREFIX = "linde-download-"
#: The scope key under which the app keeps the connection's transport (see ``api.app``).
TRANSPORT_KEY = "linde.transport"


class ExportSlots:
    """Downloads under way in this worker, in all and per client address.

    Used on the event loop only, so it needs no lock.
    """

    def __init__(self, at_once: int, per_client: int) -> None:
        self.at_once = at_once
        self.per_client = per_client
        self.by_client: Counter[str] = Counter()
        self.refused = 0

    @property
    def active(self) -> int:
        return sum(self.by_client.values())

    def take(self, client: str) -> None:
        """Count one more download for ``client``.

        Raises:
            ServiceUnavailable: this worker or this client already has as many
                downloads under way as allowed (503, ``Retry-After``).
        """
        if self.active >= self.at_once:
            self.refused += 1
            raise ServiceUnavailable(
                f"{self.at_once} downloads are already being prepared or sent; try again "
                f"in {RETRY_AFTER_S} s (LINDE_EXPORTS_AT_ONCE sets the limit)",
                retry_after=RETRY_AFTER_S,
                code="too_many_downloads",
            )
        if self.by_client[client] >= self.per_client:
            self.refused += 1
            raise ServiceUnavailable(
                f"this address already has {self.per_client} downloads under way; let one "
                f"finish, or try again in {RETRY_AFTER_S} s (LINDE_EXPORTS_PER_CLIENT)",
                retry_after=RETRY_AFTER_S,
                code="too_many_downloads",
            )
        self.by_client[client] += 1

    def give(self, client: str) -> None:
        self.by_client[client] -= 1
        if self.by_client[client] <= 0:
            del self.by_client[client]

    def stats(self) -> dict[str, int]:
        return {
            "active": self.active,
            "at_once": self.at_once,
            "per_client": self.per_client,
            "refused": self.refused,
        }


def spool(produce: Callable[[], Iterator[bytes]]) -> BinaryIO:
    """Write every piece ``produce()`` yields into an anonymous temporary file.

    Returns:
        The file, rewound. The caller closes it; closing frees its space.

    Raises:
        Whatever ``produce`` raises; the file is then closed and nothing is left.
    """
    out = tempfile.TemporaryFile(prefix=TEMP_PREFIX)  # noqa: SIM115 (handed to the caller)
    pieces = produce()
    try:
        for piece in pieces:
            out.write(piece)
        out.flush()
        out.seek(0)
        return out
    except BaseException:
        out.close()
        raise
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()  # a generator's own clean-up (GDAL's directory) runs now, not at GC


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def spooled_download(
    request: Request,
    produce: Callable[[], Iterator[bytes]],
    *,
    media_type: str,
    headers: dict[str, str],
) -> Response:
    """The download of what ``produce()`` yields, made in a worker thread within a slot.

    Raises:
        ServiceUnavailable: no slot free (503 with ``Retry-After``).
        Whatever ``produce`` raises (a bad filter: 400), before any byte is sent.
    """
    slots: ExportSlots = request.app.state.export_slots
    client = client_address(request)
    slots.take(client)
    try:
        data = await run_in_threadpool(spool, produce)
    except BaseException:
        slots.give(client)
        raise
    return SpooledFile(
        data,
        media_type=media_type,
        headers=headers,
        stall_s=request.app.state.settings.export_stall_seconds,
        on_close=lambda: slots.give(client),
    )


class ClientStalled(Exception):
    """The client took nothing for the stall time."""


class SpooledFile(Response):
    """A finished temporary file, sent in pieces; see the module's docstring."""

    def __init__(
        self,
        data: BinaryIO,
        *,
        media_type: str,
        headers: dict[str, str],
        stall_s: float,
        on_close: Callable[[], None],
    ) -> None:
        self.data = data
        self.size = os.fstat(data.fileno()).st_size
        self.stall_s = stall_s
        self.on_close = on_close
        self.status_code = 200
        self.media_type = media_type
        self.background = None
        self.body = b""
        self.init_headers({**headers, "content-length": str(self.size)})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gone = asyncio.Event()
        watcher = asyncio.create_task(_watch_disconnect(receive, gone))
        try:
            await self._send_all(send, gone)
        except ClientStalled:
            log.info("download cut off: %s read nothing for %s s", _peer(scope), self.stall_s)
            _drop(scope)
        finally:
            watcher.cancel()
            self.data.close()
            self.on_close()

    async def _send_all(self, send: Send, gone: asyncio.Event) -> None:
        await self._timed(
            send,
            {
                "type": "http.response.start",
                "status": self.status_code,
                "headers": self.raw_headers,
            },
        )
        left = self.size
        while left > 0 and not gone.is_set():
            block = await run_in_threadpool(self.data.read, READ_BYTES)
            if not block:
                break
            for start in range(0, len(block), SEND_BYTES):
                if gone.is_set():
                    return
                piece = block[start : start + SEND_BYTES]
                left -= len(piece)
                await self._timed(
                    send, {"type": "http.response.body", "body": piece, "more_body": left > 0}
                )
        if self.size == 0:
            await self._timed(send, {"type": "http.response.body", "body": b""})

    async def _timed(self, send: Send, message: Message) -> None:
        try:
            await asyncio.wait_for(send(message), self.stall_s)
        except TimeoutError:
            raise ClientStalled from None


async def _watch_disconnect(receive: Receive, gone: asyncio.Event) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            gone.set()
            return


def _peer(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "a client"


def _drop(scope: Scope) -> None:
    """Drop the connection at once, discarding what the client never read.

    A polite close would keep the socket open until the client read its buffer, which
    a stalled client never does. Under a server that does not expose its transport
    the download ends with an error instead, and that server closes the connection.
    """
    transport: Any = scope.get(TRANSPORT_KEY)
    if transport is None:
        raise ClientStalled("the client read nothing in time")
    transport.abort()
