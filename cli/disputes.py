"""``linde disputes …`` and ``linde claims …``: the commission's work on the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import actor, err, fail, out, ready_engine
from geo.errors import LindeError

if TYPE_CHECKING:  # imported lazily below, as every command does
    from services.detection import DetectionResult

disputes_app = typer.Typer(
    help="Disputed zones: detection, case files, decisions.", no_args_is_help=True
)
claims_app = typer.Typer(help="Claimed boundaries, as versions.", no_args_is_help=True)

AsOf = Annotated[
    datetime | None,
    typer.Option(help="Compare the claims in force at this moment (default now, UTC)."),
]


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _names(keys: set[str]) -> dict[str, str]:
    from layers.disputes.detection import municipality_names

    with ready_engine().connect() as conn:
        return municipality_names(conn, sorted(keys))


def report(run: DetectionResult, names: dict[str, str], limit: int = 40) -> list[str]:
    """The readable report of a detection run (what ``linde disputes detect`` prints)."""
    lines = [
        f"{run['scope_label']}: run {run['id']}, claims in force at "
        f"{run['as_of']:%Y-%m-%d %H:%M} UTC",
        f"  {run['municipalities']} municipalities compared "
        f"({run['official_fallbacks']} without a claim, taken at their official line); "
        f"{run['slivers_ignored']} slivers under {run['min_area_m2']:g} m² ignored",
        f"  {run['overlaps']} overlaps, {run['gaps']} gaps: {run['zones_created']} new, "
        f"{run['zones_changed']} changed, {run['zones_unchanged']} unchanged, "
        f"{run['zones_vanished']} gone (closed) in {run['seconds']:.1f} s",
    ]
    zones = sorted(run["zones"], key=lambda z: -z["area_m2"])
    if zones:
        lines.append(f"  {'zone':>5}  {'kind':<8} {'area ha':>9} {'line m':>8}  parties")
    for z in zones[:limit]:
        parties = " / ".join(f"{k} {names.get(k, '?')}" for k in z["parties"])
        lines.append(
            f"  {z['id']:>5}  {z['kind']:<8} {z['area_ha']:>9,.2f} "
            f"{z['contested_length_m']:>8,.0f}  {parties}"
        )
    if len(zones) > limit:
        lines.append(f"  … and {len(zones) - limit} smaller zones (linde disputes list)")
    return lines


@disputes_app.command("detect")
def detect_cmd(
    zone: Annotated[str | None, typer.Option(help="Metro zone code, e.g. 20.1.01.")] = None,
    state: Annotated[str | None, typer.Option(help="State code, e.g. 20.")] = None,
    cvegeo: Annotated[
        list[str] | None, typer.Option(help="Municipality keys (repeat the option).")
    ] = None,
    as_of: AsOf = None,
    min_area_m2: Annotated[
        float, typer.Option(help="Pieces smaller than this are slivers, ignored.")
    ] = 100.0,
) -> None:
    """Find overlaps and gaps between the claims in force and update the disputed zones."""
    from services.detection import run_detection

    engine = ready_engine()
    try:
        run = run_detection(
            engine,
            actor=actor(),
            zone=zone,
            state=state,
            cvegeos=cvegeo,
            as_of=_aware(as_of),
            min_area_m2=min_area_m2,
        )
    except LindeError as exc:
        fail(exc)
    names = _names({k for z in run["zones"] for k in z["parties"]})
    for line in report(run, names):
        out.print(line, highlight=False)


@disputes_app.command("list")
def list_cmd(
    status: Annotated[str | None, typer.Option(help="Only zones in this status.")] = None,
    kind: Annotated[str | None, typer.Option(help="overlap, gap or manual.")] = None,
    cvegeo: Annotated[str | None, typer.Option(help="Only zones with this party.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
) -> None:
    """Disputed zones, largest first."""
    from layers.disputes.zones import list_zones

    with ready_engine().connect() as conn:
        rows = list_zones(conn, status=status, kind=kind, cvegeo=cvegeo, limit=limit)
    out.print(
        f"{'zone':>5}  {'kind':<8} {'status':<13} {'area ha':>9}  parties  name", highlight=False
    )
    for z in rows:
        out.print(
            f"{z['id']:>5}  {z['kind']:<8} {z['status']:<13} {z['area_ha']:>9,.2f}  "
            f"{','.join(z['parties'])}  {z['name'] or ''}",
            highlight=False,
        )


@disputes_app.command("show")
def show_cmd(zone_id: Annotated[int, typer.Argument(help="Zone id.")]) -> None:
    """One zone as the commission reads it: parties, measures, localities, case file."""
    from api.concurrency import zone_etag
    from layers.disputes.zones import get_zone, list_events

    with ready_engine().connect() as conn:
        try:
            zone = get_zone(conn, zone_id)
            events = list_events(conn, zone_id)
        except LindeError as exc:
            fail(exc)
    out.print(
        f"zone {zone['id']} ({zone['kind']}, {zone['status']}) {zone['name'] or ''} "
        f"ETag {zone_etag(zone['id'], zone['version'])}",
        highlight=False,
    )
    for p in zone["parties"]:
        out.print(f"  party {p['cvegeo']} {p['name']} (claim {p['claim_id']})", highlight=False)
    out.print(
        f"  area {zone['area_m2']:,.0f} m² = {zone['area_ha']:,.2f} ha; perimeter "
        f"{zone['perimeter_m']:,.0f} m; official line through it "
        f"{zone['official_line']['length_m']:,.0f} m",
        highlight=False,
    )
    for loc in zone["localities"]:
        out.print(
            f"  locality {loc['cvegeo']} {loc['name']}: {loc['area_inside_m2']:,.0f} m² inside "
            f"({loc['share_inside']:.1%} of it)",
            highlight=False,
        )
    out.print(f"  inspection points inside: {len(zone['inspections'])}", highlight=False)
    for e in events:
        out.print(
            f"  {e['occurred_at']:%Y-%m-%d} {e['kind']:<10} {e['recorded_by']}: "
            f"{e['summary'] or ''}",
            highlight=False,
        )


@disputes_app.command("status")
def status_cmd(
    zone_id: Annotated[int, typer.Argument(help="Zone id.")],
    status: Annotated[str, typer.Argument(help="The status to move to.")],
    note: Annotated[str | None, typer.Option(help="Why.")] = None,
    admin: Annotated[bool, typer.Option(help="Act as admin (re-open a dismissed case).")] = False,
) -> None:
    """Move a zone to another status (the rules say which moves are allowed)."""
    from api.concurrency import zone_etag
    from layers.disputes.zone_edits import move_status
    from layers.disputes.zones import get_zone

    engine = ready_engine()
    try:
        with engine.connect() as conn:
            version = get_zone(conn, zone_id, detail=False)["version"]
        zone = move_status(
            engine, zone_id, status, actor=actor(), admin=admin, expected_version=version, note=note
        )
    except LindeError as exc:
        fail(exc)
    tag = zone_etag(zone_id, zone["version"])
    out.print(f"zone {zone_id} is now {zone['status']} (ETag {tag})", highlight=False)


@disputes_app.command("decide")
def decide_cmd(
    zone_id: Annotated[int, typer.Argument(help="Zone id.")],
    split_along_official_line: Annotated[
        bool, typer.Option(help="Each party gets the part inside its official polygon.")
    ] = True,
    valid_from: Annotated[
        datetime | None, typer.Option(help="When the new claims start (default now, UTC).")
    ] = None,
    reference: Annotated[str | None, typer.Option(help="The decision's document.")] = None,
) -> None:
    """Apply a decision dividing a zone: new claims of the parties, zone resolved."""
    from layers.disputes.decisions import apply_decision
    from layers.disputes.zones import get_zone

    engine = ready_engine()
    try:
        with engine.connect() as conn:
            version = get_zone(conn, zone_id, detail=False)["version"]
        zone = apply_decision(
            engine,
            zone_id,
            actor=actor(),
            expected_version=version,
            valid_from=_aware(valid_from) or datetime.now(UTC),
            split_along_official_line=split_along_official_line,
            source_reference=reference,
        )
    except LindeError as exc:
        fail(exc)
    claims = ", ".join(f"{k}: claim {v}" for k, v in zone["new_claims"].items())
    out.print(f"zone {zone_id} resolved; new claims {claims or 'none'}", highlight=False)


@claims_app.command("official")
def claims_official_cmd(
    zone: Annotated[str | None, typer.Option(help="Metro zone code, e.g. 20.1.01.")] = None,
    state: Annotated[str | None, typer.Option(help="State code, e.g. 20.")] = None,
    cvegeo: Annotated[list[str] | None, typer.Option(help="Municipality keys.")] = None,
    valid_from: Annotated[
        datetime | None, typer.Option(help="Start of validity (default now, UTC).")
    ] = None,
) -> None:
    """Record each municipality's official INEGI line as its claim (skips those already so)."""
    from layers.disputes.scopes import official_claims_in_scope

    engine = ready_engine()
    try:
        done = official_claims_in_scope(
            engine,
            zone=zone,
            state=state,
            cvegeos=cvegeo,
            valid_from=_aware(valid_from) or datetime.now(UTC),
            recorded_by=actor(),
        )
    except LindeError as exc:
        fail(exc)
    out.print(
        f"{done['scope_label']}: {len(done['created'])} official claims recorded, "
        f"{len(done['unchanged'])} already so",
        highlight=False,
    )


@claims_app.command("add")
def claims_add_cmd(
    cvegeo: Annotated[str, typer.Argument(help="Municipality key.")],
    file: Annotated[Path, typer.Argument(help="Polygon file; all features are united.")],
    source: Annotated[str, typer.Option(help="inegi, decree, agreement, cadastre, survey.")],
    valid_from: Annotated[
        datetime | None, typer.Option(help="Start of validity (default now, UTC).")
    ] = None,
    reference: Annotated[str | None, typer.Option(help="The source document.")] = None,
) -> None:
    """Record a new claimed boundary of a municipality from a polygon file."""
    import shapely

    from geo.validation import POLYGONAL, check_geometries
    from layers.claims import add_claim
    from layers.importers.files import read_geodata

    engine = ready_engine()
    try:
        gdf = read_geodata(file)
        problems = check_geometries(gdf.geometry.to_numpy(), allowed_types=POLYGONAL)
        if problems:
            err.print(problems.summary(), markup=False, highlight=False)
            raise typer.Exit(code=2)
        claim = add_claim(
            engine,
            cvegeo=cvegeo,
            geom=shapely.union_all(gdf.geometry.to_numpy()),
            source=source,
            valid_from=_aware(valid_from) or datetime.now(UTC),
            recorded_by=actor(),
            source_reference=reference,
        )
    except LindeError as exc:
        fail(exc)
    out.print(
        f"claim {claim['id']}: {claim['cvegeo']} {claim['municipality']} version "
        f"{claim['version']} ({claim['source']}) from {claim['valid_from']:%Y-%m-%d}",
        highlight=False,
    )


@claims_app.command("withdraw")
def claims_withdraw_cmd(
    cvegeo: Annotated[str, typer.Argument(help="Municipality key.")],
    reason: Annotated[
        str, typer.Option(help="Why it is withdrawn (a convenio, a claim filed by mistake).")
    ],
    claim: Annotated[
        int | None, typer.Option(help="The claim you mean; refused if another is in force.")
    ] = None,
) -> None:
    """Withdraw a municipality's claim in force: it is closed now, nothing is deleted."""
    from services.claim_withdrawal import withdraw

    try:
        done = withdraw(ready_engine(), cvegeo=cvegeo, reason=reason, actor=actor(), claim_id=claim)
    except LindeError as exc:
        fail(exc)
    out.print(
        f"claim {done['id']}: {done['cvegeo']} {done['municipality']} version {done['version']} "
        f"withdrawn at {done['valid_to']:%Y-%m-%d %H:%M} UTC; {done['cvegeo']} now stands at its "
        "official line until it files a new claim",
        highlight=False,
    )


@claims_app.command("diff")
def claims_diff_cmd(
    claim_id: Annotated[int, typer.Argument(help="The newer claim.")],
    against: Annotated[str, typer.Option(help="previous, official or a claim id.")] = "previous",
    geojson: Annotated[bool, typer.Option(help="Print the land gained and lost too.")] = False,
) -> None:
    """Land a claim gains and loses against another version or the official line."""
    from layers.claims import diff

    with ready_engine().connect() as conn:
        try:
            d = diff(conn, claim_id, against)
        except LindeError as exc:
            fail(exc)
    out.print(
        f"claim {claim_id} ({d['cvegeo']}) against {d['against']}: gains {d['gained_m2']:,.0f} m² "
        f"({d['gained_ha']:,.2f} ha), loses {d['lost_m2']:,.0f} m² ({d['lost_ha']:,.2f} ha)",
        highlight=False,
    )
    if geojson:
        print(json.dumps({"gained": d["gained"], "lost": d["lost"]}))


@claims_app.command("history")
def claims_history_cmd(cvegeo: Annotated[str, typer.Argument(help="Municipality key.")]) -> None:
    """Every claim version of a municipality, newest first."""
    from layers.claims import list_claims

    with ready_engine().connect() as conn:
        rows = list_claims(conn, cvegeo=cvegeo, limit=1000)
    for c in rows:
        until = f"{c['valid_to']:%Y-%m-%d}" if c["valid_to"] else "in force"
        if c is rows[0] and c["valid_to"]:  # the newest closed: nothing replaced it
            until += " (withdrawn)"
        out.print(
            f"v{c['version']} claim {c['id']} {c['source']:<9} {c['valid_from']:%Y-%m-%d} → {until}"
            f"  {c['source_reference'] or ''}",
            highlight=False,
        )
