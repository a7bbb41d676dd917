"""The plan as GeoJSON, for GIS tools and web maps that a planner may prefer over the static PNG.

Coordinates are [lon, lat] as RFC 7946 requires (the opposite of how the stop file gives them).
"""

from __future__ import annotations

import json
from typing import Any

from ..route_plan import Route, RoutePlan, clock
from .colors import vehicle_color

Feature = dict[str, Any]


def _point(lat: float, lon: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]}


def _feature(geometry: dict[str, Any], properties: dict[str, Any]) -> Feature:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def _route_line(plan: RoutePlan, route: Route) -> Feature:
    """Straight legs depot -> stops -> depot: the plan knows the order, not the roads driven."""
    depot = [round(plan.fleet.depot_lon, 6), round(plan.fleet.depot_lat, 6)]
    path = [depot]
    for visit in route.visits:
        if visit.stop.lat is not None and visit.stop.lon is not None:
            path.append([round(visit.stop.lon, 6), round(visit.stop.lat, 6)])
    path.append(depot)
    return _feature(
        {"type": "LineString", "coordinates": path},
        {
            "kind": "route",
            "vehicle": route.vehicle_id,
            "color": vehicle_color(route.vehicle),
            "stops": len(route.visits),
            "distance_km": round(route.distance_m / 1000, 2),
            "duration_min": round(route.duration_s / 60, 1),
        },
    )


def route_geojson(plan: RoutePlan) -> dict[str, Any]:
    """Routes first, then points, so a renderer that draws in order puts the stops on top of the lines."""
    fleet = plan.fleet
    features: list[Feature] = [_route_line(plan, route) for route in plan.routes]
    depot = _feature(_point(fleet.depot_lat, fleet.depot_lon), {"kind": "depot", "name": fleet.depot_name})
    features.append(depot)
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
                        "eta": clock(visit.service_start_s),
                        "address": stop.address,
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
                },
            )
        )
    return {"type": "FeatureCollection", "features": features}


def route_geojson_bytes(plan: RoutePlan) -> bytes:
    return json.dumps(route_geojson(plan), indent=1, ensure_ascii=False).encode("utf-8")
