"""One sheet per driver: the day in order, from leaving the depot to coming back, nothing to filter."""

from __future__ import annotations

from ..route_plan import Route, RoutePlan, clock
from ._format import PLAN_COLUMNS, Cell, coord, csv_bytes, extra_columns, hhmm, plan_values, text, warnings_text

DRIVER_COLUMNS: tuple[str, ...] = (
    "seq",
    "eta",
    "wait_min",
    "service_start",
    "departure",
    "time_window",
    "stop_ref",
    "address",
    "postal_code",
    "contact_name",
    "phone",
    "notes",
    "warnings",
    "demand",
    "service_time_min",
    "lat",
    "lon",
    "vehicle",
    "vehicle_name",
    *PLAN_COLUMNS,
)

DEPOT_REF = "DEPOT"


def time_window(tw_start_min: int | None, tw_end_min: int | None) -> str:
    """Drivers read a window as one range; an open bound is blank on its side, no window is all blank."""
    if tw_start_min is None and tw_end_min is None:
        return ""
    return f"{hhmm(tw_start_min)}-{hhmm(tw_end_min)}"


def driver_rows(plan: RoutePlan, route: Route, extras: list[str] | None = None) -> list[tuple[Cell, ...]]:
    """Depot departure as seq 0 and the return as the last seq, so the sheet covers the whole shift.

    "eta" is when the driver arrives; with a window not yet open, "wait_min" says how long until service starts.
    """
    fleet = plan.fleet
    extras = extras or []
    on_plan = (route.vehicle_id, route.vehicle_name, *plan_values(plan))
    depot_lat, depot_lon = coord(fleet.depot_lat), coord(fleet.depot_lon)
    blank_extras = ("",) * len(extras)

    def depot_row(seq: int, at: str, leaves: str) -> tuple[Cell, ...]:
        return (seq, at, "", "", leaves, "", DEPOT_REF, fleet.depot_name, "", "", "", "", "", "", "", depot_lat,
                depot_lon, *on_plan, *blank_extras)  # fmt: skip

    rows: list[tuple[Cell, ...]] = [depot_row(0, "", clock(route.start_s))]
    for visit in route.visits:
        stop = visit.stop
        rows.append(
            (
                visit.sequence,
                clock(visit.arrival_s),
                round(visit.wait_s / 60),
                clock(visit.service_start_s),
                clock(visit.departure_s),
                time_window(stop.tw_start_min, stop.tw_end_min),
                stop.stop_ref,
                text(stop.address),
                text(stop.postal_code),
                text(stop.contact_name),
                text(stop.phone),
                text(stop.notes),
                warnings_text(stop),
                stop.demand,
                stop.service_time_min,
                coord(stop.lat),
                coord(stop.lon),
                *on_plan,
                *(stop.extra.get(name, "") for name in extras),
            )
        )
    rows.append(depot_row(len(route.visits) + 1, clock(route.end_s), ""))
    return rows


def driver_csvs(plan: RoutePlan) -> dict[str, bytes]:
    """Keyed by vehicle id ("V01"), the name a dispatcher hands each driver."""
    out = {}
    for route in plan.routes:
        extras = extra_columns(v.stop for v in route.visits)
        out[route.vehicle_id] = csv_bytes((*DRIVER_COLUMNS, *extras), driver_rows(plan, route, extras))
    return out
