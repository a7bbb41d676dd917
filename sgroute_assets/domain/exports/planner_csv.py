"""The planner's view of a plan: every visit of every vehicle in one sheet, to sort, filter and check."""

from __future__ import annotations

from ..route_plan import RoutePlan, clock
from ._format import PLAN_COLUMNS, coord, csv_bytes, extra_columns, hhmm, plan_values, text, warnings_text

PLANNER_COLUMNS: tuple[str, ...] = (
    "vehicle",
    "vehicle_name",
    "sequence",
    "stop_ref",
    "eta",
    "arrival",
    "wait_min",
    "service_start",
    "departure",
    "tw_start",
    "tw_end",
    "address",
    "postal_code",
    "contact_name",
    "phone",
    "notes",
    "warnings",
    "lat",
    "lon",
    "demand",
    "service_time_min",
    *PLAN_COLUMNS,
)


def planner_csv(plan: RoutePlan) -> bytes:
    """One row per served visit. "eta" is the arrival (what a customer sees); service may start later, after
    waiting for the window to open. Columns the planner added to the stop file follow the fixed ones."""
    stops = [v.stop for r in plan.routes for v in r.visits]
    extras = extra_columns(stops)
    on_plan = plan_values(plan)
    rows = []
    for route in plan.routes:
        for visit in route.visits:
            stop = visit.stop
            rows.append(
                (
                    route.vehicle_id,
                    route.vehicle_name,
                    visit.sequence,
                    stop.stop_ref,
                    clock(visit.arrival_s),
                    clock(visit.arrival_s),
                    round(visit.wait_s / 60),
                    clock(visit.service_start_s),
                    clock(visit.departure_s),
                    hhmm(stop.tw_start_min),
                    hhmm(stop.tw_end_min),
                    text(stop.address),
                    text(stop.postal_code),
                    text(stop.contact_name),
                    text(stop.phone),
                    text(stop.notes),
                    warnings_text(stop),
                    coord(stop.lat),
                    coord(stop.lon),
                    stop.demand,
                    stop.service_time_min,
                    *on_plan,
                    *(stop.extra.get(name, "") for name in extras),
                )
            )
    return csv_bytes((*PLANNER_COLUMNS, *extras), rows)
