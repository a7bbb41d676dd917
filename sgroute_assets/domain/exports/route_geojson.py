"""The plan as GeoJSON, for GIS tools and web maps that a planner may prefer over the static PNG.

Coordinates are [lon, lat] as RFC 7946 requires (the opposite of how the stop file gives them).
"""

from __future__ import annotations

import json
from typing import Any

from ..routing import Route, RoutePlan, clock, stop_windows_text
from ..stops import Stop, format_clock
from .colors import vehicle_color
from .road_path import joined, route_legs

Feature = dict[str, Any]


def _point(lat: float, lon: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]}


def _feature(geometry: dict[str, Any], properties: dict[str, Any]) -> Feature:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def _route_line(plan: RoutePlan, route: Route) -> Feature:
    """Start depot -> stops -> end depot along OneMap's roads where the plan was verified on them; a leg without
    road geometry is a straight segment, listed in ``straight_legs`` (leg k leaves point k, 0 the start depot)."""
    start, end = plan.start_point(route), plan.end_point(route)
    legs = route_legs(plan, route)
    path = [[round(lon, 6), round(lat, 6)] for lat, lon in joined(legs)]
    straight = [k for k, leg in enumerate(legs) if not leg.road]
    return _feature(
        {"type": "LineString", "coordinates": path},
        {
            "kind": "route",
            "vehicle": route.vehicle_id,
            "vehicle_name": route.vehicle_name,
            "color": vehicle_color(route.vehicle),
            "stops": len(route.visits),
            "distance_km": round(route.distance_m / 1000, 2),
            "duration_min": round(route.duration_s / 60, 1),
            "start": clock(route.start_s),
            "end": clock(route.end_s),
            "start_depot": start.name,
            "end_depot": end.name,
            # The driver's break on the road, after this many visits (null: none on this route).
            "break_start": None if route.break_start_s is None else clock(route.break_start_s),
            "break_end": None if route.break_end_s is None else clock(route.break_end_s),
            "break_after_stops": route.break_after if route.break_start_s is not None else None,
            "geometry_source": "straight" if len(straight) == len(legs) else ("roads" if not straight else "mixed"),
            "straight_legs": straight,
        },
    )


def route_geojson(plan: RoutePlan) -> dict[str, Any]:
    """Routes first, then points, so a renderer that draws in order puts the stops on top of the lines."""
    fleet = plan.fleet
    features: list[Feature] = [_route_line(plan, route) for route in plan.routes]
    depot = _feature(_point(fleet.depot_lat, fleet.depot_lon), {"kind": "depot", "name": fleet.depot_name})
    features.append(depot)
    # Vehicle types' own start/end points that some route uses, as depots of their own.
    own = {p for r in plan.routes for p in (plan.start_point(r), plan.end_point(r))} - {fleet.depot}
    for point in sorted(own, key=lambda p: p.name):
        features.append(_feature(_point(point.lat, point.lon), {"kind": "depot", "name": point.name}))
    for route in plan.routes:
        color = vehicle_color(route.vehicle)
        for visit in route.visits:
            stop = visit.stop
            if stop.lat is None or stop.lon is None:
                continue
            features.append(
                _feature(
                    _point(stop.lat, stop.lon),
                    {
                        "kind": "stop",
                        "vehicle": route.vehicle_id,
                        "sequence": visit.sequence,
                        "stop_ref": stop.stop_ref,
                        "eta": clock(visit.arrival_s),
                        "eta_source": visit.eta_source,
                        "arrival": clock(visit.arrival_s),
                        "wait_min": round(visit.wait_s / 60),
                        "service_start": clock(visit.service_start_s),
                        "departure": clock(visit.departure_s),
                        "time_window": stop_windows_text(stop),
                        **_stop_fields(stop),
                        "color": color,
                    },
                )
            )
    for dropped in plan.dropped:
        stop = dropped.stop
        if stop.lat is None or stop.lon is None:
            continue
        features.append(
            _feature(
                _point(stop.lat, stop.lon),
                {
                    "kind": "dropped",
                    "stop_ref": stop.stop_ref,
                    "reason": dropped.reason,
                    "message": dropped.message,
                    "time_window": stop_windows_text(stop),
                    **_stop_fields(stop),
                },
            )
        )
    # Foreign members (RFC 7946 section 6.1): which plan and day this is, and the rows with no place on a map.
    return {
        "type": "FeatureCollection",
        "plan": plan_info(plan),
        # What the ETAs rest on, and the road-time verification's figures when one ran (domain/leg_verification).
        "eta_source": plan.eta_source,
        "verification": plan.verification.summary() if plan.verification is not None else None,
        "not_on_map": [
            {"row": u.row, "stop_ref": u.stop_ref, "status": u.status, "reason": u.reason, "message": u.message}
            for u in plan.unplanned()
            if u.stop is None or not u.stop.has_coordinates
        ],
        "features": features,
    }


def _stop_fields(stop: Stop) -> dict[str, Any]:
    """What a driver needs at the door, the planner's extra columns included."""
    return {
        "address": stop.address,
        "postal_code": stop.postal_code,
        "contact_name": stop.contact_name,
        "phone": stop.phone,
        "notes": stop.notes,
        "warnings": list(stop.warnings),
        "demand": stop.demand,
        "priority": stop.priority,
        "service_time_min": stop.service_time_min,
        "row": stop.row,
        **{f"extra_{k}": v for k, v in stop.extra.items() if k != "notes"},
    }


def plan_info(plan: RoutePlan) -> dict[str, Any]:
    """The plan's identity, day, depot, shift and row counts, shared by the GeoJSON and the manifest."""
    fleet = plan.fleet
    return {
        "plan_id": plan.plan_id,
        "requested_at": plan.requested_at,
        "data_version": plan.data_version,
        "plan_date": plan.plan_date,
        "source_file": plan.source_file,
        "depot": fleet.depot_name,
        "depot_lat": fleet.depot_lat,
        "depot_lon": fleet.depot_lon,
        "shift": f"{format_clock(fleet.shift_start_min)}-{format_clock(fleet.shift_end_min)}",
        **plan.row_counts(),
        "vehicles_used": plan.vehicles_used,
        "revision": plan.revision,
        "revision_reason": plan.revision_reason,
    }


def route_geojson_bytes(plan: RoutePlan) -> bytes:
    return json.dumps(route_geojson(plan), indent=1, ensure_ascii=False).encode("utf-8")
