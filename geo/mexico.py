"""Facts about Mexico that the rules need: extent, states, key formats, the day there."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

#: the day on a map, a dossier or a report is the day where its readers are
MEXICO_TZ = ZoneInfo("America/Mexico_City")


def today_in_mexico(now: datetime | None = None) -> date:
    """The date in Mexico City at ``now`` (an aware instant; the present when ``None``):
    a map made at 02:00 UTC is dated the evening before, as its readers lived it."""
    return (now or datetime.now(UTC)).astimezone(MEXICO_TZ).date()


# Generous envelope of the national territory (continental, islands and the
# Revillagigedo archipelago), in lon/lat. Used to catch data in the wrong CRS
# or with swapped axes, not to decide sovereignty.
MEXICO_LON_MIN, MEXICO_LON_MAX = -119.0, -86.0
MEXICO_LAT_MIN, MEXICO_LAT_MAX = 14.0, 33.0
MEXICO_BOUNDS = (MEXICO_LON_MIN, MEXICO_LAT_MIN, MEXICO_LON_MAX, MEXICO_LAT_MAX)

# INEGI Catálogo Único de Claves de Áreas Geoestadísticas Estatales.
STATES: dict[str, str] = {
    "01": "Aguascalientes",
    "02": "Baja California",
    "03": "Baja California Sur",
    "04": "Campeche",
    "05": "Coahuila de Zaragoza",
    "06": "Colima",
    "07": "Chiapas",
    "08": "Chihuahua",
    "09": "Ciudad de México",
    "10": "Durango",
    "11": "Guanajuato",
    "12": "Guerrero",
    "13": "Hidalgo",
    "14": "Jalisco",
    "15": "México",
    "16": "Michoacán de Ocampo",
    "17": "Morelos",
    "18": "Nayarit",
    "19": "Nuevo León",
    "20": "Oaxaca",
    "21": "Puebla",
    "22": "Querétaro",
    "23": "Quintana Roo",
    "24": "San Luis Potosí",
    "25": "Sinaloa",
    "26": "Sonora",
    "27": "Tabasco",
    "28": "Tamaulipas",
    "29": "Tlaxcala",
    "30": "Veracruz de Ignacio de la Llave",
    "31": "Yucatán",
    "32": "Zacatecas",
}

_CVEGEO = re.compile(r"^\d{5}$")


def normalize_cvegeo(value: object) -> str | None:
    """Return a municipal key as the 5-digit INEGI ``cvegeo`` or ``None`` if it is not one.

    Numbers and short strings are zero-padded (``9002`` -> ``"09002"``) because
    several official tables store the key as an integer.
    """
    if value is None:
        return None
    text = str(value).strip()
    if text.endswith(".0"):
        text = text[:-2]
    if text.isdigit() and len(text) in (4, 5):
        text = text.zfill(5)
    if not _CVEGEO.match(text):
        return None
    if text[:2] not in STATES or text[2:] == "000":
        return None
    return text


def state_of(cvegeo: str) -> tuple[str, str]:
    """``(state_code, state_name)`` for a valid 5-digit municipal key."""
    code = cvegeo[:2]
    return code, STATES[code]


def in_mexico(lon: float, lat: float) -> bool:
    return MEXICO_LON_MIN <= lon <= MEXICO_LON_MAX and MEXICO_LAT_MIN <= lat <= MEXICO_LAT_MAX


def swapped_hint(lon: float, lat: float) -> str:
    """A hint to append to an out-of-Mexico message when lon and lat look swapped."""
    if in_mexico(lat, lon):
        return " (lon and lat look swapped: GeoJSON order is [lon, lat], e.g. [-96.72, 17.07])"
    return ""
