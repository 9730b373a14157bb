"""20 commission clients race status moves and case events on the same three zones.

Each client reads a zone, then moves its status (between open, under review and
agreement) or appends a note, with the ``If-Match`` it read. Afterwards, per zone:

* every accepted change (200/201) is in the case file exactly once, and nothing
  that was refused (412) is;
* the versions handed out by accepted changes are all different and run without a
  gap from the registered version to the zone's final one: no update was lost or
  applied over another;
* the zone's final status is the last status move in its history.

Only 200, 201 and 412 may come back. Over HTTP, on both engines.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from pathlib import Path

import httpx
import shapely

from layers.disputes import zone_edits
from layers.users import add_user
from tests.conftest import Database
from tests.helpers import load_metro

CLIENTS = 20
OPERATIONS = 12
#: the moves the clients make: never to a closed status, so the race goes on
NEXT = {
    "open": ["under_review"],
    "under_review": ["open", "agreement"],
    "agreement": ["under_review"],
}


@dataclass
class Outcome:
    zone_id: int
    kind: str  # "status" or "note"
    status_code: int
    version: int | None  # the version an accepted change produced
    value: str  # the target status or the note's text


def _version(etag: str) -> int:
    return int(etag.strip('"').rsplit("-v", 1)[1])


def test_racing_commission_clients_lose_nothing(api: Database, tmp_path: Path) -> None:
    load_metro(api, tmp_path)
    ids = []
    for n in range(3):
        x = -96.74 + n * 0.01
        zone = zone_edits.register_zone(
            api.engine,
            name=f"Zona de prueba {n}",
            geom=shapely.MultiPolygon([shapely.box(x, 17.06, x + 0.005, 17.065)]),
            parties=["20067", "20157"],
            actor="test",
        )
        ids.append(zone["id"])
    tokens = [
        add_user(api.engine, f"comisionado-{i}", "commission", actor="test")[1]
        for i in range(CLIENTS)
    ]
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    def client(i: int) -> None:
        rng = random.Random(i)
        headers = {"Authorization": f"Bearer {tokens[i]}"}
        with httpx.Client(base_url=api.base_url, headers=headers, timeout=60) as http:
            start.wait()
            for k in range(OPERATIONS):
                zone_id = rng.choice(ids)
                read = http.get(f"/disputes/{zone_id}")
                assert read.status_code == 200, read.text
                zone = read.json()
                if rng.random() < 0.5:
                    target = rng.choice(NEXT[zone["status"]])
                    got = http.post(
                        f"/disputes/{zone_id}/status",
                        json={"status": target},
                        headers={"If-Match": zone["etag"]},
                    )
                    kind, value = "status", target
                else:
                    value = f"nota {i}-{k}"
                    got = http.post(
                        f"/disputes/{zone_id}/events",
                        json={"kind": "note", "summary": value},
                        headers={"If-Match": zone["etag"]},
                    )
                    kind = "note"
                version = _version(got.headers["ETag"]) if got.status_code < 300 else None
                if kind == "note" and got.status_code == 201:
                    assert got.json()["zone_version"] == version
                with lock:
                    outcomes.append(Outcome(zone_id, kind, got.status_code, version, value))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert len(outcomes) == CLIENTS * OPERATIONS
    codes = {o.status_code for o in outcomes}
    assert codes <= {200, 201, 412}, sorted(codes)
    assert {200, 201} & codes and 412 in codes, "the clients should both win and collide"

    planner = api.client("planner")
    for zone_id in ids:
        mine = [o for o in outcomes if o.zone_id == zone_id]
        accepted = [o for o in mine if o.status_code in (200, 201)]
        refused = [o for o in mine if o.status_code == 412]
        zone = planner.get(f"/disputes/{zone_id}").json()
        events = planner.get(f"/disputes/{zone_id}/events").json()["events"]
        registered = min(e["zone_version"] for e in events)
        # versions: one per accepted change, no gaps, ending at the zone's version
        versions = sorted(o.version for o in accepted if o.version is not None)
        assert len(versions) == len(accepted)
        assert versions == list(range(registered + 1, registered + 1 + len(accepted)))
        assert _version(zone["etag"]) == registered + len(accepted)
        # the case file holds every accepted change once, and no refused one
        notes = [e["summary"] for e in events if e["kind"] == "note"]
        assert sorted(notes) == sorted(o.value for o in accepted if o.kind == "note")
        assert not {o.value for o in refused if o.kind == "note"} & set(notes)
        moves = [e for e in events if e["kind"] == "status"]
        assert len(moves) == sum(o.kind == "status" for o in accepted)
        by_version = {o.version: o for o in accepted}
        for event in moves:
            assert by_version[event["zone_version"]].value == event["details"]["to"]
        # the final status is where the last move went
        last = max(moves, key=lambda e: e["zone_version"], default=None)
        assert zone["status"] == (last["details"]["to"] if last else "open")
        # and the history is a chain: each move starts where the one before ended
        status = "open"
        for event in sorted(moves, key=lambda e: e["zone_version"]):
            assert event["details"]["from"] == status
            status = event["details"]["to"]
