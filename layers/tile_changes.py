"""A vector tile's version: the last change of its layer whose bounding box meets it.

The triggers that bump a layer's change counter also log where the change happened
(``layer_changes``, migration 0007): the lon/lat box of the old and the new geometry,
under the counter value the change made; a NULL box is the whole layer. A tile's
version for that layer is the newest logged change (up to the counter read for the
request) that meets the tile's buffered box, or the layer's ``changes_from`` (the log
is complete only after it; older rows are pruned). So an edit gives new ETags to the
tiles under it and leaves every other tile's ETag, and its cached body, as it was.

Why this never serves stale tiles: for a given tile the version only grows, and it
grows at every change that meets it: a change has a larger counter value than any
before it, and a pruned change is replaced by ``changes_from``, which is newer still.

The log is in the database, shared by every worker; each process keeps a copy of
the rows it has read (:class:`ChangeLogs`) and reads only the rows newer than it holds,
once per counter value, so a 304 costs no extra query. The copy is a cache: losing
it costs one read.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from layers.schema import layer_changes, layer_versions

#: a lon/lat box: west, south, east, north
Box = tuple[float, float, float, float]
#: degrees added around a change's box: the spatial indexes that pick a tile's rows
#: compare single-precision boxes (about 1e-5 degree at Mexico's longitudes), so a
#: feature just outside the tile's box may still be among its rows
PAD_DEG = 1e-4


@dataclass(frozen=True)
class Change:
    """One logged change of a layer: the counter value it made, and where (None: everywhere)."""

    version: int
    box: Box | None

    def meets(self, tile: Box) -> bool:
        if self.box is None:
            return True
        west, south, east, north = self.box
        return (
            west - PAD_DEG <= tile[2]
            and east + PAD_DEG >= tile[0]
            and south - PAD_DEG <= tile[3]
            and north + PAD_DEG >= tile[1]
        )


@dataclass(frozen=True)
class LayerLog:
    """What a process knows of one layer's log."""

    #: the counter value this copy is complete up to
    seen: int
    #: the log is complete after this counter value
    changes_from: int
    #: the changes after ``changes_from``, oldest first
    changes: tuple[Change, ...] = ()

    def version_for(self, counter: int, tile: Box) -> int:
        """The tile's version for this layer when the layer's counter reads ``counter``."""
        if counter < self.changes_from:
            # a replica behind the pruning: the log cannot say, so the counter itself
            return counter
        for change in reversed(self.changes):
            if change.version <= counter and change.meets(tile):
                return change.version
        return self.changes_from


def read_log(conn: Connection, layer: str, after: int) -> tuple[int, list[Change]]:
    """``changes_from`` of ``layer`` and its logged changes newer than ``after``.

    A layer without a counter row reads as ``changes_from`` 0 and no change.
    """
    start = conn.execute(
        select(layer_versions.c.changes_from).where(layer_versions.c.layer == layer)
    ).scalar_one_or_none()
    c = layer_changes.c
    rows = conn.execute(
        select(c.version, c.west, c.south, c.east, c.north)
        .where(c.layer == layer, c.version > max(after, start or 0))
        .order_by(c.version, c.id)
    )
    changes = [
        Change(int(r.version), None if r.west is None else (r.west, r.south, r.east, r.north))
        for r in rows
    ]
    return int(start or 0), changes


@dataclass
class ChangeLogs:
    """A process's copy of the layers' change logs (one per app; safe across threads)."""

    _logs: dict[str, LayerLog] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self, layer: str, counter: int) -> LayerLog | None:
        """The copy of ``layer``'s log if it covers ``counter``; None when it must be read."""
        log = self._logs.get(layer)
        return log if log is not None and log.seen == counter else None

    def refresh(self, conn: Connection, layer: str, counter: int) -> LayerLog:
        """Read what is new in ``layer``'s log (all of it when the copy is behind a pruning,
        or the counter went back, as after a restore) and keep it."""
        with self._lock:
            log = self._logs.get(layer)
        fresh = log is None or counter < log.seen
        after = 0 if fresh or log is None else max((c.version for c in log.changes), default=0)
        start, new = read_log(conn, layer, after)
        if log is None or fresh or start != log.changes_from:
            kept = [c for c in (() if fresh or log is None else log.changes) if c.version > start]
        else:
            kept = list(log.changes)
        kept += new
        updated = LayerLog(seen=counter, changes_from=start, changes=tuple(kept))
        with self._lock:
            self._logs[layer] = updated
        return updated
