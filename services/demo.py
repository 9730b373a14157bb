"""``linde demo``: the Oaxaca metro zone from the real data shipped in ``data/``, plus
two illustrative claims, so a disputed zone is ready to review at once.

What is official and what is not:

* official (credited to their source): the INEGI municipal limits of the 26
  municipalities of the zone and their locality polygons (INEGI, Marco
  Geoestadístico; Censo 2020), the zone's row of "Metrópolis de México 2020", the
  Natural Earth line of the Río Atoyac, and CONAGUA's 2019 water-quality
  monitoring sites on the Atoyac and Salado (as inspection points);
* illustrative (said so in their source reference, notes and the zone's name): the
  claims of Oaxaca de Juárez (20067) and San Jacinto Amilpas (20157). Each takes from
  its neighbour a ~40 ha patch on their real shared limit, standing in for the area
  of Los Sauces, Ejidal and Emiliano Zapata, whose real extent is not public data.

Everything goes in through the regular importers and domain functions, then dispute
detection runs over the zone. Loading the demo again changes nothing (the users get
a fresh token each time).
"""

from __future__ import annotations

import json
import secrets
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import Polygon, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine, select

from geo.errors import Conflict
from geo.inspections import Submission
from geo.validation import POLYGONAL, check_geometries
from layers import audit
from layers.accounts import set_password
from layers.claims import add_claim, list_claims
from layers.disputes.zone_edits import edit_zone
from layers.disputes.zones import get_zone
from layers.engine import write_connection
from layers.importers.localities import import_localities
from layers.importers.metro_zones import import_metro_zones
from layers.importers.municipalities import import_municipalities
from layers.importers.rivers import import_rivers
from layers.inspections import store as inspection_store
from layers.schema import disputed_zone_parties, disputed_zones
from layers.users import add_user, new_token
from services.detection import run_detection

#: the real extract shipped with Linde (data/README.md)
DATA = Path(__file__).resolve().parents[1] / "data"
MUNICIPALITIES = DATA / "municipios_zm_oaxaca_inegi.geojson"
LOCALITIES = DATA / "localidades_zm_oaxaca_inegi.geojson"
METRO_2020 = DATA / "zm_oaxaca_2020.csv"
RIVERS = DATA / "rios_atoyac_salado_ne_10m.geojson"
CONAGUA_SITES = DATA / "conagua_sitios_atoyac_salado_2019.geojson"

ZONE_CODE, ZONE_NAME = "20.1.01", "Zona metropolitana de Oaxaca"
ILLUSTRATIVE = "Linde demo: reclamo ilustrativo, no oficial"
RIVER_SOURCE = "Natural Earth, ríos 1:10 000 000 (dominio público)"
CONAGUA_SOURCE = "CONAGUA, calidad del agua superficial 2019 (sitios de monitoreo)"
DISPUTE_PARTIES = ("20067", "20157")  # Oaxaca de Juárez, San Jacinto Amilpas
DISPUTE_NAME = "Los Sauces, Ejidal y Emiliano Zapata (ejemplo ilustrativo)"
# The illustrative patch: radii (m) at equal angles around the middle of the two
# parties' real shared limit (8.6 km long), ~40 ha, half on each side.
DISPUTE_RADII_M = (380, 340, 400, 330, 360, 390, 320, 370)
# CONAGUA's semáforo of each site, read as an inspection's severity
SEVERITY = {"Verde": 1, "Amarillo": 3, "Rojo": 5}
#: one demo user per role; each signs in with the token printed by ``linde demo``
#: one demo user per kind of person (geo.access.SPEC): name, role, municipality it acts for
DEMO_USERS: tuple[tuple[str, str, str | None], ...] = (
    ("planeacion", "planner", None),
    ("inspeccion-20067", "inspector", "20067"),
    ("comision", "commission", None),
    ("representante-20067", "commission", "20067"),
    ("representante-20157", "commission", "20157"),
    ("admin", "admin", None),
)
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "demo.linde.invalid")
_TO_M = Transformer.from_crs(4326, 6372, always_xy=True)
_TO_LL = Transformer.from_crs(6372, 4326, always_xy=True)


@dataclass(frozen=True)
class DemoUser:
    name: str
    role: str
    cvegeo: str | None
    password: str
    token: str


def official_municipalities() -> dict[str, BaseGeometry]:
    """The INEGI polygons of the zone's 26 municipalities, by key, from ``data/``."""
    collection = json.loads(MUNICIPALITIES.read_text(encoding="utf-8"))
    return {f["properties"]["cvegeo"]: shape(f["geometry"]) for f in collection["features"]}


def _project(geom: BaseGeometry, transformer: Transformer) -> BaseGeometry:
    def move(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))

    return shapely.transform(geom, move)


def disputed_zone(munis: dict[str, BaseGeometry]) -> BaseGeometry:
    """The illustrative ~40 ha patch centred on the middle of the parties' shared limit."""
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
    """Each party's illustrative claim: its official polygon plus the patch's part in the
    neighbour's."""
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
    """Load the demo, yielding one progress line per step (users are not made here:
    see :func:`demo_users`).

    Args:
        engine: a migrated PostGIS or SpatiaLite engine.
        actor: who is loading it, for import runs and the audit trail.
    """
    yield import_municipalities(engine, MUNICIPALITIES, actor=actor).line()
    yield import_localities(engine, LOCALITIES, actor=actor).line()
    yield import_metro_zones(engine, METRO_2020, actor=actor).line()
    with tempfile.TemporaryDirectory(prefix="linde_demo_") as tmp:
        path = _oaxacan_atoyac(Path(tmp))
        yield import_rivers(engine, path, actor=actor, source=RIVER_SOURCE).line()
    yield _timed("CONAGUA sites", lambda: _load_conagua_sites(engine, actor))
    munis = official_municipalities()
    yield _timed("illustrative claims", lambda: _load_claims(engine, munis, actor))
    run = run_detection(engine, actor=actor, zone=ZONE_CODE)
    zone_id = _name_the_dispute(engine, actor)
    yield (
        f"detection over {ZONE_CODE}: {run['zones_created']} zone(s) created, "
        f"{run['zones_unchanged']} unchanged; disputed zone {zone_id}: {DISPUTE_NAME}"
    )


def demo_users(engine: Engine, *, actor: str) -> list[DemoUser]:
    """One user per kind of person, each with a fresh random password to sign in with and
    a fresh token for scripts (a user already there keeps its name and row, and gets a new
    password and token, so the demo always prints a way in that works)."""
    made = []
    for name, role, cvegeo in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        try:
            _user, token = add_user(
                engine, name, role, actor=actor, password=password, cvegeo=cvegeo
            )
        except Conflict:
            set_password(engine, name, password, actor=actor)
            token = new_token(engine, name, actor=actor)
        made.append(DemoUser(name, role, cvegeo, password, token))
    return made


def dispute_zone_id(engine: Engine) -> int | None:
    """The id of the open zone whose parties are exactly the two demo parties."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(disputed_zone_parties.c.zone_id, disputed_zone_parties.c.cvegeo)
            .join(disputed_zones, disputed_zones.c.id == disputed_zone_parties.c.zone_id)
            .where(disputed_zones.c.kind == "overlap")
            .where(disputed_zones.c.status.not_in(["resolved", "dismissed"]))
        ).all()
    parties: dict[int, set[str]] = {}
    for zone_id, cvegeo in rows:
        parties.setdefault(int(zone_id), set()).add(cvegeo)
    found = [z for z, p in sorted(parties.items()) if p == set(DISPUTE_PARTIES)]
    return found[0] if found else None


def _name_the_dispute(engine: Engine, actor: str) -> int | None:
    zone_id = dispute_zone_id(engine)
    if zone_id is None:
        return None
    with engine.connect() as conn:
        zone = get_zone(conn, zone_id, detail=False)
    if zone["name"] != DISPUTE_NAME:
        edit_zone(
            engine,
            zone_id,
            actor=actor,
            expected_version=int(zone["version"]),
            name=DISPUTE_NAME,
            notes=f"{ILLUSTRATIVE}: los dos reclamos son de ejemplo; los límites oficiales, "
            "las localidades y su población son del INEGI.",
        )
    return zone_id


def _oaxacan_atoyac(folder: Path) -> Path:
    """The one Natural Earth line that is Oaxaca's Río Atoyac (the file also holds the
    Puebla Atoyac and the Tehuacán Salado; NE has no line for the Valles Centrales Salado)."""
    collection = json.loads(RIVERS.read_text(encoding="utf-8"))
    collection["features"] = [
        f
        for f in collection["features"]
        if f["properties"]["name"] == "Atoyac"
        and f["properties"]["ne_layer"] == "rivers_lake_centerlines"
    ]
    path = folder / "rio_atoyac_oaxaca_ne_10m.geojson"
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
            if any(ILLUSTRATIVE in (c["notes"] or "") for c in list_claims(conn, cvegeo=key)):
                continue
        source, label, valid_from = kinds[key]
        add_claim(
            engine,
            cvegeo=key,
            geom=geom,
            source=source,
            valid_from=valid_from,
            recorded_by=actor,
            source_reference=f"Ilustrativo: {label} de ejemplo, no existe ({ILLUSTRATIVE})",
            notes=f"{ILLUSTRATIVE}. Reclamo de ejemplo sobre la zona de Los Sauces, Ejidal y "
            "Emiliano Zapata, en el límite oficial (INEGI) Oaxaca de Juárez / San Jacinto Amilpas.",
        )
        created += 1
    return created, len(claimed) - created


def _load_conagua_sites(engine: Engine, actor: str) -> tuple[int, int]:
    """CONAGUA's 28 sites as inspection points: severity from the site's semáforo."""
    sites = json.loads(CONAGUA_SITES.read_text(encoding="utf-8"))["features"]
    subs = []
    for site in sites:
        props = site["properties"]
        lon, lat = site["geometry"]["coordinates"][:2]
        subs.append(
            Submission(
                id=str(uuid.uuid5(_ID_NAMESPACE, f"conagua/{props['CLAVE']}")),
                lon=float(lon),
                lat=float(lat),
                observed_at=datetime(2019, 12, 31, tzinfo=UTC),
                category="water_contamination",
                severity=SEVERITY.get(str(props["SEMAFORO"]), 3),
                description=f"Sitio de monitoreo {props['CLAVE']} ({props['SITIO']}, "
                f"{props['CUERPO DE AGUA']}): semáforo de calidad del agua "
                f"{props['SEMAFORO']} en 2019.",
                gps_accuracy_m=None,
                inspector="CONAGUA",
            )
        )
    with write_connection(engine) as conn:
        result = inspection_store.save(conn, subs, recorded_by=actor, source=CONAGUA_SOURCE)
        audit.record_many(
            conn,
            actor,
            [
                ("inspection.created", "inspection", sub.id, {"source": CONAGUA_SOURCE})
                for sub in subs
                if sub.id in result.created
            ],
        )
    return len(subs) - len(result.unchanged), len(result.unchanged)
