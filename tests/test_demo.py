"""``linde demo``: the illustrative dataset loads on both engines, once."""

from __future__ import annotations

from sqlalchemy import func, select

from layers.demo import DEMO_SOURCE, load_demo
from layers.queries.lookup import lookup_point
from layers.schema import claims, inspections, metro_zones, municipalities, rivers
from tests.conftest import Database


def test_demo_loads_once_and_says_it_is_illustrative(db: Database) -> None:
    first = list(load_demo(db.engine, actor="test"))
    second = list(load_demo(db.engine, actor="test"))
    assert any("7 created" in line for line in first)
    assert all(" 0 created" in line for line in second if "created" in line)
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(claims)).scalar_one() == 2
        assert conn.execute(select(func.count()).select_from(inspections)).scalar_one() == 5
        for table in (municipalities, rivers, metro_zones, inspections):
            sources = set(conn.execute(select(table.c.source)).scalars())
            assert sources == {DEMO_SOURCE}, (table.name, sources)
        notes = list(conn.execute(select(claims.c.source_reference)).scalars())
        assert all("ilustrativ" in (n or "").lower() for n in notes)
        answer = lookup_point(conn, -96.74874, 17.09375)
    assert answer["municipality"]["cvegeo"] == "20067"
    assert sorted(c["cvegeo"] for c in answer["claims"]) == ["20067", "20157"]


def test_demo_makes_one_user_per_kind_who_can_sign_in(db: Database) -> None:
    from layers.accounts import verify_password
    from layers.demo import DEMO_USERS

    lines = list(load_demo(db.engine, actor="test"))
    assert any("/entrar" in line for line in lines)
    passwords = {
        line.split()[0]: line.rsplit(": ", 1)[1] for line in lines if line.startswith("  demo-")
    }
    assert set(passwords) == {name for name, _role, _cvegeo in DEMO_USERS}
    with db.engine.connect() as conn:
        for name, role, cvegeo in DEMO_USERS:
            person = verify_password(conn, name, passwords[name])
            assert person is not None and (person.role.value, person.cvegeo) == (role, cvegeo)
    again = list(load_demo(db.engine, actor="test"))
    assert all(": already there" in line for line in again if line.startswith("  demo-"))
