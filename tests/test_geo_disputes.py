"""Pure overlap and gap detection, zone matching, partitions and status rules (no database)."""

from __future__ import annotations

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, box

from geo.detection_plan import FoundZone, OpenZone, created_summary, describe, plan
from geo.disputes import (
    MOVES,
    Zone,
    ZoneKind,
    ZoneStatus,
    check_move,
    detect,
    match_zones,
)
from geo.errors import Conflict, InvalidInput
from geo.measures import measure, outlines, zone_measures
from geo.zone_decisions import apply_parts, check_partition, diff_claims, split_by_official

# a row of three 1 km municipalities (metres), touching along x = 1000 and x = 2000
A, B, C = box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000), box(2000, 0, 3000, 1000)
OFFICIAL = [A, B, C]
KEYS = ["20001", "20002", "20003"]


def total(zones: list, parties: tuple[str, ...] | None = None) -> float:
    return sum(z.geom.area for z in zones if parties is None or z.parties == parties)


def test_official_lines_that_only_touch_give_no_zone() -> None:
    found = detect(KEYS, OFFICIAL, OFFICIAL)
    assert found.zones == []
    assert found.slivers_ignored == 0


def test_a_claim_reaching_into_a_neighbour_is_an_overlap_with_both_parties() -> None:
    claims = [box(0, 0, 1200, 1000), B, C]
    found = detect(KEYS, claims, OFFICIAL)
    assert [(z.kind, z.parties) for z in found.zones] == [(ZoneKind.overlap, ("20001", "20002"))]
    assert found.zones[0].geom.area == pytest.approx(200_000)


def test_a_claim_pulled_back_leaves_a_gap_next_to_both() -> None:
    claims = [box(0, 0, 900, 1000), B, C]
    found = detect(KEYS, claims, OFFICIAL)
    assert [(z.kind, z.parties) for z in found.zones] == [(ZoneKind.gap, ("20001", "20002"))]
    assert found.zones[0].geom.area == pytest.approx(100_000)


def test_a_retreat_covered_by_the_neighbour_is_no_gap() -> None:
    claims = [box(0, 0, 900, 1000), box(900, 0, 2000, 1000), C]
    found = detect(KEYS, claims, OFFICIAL)
    assert found.zones == []


def test_land_claimed_by_three_is_one_piece_with_three_parties() -> None:
    claims = [box(0, 0, 1600, 1000), box(1000, 0, 2000, 1000), box(1400, 0, 3000, 1000)]
    found = detect(KEYS, claims, OFFICIAL)
    by_parties = {z.parties: z.geom.area for z in found.overlaps}
    assert by_parties == pytest.approx(
        {
            ("20001", "20002"): 400_000,  # 1000..1400
            ("20001", "20002", "20003"): 200_000,  # 1400..1600
            ("20002", "20003"): 400_000,  # 1600..2000
        }
    )


def test_slivers_below_the_threshold_are_counted_not_kept() -> None:
    claims = [box(0, 0, 1000.05, 1000), B, C]  # a 50 m² strip
    found = detect(KEYS, claims, OFFICIAL, min_area_m2=100)
    assert found.zones == [] and found.slivers_ignored == 1
    assert len(detect(KEYS, claims, OFFICIAL, min_area_m2=10).zones) == 1


def test_disjoint_overlaps_of_one_pair_are_separate_zones() -> None:
    claims = [
        shapely.union_all([A, box(1000, 0, 1100, 100), box(1000, 800, 1100, 900)]),
        B,
        C,
    ]
    found = detect(KEYS, claims, OFFICIAL)
    assert len(found.overlaps) == 2
    assert {z.parties for z in found.overlaps} == {("20001", "20002")}


def test_detection_needs_distinct_keys() -> None:
    with pytest.raises(InvalidInput):
        detect(["20001", "20001"], [A, B])


offsets = st.floats(min_value=-400, max_value=400, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(offsets, offsets)
def test_overlap_and_gap_areas_match_shapely_directly(da: float, db: float) -> None:
    claims = [box(0, 0, 1000 + da, 1000), box(1000 + db, 0, 2000, 1000), C]
    found = detect(KEYS, claims, OFFICIAL, min_area_m2=0)
    direct_overlap = shapely.intersection(claims[0], claims[1]).area
    direct_gap = shapely.difference(shapely.union_all(OFFICIAL), shapely.union_all(claims)).area
    assert total(found.overlaps) == pytest.approx(direct_overlap, abs=1e-6)
    assert total(found.gaps) == pytest.approx(direct_gap, abs=1e-6)
    assert found == detect(KEYS, claims, OFFICIAL, min_area_m2=0)  # deterministic


@settings(max_examples=40, deadline=None)
@given(st.floats(min_value=-300, max_value=300), st.floats(min_value=0.1, max_value=0.9))
def test_splitting_along_the_official_line_partitions_the_zone(shift: float, y: float) -> None:
    zone = box(800, 0, 1200 + shift, 1000 * y)
    parts = split_by_official(zone, {"20001": A, "20002": B})
    partition = check_partition(zone, parts)
    assert partition.missing_m2 == pytest.approx(0, abs=1e-6)
    assert partition.doubled_m2 == pytest.approx(0, abs=1e-6)


def test_a_partition_that_misses_or_doubles_land_names_the_area() -> None:
    zone = box(0, 0, 100, 100)
    with pytest.raises(InvalidInput, match=r"2,000\.0 m² of the zone unassigned"):
        check_partition(zone, {"a": box(0, 0, 80, 100)})
    with pytest.raises(InvalidInput, match=r"1,000\.0 m² assigned twice"):
        check_partition(zone, {"a": box(0, 0, 60, 100), "b": box(50, 0, 100, 100)})


def test_applying_parts_ends_the_overlap() -> None:
    claims = {"20001": box(0, 0, 1200, 1000), "20002": box(900, 0, 2000, 1000)}
    zone = box(900, 0, 1200, 1000)
    parts = split_by_official(zone, {"20001": A, "20002": B})
    new = apply_parts(claims, zone, parts)
    assert new["20001"].equals(A) and new["20002"].equals(B)
    assert shapely.intersection(new["20001"], new["20002"]).area == 0


def test_claim_diff_gives_gained_and_lost_land() -> None:
    gained, lost = diff_claims(A, box(100, 0, 1200, 1000))
    assert gained.area == pytest.approx(200_000) and lost.area == pytest.approx(100_000)


def test_zones_keep_their_identity_when_they_change() -> None:
    before = detect(KEYS, [box(0, 0, 1200, 1000), B, C], OFFICIAL).zones
    after = detect(KEYS, [box(0, 0, 1300, 1000), B, C], OFFICIAL).zones
    previous = [(7, z.kind.value, z.parties_key, z.geom) for z in before]
    match = match_zones(previous, after)
    assert match.previous == {0: 7} and match.vanished == []
    gone = match_zones(previous, detect(KEYS, OFFICIAL, OFFICIAL).zones)
    assert gone.vanished == [7]
    # same land, other parties: a different zone
    other = [(8, "overlap", "20002,20003", before[0].geom)]
    assert match_zones(other, after).previous == {}


def test_contested_length_is_the_length_of_the_disputed_strip() -> None:
    claims = {"20001": box(0, 0, 1100, 1000), "20002": box(900, 0, 2000, 1000)}
    zone = detect(["20001", "20002"], list(claims.values())).zones[0].geom
    m = zone_measures(zone, ["20001", "20002"], outlines(claims))
    assert m["area_m2"] == pytest.approx(200_000) and m["area_ha"] == pytest.approx(20)
    assert m["perimeter_m"] == pytest.approx(2400)
    assert m["contested_length_m"] == pytest.approx(1000, abs=0.1)


def test_status_rules() -> None:
    check_move(ZoneStatus.detected, ZoneStatus.open, admin=False)
    with pytest.raises(Conflict, match="allowed: agreement, open, dismissed"):
        check_move(ZoneStatus.under_review, ZoneStatus.resolved, admin=False)
    with pytest.raises(Conflict, match="closed"):
        check_move(ZoneStatus.resolved, ZoneStatus.open, admin=True)
    with pytest.raises(Conflict):
        check_move(ZoneStatus.dismissed, ZoneStatus.open, admin=False)
    check_move(ZoneStatus.dismissed, ZoneStatus.open, admin=True)
    assert set(MOVES) == set(ZoneStatus)


def test_detected_zones_are_measured_like_a_single_zone() -> None:
    claims = {"20001": box(0, 0, 1100, 1000), "20002": box(900, 0, 2000, 1000)}
    found = detect(["20001", "20002"], list(claims.values()), [A, B]).zones
    fast = measure(found, claims)
    slow = [zone_measures(z.geom, z.parties, outlines(claims)) for z in found]
    assert fast == slow
    assert fast[0]["contested_length_m"] == pytest.approx(1000)


def _open(zone_id: int, zone: Zone, *, claim_ids: dict[str, int | None]) -> OpenZone:
    return OpenZone(
        id=zone_id,
        kind=zone.kind.value,
        parties_key=zone.parties_key,
        geom_m=zone.geom,
        version=3,
        geom_revision=2,
        status="open",
        geom_lonlat=MultiPolygon([zone.geom]),
        contested_length_m=10.0,
        claim_ids=claim_ids,
    )


def _found(zone: Zone, length_m: float = 10.0) -> FoundZone:
    measures = {"area_m2": zone.geom.area, "area_ha": zone.geom.area / 1e4}
    return FoundZone(zone, {**measures, "contested_length_m": length_m}, MultiPolygon([zone.geom]))


def test_a_detection_plan_says_what_appears_changes_stays_and_vanishes() -> None:
    pair = ("20001", "20002")
    stays = Zone(ZoneKind.overlap, pair, box(900, 0, 1000, 100))
    grows = Zone(ZoneKind.overlap, pair, box(900, 500, 1000, 600))
    gone = Zone(ZoneKind.overlap, ("20002", "20003"), box(1900, 0, 2000, 100))
    bigger = Zone(ZoneKind.overlap, pair, box(850, 500, 1000, 600))
    new = Zone(ZoneKind.gap, pair, box(900, 800, 1100, 900))
    previous = [
        _open(1, stays, claim_ids={"20001": 7, "20002": None}),
        _open(2, grows, claim_ids={"20001": 7, "20002": None}),
        _open(3, gone, claim_ids={}),
    ]
    found = [_found(stays, 12.0), _found(bigger), _found(new)]
    result = plan(previous, found, {"20001": 8, "20002": None, "20003": None})

    assert result.created == [2]
    assert [(k.index, k.zone_id, k.contested_length_m) for k in result.kept] == [(0, 1, 12.0)]
    assert result.kept[0].claim_ids == {"20001": 8}  # only the party whose claim moved
    (changed,) = result.changed
    assert (changed.zone_id, changed.version, changed.geom_revision) == (2, 4, 3)
    assert (changed.gained_m2, changed.lost_m2) == (5000.0, 0.0)
    (vanished,) = result.vanished
    assert (vanished.zone_id, vanished.lost_m2, vanished.from_status) == (3, 10000.0, "open")
    assert result.continues == {0: 1, 1: 2}


def test_the_case_file_names_the_municipalities_in_spanish() -> None:
    zone = Zone(ZoneKind.overlap, ("20067", "20157"), box(0, 0, 1, 1))
    names = {"20067": "Oaxaca de Juárez", "20157": "San Jacinto Amilpas"}
    assert created_summary(1, zone, 36.78, names) == (
        "corrida 1: traslape reclamado por Oaxaca de Juárez (20067) y "
        "San Jacinto Amilpas (20157), 36.78 ha"
    )
    gap = Zone(ZoneKind.gap, ("20001", "20067", "20157"), box(0, 0, 1, 1))
    assert describe(gap, names) == (
        "hueco que nadie reclama, junto a 20001, Oaxaca de Juárez (20067) y "
        "San Jacinto Amilpas (20157)"
    )
