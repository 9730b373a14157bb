"""A write to a reference layer refreshes inspections' annotations in one place
(``layers.reference_changes``, flushed by ``write_connection``), on both engines."""

from __future__ import annotations

import pytest

from layers import reference_changes
from layers.engine import write_connection
from tests.conftest import Database


def test_changes_are_gathered_in_a_write_and_forgotten_after_it(db: Database) -> None:
    with write_connection(db.engine) as conn:
        reference_changes.changed(conn, claim_keys=["20067"], disputed_zone_ids=[7])
        pending = conn.info[reference_changes._PENDING]
        assert pending.claim_keys == {"20067"} and pending.disputed_zone_ids == {7}
    # committed: flushed (nothing to annotate here) and nothing left on the pooled connection
    with db.engine.connect() as conn:
        assert reference_changes._PENDING not in conn.info


def test_a_rolled_back_write_leaves_nothing_for_the_next_one(db: Database) -> None:
    with pytest.raises(RuntimeError), write_connection(db.engine) as conn:
        reference_changes.changed(conn, municipality_keys=["20157"])
        raise RuntimeError("the writer failed")
    with db.engine.connect() as conn:
        assert reference_changes._PENDING not in conn.info
    with write_connection(db.engine) as conn:
        assert conn.info[reference_changes._PENDING] == reference_changes.ReferenceChange()


def test_a_writer_on_a_connection_of_its_own_refreshes_at_once(db: Database) -> None:
    with db.engine.begin() as conn:
        reference_changes.changed(conn, river_ids=[1])  # refreshed here, nothing gathered
        assert reference_changes._PENDING not in conn.info
