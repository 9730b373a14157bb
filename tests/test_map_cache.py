"""Drawn maps are kept: sent again while nothing they show has changed, never after.

``GET /maps/...`` keeps each map it draws (``app.state.map_cache``) under its URL, what
the caller may see, the day it says it was made, and the change counters of the layers
it reads. Over real HTTP, on both engines: a second request is served without drawing;
a write to a layer the map reads (plain SQL, as any process or tool would make it), a
caller who sees something else, or the next day gives a new drawing; a kept map is not
a way around the right to see it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from geo.mexico import MEXICO_TZ
from layers.schema import localities, municipalities
from layers.users import add_user
from tests.conftest import Database
from tests.disputes_data import OAXACA_DE_JUAREZ, XOXOCOTLAN
from tests.helpers import ManualClock, biggest, decoded, ok

ZONE = "20.1.01"


def _kept(http: httpx.Client) -> dict[str, int]:
    stats: dict[str, int] = ok(http.get("/health"))["map_cache"]
    return stats


@pytest.mark.browser  # the PDF is drawn by headless Chromium
def test_a_pdf_is_drawn_once_and_sent_again_as_it_was(metro: Database) -> None:
    url = f"/maps/metro-zones/{ZONE}"
    with metro.client() as http:
        before = _kept(http)
        first = http.get(url, params={"format": "pdf", "tiles": "false"})
        again = http.get(url, params={"tiles": "false", "format": "pdf"})  # another order
        after = _kept(http)
    assert first.status_code == again.status_code == 200
    assert first.content[:5] == b"%PDF-" and again.content == first.content
    assert again.headers["content-disposition"] == first.headers["content-disposition"]
    assert after["stored"] == before["stored"] + 1
    assert after["hits"] == before["hits"] + 1


def test_a_write_to_a_layer_the_map_reads_draws_it_again(metro: Database) -> None:
    url = f"/maps/metro-zones/{ZONE}"
    params = {"choropleth": "population", "tiles": "false"}
    with metro.client() as http:
        assert "270,955" in http.get(url, params=params).text
        assert "270,955" in http.get(url, params=params).text  # kept
        # a write by anything but Linde's API: the database's triggers count it
        with metro.engine.begin() as conn:
            conn.execute(
                update(municipalities)
                .where(municipalities.c.cvegeo == OAXACA_DE_JUAREZ)
                .values(population=270_956)
            )
        redrawn = http.get(url, params=params)
        stats = _kept(http)
    assert redrawn.status_code == 200
    assert "270,956" in redrawn.text and "270,955" not in redrawn.text
    assert stats["dropped_stale"] >= 1


def test_the_dispute_map_shows_renamed_localities(metro: Database) -> None:
    """Localities have their own change counter (migration 0012) for this map."""
    zone = biggest(metro)
    url = f"/maps/disputes/{zone['id']}"
    with metro.client("planner") as http:
        first = decoded(http.get(url, params={"tiles": "false"}).text)
        with metro.engine.connect() as conn:
            names = set(conn.execute(select(localities.c.name)).scalars())
        inside = max((name for name in names if name in first), key=len)
        with metro.engine.begin() as conn:
            conn.execute(
                update(localities)
                .where(localities.c.name == inside)
                .values(name="Localidad renombrada")
            )
        redrawn = decoded(http.get(url, params={"tiles": "false"}).text)
    assert "Localidad renombrada" in redrawn and inside not in redrawn


def test_a_kept_map_is_only_sent_to_callers_who_may_see_it(metro: Database) -> None:
    # the inspections choropleth: drawn for a planner, refused to an anonymous caller
    url = f"/maps/metro-zones/{ZONE}"
    params = {"choropleth": "inspections", "tiles": "false"}
    with metro.client("planner") as planner:
        assert planner.get(url, params=params).status_code == 200
    with metro.client() as anonymous:
        refused = anonymous.get(url, params=params)
    assert refused.status_code == 401, refused.text

    # a disputed zone's map: kept for the commission, still refused to a municipality
    # that is no party to the zone
    zone = biggest(metro)
    _user, outsider = add_user(
        metro.engine, "rep-xoxocotlan", "commission", actor="test", cvegeo=XOXOCOTLAN
    )
    with metro.client("commission") as commission:
        assert commission.get(f"/maps/disputes/{zone['id']}").status_code == 200
        assert commission.get(f"/maps/disputes/{zone['id']}").status_code == 200
    with httpx.Client(
        base_url=metro.base_url, headers={"Authorization": f"Bearer {outsider}"}, timeout=60
    ) as http:
        hidden = http.get(f"/maps/disputes/{zone['id']}")
    assert hidden.status_code in (403, 404), hidden.text
    assert hidden.headers["content-type"].startswith("application/")


def test_a_map_kept_yesterday_is_drawn_again_today(metro: Database, serve: Any) -> None:
    clock = ManualClock()
    base = serve(metro, clock=clock)
    url = f"/maps/metro-zones/{ZONE}"
    with httpx.Client(base_url=base, timeout=60) as http:
        today = decoded(http.get(url, params={"tiles": "false"}).text)
        assert decoded(http.get(url, params={"tiles": "false"}).text) == today
        clock.advance(24 * 3600)
        tomorrow = decoded(http.get(url, params={"tiles": "false"}).text)
    day = clock.now()
    assert tomorrow != today
    assert f"Elaborado con Linde el {day.astimezone(MEXICO_TZ).strftime('%d/%m/%Y')}" in tomorrow


def test_with_the_cache_off_maps_are_drawn_each_time_and_rights_still_checked(
    metro: Database, serve: Any
) -> None:
    base = serve(metro, map_cache_mb=0)
    zone = biggest(metro)
    _user, outsider = add_user(
        metro.engine, "rep-xoxocotlan", "commission", actor="test", cvegeo=XOXOCOTLAN
    )
    url = f"/maps/disputes/{zone['id']}"
    commission = {"Authorization": f"Bearer {metro.tokens['commission']}"}
    with httpx.Client(base_url=base, timeout=60) as http:
        assert http.get(url, headers=commission).status_code == 200
        assert http.get(url, headers=commission).status_code == 200
        hidden = http.get(url, headers={"Authorization": f"Bearer {outsider}"})
        stats = _kept(http)
    assert hidden.status_code in (403, 404), hidden.text
    assert stats["stored"] == stats["hits"] == stats["entries"] == 0
