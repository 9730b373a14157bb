"""Inspections: exactly-once saving and reading one with its photos and history.

Exactly once: every inspection has an id chosen by the client (its UUID, or one
derived from an ``Idempotency-Key``, or from an import row). Saving inserts the ids
not taken (``ON CONFLICT DO NOTHING``, safe against concurrent retries) and
compares the others' content fingerprint: the same content is the same inspection
(nothing new is written), different content under a taken id is a conflict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, func, insert, select

from geo.errors import Conflict, InvalidInput, NotFound, Problem
from geo.inspections import Submission, check_fields
from layers import audit
from layers.bulk import insert_new_batches
from layers.dialects import one_of, one_of_chunk
from layers.engine import write_connection
from layers.geometry_io import points_to_db
from layers.inspections import photos as photo_store
from layers.inspections.annotate import Reference
from layers.inspections.reference_layers import cached_rivers
from layers.inspections.rows import (
    InspectionEvent,
    InspectionFeature,
    InspectionPhoto,
    InspectionRecord,
    PointGeometry,
)
from layers.schema import (
    inspection_categories,
    inspection_events,
    inspection_photos,
    inspections,
)

#: Rows in the first batch written (later ones are ``batch_size``).
_FIRST_BATCH = 1000


@dataclass
class SaveResult:
    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    #: (index in the input, id) of submissions whose id holds different content
    conflicts: list[tuple[int, str]] = field(default_factory=list)


def categories(conn: Connection) -> dict[str, str]:
    """Category code -> Spanish label."""
    rows = conn.execute(
        select(inspection_categories.c.code, inspection_categories.c.label).order_by(
            inspection_categories.c.code
        )
    )
    return {code: label for code, label in rows}


def add_category(engine: Engine, code: str, label: str, *, actor: str) -> dict[str, str]:
    """Add a category (admin). Raises Conflict when the code exists."""
    with write_connection(engine) as conn:
        if code in categories(conn):
            raise Conflict(f"category {code} exists", problems=[Problem("code", "exists")])
        conn.execute(
            insert(inspection_categories).values(
                code=code, label=label, created_by=actor, created_at=audit.now()
            )
        )
        audit.record(conn, actor, "inspection_category.created", "inspection_category", code)
    return {"code": code, "label": label}


def existing_fingerprints(conn: Connection, ids: Sequence[str]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    unique = list(dict.fromkeys(ids))  # in first-seen order: sorting 100,000 ids costs more
    chunk = one_of_chunk(conn.dialect)
    for start in range(0, len(unique), chunk):
        for key, sha in conn.execute(
            select(inspections.c.id, inspections.c.content_sha256).where(
                one_of(conn.dialect, inspections.c.id, unique[start : start + chunk])
            )
        ):
            found[key] = sha
    return found


def save(
    conn: Connection,
    subs: Sequence[Submission],
    *,
    recorded_by: str,
    source: str,
    import_run_id: int | None = None,
    photos: Sequence[Sequence[photo_store.Photo]] | None = None,
    batch_size: int = 20_000,
    progress: Callable[[int], None] | None = None,
) -> SaveResult:
    """Insert the submissions not stored yet, annotated, inside the caller's transaction.

    Submissions must be checked already (``geo.inspections.check_fields``). Nothing is
    audited here; callers record one entry per request or import. The reference
    layers are read once; rows are annotated and written ``batch_size`` at a time,
    and ``progress(n)`` is called as each batch reaches the database.
    """
    result = SaveResult()
    if not subs:
        return result
    # fingerprints are computed where needed: here for ids already taken, and for new
    # rows in the batch producer (a worker thread on PostgreSQL, beside the COPY)
    shas: dict[int, str] = {}

    def sha(n: int) -> str:
        if n not in shas:
            shas[n] = subs[n].content_sha256()
        return shas[n]

    ids = [s.id for s in subs]
    known = existing_fingerprints(conn, ids)
    fresh: list[int] = []
    seen: dict[str, int] = {}
    if not known and len(set(ids)) == len(ids):  # the usual import: all new, no repeats
        fresh = list(range(len(subs)))
    else:
        for n, sub in enumerate(subs):
            if sub.id in known:
                if known[sub.id] == sha(n):
                    result.unchanged.append(sub.id)
                else:
                    result.conflicts.append((n, sub.id))
            elif sub.id in seen:  # the same id twice in one batch
                if sha(seen[sub.id]) == sha(n):
                    result.unchanged.append(sub.id)
                else:
                    result.conflicts.append((n, sub.id))
            else:
                seen[sub.id] = n
                fresh.append(n)
    if not fresh:
        return result
    # written in id order: the database then adds to the primary key's rightmost page
    # instead of all over it (for 100,000 random UUIDs, a seventh of the COPY's work)
    order = sorted(fresh, key=ids.__getitem__)
    positions = np.asarray(order, dtype=np.intp)  # read in memory order, then permuted
    lon_all = np.fromiter((s.lon for s in subs), float, len(subs))[positions]
    lat_all = np.fromiter((s.lat for s in subs), float, len(subs))[positions]
    # saving inspections never writes rivers, so the process's copy of them is safe here
    reference = Reference.load(conn, lon_all, lat_all, river_set=cached_rivers(conn))
    now = audit.now()

    def batches() -> Iterator[dict[str, list[Any]]]:
        # runs in a worker thread on PostgreSQL: no use of ``conn`` in here
        # a small first batch: the database starts on it while the next ones are made
        first = min(batch_size, _FIRST_BATCH)
        starts = [0, *range(first, len(order), batch_size)]
        for start, end in zip(starts, [*starts[1:], len(order)], strict=True):
            chosen = order[start:end]
            lon, lat = lon_all[start:end], lat_all[start:end]
            # each submission visited once: in id order they lie all over memory
            rows = [
                (
                    s.id,
                    s.observed_at,
                    s.category,
                    s.severity,
                    s.description,
                    s.gps_accuracy_m,
                    s.inspector,
                    shas.get(n) or s.content_sha256(),
                    s.observed_offset_min,
                )
                for n, s in zip(chosen, map(subs.__getitem__, chosen), strict=True)
            ]
            (
                ids_,
                observed,
                categories_,
                severities,
                descriptions,
                accuracies,
                inspectors,
                fps,
                offsets,
            ) = map(list, zip(*rows, strict=True))
            count = len(chosen)
            yield {
                "id": ids_,
                "observed_at": observed,
                "observed_offset_min": offsets,
                "category": categories_,
                "severity": severities,
                "description": descriptions,
                "gps_accuracy_m": accuracies,
                "inspector": inspectors,
                "source": [source] * count,
                "created_at": [now] * count,
                "geom": points_to_db(lon, lat),
                "recorded_by": [recorded_by] * count,
                "content_sha256": fps,
                "import_run_id": [import_run_id] * count,
                "review_status": ["pending"] * count,
                "follow_up_status": ["open"] * count,
                **reference.annotate(lon, lat, observed),
            }

    inserted = insert_new_batches(conn, inspections, batches(), total=len(fresh), done=progress)
    # the ids in ``fresh`` are distinct and ``inserted`` is among them: as many means all
    everything = len(inserted) == len(fresh)
    raced = [] if everything else [n for n in fresh if ids[n] not in inserted]
    if raced:  # a concurrent transaction stored these ids first: compare with what it stored
        now_known = existing_fingerprints(conn, [subs[n].id for n in raced])
        for n in raced:
            if now_known.get(subs[n].id) == sha(n):
                result.unchanged.append(subs[n].id)
            else:
                result.conflicts.append((n, subs[n].id))
    result.created.extend(ids[n] for n in fresh if everything or ids[n] in inserted)
    if photos is not None:
        photo_rows = [
            {
                "inspection_id": subs[n].id,
                "sha256": p.sha256,
                "media_type": p.media_type,
                "size_bytes": p.size_bytes,
                "file_name": p.file_name,
                "created_at": now,
            }
            for n in fresh
            if subs[n].id in inserted
            for p in {q.sha256: q for q in photos[n]}.values()
        ]
        if photo_rows:
            conn.execute(insert(inspection_photos), photo_rows)
    return result


def create(
    engine: Engine,
    sub: Submission,
    *,
    recorded_by: str,
    photos: Sequence[photo_store.Photo] = (),
    photos_dir: Path,
) -> tuple[InspectionFeature, bool]:
    """Store one submitted inspection exactly once; return (the stored record, created?).

    Raises:
        InvalidInput: a field is wrong (each problem names its field).
        Conflict: the id is taken by an inspection with different content.
    """
    for photo in photos:  # content-addressed: a rolled-back request leaves a reusable file
        photo_store.store(photos_dir, photo)
    with write_connection(engine) as conn:
        problems = check_fields(
            lon=sub.lon,
            lat=sub.lat,
            observed_at=sub.observed_at,
            category=sub.category,
            severity=sub.severity,
            gps_accuracy_m=sub.gps_accuracy_m,
            categories=set(categories(conn)),
            now=audit.now(),
        )
        if problems:
            raise InvalidInput("; ".join(map(str, problems)), problems=problems)
        result = save(conn, [sub], recorded_by=recorded_by, source="api", photos=[photos])
        if result.conflicts:
            raise Conflict(
                f"inspection {sub.id} exists with different content; a retry must send the "
                "same submission (or use a new id)",
                problems=[Problem("id", "taken by an inspection with different content")],
            )
        created = bool(result.created)
        if created:
            audit.record(
                conn,
                recorded_by,
                "inspection.created",
                "inspection",
                sub.id,
                {"category": sub.category, "severity": sub.severity, "photos": len(photos)},
            )
        return get(conn, sub.id), created


def get(conn: Connection, inspection_id: str) -> InspectionFeature:
    """One inspection as a GeoJSON Feature with its annotations, photos and history."""
    i = inspections.c
    row = conn.execute(
        select(
            *(c for c in inspections.c if c.name not in ("geom", "content_sha256")),
            func.ST_X(i.geom).label("lon"),
            func.ST_Y(i.geom).label("lat"),
        ).where(i.id == inspection_id)
    ).first()
    if row is None:
        raise NotFound(f"no inspection {inspection_id}", problems=[Problem("id", "unknown")])
    photos = [
        InspectionPhoto(
            sha256=p.sha256, media_type=p.media_type, size_bytes=p.size_bytes, file_name=p.file_name
        )
        for p in conn.execute(
            select(
                inspection_photos.c.sha256,
                inspection_photos.c.media_type,
                inspection_photos.c.size_bytes,
                inspection_photos.c.file_name,
            )
            .where(inspection_photos.c.inspection_id == inspection_id)
            .order_by(inspection_photos.c.sha256)
        )
    ]
    props = InspectionRecord(
        observed_at=row.observed_at,
        category=row.category,
        severity=row.severity,
        description=row.description,
        gps_accuracy_m=row.gps_accuracy_m,
        inspector=row.inspector,
        source=row.source,
        created_at=row.created_at,
        recorded_by=row.recorded_by,
        import_run_id=row.import_run_id,
        review_status=row.review_status,
        follow_up_status=row.follow_up_status,
        referred_to=row.referred_to,
        municipality_cvegeo=row.municipality_cvegeo,
        municipality_name=row.municipality_name,
        claim_cvegeos=row.claim_cvegeos.split(",") if row.claim_cvegeos else [],
        metro_zone_codes=row.metro_zone_codes.split(",") if row.metro_zone_codes else [],
        disputed_zone_id=row.disputed_zone_id,
        dispute=row.dispute,
        river_id=row.river_id,
        river_name=row.river_name,
        river_distance_m=row.river_distance_m,
        chainage_m=row.chainage_m,
        bank_side=row.bank_side,
        in_federal_zone=row.in_federal_zone,
        annotated_at=row.annotated_at,
        observed_offset_min=row.observed_offset_min,
        version=row.version,
        photos=photos,
        history=history(conn, inspection_id),
    )
    return InspectionFeature(
        type="Feature",
        id=row.id,
        geometry=PointGeometry(type="Point", coordinates=[row.lon, row.lat]),
        properties=props,
    )


def history(conn: Connection, inspection_id: str) -> list[InspectionEvent]:
    e = inspection_events.c
    return [
        InspectionEvent(
            kind=r.kind,
            from_status=r.from_status,
            to_status=r.to_status,
            referred_to=r.referred_to,
            note=r.note,
            actor=r.actor,
            at=r.at,
        )
        for r in conn.execute(
            select(e.kind, e.from_status, e.to_status, e.referred_to, e.note, e.actor, e.at)
            .where(e.inspection_id == inspection_id)
            .order_by(e.id)
        )
    ]


def photo_of(conn: Connection, inspection_id: str, sha256: str) -> tuple[str, str | None]:
    """(media type, file name) of a photo of an inspection. Raises NotFound."""
    row = conn.execute(
        select(inspection_photos.c.media_type, inspection_photos.c.file_name).where(
            inspection_photos.c.inspection_id == inspection_id,
            inspection_photos.c.sha256 == sha256,
        )
    ).first()
    if row is None:
        raise NotFound(f"inspection {inspection_id} has no photo {sha256}")
    return row[0], row[1]


def photo_hashes(conn: Connection, inspection_ids: Sequence[str]) -> dict[str, list[str]]:
    """The SHA-256 of each photo of the given inspections (by id; sorted), for the
    links an export carries. Inspections without photos are left out."""
    out: dict[str, list[str]] = {}
    if not inspection_ids:
        return out
    rows = conn.execute(
        select(inspection_photos.c.inspection_id, inspection_photos.c.sha256)
        .where(one_of(conn.dialect, inspection_photos.c.inspection_id, list(inspection_ids)))
        .order_by(inspection_photos.c.inspection_id, inspection_photos.c.sha256)
    )
    for inspection_id, sha256 in rows:
        out.setdefault(inspection_id, []).append(sha256)
    return out
