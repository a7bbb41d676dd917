"""The planner's view of a plan: every visit of every vehicle in one sheet, to sort, filter and check."""

from __future__ import annotations

from ..routing import RoutePlan, clock
from ._format import PLAN_COLUMNS, amount, coord, csv_bytes, extra_columns, hhmm, plan_values, text, warnings_text
from .driver_csv import BREAK_REF

PLANNER_COLUMNS: tuple[str, ...] = (
    "vehicle",
    "vehicle_name",
    "sequence",
    "stop_ref",
    "eta",
    "arrival",
    "wait_min",
    "late_min",  # past the window's soft end (late_ok_min allows it), blank when on time
    "service_start",
    "departure",
    "tw_start",
    "tw_end",
    "tw2_start",
    "tw2_end",
    "address",
    "postal_code",
    "contact_name",
    "phone",
    "notes",
    "warnings",
    "violations",  # what a planner-fixed order breaks here (domain/routing/resequence.py); blank on optimised routes
    "eta_source",  # onemap: every leg up to here timed by OneMap (domain/routing/leg_verification.py); model otherwise
    "lat",
    "lon",
    "demand",
    "service_time_min",
    "priority",
    "requires",  # the skills a vehicle needs for it (chiller, tailgate), ";"-separated
    "weight_kg",
    "volume_l",
    *PLAN_COLUMNS,
)


def planner_csv(plan: RoutePlan) -> bytes:
    """One row per served visit, and a BREAK row where a driver's break falls. "eta" is the arrival (what a
    customer sees); service may start later, after waiting for the window to open. Columns the planner added
    to the stop file follow the fixed ones."""
    stops = [v.stop for r in plan.routes for v in r.visits]
    extras = extra_columns(stops)
    on_plan = plan_values(plan)
    rows = []
    for route in plan.routes:
        # The driver's break taken on the road: a BREAK row (no sequence) where it falls among the visits.
        at = route.break_after if route.break_start_s is not None else None
        start, end = clock(route.break_start_s or 0), clock(route.break_end_s or 0)
        cells = {"vehicle": route.vehicle_id, "vehicle_name": route.vehicle_name, "stop_ref": BREAK_REF,
                 "eta": start, "arrival": start, "service_start": start, "departure": end,
                 "address": f"Driver break ({route.break_s // 60} min)"}  # fmt: skip
        cells.update(zip(PLAN_COLUMNS, on_plan, strict=True))
        break_row = tuple(cells.get(c, "") for c in PLANNER_COLUMNS) + ("",) * len(extras)
        for k, visit in enumerate(route.visits):
            if at == k:
                rows.append(break_row)
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
                    round(visit.late_s / 60) if visit.late_s else "",
                    clock(visit.service_start_s),
                    clock(visit.departure_s),
                    hhmm(stop.tw_start_min),
                    hhmm(stop.tw_end_min),
                    hhmm(stop.tw2_start_min),
                    hhmm(stop.tw2_end_min),
                    text(stop.address),
                    text(stop.postal_code),
                    text(stop.contact_name),
                    text(stop.phone),
                    text(stop.notes),
                    warnings_text(stop),
                    "; ".join(visit.violations),
                    visit.eta_source,
                    coord(stop.lat),
                    coord(stop.lon),
                    stop.demand,
                    stop.service_time_min,
                    stop.priority,
                    ";".join(stop.requires),
                    amount(stop.weight_kg),
                    amount(stop.volume_l),
                    *on_plan,
                    *(stop.extra.get(name, "") for name in extras),
                )
            )
        if at is not None and at == len(route.visits):
            rows.append(break_row)
    return csv_bytes((*PLANNER_COLUMNS, *extras), rows)
