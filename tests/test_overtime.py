"""Overtime (issue 19): a vehicle type may run past its shift by max_overtime_min at overtime_cost_per_hour.
Both engines use it only when it pays, the independent check holds the extended limit, and routes report their
overtime."""

from __future__ import annotations

import numpy as np
import pytest

from sgroute_assets.domain.routing import Fleet, SolverSettings, VehicleType, plan_routes
from sgroute_assets.domain.routing.fleet_file import parse_fleet_file
from sgroute_assets.domain.stops import Stop
from sgroute_assets.domain.travel_times import estimate_matrix


def _day(sg_points, n=30):
    pts = sg_points.sample(n, random_state=17)
    stops = [
        Stop(stop_ref=f"O{i:02d}", row=i + 2, lat=float(lat), lon=float(lon), demand=1, service_time_min=12)
        for i, (lat, lon) in enumerate(zip(pts.lat, pts.lon, strict=True))
    ]
    ids = ["DEPOT"] + [s.stop_ref for s in stops]
    return stops, estimate_matrix(ids, np.r_[1.3354, [s.lat for s in stops]], np.r_[103.8879, [s.lon for s in stops]])


def _plan(sg_points, overtime: int, engine: str):
    stops, matrix = _day(sg_points)
    # One van, a 4-hour shift: 30 stops of 12 min do not fit; overtime lets it serve more.
    van = VehicleType("Van", 1, 100, 8 * 60, 12 * 60, 240, max_overtime_min=overtime, overtime_cost_per_hour=30)
    fleet = Fleet(depot_lat=1.3354, depot_lon=103.8879, types=(van,))
    return plan_routes(fleet, stops, matrix, SolverSettings(time_limit_s=1, engine=engine))


@pytest.mark.parametrize("engine", ["pyvrp", "ortools"])
def test_overtime_serves_more_within_its_limit_and_is_reported(sg_points, engine):
    regular = _plan(sg_points, 0, engine)
    extended = _plan(sg_points, 120, engine)
    (r0,), (r1,) = regular.routes, extended.routes
    assert r0.end_s <= 12 * 3600 and r0.overtime_s == 0 and "overtime_min" not in regular.totals()
    assert r1.end_s <= 14 * 3600 and r1.duration_s <= 360 * 60
    assert extended.stops_served > regular.stops_served
    assert r1.overtime_s == max(0, r1.duration_s - 240 * 60) > 0
    assert extended.totals()["overtime_min"] == round(r1.overtime_s / 60, 1)


def test_fleet_file_overtime_columns():
    default = VehicleType("Van", 4, 40, 8 * 60, 18 * 60, 600)
    ok = parse_fleet_file("f.csv", b"name,count,max_overtime_min,overtime_cost_per_hour\nVan,3,90,30\n", default)
    assert (ok.types[0].max_overtime_min, ok.types[0].overtime_cost_per_hour) == (90, 30.0) and not ok.issues
    bad = parse_fleet_file("f.csv", b"name,count,max_overtime_min\nVan,3,-5\n", default)
    assert bad.issues[0] == "f.csv, row 2, column max_overtime_min: '-5' is not a whole number of at least 0"
