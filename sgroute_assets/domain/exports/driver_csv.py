"""One sheet per driver: the day in order, from leaving the depot to coming back, nothing to filter."""

from __future__ import annotations

from ..route_plan import Route, RoutePlan, clock
from ._format import Cell, coord, csv_bytes, hhmm, text

DRIVER_COLUMNS: tuple[str, ...] = (
    "seq",
    "eta",
    "time_window",
    "stop_ref",
    "address",
    "postal_code",
    "contact_name",
    "phone",
    "demand",
    "service_time_min",
    "lat",
    "lon",
)

DEPOT_REF = "DEPOT"


def time_window(tw_start_min: int | None, tw_end_min: int | None) -> str:
    """Drivers read a window as one range; an open bound is blank on its side, no window is all blank."""
    if tw_start_min is None and tw_end_min is None:
        return ""
    return f"{hhmm(tw_start_min)}-{hhmm(tw_end_min)}"


def driver_rows(plan: RoutePlan, route: Route) -> list[tuple[Cell, ...]]:
    """Depot departure as seq 0 and the return as the last seq, so the sheet covers the whole shift."""
    fleet = plan.fleet
    depot_lat, depot_lon = coord(fleet.depot_lat), coord(fleet.depot_lon)
    rows: list[tuple[Cell, ...]] = [
        (0, clock(route.start_s), "", DEPOT_REF, fleet.depot_name, "", "", "", "", "", depot_lat, depot_lon)
    ]
    for visit in route.visits:
        stop = visit.stop
        rows.append(
            (
                visit.sequence,
                clock(visit.service_start_s),
                time_window(stop.tw_start_min, stop.tw_end_min),
                stop.stop_ref,
                text(stop.address),
                text(stop.postal_code),
                text(stop.contact_name),
                text(stop.phone),
                stop.demand,
                stop.service_time_min,
                coord(stop.lat),
                coord(stop.lon),
            )
        )
    rows.append(
        (
            len(route.visits) + 1,
            clock(route.end_s),
            "",
            DEPOT_REF,
            fleet.depot_name,
            "",
            "",
            "",
            "",
            "",
            depot_lat,
            depot_lon,
        )
    )
    return rows


def driver_csvs(plan: RoutePlan) -> dict[str, bytes]:
    """Keyed by vehicle id ("V01"), the name a dispatcher hands each driver."""
    return {route.vehicle_id: csv_bytes(DRIVER_COLUMNS, driver_rows(plan, route)) for route in plan.routes}
