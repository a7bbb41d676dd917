"""The planner's view of a plan: every visit of every vehicle in one sheet, to sort, filter and check."""

from __future__ import annotations

from ..route_plan import RoutePlan, clock
from ._format import coord, csv_bytes, hhmm, text

PLANNER_COLUMNS: tuple[str, ...] = (
    "vehicle",
    "sequence",
    "stop_ref",
    "eta",
    "departure",
    "arrival",
    "wait_min",
    "address",
    "postal_code",
    "phone",
    "contact_name",
    "lat",
    "lon",
    "demand",
    "tw_start",
    "tw_end",
    "service_time_min",
)


def planner_csv(plan: RoutePlan) -> bytes:
    """One row per served visit; the ETA is the service start, the time a customer is promised."""
    rows = []
    for route in plan.routes:
        for visit in route.visits:
            stop = visit.stop
            rows.append(
                (
                    route.vehicle_id,
                    visit.sequence,
                    stop.stop_ref,
                    clock(visit.service_start_s),
                    clock(visit.departure_s),
                    clock(visit.arrival_s),
                    round(visit.wait_s / 60),
                    text(stop.address),
                    text(stop.postal_code),
                    text(stop.phone),
                    text(stop.contact_name),
                    coord(stop.lat),
                    coord(stop.lon),
                    stop.demand,
                    hhmm(stop.tw_start_min),
                    hhmm(stop.tw_end_min),
                    stop.service_time_min,
                )
            )
    return csv_bytes(PLANNER_COLUMNS, rows)
