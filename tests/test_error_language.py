"""Errors in Spanish by ``Accept-Language``: the same codes and fields, the message said
in Spanish for a caller that prefers it, English kept for one that asks for English or
says nothing (scripts, desktop GIS)."""

from __future__ import annotations

import re

import pytest

from api.catalogue import in_spanish, say, wants_spanish
from api.errors import error_body
from tests.conftest import Database
from tests.helpers import biggest


@pytest.mark.parametrize(
    ("header", "spanish"),
    [
        (None, False),
        ("", False),
        ("es-MX", True),
        ("es", True),
        ("en", False),
        ("en-US,en;q=0.9", False),
        ("es-MX,es;q=0.9,en;q=0.8", True),
        ("en;q=0.5, es;q=0.9", True),
        ("fr-FR", False),
        ("es;q=0", False),
    ],
)
def test_the_language_is_chosen_by_accept_language(header: str | None, spanish: bool) -> None:
    assert wants_spanish(header) is spanish


def test_known_sentences_are_said_in_spanish_with_their_numbers() -> None:
    assert say(
        "zone 7 changed since you read it (you have version 3, it is now 4); "
        "read it again and redo your change"
    ) == (
        "La zona 7 cambió desde que usted la leyó (usted tiene la versión 3; ahora es la 4). "
        "Vuelva a cargarla y repita su cambio."
    )
    assert (
        say("details.place: a meeting needs the place; occurred_at: a meeting needs its date")
        == "details.place: una reunión necesita el lugar; "
        "occurred_at: una reunión necesita su fecha"
    )
    assert say("a zone cannot move from resolved to open; allowed: none (the case is closed)") == (
        "Una zona resuelta no puede pasar a abierta; puede pasar a: ninguno (el caso está cerrado)."
    )
    # a sentence the catalogue does not know keeps its English as a technical detail
    body = in_spanish(error_body("conflict", "something new happened"))
    assert body["code"] == "conflict" and body["error"]["code"] == "conflict"
    assert body["error"]["message"] == (
        "La operación choca con el estado actual del registro. "
        "Detalle técnico: something new happened"
    )


def test_the_api_answers_in_the_language_asked(metro: Database) -> None:
    zone = biggest(metro)
    stale = f'"zone-{zone["id"]}-v0"'
    with metro.client("commission") as http:
        english = http.patch(
            f"/disputes/{zone['id']}", json={"name": "X"}, headers={"If-Match": stale}
        )
        spanish = http.patch(
            f"/disputes/{zone['id']}",
            json={"name": "X"},
            headers={"If-Match": stale, "Accept-Language": "es-MX,es;q=0.9"},
        )
        asked_english = http.patch(
            f"/disputes/{zone['id']}",
            json={"name": "X"},
            headers={"If-Match": stale, "Accept-Language": "en"},
        )
        meeting = http.post(
            f"/disputes/{zone['id']}/events",
            json={"kind": "meeting", "details": {"attendees": []}},
            headers={"Accept-Language": "es-MX"},
        )
        missing = http.post(
            f"/disputes/{zone['id']}/events", json={}, headers={"Accept-Language": "es-MX"}
        )
    assert english.status_code == spanish.status_code == 412
    assert english.json()["code"] == spanish.json()["code"] == "precondition_failed"
    assert english.json()["error"]["message"].startswith(f"zone {zone['id']} changed since")
    assert asked_english.json() == english.json()
    said = spanish.json()["error"]
    assert said["message"].startswith(f"La zona {zone['id']} cambió desde que usted la leyó")
    assert said["details"][0]["field"] == "If-Match"
    assert said["details"][0]["reason"].startswith("versión vieja; la actual es")
    assert spanish.headers["Content-Language"] == "es-MX"
    assert meeting.status_code == 422
    assert meeting.json()["error"]["message"] == (
        "details.place: una reunión necesita el lugar; details.attendees: una reunión necesita "
        "la lista de asistentes; occurred_at: una reunión necesita su fecha"
    )
    assert missing.status_code == 422 and missing.json()["error"]["details"][0] == {
        "field": "kind",
        "reason": "falta este dato",
    }


def test_the_claims_refusals_are_said_in_spanish(api: Database) -> None:
    """Every refusal of the claims routes has a Spanish sentence of its own, not the
    code's generic one with the English as a technical detail."""
    square = {
        "type": "Polygon",
        "coordinates": [[[-96.7, 17.0], [-96.69, 17.0], [-96.69, 17.01], [-96.7, 17.0]]],
    }
    es = {"Accept-Language": "es-MX"}
    with api.client("commission") as http:
        answers = [
            http.post(
                "/claims",
                json={"cvegeo": "20157", "source": "cadastre", "geometry": square},
                headers=es,
            ),
            http.get("/claims/999", headers=es),
            http.get("/claims/999/diff", headers=es),
            http.post("/claims/withdrawals", json={"cvegeo": "20157", "reason": "x"}, headers=es),
            http.post("/claims/official", json={"cvegeos": ["20999"]}, headers=es),
        ]
    said = []
    for answer in answers:
        assert 400 <= answer.status_code < 500, answer.text
        error = answer.json()["error"]
        said.append(error["message"])
        assert "Detalle técnico" not in error["message"], error["message"]
        said.extend(item["reason"] for item in error["details"])
    english = re.compile(r"\b(the|of|is|must|unknown|claim|required|first|no such)\b")
    assert [s for s in said if english.search(s)] == []
    assert said[0] == (
        "No existe el municipio con clave 20157; primero importe los límites oficiales."
    )
    assert "No existe el reclamo 999." in said


def test_the_claims_races_and_stale_reads_are_said_in_spanish() -> None:
    assert say(
        "the claim of 20157 was withdrawn at the same moment as this one, which was not "
        "recorded; load the claims of 20157 again (GET /claims?cvegeo=20157) and, if yours "
        "still applies, send it again"
    ) == (
        "El reclamo de 20157 se retiró en el mismo momento que este, que no se registró; "
        "vuelva a cargar los reclamos de 20157 (GET /claims?cvegeo=20157) y, si el suyo aún "
        "procede, envíelo de nuevo."
    )
    other = say(
        "another claim for 20067 was recorded at the same moment as this one, which was not "
        "recorded; load the claims of 20067 again (GET /claims?cvegeo=20067) and, if yours "
        "still applies, send it again"
    )
    assert other is not None
    assert other.startswith("Se registró otro reclamo de 20067 en el mismo momento")
    assert say(
        "claim 4 is not the claim in force of 20157 (claim 9 is); load the claims of 20157 "
        "again and, if it still applies, withdraw claim 9"
    ) == (
        "El reclamo 4 no es el vigente de 20157 (lo es el 9); vuelva a cargar los reclamos de "
        "20157 y, si aún procede, retire el reclamo 9."
    )
    assert say("source: one of inegi, decree") == "source: valores posibles: inegi, decree"
