"""Error messages in Spanish (es-MX), chosen by ``Accept-Language``.

``api.errors`` writes every error in one shape with a stable ``code``; this module
only says the human text in the language the caller prefers. English stays what it
was for a client that asks for it or sends no preference (scripts, desktop GIS, the
OGC clients); the pages send ``Accept-Language: es-MX``, and so does a browser set to
Spanish. The codes, the fields and the numbers never change with the language.

A message is said in Spanish by the first pattern of ``_SENTENCES`` it matches, whole;
a message no pattern knows gets the Spanish sentence of its code followed by the
original text as a technical detail, so nothing the English said is lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from maps.legend import STATUS_ES

#: one Spanish sentence per stable code, for a message without a pattern of its own
BY_CODE: dict[str, str] = {
    "invalid_input": "Los datos enviados no son válidos.",
    "invalid_parameter": "Un parámetro de la consulta no es válido.",
    "invalid_geometry": "La geometría no es válida.",
    "bad_request": "La solicitud no es válida.",
    "unauthenticated": "Hace falta iniciar sesión (/entrar).",
    "forbidden": "Su cuenta no tiene permiso para hacer esto.",
    "not_found": "No se encontró lo que pidió.",
    "method_not_allowed": "Esta dirección no admite esa operación.",
    "not_acceptable": "No se puede responder en el formato pedido.",
    "conflict": "La operación choca con el estado actual del registro.",
    "gone": "Lo que pidió existió, pero ya no está vigente.",
    "precondition_failed": "El registro cambió desde que usted lo leyó; vuelva a cargarlo.",
    "precondition_required": "Hace falta la versión que usted leyó (If-Match).",
    "too_large": "Lo enviado es demasiado grande.",
    "unsupported_media_type": "El tipo de contenido enviado no se admite.",
    "too_many_requests": "Demasiadas solicitudes; espere un momento y vuelva a intentar.",
    "service_unavailable": "El servicio no está disponible por el momento; intente de nuevo.",
    "internal_error": "Linde no pudo completar la solicitud; el error quedó registrado.",
}
_DEFAULT = "La solicitud no se pudo completar."


def _status(value: str) -> str:
    return STATUS_ES.get(value, value)


def _statuses(listed: str) -> str:
    if listed.startswith("none"):
        return "ninguno (el caso está cerrado)"
    return ", ".join(_status(s.strip()) for s in listed.split(","))


Sentence = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _s(pattern: str, say: Callable[[re.Match[str]], str]) -> Sentence:
    return re.compile(pattern, re.DOTALL), say


#: English sentence (whole) -> its Spanish; the numbers and names carried over
_SENTENCES: list[Sentence] = [
    _s(
        r"zone (\d+) changed since you read it \(you have version (\d+), it is now (\d+)\); "
        r"read it again and redo your change",
        lambda m: (
            f"La zona {m[1]} cambió desde que usted la leyó (usted tiene la versión "
            f"{m[2]}; ahora es la {m[3]}). Vuelva a cargarla y repita su cambio."
        ),
    ),
    _s(
        r"zone (\d+) changed while you were editing it; read it again",
        lambda m: f"La zona {m[1]} cambió mientras usted la editaba; vuelva a cargarla.",
    ),
    _s(
        r"stale: current ETag (.+)",
        lambda m: f"versión vieja; la actual es {m[1]}",
    ),
    _s(r"stale", lambda m: "versión vieja"),
    _s(
        r"editing a disputed zone needs If-Match.*",
        lambda m: (
            "Para modificar una zona en disputa hace falta la versión que usted leyó "
            "(encabezado If-Match), para que un cambio viejo no borre el de otra persona."
        ),
    ),
    _s(r"missing", lambda m: "falta"),
    _s(
        r"If-Match (.+) is not an ETag of zone (\d+)",
        lambda m: f"La versión {m[1]} no es de la zona {m[2]}.",
    ),
    _s(r"no disputed zone (\d+)", lambda m: f"No existe la zona en disputa {m[1]}."),
    _s(
        r"zone (\d+) is (\w+); its case file takes only notes and evidence",
        lambda m: (
            f"La zona {m[1]} está {_status(m[2])}: su expediente solo admite notas y "
            "pruebas documentales."
        ),
    ),
    _s(r"closed case", lambda m: "caso cerrado"),
    _s(
        r"a decision applies to a zone that is .*; zone (\d+) is (\w+)",
        lambda m: (
            "Una resolución se aplica a una zona abierta, en revisión o en acuerdo; "
            f"la zona {m[1]} está {_status(m[2])}."
        ),
    ),
    _s(
        r"a zone cannot move from (\w+) to (\w+); allowed: (.*)",
        lambda m: (
            f"Una zona {_status(m[1])} no puede pasar a {_status(m[2])}; "
            f"puede pasar a: {_statuses(m[3])}."
        ),
    ),
    _s(
        r"allowed from (\w+): (.*)",
        lambda m: f"desde {_status(m[1])} puede pasar a: {_statuses(m[2])}",
    ),
    _s(
        r"the decision's parts must cover the zone exactly, without overlapping: (.*)",
        lambda m: (
            "Las partes de la resolución deben cubrir toda la zona sin encimarse: "
            + "; ".join(say(r) or r for r in m[1].split("; "))
            + "."
        ),
    ),
    _s(
        r"the parts leave ([\d,.]+) m² of the zone unassigned",
        lambda m: f"quedan {m[1]} m² de la zona sin asignar",
    ),
    _s(
        r"the parts overlap: ([\d,.]+) m² assigned twice",
        lambda m: f"las partes se enciman: {m[1]} m² asignados dos veces",
    ),
    _s(
        r"the parts reach ([\d,.]+) m² outside the zone",
        lambda m: f"las partes salen {m[1]} m² fuera de la zona",
    ),
    _s(
        r"the proposal does not cover any of the zone; draw it over the hatched area",
        lambda m: "La propuesta no cubre nada de la zona: dibújela sobre el área rayada.",
    ),
    _s(r"outside the zone", lambda m: "fuera de la zona"),
    _s(
        r"(\d{5}) is not a party of this zone \(parties: (.*)\)",
        lambda m: f"{m[1]} no es parte de esta zona (partes: {m[2]}).",
    ),
    _s(r"not a party of the zone", lambda m: "no es parte de la zona"),
    _s(
        r"a drawn proposal divides a zone between two parties; this zone has (\d+).*",
        lambda m: (
            f"Una propuesta dibujada reparte una zona entre dos partes; esta zona tiene "
            f"{m[1]}: asigne a cada parte su terreno en la resolución."
        ),
    ),
    _s(
        r"choose one: split_along_official_line, or the proposal_id to adopt",
        lambda m: (
            "Elija una sola forma de repartir: por el límite oficial o adoptando una "
            "propuesta del expediente."
        ),
    ),
    _s(
        r"zone (\d+) has no proposal (\d+)",
        lambda m: f"La zona {m[1]} no tiene la propuesta {m[2]}.",
    ),
    _s(
        r"proposal (\d+) gives no land to a named party; adopt a drawn proposal",
        lambda m: (
            f"La propuesta {m[1]} no asigna terreno a una parte: adopte una propuesta "
            "dibujada en el mapa."
        ),
    ),
    _s(r"(\w+) is empty", lambda m: "el archivo está vacío"),
    _s(r"empty file", lambda m: "el archivo está vacío"),
    _s(
        r"(?:file )?is ([\d,]+) bytes; the limit is ([\d,]+)",
        lambda m: f"el archivo pesa {m[1]} bytes; el límite es {m[2]}",
    ),
    _s(
        r"(?:file )?is a PDF cut short \(no %%EOF at its end\)",
        lambda m: "el PDF está incompleto (le falta el final)",
    ),
    _s(
        r"(?:file )?is not a PDF or a JPEG, PNG or WebP image \(checked by content\)",
        lambda m: (
            "el archivo no es un PDF ni una imagen JPEG, PNG o WebP (se revisa su "
            "contenido, no su nombre)"
        ),
    ),
    _s(
        r"(?:file )?is not a readable .* image.*|(?:file )?looks like .* but reads as .*",
        lambda m: "la imagen está dañada o no se puede leer",
    ),
    _s(r"a meeting needs the place", lambda m: "una reunión necesita el lugar"),
    _s(
        r"a meeting needs a list of attendees",
        lambda m: "una reunión necesita la lista de asistentes",
    ),
    _s(r"a meeting needs its date", lambda m: "una reunión necesita su fecha"),
    _s(
        r"evidence needs a document reference",
        lambda m: "una prueba necesita el nombre del documento",
    ),
    _s(
        r"a proposal needs a dividing line or an assignment polygon",
        lambda m: "una propuesta necesita una línea divisoria o un polígono",
    ),
    _s(r"a (\w+) needs a summary", lambda m: "falta el texto"),
    _s(
        r"a municipality's representative adds .*; a (\w+) is recorded by the state commission",
        lambda m: (
            "Un representante municipal agrega pruebas, propuestas y notas; las reuniones "
            "y los acuerdos los registra la comisión estatal."
        ),
    ),
    _s(
        r"this needs the (\w+) role; (.+) is (\w+)",
        lambda m: f"Esto requiere el rol {m[1]}; la cuenta {m[2]} tiene el rol {m[3]}.",
    ),
    # pydantic's reasons for a field (a 422 on a body or a query parameter)
    _s(
        r"claim (\d+) \((\d{5}), version (\d+)\) was withdrawn on (\S+ \S+) UTC(?:: (.*))?; "
        r"its versions are listed at (\S+), and datetime= before the withdrawal gives it",
        lambda m: (
            f"El reclamo {m[1]} ({m[2]}, versión {m[3]}) fue retirado el {m[4]} UTC"
            + (f": {m[5]}" if m[5] else "")
            + f". Sus versiones están en {m[6]}; con datetime= anterior al retiro se "
            "obtiene como era."
        ),
    ),
    _s(
        r"(\d{5}) has no claim in force, so there is nothing to withdraw .*",
        lambda m: (
            f"{m[1]} no tiene un reclamo vigente: no hay nada que retirar "
            f"(GET /claims?cvegeo={m[1]} lista sus reclamos)."
        ),
    ),
    _s(r"no claim in force", lambda m: "no tiene un reclamo vigente"),
    _s(
        r"reason is required: .*",
        lambda m: (
            "Falta el motivo: diga por qué se retira el reclamo (p. ej. el convenio firmado)."
        ),
    ),
    _s(r"required: why the claim is withdrawn", lambda m: "falta: por qué se retira el reclamo"),
    _s(
        r"(\S+) withdraws the claims of (\S+) only, not of (\d{5})",
        lambda m: f"{m[1]} solo puede retirar los reclamos de {m[2]}, no los de {m[3]}.",
    ),
    _s(r"your municipality, (\S+)", lambda m: f"su municipio, {m[1]}"),
    # claims (layers/claims.py, layers/claim_withdrawal.py, api/routes/claims.py)
    _s(
        r"valid_from needs a time zone, e\.g\. (\S+)",
        lambda m: f"A valid_from le falta la zona horaria; por ejemplo {m[1]}.",
    ),
    _s(r"no time zone", lambda m: "sin zona horaria"),
    _s(
        r"source must be one of (.+)",
        lambda m: f"La fuente (source) debe ser una de: {m[1]}.",
    ),
    _s(r"unknown source", lambda m: "fuente desconocida"),
    _s(r"one of (.+)", lambda m: f"valores posibles: {m[1]}"),
    _s(
        r"valid_from must be on or after (.+) UTC, when the claim of (\d{5}) was withdrawn",
        lambda m: (
            f"valid_from debe ser igual o posterior a {m[1]} UTC, cuando se retiró el "
            f"reclamo de {m[2]}."
        ),
    ),
    _s(
        r"before the withdrawal of the last claim",
        lambda m: "antes del retiro del último reclamo",
    ),
    _s(
        r"valid_from must be after (\S+), when the claim in force began",
        lambda m: f"valid_from debe ser posterior a {m[1]}, cuando empezó el reclamo vigente.",
    ),
    _s(r"not after the claim in force", lambda m: "no es posterior al reclamo vigente"),
    _s(
        r"no municipality with cvegeo (\S+); import the official boundaries first",
        lambda m: (
            f"No existe el municipio con clave {m[1]}; primero importe los límites oficiales."
        ),
    ),
    _s(
        r"no municipality with cvegeo ([\d, ]+)",
        lambda m: f"No existe municipio con la clave {m[1]}.",
    ),
    _s(r"unknown municipality", lambda m: "municipio desconocido"),
    _s(r"no claim (\d+)", lambda m: f"No existe el reclamo {m[1]}."),
    _s(r"unknown claim", lambda m: "reclamo desconocido"),
    _s(
        r"claim (\d+) is the first version of (\d{5}); compare it with against=official",
        lambda m: (
            f"El reclamo {m[1]} es la primera versión de {m[2]}; compárelo con against=official."
        ),
    ),
    _s(r"no previous version", lambda m: "no hay versión anterior"),
    _s(
        r"against must be previous, official or a claim id",
        lambda m: "against debe ser previous, official o el número de un reclamo.",
    ),
    _s(r"previous, official or a claim id", lambda m: "previous, official o un número de reclamo"),
    _s(
        r"no official boundary for (.+); import municipalities first",
        lambda m: f"No hay límite oficial de {m[1]}; primero importe los municipios.",
    ),
    _s(r"unknown: (.+)", lambda m: f"no existen: {m[1]}"),
    _s(
        r"reason is longer than (\d+) characters; summarise it and cite the document",
        lambda m: f"El motivo pasa de {m[1]} caracteres; resúmalo y cite el documento.",
    ),
    _s(r"at most (\d+) characters", lambda m: f"a lo más {m[1]} caracteres"),
    _s(
        r"claim (\d+) is not the claim in force of (\d{5}) \(claim (\d+) is\); load the "
        r"claims of \d{5} again and, if it still applies, withdraw claim \d+",
        lambda m: (
            f"El reclamo {m[1]} no es el vigente de {m[2]} (lo es el {m[3]}); vuelva a "
            f"cargar los reclamos de {m[2]} y, si aún procede, retire el reclamo {m[3]}."
        ),
    ),
    _s(r"not in force; claim (\d+) is", lambda m: f"no está vigente; lo está el reclamo {m[1]}"),
    _s(
        r"claim (\d+) of (\d{5}) begins on (.+) UTC, later than now; it can be withdrawn "
        r"once it has begun",
        lambda m: (
            f"El reclamo {m[1]} de {m[2]} empieza el {m[3]} UTC, después de ahora; se "
            "puede retirar cuando haya empezado."
        ),
    ),
    _s(r"its claim in force has not begun yet", lambda m: "su reclamo vigente aún no empieza"),
    _s(
        r"the claim of (\d{5}) changed while it was being withdrawn; load it again",
        lambda m: f"El reclamo de {m[1]} cambió mientras se retiraba; vuelva a cargarlo.",
    ),
    _s(r"changed meanwhile", lambda m: "cambió mientras tanto"),
    _s(
        r"(?:the claim of (\d{5}) was withdrawn|another claim for (\d{5}) was recorded) at "
        r"the same moment as this one, which was not recorded; load the claims of \d{5} "
        r"again \(GET /claims\?cvegeo=\d{5}\) and, if yours still applies, send it again",
        lambda m: (
            (f"El reclamo de {m[1]} se retiró" if m[1] else f"Se registró otro reclamo de {m[2]}")
            + " en el mismo momento que este, que no se registró; vuelva a cargar los "
            f"reclamos de {m[1] or m[2]} (GET /claims?cvegeo={m[1] or m[2]}) y, si el suyo "
            "aún procede, envíelo de nuevo."
        ),
    ),
    _s(
        r"its claim was withdrawn at the same moment",
        lambda m: "su reclamo se retiró en el mismo momento",
    ),
    _s(
        r"a claim for it was recorded at the same moment",
        lambda m: "se registró otro reclamo suyo en el mismo momento",
    ),
    _s(
        r"(\S+) records the claims of (\S+) only, not of (\d{5})",
        lambda m: f"{m[1]} solo puede registrar los reclamos de {m[2]}, no los de {m[3]}.",
    ),
    _s(r"Field required", lambda m: "falta este dato"),
    _s(r"Input should be a valid (integer|number).*", lambda m: "debe ser un número"),
    _s(r"Input should be a valid boolean.*", lambda m: "debe ser true o false"),
    _s(r"String should match pattern .*", lambda m: "no tiene la forma esperada"),
    _s(
        r"String should have at most (\d+) characters?",
        lambda m: f"admite a lo más {m[1]} caracteres",
    ),
    _s(
        r"String should have at least (\d+) characters?",
        lambda m: f"necesita al menos {m[1]} caracteres",
    ),
    _s(r"Input should be (.*)", lambda m: f"debe ser {m[1].replace(' or ', ' o ')}"),
    _s(
        r"this resource needs you signed in.*",
        lambda m: "Hace falta iniciar sesión (/entrar) o un token de acceso.",
    ),
    _s(
        r"this request needs the session's CSRF token.*",
        lambda m: (
            "A esta solicitud le falta la clave de seguridad de la sesión; vuelva a "
            "cargar la página e intente de nuevo."
        ),
    ),
]


def say(english: str) -> str | None:
    """The Spanish of one English message or reason, or ``None`` if no pattern knows it.
    Messages joined by ``"; "`` (one per field) are said one by one."""
    text = english.strip()
    for pattern, spanish in _SENTENCES:
        found = pattern.fullmatch(text)
        if found:
            return spanish(found)
    if "; " in text:
        pieces = [_field_said(p) for p in text.split("; ")]
        if all(p is not None for p in pieces):
            return "; ".join(p for p in pieces if p is not None)
    return _field_said(text)


def _field_said(text: str) -> str | None:
    """``field: reason`` (how several problems are joined) with the reason said."""
    field, sep, reason = text.partition(": ")
    if not sep or " " in field:
        return None
    said = say(reason)
    return f"{field}: {said}" if said is not None else None


def wants_spanish(accept_language: str | None) -> bool:
    """True when Spanish ranks above English in ``Accept-Language`` (by ``q``, then order).

    No header, or one naming neither, keeps English: the API's scripts and GIS clients
    read what they always read. The pages send ``es-MX``.
    """
    if not accept_language:
        return False
    best: tuple[float, int, str] | None = None
    for position, item in enumerate(accept_language.split(",")):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in ("es", "en"):
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        rank = (-q, position, primary)
        if best is None or rank < best:
            best = rank
    return best is not None and best[2] == "es" and best[0] < 0


def in_spanish(body: dict[str, Any]) -> dict[str, Any]:
    """An error body (``api.errors.error_body``) with its message and reasons in Spanish;
    the codes and fields as they were."""
    error = body["error"]
    code = str(error["code"])
    message = say(str(error["message"]))
    if message is None:
        generic = BY_CODE.get(code, _DEFAULT)
        original = str(error["message"])
        message = f"{generic} Detalle técnico: {original}" if original else generic
    details = []
    for item in error.get("details") or []:
        reason = str(item.get("reason", ""))
        details.append({**item, "reason": say(reason) or reason})
    return {
        "code": code,
        "description": message,
        "error": {"code": code, "message": message, "details": details},
    }
