"""The Spanish words and colours of Linde's legends.

Inspection categories are stored as English codes (``water_contamination``); maps
show them in Spanish. An unknown category is shown as written, in grey, so a new
category never breaks a map.
"""

from __future__ import annotations

import math

import numpy as np

#: a disputed zone's status as the pages and legends say it
STATUS_ES = {
    "detected": "detectada",
    "open": "abierta",
    "under_review": "en revisión",
    "agreement": "en acuerdo",
    "resolved": "resuelta",
    "dismissed": "desestimada",
}

CATEGORY_LABELS: dict[str, str] = {
    "water_contamination": "Contaminación del agua",
    "solid_waste": "Residuos sólidos",
    "debris_fill": "Relleno con escombro",
    "discharge": "Descarga de agua residual",
    "informal_parking": "Estacionamiento informal en la ribera",
    "other": "Otra",
}
CATEGORY_COLORS: dict[str, str] = {
    "water_contamination": "#1f78b4",
    "solid_waste": "#b15928",
    "debris_fill": "#6a3d9a",
    "discharge": "#e31a1c",
    "informal_parking": "#ff7f00",
    "other": "#737373",
}
#: the claim of each party of a dispute, in order
PARTY_COLORS = ("#2166ac", "#1b9e77", "#e7298a", "#e6ab02", "#66a61e", "#a6761d")
#: the line of each party's claim, in the same order: solid, dotted, dash-dot, long dash
#: (the official line is black, dashed ``OFFICIAL_DASH``), so claims are told apart by
#: their line as well as their colour
PARTY_DASHES = ("", "2 6", "12 5 2 5", "14 6")
OFFICIAL_DASH = "7 4"
#: five classes, light to dark (ColorBrewer YlOrRd)
CHOROPLETH_COLORS = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")


def category_label(code: str) -> str:
    return CATEGORY_LABELS.get(code, code.replace("_", " ").capitalize())


def category_color(code: str) -> str:
    return CATEGORY_COLORS.get(code, "#737373")


def format_number(value: float, decimals: int = 0) -> str:
    """A number as written in Mexico: ``270,955`` and ``1,234.5``."""
    if decimals == 0 and float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{decimals}f}" if decimals else f"{round(value):,}"


def quantile_breaks(values: np.ndarray, classes: int) -> list[float]:
    """Class limits (``classes + 1`` of them, repeated ones dropped) at equal quantiles."""
    if values.size == 0:
        return []
    edges = np.quantile(values, np.linspace(0, 1, classes + 1))
    out: list[float] = []
    for edge in edges:
        if not out or not math.isclose(edge, out[-1]):
            out.append(float(edge))
    if len(out) == 1:
        out.append(out[0])
    return out


def classify(values: np.ndarray, classes: int) -> tuple[np.ndarray, list[str]]:
    """Quantile classes that read well: each value's class (``-1`` for a missing one)
    and the label of each class, light to dark.

    Whole-number data (counts, population) get whole-number limits that do not
    overlap (``0``, ``1``, ``2 – 5``), never ``0 – 0``; a class no value falls in is
    dropped, so the legend shows only colours on the map. Missing values (NaN) are
    left for the caller to show as "sin dato".

    Args:
        values: the numbers, NaN where there is none.
        classes: at most this many classes.
    """
    values = np.asarray(values, dtype=float)
    present = ~np.isnan(values)
    index = np.full(values.shape, -1, dtype=int)
    if not present.any():
        return index, []
    known = values[present]
    whole = bool(np.all(np.isclose(known, np.round(known))))
    breaks = quantile_breaks(known, classes)
    if whole:
        # class i holds [breaks[i], breaks[i+1]) in whole numbers; the last is closed
        starts = sorted({float(math.ceil(b - 1e-9)) for b in breaks[:-1]})
        breaks = [*starts, float(known.max())]
        if len(breaks) == 1:
            breaks.append(breaks[0])
    raw = np.searchsorted(np.asarray(breaks[1:-1]), known, side="right")
    used = sorted(set(int(c) for c in raw))
    renumber = {old: new for new, old in enumerate(used)}
    index[present] = [renumber[int(c)] for c in raw]
    labels = []
    last = len(breaks) - 2
    for old in used:
        lo = breaks[old]
        if whole:
            hi = breaks[-1] if old == last else breaks[old + 1] - 1
            labels.append(
                format_number(lo) if lo == hi else f"{format_number(lo)} – {format_number(hi)}"
            )
        else:
            labels.append(f"{format_number(lo, 1)} – {format_number(breaks[old + 1], 1)}")
    return index, labels
