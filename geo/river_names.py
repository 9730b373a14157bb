"""Telling rivers apart by name: search text folded the way people type it, and the
choices grouped by name (Natural Earth has several "Atoyac", keyed "Atoyac #2" …).

Pure: entries in, groups out. Storage reads each river's length and the states it
crosses (``layers.river_index``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class RiverEntry:
    """One river line as the picker shows it."""

    id: int
    key: str
    name: str
    length_km: float
    #: the states whose loaded municipalities it crosses, by name, sorted; empty: it
    #: crosses none of the municipalities loaded ("fuera de lo cargado")
    states: tuple[str, ...]


@dataclass(frozen=True)
class RiverGroup:
    name: str
    rivers: tuple[RiverEntry, ...]


def folded(text: str) -> str:
    """Lower case without accents or repeated spaces: ``"Río  Atoyác"`` → ``"rio atoyac"``."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(plain.lower().split())


def matches(query: str, *texts: str) -> bool:
    """Every word of ``query`` is in one of ``texts`` (folded); an empty query matches all.

    A leading "río"/"rio" in the query is ignored: people type "río Atoyac" for "Atoyac".
    """
    words = folded(query).split()
    if words and words[0] == "rio" and len(words) > 1:
        words = words[1:]
    haystack = " ".join(folded(t) for t in texts)
    return all(w in haystack for w in words)


def grouped(entries: Iterable[RiverEntry]) -> list[RiverGroup]:
    """Entries grouped by name (folded, so "Atoyac" and "ATOYAC" are one group), groups by
    name, and inside a group by states then longest first."""
    groups: dict[str, list[RiverEntry]] = {}
    for entry in entries:
        groups.setdefault(folded(entry.name or entry.key), []).append(entry)
    out = []
    for key in sorted(groups):
        members = sorted(groups[key], key=lambda e: (e.states == (), e.states, -e.length_km, e.id))
        out.append(RiverGroup(members[0].name or members[0].key, tuple(members)))
    return out


def label(entry: RiverEntry) -> str:
    """``"Oaxaca · 151 km"``: what tells one of a group's rivers from the others."""
    where = ", ".join(entry.states) if entry.states else "fuera de lo cargado"
    km = f"{entry.length_km:,.0f}" if entry.length_km >= 10 else f"{entry.length_km:.1f}"
    return f"{where} · {km} km"
