"""A second time window (issue 19): "09:00-11:00 or 14:00-16:00". A stop is served in one of its windows by both
engines (PyVRP client groups, OR-Tools a removed interval), the schedule and the independent check know both,
and the columns are validated by row and column."""

from __future__ import annotations

import numpy as np
import pytest

from sgroute_assets.domain.routing import Fleet, SolverSettings, plan_routes
from sgroute_assets.domain.routing.feasibility import ClaimedRoute, check_plan
from sgroute_assets.domain.routing.instance import instance_from_stops
from sgroute_assets.domain.stops import Stop, validate_file
from sgroute_assets.domain.travel_times import estimate_matrix


def _day(sg_points):
    pts = sg_points.sample(12, random_state=21)
    stops = []
    for i, (lat, lon) in enumerate(zip(pts.lat, pts.lon, strict=True)):
        if i < 6:  # morning window closed before any van can arrive: only the afternoon one is possible
            tw = dict(tw_start_min=6 * 60, tw_end_min=6 * 60 + 30, tw2_start_min=14 * 60, tw2_end_min=16 * 60)
        else:
            tw = dict(tw_start_min=9 * 60, tw_end_min=11 * 60, tw2_start_min=14 * 60, tw2_end_min=16 * 60)
        stops.append(Stop(stop_ref=f"T{i:02d}", row=i + 2, lat=float(lat), lon=float(lon), demand=1,
                          service_time_min=5, **tw))  # fmt: skip
    fleet = Fleet(depot_lat=1.3354, depot_lon=103.8879, vehicles=2, capacity=40, shift_start_min=8 * 60,
                  shift_end_min=18 * 60, max_route_min=600)  # fmt: skip
    ids = ["DEPOT"] + [s.stop_ref for s in stops]
    matrix = estimate_matrix(ids, np.r_[1.3354, [s.lat for s in stops]], np.r_[103.8879, [s.lon for s in stops]])
    return fleet, stops, matrix


@pytest.mark.parametrize("engine", ["pyvrp", "ortools"])
def test_every_stop_is_served_in_one_of_its_windows(sg_points, engine):
    fleet, stops, matrix = _day(sg_points)
    plan = plan_routes(fleet, stops, matrix, SolverSettings(time_limit_s=1, engine=engine))
    assert not plan.dropped and plan.stops_served == 12
    for route in plan.routes:
        for v in route.visits:
            s, at = v.stop, v.service_start_s // 60
            assert s.tw_start_min <= at <= s.tw_end_min or s.tw2_start_min <= at <= s.tw2_end_min, (s.stop_ref, at)
            if int(s.stop_ref[1:]) < 6:
                assert at >= 14 * 60


def test_the_check_refuses_service_between_the_windows(sg_points):
    fleet, stops, matrix = _day(sg_points)
    inst = instance_from_stops(fleet, stops, matrix)
    between = ClaimedRoute(visits=[7], start=8 * 3600, service_start=[12 * 3600], end=13 * 3600)
    problems = check_plan(inst, [between], [n for n in inst.stop_nodes if n != 7])
    assert any("outside its window 32400-39600 or 50400-57600" in p for p in problems)


def test_second_window_columns_are_validated():
    report = validate_file(
        "s.csv",
        b"stop_ref,lat,lon,tw_start,tw_end,tw2_start,tw2_end\n"
        b"A,1.30,103.85,09:00,11:00,14:00,16:00\n"
        b"B,1.31,103.85,09:00,11:00,10:30,12:00\n"
        b"C,1.32,103.85,,,14:00,16:00\n"
        b"D,1.33,103.85,09:00,11:00,14:00,\n",
    )
    (a,) = report.valid_stops
    assert (a.tw2_start_min, a.tw2_end_min) == (14 * 60, 16 * 60)
    assert {(i.row, i.column) for i in report.issues} == {(3, "tw2_start"), (4, "tw2_start"), (5, "tw2_end")}
