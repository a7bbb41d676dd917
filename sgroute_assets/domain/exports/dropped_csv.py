"""Rows left off the routes, with the row of the uploaded file so the planner can find and fix them.

`dropped_stops.csv` lists the stops the solver could not fit; `unplanned_stops.csv` lists every row of the
file on no route (dropped, invalid or not located) with its status and reason, so with `planner.csv` it
covers the whole file.
"""

from __future__ import annotations

from ..routing import RoutePlan
from ._format import PLAN_COLUMNS, csv_bytes, hhmm, plan_values, text, warnings_text

DROPPED_COLUMNS: tuple[str, ...] = (
    "stop_ref",
    "row",
    "reason",
    "message",
    "address",
    "postal_code",
    "tw_start",
    "tw_end",
    "demand",
    "contact_name",
    "phone",
    "notes",
    "warnings",
    "priority",
    *PLAN_COLUMNS,
)

UNPLANNED_COLUMNS: tuple[str, ...] = (
    "row",
    "stop_ref",
    "status",
    "reason",
    "message",
    "address",
    "postal_code",
    "lat",
    "lon",
    "tw_start",
    "tw_end",
    "demand",
    "contact_name",
    "phone",
    "notes",
    "priority",
    *PLAN_COLUMNS,
)


def dropped_csv(plan: RoutePlan) -> bytes:
    """Always has the header, even with nothing dropped, so downstream readers see the same columns."""
    on_plan = plan_values(plan)
    rows = [
        (
            d.stop.stop_ref,
            d.stop.row,
            d.reason,
            d.message,
            text(d.stop.address),
            text(d.stop.postal_code),
            hhmm(d.stop.tw_start_min),
            hhmm(d.stop.tw_end_min),
            d.stop.demand,
            text(d.stop.contact_name),
            text(d.stop.phone),
            text(d.stop.notes),
            warnings_text(d.stop),
            d.stop.priority,
            *on_plan,
        )
        for d in plan.dropped
    ]
    return csv_bytes(DROPPED_COLUMNS, rows)


def unplanned_csv(plan: RoutePlan) -> bytes:
    """Every row of the file that is on no route, in file order; invalid rows carry their problems."""
    on_plan = plan_values(plan)
    rows = []
    for u in plan.unplanned():
        s = u.stop
        if s is None:  # an invalid row: its cells as typed, so the dispatcher can still call the customer
            cells = [u.field_text(name) for name in ("address", "postal_code", "lat", "lon", "tw_start", "tw_end")]
            cells += [u.field_text("demand")]
            cells += [u.field_text(name) for name in ("contact_name", "phone", "notes", "priority")]
        else:
            cells = [
                s.address,
                s.postal_code,
                "" if s.lat is None else f"{s.lat:.6f}",
                "" if s.lon is None else f"{s.lon:.6f}",
                hhmm(s.tw_start_min),
                hhmm(s.tw_end_min),
                s.demand,
                s.contact_name,
                s.phone,
                s.notes,
                s.priority,
            ]
        cells = [c if isinstance(c, int) else text(c) for c in cells]
        rows.append((u.row, text(u.stop_ref), u.status, u.reason, u.message, *cells, *on_plan))
    return csv_bytes(UNPLANNED_COLUMNS, rows)
