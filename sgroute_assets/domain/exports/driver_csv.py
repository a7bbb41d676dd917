"""One sheet per driver: the day in order, from leaving the depot to coming back, nothing to filter."""

from __future__ import annotations

from ..routing import DepotPoint, Route, RoutePlan, clock, stop_windows_text
from ._format import (
    BOM,
    PLAN_COLUMNS,
    Cell,
    amount,
    coord,
    csv_bytes,
    extra_columns,
    hhmm,
    plan_values,
    text,
    warnings_text,
)
from .changes_csv import change_notice
from .navigation import navigation_links

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
    "violations",  # what a planner-fixed order breaks here (domain/routing/resequence.py); blank on optimised routes
    "eta_source",  # onemap: every leg up to here timed by OneMap (domain/routing/leg_verification.py); model otherwise
    "status",  # done: delivered before a re-plan, as reported (domain/routing/replan.py); planned: still ahead
    "demand",
    "service_time_min",
    "priority",
    "requires",
    "weight_kg",
    "volume_l",
    "lat",
    "lon",
    "google_maps",  # directions to the stop (navigation.py), on every row with coordinates
    "waze",
    "vehicle",
    "vehicle_name",
    *PLAN_COLUMNS,
)

DEPOT_REF = "DEPOT"
BREAK_REF = "BREAK"  # the driver's break on the road: a row of its own, no seq, between the points it falls


def time_window(tw_start_min: int | None, tw_end_min: int | None) -> str:
    """Drivers read a window as one range; an open bound is blank on its side, no window is all blank."""
    if tw_start_min is None and tw_end_min is None:
        return ""
    return f"{hhmm(tw_start_min)}-{hhmm(tw_end_min)}"


def driver_rows(plan: RoutePlan, route: Route, extras: list[str] | None = None) -> list[tuple[Cell, ...]]:
    """Depot departure as seq 0 and the return as the last seq, so the sheet covers the whole shift; the
    route's own start/end depot when its vehicle type has one, and its break as a BREAK row where it falls.

    "eta" is when the driver arrives; with a window not yet open, "wait_min" says how long until service starts.
    """
    extras = extras or []
    on_plan = (route.vehicle_id, route.vehicle_name, *plan_values(plan))
    blank_extras = ("",) * len(extras)

    def row(cells: tuple[Cell, ...], lat: Cell = "", lon: Cell = "") -> tuple[Cell, ...]:
        """A depot or break row: its first cells, blanks, then lat/lon and the plan's columns."""
        blanks = ("",) * (len(DRIVER_COLUMNS) - len(on_plan) - len(cells) - 4)
        links = navigation_links(float(lat), float(lon)) if lat and lon else ("", "")
        return (*cells, *blanks, lat, lon, *links, *on_plan, *blank_extras)

    def depot_row(seq: int, at: str, leaves: str, depot: DepotPoint) -> tuple[Cell, ...]:
        return row((seq, at, "", "", leaves, "", DEPOT_REF, depot.name), coord(depot.lat), coord(depot.lon))

    def break_row() -> tuple[Cell, ...]:
        start, end = clock(route.break_start_s), clock(route.break_end_s)
        return row(("", start, "", start, end, "", BREAK_REF, f"Driver break ({route.break_s // 60} min)"))

    rows: list[tuple[Cell, ...]] = [depot_row(0, "", clock(route.start_s), plan.start_point(route))]
    for k, visit in enumerate(route.visits):
        if route.break_after == k and route.break_start_s is not None:
            rows.append(break_row())
        stop = visit.stop
        rows.append(
            (
                visit.sequence,
                clock(visit.arrival_s),
                round(visit.wait_s / 60),
                clock(visit.service_start_s),
                clock(visit.departure_s),
                stop_windows_text(stop),
                stop.stop_ref,
                text(stop.address),
                text(stop.postal_code),
                text(stop.contact_name),
                text(stop.phone),
                text(stop.notes),
                warnings_text(stop),
                "; ".join(visit.violations),
                visit.eta_source,
                visit.status,
                stop.demand,
                stop.service_time_min,
                stop.priority,
                ";".join(stop.requires),
                amount(stop.weight_kg),
                amount(stop.volume_l),
                coord(stop.lat),
                coord(stop.lon),
                *navigation_links(stop.lat, stop.lon),
                *on_plan,
                *(stop.extra.get(name, "") for name in extras),
            )
        )
    if route.break_after == len(route.visits) and route.break_start_s is not None:
        rows.append(break_row())
    rows.append(depot_row(len(route.visits) + 1, clock(route.end_s), "", plan.end_point(route)))
    return rows


def driver_csvs(plan: RoutePlan) -> dict[str, bytes]:
    """Keyed by vehicle id ("V01"), the name a dispatcher hands each driver."""
    out = {}
    for route in plan.routes:
        extras = extra_columns(v.stop for v in route.visits)
        data = csv_bytes((*DRIVER_COLUMNS, *extras), driver_rows(plan, route, extras))
        notice = change_notice(plan, route.vehicle_name)
        if notice is not None:  # a re-planned route says so on its first line, before the header
            data = csv_bytes((notice,), []) + data.removeprefix(BOM)
        out[route.vehicle_id] = data
    return out
