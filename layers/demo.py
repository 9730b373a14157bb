"""``linde demo``: a small illustrative dataset around Oaxaca de Juárez, made by Linde.

Nothing here is official. The municipalities carry their real INEGI keys and names,
but their shapes are Voronoi cells around approximate municipal seats, clipped to a
hand-drawn outline and given a smooth deterministic wobble; the rivers, the two
overlapping claims and the inspection points are drawn by hand in the same spirit.
Every feature says so in its ``source`` (and notes or description).

The data goes in through the regular importers and domain functions, so loading the
demo exercises the same paths as real data. Loading it again changes nothing.
"""

from __future__ import annotations

import csv
import json
import secrets
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiPoint, Point, Polygon, mapping
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine, select

from geo.errors import Conflict
from geo.inspections import Submission
from geo.validation import POLYGONAL, check_geometries
from layers import audit
from layers.claims import add_claim, list_claims
from layers.engine import write_connection
from layers.importers.metro_zones import import_metro_zones
from layers.importers.municipalities import import_municipalities
from layers.importers.rivers import import_rivers
from layers.inspections import store as inspection_store
from layers.schema import municipalities, rivers
from layers.users import add_user

DEMO_SOURCE = "Linde demo: datos ilustrativos, no oficiales"
ZONE_CODE, ZONE_NAME = "DEMO.20", "Zona metropolitana de Oaxaca (demo)"

# Coordinates are written "lon lat, lon lat, ..." (EPSG:4326), as in WKT.
# Seeds of the Voronoi cells, the approximate municipal seat first; the larger
# municipalities get more than one so that the relative sizes look plausible.
SEATS: dict[str, tuple[str, str]] = {
    "20067": (
        "Oaxaca de Juárez",
        "-96.724 17.068, -96.712 17.100, -96.728 17.135, -96.695 17.125, -96.745 17.082, "
        "-96.746 17.118",
    ),
    "20157": ("San Jacinto Amilpas", "-96.762 17.098"),
    "20399": (
        "Santa María Atzompa",
        "-96.790 17.092, -96.776 17.125, -96.781 17.108, -96.800 17.060",
    ),
    "20385": (
        "Santa Cruz Xoxocotlán",
        "-96.742 17.022, -96.768 17.035, -96.758 17.000, -96.714 17.027",
    ),
    "20390": ("Santa Lucía del Camino", "-96.692 17.068"),
    "20087": ("San Agustín Yatareni", "-96.674 17.090"),
    "20375": ("Santa Cruz Amilpas", "-96.694 17.047"),
}
OUTLINE = (
    "-96.822 17.100, -96.808 17.132, -96.780 17.148, -96.735 17.165, -96.695 17.155, "
    "-96.668 17.120, -96.660 17.085, -96.672 17.050, -96.685 17.032, -96.712 17.010, "
    "-96.742 16.985, -96.778 16.992, -96.795 17.020, -96.812 17.058"
)
# Illustrative courses, not surveyed: the Atoyac north to south on the west side of the
# city, the Salado east to west into it south-east of the centre.
RIVERS: dict[str, str] = {
    "Río Atoyac": (
        "-96.790 17.160, -96.778 17.135, -96.766 17.115, -96.758 17.100, -96.750 17.085, "
        "-96.742 17.068, -96.737 17.052, -96.731 17.040, -96.725 17.031, -96.719 17.012, "
        "-96.722 16.985"
    ),
    "Río Salado": (
        "-96.655 17.050, -96.672 17.053, -96.690 17.054, -96.703 17.049, -96.713 17.039, "
        "-96.725 17.031"
    ),
}
# The Los Sauces-like zone both claims take from the neighbour: radii (m) at equal
# angles around a point on the Oaxaca de Juárez / San Jacinto Amilpas limit.
DISPUTE_PARTIES = ("20067", "20157")
DISPUTE_RADII_M = (380, 340, 400, 330, 360, 390, 320, 370)
# (river, fraction along it, metres to its left, category, severity, GPS accuracy m, what)
INSPECTIONS = [
    ("Río Atoyac", 0.30, 6, "water_contamination", 4, 5.0, "espuma y olor en el agua"),
    ("Río Atoyac", 0.52, 25, "solid_waste", 3, 8.0, "montón de residuos sólidos en la ribera"),
    ("Río Atoyac", 0.70, -8, "debris_fill", 5, 4.0, "relleno con escombro en el cauce"),
    ("Río Salado", 0.35, 3, "discharge", 4, 6.0, "descarga de agua residual"),
    ("Río Salado", 0.62, -18, "informal_parking", 2, 10.0, "estacionamiento informal en el bordo"),
]
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "demo.linde.invalid")
_TO_M = Transformer.from_crs(4326, 6372, always_xy=True)
_TO_LL = Transformer.from_crs(6372, 4326, always_xy=True)


def _coords(text: str) -> list[tuple[float, float]]:
    return [(float(lon), float(lat)) for lon, lat in (pair.split() for pair in text.split(","))]


def _project(geom: BaseGeometry, transformer: Transformer) -> BaseGeometry:
    def move(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))

    return shapely.transform(geom, move)


def _wobble(xy: np.ndarray) -> np.ndarray:
    """A smooth displacement of at most ~100 m, gentle enough to keep every line simple."""
    u, v = (xy[:, 0] + 96.74) / 0.01, (xy[:, 1] - 17.06) / 0.01
    dx = 0.0005 * (np.sin(1.3 * u + 2.1 * v) + 0.4 * np.sin(5.1 * v - 0.7 * u + 1.0))
    dy = 0.0005 * (np.sin(1.7 * v - 1.1 * u + 0.4) + 0.4 * np.sin(4.7 * u + 0.3))
    return np.round(np.column_stack([xy[:, 0] + dx, xy[:, 1] + dy]), 6)


def demo_municipalities() -> dict[str, BaseGeometry]:
    """The demo polygons by key: a wobbled Voronoi partition of ``OUTLINE`` (no gaps, no overlaps).

    The cell edges are noded into one set of lines before the wobble, so neighbours keep
    sharing exactly the same vertices; the faces are rebuilt with ``polygonize`` and each
    goes to the municipality of the cell it mostly covers.
    """
    outline = Polygon(_coords(OUTLINE))
    seeds = [(key, Point(p)) for key, (_, points) in SEATS.items() for p in _coords(points)]
    diagram = shapely.voronoi_polygons(MultiPoint([p for _, p in seeds]), extend_to=outline)
    cells = [cell.intersection(outline) for cell in shapely.get_parts(diagram)]
    owners = [next(key for key, p in seeds if cell.contains(p)) for cell in cells]
    edges = shapely.segmentize(shapely.union_all([cell.boundary for cell in cells]), 0.0015)
    parts: dict[str, list[BaseGeometry]] = {key: [] for key in SEATS}
    for face in shapely.get_parts(
        shapely.polygonize(shapely.get_parts(shapely.transform(edges, _wobble)))
    ):
        overlap = [face.intersection(cell).area for cell in cells]
        parts[owners[int(np.argmax(overlap))]].append(face)
    return {key: shapely.union_all(faces) for key, faces in parts.items()}


def demo_rivers() -> dict[str, BaseGeometry]:
    """The demo river lines by name, gently meandering."""
    return {
        name: shapely.transform(shapely.segmentize(LineString(_coords(pts)), 0.001), _wobble)
        for name, pts in RIVERS.items()
    }


def disputed_zone(munis: dict[str, BaseGeometry]) -> BaseGeometry:
    """An irregular ~37 ha polygon centred on the middle of the two parties' shared limit."""
    a, b = (munis[k] for k in DISPUTE_PARTIES)
    limit = shapely.line_merge(a.boundary.intersection(b.boundary))
    middle = limit.interpolate(0.5, normalized=True)
    cx, cy = _TO_M.transform(middle.x, middle.y)
    angles = np.linspace(0, 2 * np.pi, len(DISPUTE_RADII_M), endpoint=False) + 0.3
    ring = [
        (cx + r * np.cos(t), cy + r * np.sin(t))
        for r, t in zip(DISPUTE_RADII_M, angles, strict=True)
    ]
    return _project(Polygon(ring), _TO_LL)


def demo_claims(munis: dict[str, BaseGeometry]) -> dict[str, BaseGeometry]:
    """Each party's claim: its own polygon plus the part of the zone in the neighbour's."""
    zone = disputed_zone(munis)
    a, b = DISPUTE_PARTIES
    out = {
        a: munis[a].union(zone.intersection(munis[b])),
        b: munis[b].union(zone.intersection(munis[a])),
    }
    problems = check_geometries(list(out.values()), allowed_types=POLYGONAL, field="claim")
    assert not problems, problems.summary()
    return out


def load_demo(engine: Engine, *, actor: str) -> Iterator[str]:
    """Load the illustrative dataset, yielding one progress line per layer.

    Args:
        engine: a migrated PostGIS or SpatiaLite engine.
        actor: who is loading it, for import runs and the audit trail.

    Raises:
        Conflict: the database holds non-demo data under the demo's keys (official
            boundaries or rivers), which the demo would otherwise overwrite.
    """
    _refuse_to_overwrite(engine)
    munis, lines = demo_municipalities(), demo_rivers()
    with tempfile.TemporaryDirectory(prefix="linde_demo_") as tmp:
        folder = Path(tmp)
        path = _write_geojson(
            folder / "linde_demo_municipios.geojson",
            [({"cvegeo": k, "nom_agem": SEATS[k][0]}, g) for k, g in munis.items()],
        )
        yield import_municipalities(engine, path, actor=actor, source=DEMO_SOURCE).line()
        path = folder / "linde_demo_zona_metropolitana.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["CVE_ZONA", "NOM_ZM", "TIPOMET", "CVEGEO", "NOMGEO"])
            writer.writerows(
                [ZONE_CODE, ZONE_NAME, "Zona metropolitana", k, name]
                for k, (name, _) in SEATS.items()
            )
        yield import_metro_zones(engine, path, actor=actor, source=DEMO_SOURCE).line()
        path = _write_geojson(
            folder / "linde_demo_rios.geojson", [({"name": n}, g) for n, g in lines.items()]
        )
        yield import_rivers(engine, path, actor=actor, name_field="name", source=DEMO_SOURCE).line()
    yield _timed("claims", lambda: _load_claims(engine, munis, actor))
    yield _timed("inspections", lambda: _load_inspections(engine, lines, actor))
    inside = disputed_zone(munis).intersection(munis[DISPUTE_PARTIES[0]]).representative_point()
    yield "demo loaded: datos ilustrativos, no oficiales; the two claims overlap at:"
    yield f"  linde lookup --lon={inside.x:.5f} --lat={inside.y:.5f}"
    yield from demo_users(engine, actor=actor)


#: one demo user per kind of person (geo.access): name, role, municipality
DEMO_USERS = (
    ("demo-admin", "admin", None),
    ("demo-comision", "commission", None),
    (f"demo-rep-{DISPUTE_PARTIES[0]}", "commission", DISPUTE_PARTIES[0]),
    (f"demo-rep-{DISPUTE_PARTIES[1]}", "commission", DISPUTE_PARTIES[1]),
    (f"demo-inspector-{DISPUTE_PARTIES[0]}", "inspector", DISPUTE_PARTIES[0]),
    ("demo-planeacion", "planner", None),
)


def demo_users(engine: Engine, *, actor: str) -> Iterator[str]:
    """Create one user per kind of person with a random password, and say how to sign
    in. A user already there is left as it is (its password is not printed again)."""
    yield "demo users (sign in at http://127.0.0.1:8000/entrar; passwords shown only now):"
    for name, role, cvegeo in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        try:
            add_user(engine, name, role, actor=actor, password=password, cvegeo=cvegeo)
        except Conflict:
            yield f"  {name}: already there (linde users password {name} sets a new one)"
            continue
        scope = f", municipio {cvegeo}" if cvegeo else ""
        yield f"  {name} ({role}{scope}): {password}"


def _refuse_to_overwrite(engine: Engine) -> None:
    with engine.connect() as conn:
        taken = list(
            conn.execute(
                select(municipalities.c.cvegeo).where(
                    municipalities.c.cvegeo.in_(list(SEATS)), municipalities.c.source != DEMO_SOURCE
                )
            ).scalars()
        )
        taken += conn.execute(
            select(rivers.c.key).where(
                rivers.c.key.in_(list(RIVERS)), rivers.c.source != DEMO_SOURCE
            )
        ).scalars()
    if taken:
        raise Conflict(
            f"this database already holds non-demo data for {', '.join(taken)}; the "
            "illustrative demo would replace it: load the demo into an empty database"
        )


def _write_geojson(path: Path, features: list[tuple[dict[str, str], BaseGeometry]]) -> Path:
    collection = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": props, "geometry": mapping(geom)}
            for props, geom in features
        ],
    }
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    return path


def _timed(kind: str, load: Callable[[], tuple[int, int]]) -> str:
    started = time.perf_counter()
    created, unchanged = load()
    return (
        f"{kind}: {created} created, 0 updated, {unchanged} unchanged "
        f"in {time.perf_counter() - started:.1f} s"
    )


def _load_claims(engine: Engine, munis: dict[str, BaseGeometry], actor: str) -> tuple[int, int]:
    claimed = demo_claims(munis)
    kinds = {
        DISPUTE_PARTIES[0]: ("cadastre", "catastro municipal", datetime(2021, 3, 1, tzinfo=UTC)),
        DISPUTE_PARTIES[1]: ("decree", "decreto", datetime(2019, 11, 20, tzinfo=UTC)),
    }
    created = 0
    for key, geom in claimed.items():
        with engine.connect() as conn:
            if any(DEMO_SOURCE in (c["notes"] or "") for c in list_claims(conn, cvegeo=key)):
                continue
        source, label, valid_from = kinds[key]
        add_claim(
            engine,
            cvegeo=key,
            geom=geom,
            source=source,
            valid_from=valid_from,
            recorded_by=actor,
            source_reference=f"Ilustrativo: {label} de ejemplo, no existe ({DEMO_SOURCE})",
            notes=f"{DEMO_SOURCE}. Reclamo de ejemplo sobre una zona tipo Los Sauces, en el "
            "límite Oaxaca de Juárez / San Jacinto Amilpas.",
        )
        created += 1
    return created, len(claimed) - created


def _beside(line: BaseGeometry, fraction: float, offset_m: float) -> BaseGeometry:
    """The point ``offset_m`` metres to the left of ``line`` (right if negative) at ``fraction``."""
    metric = _project(line, _TO_M)
    here, ahead = (metric.interpolate(fraction * metric.length + d) for d in (0.0, 1.0))
    dx, dy = ahead.x - here.x, ahead.y - here.y
    norm = float(np.hypot(dx, dy))
    return _project(Point(here.x - dy / norm * offset_m, here.y + dx / norm * offset_m), _TO_LL)


def _load_inspections(
    engine: Engine, lines: dict[str, BaseGeometry], actor: str
) -> tuple[int, int]:
    ids = [
        str(uuid.uuid5(_ID_NAMESPACE, f"{river}/{category}"))
        for river, _, _, category, *_ in INSPECTIONS
    ]
    subs = []
    for n, (river, fraction, offset_m, category, severity, accuracy, what) in enumerate(
        INSPECTIONS
    ):
        spot = _beside(lines[river], fraction, offset_m)
        subs.append(
            Submission(
                id=ids[n],
                lon=spot.x,  # type: ignore[attr-defined]
                lat=spot.y,  # type: ignore[attr-defined]
                observed_at=datetime(2024, 3, 4 + n, 16, 30, tzinfo=UTC),
                category=category,
                severity=severity,
                gps_accuracy_m=accuracy,
                description=f"Ejemplo ilustrativo: {what}, {river}. {DEMO_SOURCE}.",
                inspector="Inspección de ejemplo (Linde demo)",
            )
        )
    with write_connection(engine) as conn:
        # the regular capture path: annotated on arrival, exactly once
        result = inspection_store.save(conn, subs, recorded_by=actor, source=DEMO_SOURCE)
        audit.record_many(
            conn,
            actor,
            [
                (
                    "inspection.created",
                    "inspection",
                    sub.id,
                    {"category": sub.category, "severity": sub.severity, "source": DEMO_SOURCE},
                )
                for sub in subs
                if sub.id in result.created
            ],
        )
    present = result.unchanged
    return len(ids) - len(present), len(present)
