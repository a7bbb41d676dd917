"""``changes.csv``: every stop that moved since the previous revision (issue 18), for the dispatcher's calls.

One row per stop whose van or place changed, whose ETA moved by more than five minutes, or that is newly
served or dropped (domain/routing/revisions.py decides which), with old and new values and why, then the
revision and the plan's columns so a printed copy can be matched to its plan. Revision 1 has a header only.
"""

from __future__ import annotations

from ..routing import CHANGE_COLUMNS, RoutePlan, changed_vehicles
from ._format import PLAN_COLUMNS, csv_bytes, plan_values

CHANGES_COLUMNS = (*CHANGE_COLUMNS, "revision", "revision_reason", *PLAN_COLUMNS)


def changes_csv(plan: RoutePlan) -> bytes:
    on_plan = (plan.revision, plan.revision_reason, *plan_values(plan))
    rows = [(*c.row().values(), *on_plan) for c in plan.changes]
    return csv_bytes(CHANGES_COLUMNS, rows)


def change_notice(plan: RoutePlan, vehicle_name: str) -> str | None:
    """The line a changed route's driver file and PDF page open with; None when the route did not change."""
    if plan.revision <= 1 or vehicle_name not in changed_vehicles(list(plan.changes)):
        return None
    mine = [c for c in plan.changes if vehicle_name in (c.old_vehicle, c.new_vehicle)]
    return (
        f"CHANGED in revision {plan.revision} ({plan.revision_reason}): {len(mine)} of your stops changed "
        "(added, removed, re-ordered or re-timed); see changes.csv"
    )
