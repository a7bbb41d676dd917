"""The line a route is drawn with: OneMap's road polyline for each leg that has one, a straight segment otherwise.

The maps (route_map.html, route_map.png) and routes.geojson all draw from here, so they show the same roads. A
verified plan (domain/routing/leg_verification.py) keeps each leg's encoded polyline on the visit it leads to and
the way back on the route; each leg's line runs from the point it leaves to the point it reaches, so it meets the
markers even where OneMap's road starts a few metres off the stop.
"""

from __future__ import annotations

from dataclasses import dataclass

import polyline

from ..routing import Route, RoutePlan

LatLon = tuple[float, float]


def decode_polyline(encoded: str) -> list[LatLon]:
    """(lat, lon) points of OneMap's ``route_geometry`` (Google's encoded polyline, precision 5).

    A malformed or truncated string gives no points, so that leg is drawn straight and marked as such rather
    than the whole map failing.
    """
    try:
        return [(float(lat), float(lon)) for lat, lon in polyline.decode(encoded, 5)]
    except (IndexError, ValueError, TypeError):
        return []


@dataclass(frozen=True)
class LegLine:
    points: list[LatLon]  # (lat, lon), from the leg's origin to its destination
    road: bool  # True: follows OneMap's road geometry; False: a straight segment (the leg has none)


def _leg(origin: LatLon, destination: LatLon, geometry: str | None) -> LegLine:
    road = decode_polyline(geometry) if geometry else []
    if len(road) < 2:
        return LegLine([origin, destination], road=False)
    points = [origin] + [p for p in road if p != origin and p != destination] + [destination]
    return LegLine(points, road=True)


def route_legs(plan: RoutePlan, route: Route) -> list[LegLine]:
    """Start depot -> each located stop -> end depot, one line per leg."""
    start, end = plan.start_point(route), plan.end_point(route)
    here: LatLon = (start.lat, start.lon)
    legs: list[LegLine] = []
    for visit in route.visits:
        stop = visit.stop
        if stop.lat is None or stop.lon is None:
            continue
        there = (stop.lat, stop.lon)
        legs.append(_leg(here, there, visit.road_geometry))
        here = there
    legs.append(_leg(here, (end.lat, end.lon), route.return_geometry))
    return legs


def joined(legs: list[LegLine]) -> list[LatLon]:
    """The legs as one line (each leg's first point is the previous leg's last)."""
    out: list[LatLon] = []
    for leg in legs:
        out.extend(leg.points if not out else leg.points[1:])
    return out


def has_roads(plan: RoutePlan) -> bool:
    """Whether any leg of the plan has a road line; without one the maps draw as they always have."""
    return any(v.road_geometry for r in plan.routes for v in r.visits) or any(r.return_geometry for r in plan.routes)
