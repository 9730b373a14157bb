"""Who may do what. Roles form a ladder: each one can do everything the ones below it can.

* planner: read everything, export;
* inspector: + record inspections;
* commission: + claims, disputed zones, decisions;
* admin: + users and tokens.

Official boundaries, metro zones and rivers are public (no role needed).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    planner = "planner"
    inspector = "inspector"
    commission = "commission"
    admin = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def can_act_as(self, required: Role) -> bool:
        return self.rank >= required.rank
