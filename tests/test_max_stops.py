"""Stops per route (issue 19): a vehicle type's ``max_stops`` holds in both engines and the independent check,
comes from the fleet file with row-and-column errors, and names itself when it is why a stop is dropped."""

from __future__ import annotations

import numpy as np
import pytest

from sgroute_assets.domain.routing import Fleet, SolverSettings, VehicleType, plan_routes
from sgroute_assets.domain.routing.feasibility import ClaimedRoute, check_plan
from sgroute_assets.domain.routing.fleet_file import parse_fleet_file
from sgroute_assets.domain.routing.instance import instance_from_stops
from sgroute_assets.domain.stops import Stop
from sgroute_assets.domain.travel_times import estimate_matrix


def _day(sg_points, n: int = 24):
    pts = sg_points.sample(n, random_state=9)
    stops = [
        Stop(stop_ref=f"M{i:02d}", row=i + 2, lat=float(lat), lon=float(lon), demand=1, service_time_min=5)
        for i, (lat, lon) in enumerate(zip(pts.lat, pts.lon, strict=True))
    ]
    ids = ["DEPOT"] + [s.stop_ref for s in stops]
    lats = np.r_[1.3354, [s.lat for s in stops]]
    lons = np.r_[103.8879, [s.lon for s in stops]]
    return stops, estimate_matrix(ids, lats, lons)


@pytest.mark.parametrize("engine", ["pyvrp", "ortools"])
def test_no_route_serves_more_than_its_types_max_stops(sg_points, engine):
    stops, matrix = _day(sg_points)
    small = VehicleType("Scooter", 2, 40, 8 * 60, 18 * 60, 600, max_stops=3)
    van = VehicleType("Van", 2, 40, 8 * 60, 18 * 60, 600, max_stops=8)
    fleet = Fleet(depot_lat=1.3354, depot_lon=103.8879, types=(small, van))
    plan = plan_routes(fleet, stops, matrix, SolverSettings(time_limit_s=1, engine=engine))
    for route in plan.routes:
        assert len(route.visits) <= {"Scooter": 3, "Van": 8}[route.vehicle_type]
    assert plan.stops_served == 22 and len(plan.dropped) == 2  # 2 x 3 + 2 x 8 places for 24 stops
    assert {d.reason for d in plan.dropped} == {"max_stops"}
    assert all("maximum number of stops" in d.message for d in plan.dropped)


def test_the_check_counts_stops(sg_points):
    stops, matrix = _day(sg_points, 4)
    fleet = Fleet(depot_lat=1.3354, depot_lon=103.8879, types=(VehicleType("Van", 1, 40, 480, 1080, 600, max_stops=2),))
    inst = instance_from_stops(fleet, stops, matrix)
    route = ClaimedRoute(visits=[1, 2, 3], start=0, service_start=[0, 0, 0], end=0)
    assert any("3 stops, over the Van's maximum of 2" in p for p in check_plan(inst, [route], [4]))


def test_fleet_file_max_stops_and_its_errors():
    default = VehicleType("Van", 4, 40, 8 * 60, 18 * 60, 600)
    ok = parse_fleet_file("f.csv", b"name,count,max_stops\nVan,3,12\nBike,2,\n", default)
    assert [t.max_stops for t in ok.types] == [12, None] and not ok.issues
    bad = parse_fleet_file("f.csv", b"name,count,max_stops\nVan,3,0\n", default)
    assert bad.issues[0] == "f.csv, row 2, column max_stops: '0' is not a whole number of at least 1"
