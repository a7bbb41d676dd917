"""Loads in several units (issue 19): parcels (demand's synonym), kilograms and litres on stops, each a capacity
of the fleet; every unit a file uses is enforced by both engines and the independent check, a drop names the unit
that is over, files without them plan as before, and the fleet file's new columns report errors by row and column."""

from __future__ import annotations

import numpy as np
import pytest

from sgroute_assets.domain.routing import Fleet, SolverSettings, VehicleType, plan_routes
from sgroute_assets.domain.routing.feasibility import ClaimedRoute, check_plan
from sgroute_assets.domain.routing.fleet_file import parse_fleet_file
from sgroute_assets.domain.routing.instance import instance_from_stops
from sgroute_assets.domain.stops import Stop, validate_file
from sgroute_assets.domain.travel_times import estimate_matrix


def _stops(sg_points, n=16, weight=30.5, volume=None):
    pts = sg_points.sample(n, random_state=13)
    return [
        Stop(stop_ref=f"W{i:02d}", row=i + 2, lat=float(lat), lon=float(lon), demand=1, service_time_min=5,
             weight_kg=weight, volume_l=volume)
        for i, (lat, lon) in enumerate(zip(pts.lat, pts.lon, strict=True))
    ]  # fmt: skip


def _matrix(stops):
    ids = ["DEPOT"] + [s.stop_ref for s in stops]
    return estimate_matrix(ids, np.r_[1.3354, [s.lat for s in stops]], np.r_[103.8879, [s.lon for s in stops]])


def test_stop_columns_parcels_weight_and_volume():
    report = validate_file(
        "s.csv",
        b"stop_ref,lat,lon,parcels,weight_kg,volume_l\nA,1.30,103.85,3,12.5,40\nB,1.31,103.85,,-2,\n"
        b"C,1.32,103.85,2,,lots\n",
    )
    (a,) = report.valid_stops
    assert (a.demand, a.weight_kg, a.volume_l) == (3, 12.5, 40.0)
    assert {(i.row, i.column) for i in report.issues} == {(3, "weight_kg"), (4, "volume_l")}
    clash = validate_file("s.csv", b"stop_ref,lat,lon,demand,parcels\nA,1.30,103.85,2,3\n")
    assert [(i.row, i.column) for i in clash.issues] == [(2, "parcels")]


@pytest.mark.parametrize("engine", ["pyvrp", "ortools"])
def test_kilograms_are_enforced_and_a_drop_names_them(sg_points, engine):
    stops = _stops(sg_points)  # 16 x 30.5 kg = 488 kg; parcels are no constraint (16 of 2 x 40)
    van = VehicleType("Van", 2, 40, 8 * 60, 18 * 60, 600, capacity_weight_kg=100.0)
    fleet = Fleet(depot_lat=1.3354, depot_lon=103.8879, types=(van,))
    plan = plan_routes(fleet, stops, _matrix(stops), SolverSettings(time_limit_s=1, engine=engine))
    for route in plan.routes:
        assert sum(v.stop.weight_kg for v in route.visits) <= 100.0
    assert plan.stops_served == 6 and len(plan.dropped) == 10  # three stops of 30.5 kg per van
    assert all(d.reason == "capacity" and "kg" in d.message for d in plan.dropped)


def test_a_stop_heavier_than_any_van_and_the_check(sg_points):
    stops = _stops(sg_points, n=3, weight=None, volume=None)
    stops[0] = Stop(**{**stops[0].__dict__, "volume_l": 900.0})
    stops[1] = Stop(**{**stops[1].__dict__, "volume_l": 10.0})
    van = VehicleType("Van", 1, 40, 8 * 60, 18 * 60, 600, capacity_volume_l=500.0)
    fleet = Fleet(depot_lat=1.3354, depot_lon=103.8879, types=(van,))
    plan = plan_routes(fleet, stops, _matrix(stops), SolverSettings(time_limit_s=1))
    (big,) = plan.dropped
    assert big.stop.stop_ref == "W00" and big.reason == "capacity" and "900 L of 500 L" in big.message
    inst = instance_from_stops(fleet, stops, _matrix(stops))
    assert inst.load_names == ("volume_l",) and inst.loads[0][1] == 9000  # tenths of a litre
    route = ClaimedRoute(visits=[1, 2, 3], start=8 * 3600, service_start=[8 * 3600] * 3, end=8 * 3600)
    assert any("volume_l load 9100 exceeds capacity 5000" in p for p in check_plan(inst, [route], []))


def test_files_without_the_new_columns_have_no_new_dimensions(sg_points):
    stops = _stops(sg_points, n=4, weight=None)
    fleet = Fleet(depot_lat=1.3354, depot_lon=103.8879, vehicles=1, capacity=40, shift_start_min=480,
                  shift_end_min=1080, max_route_min=600)  # fmt: skip
    inst = instance_from_stops(fleet, stops, _matrix(stops))
    assert inst.load_names == () and inst.loads == [] and inst.vehicle_types[0].load_capacity == ()


def test_fleet_file_load_columns_and_their_errors():
    default = VehicleType("Van", 4, 40, 8 * 60, 18 * 60, 600)
    ok = parse_fleet_file(
        "f.csv", b"name,count,capacity_parcels,capacity_weight_kg,capacity_volume_l\nVan,3,30,800,2500.5\n", default
    )
    (t,) = ok.types
    assert (t.capacity, t.capacity_weight_kg, t.capacity_volume_l) == (30, 800.0, 2500.5) and not ok.issues
    bad = parse_fleet_file("f.csv", b"name,count,capacity_weight_kg,capacity,capacity_parcels\nVan,3,heavy,20,30\n",
                           default)  # fmt: skip
    assert "f.csv, row 2, column capacity_weight_kg: 'heavy' is not an amount (a number of 0 or more)" in bad.issues
    assert any("column capacity_parcels: 30 differs from capacity 20" in i for i in bad.issues)
