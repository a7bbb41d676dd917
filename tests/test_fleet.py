"""The fleet model: vehicle types (file, config), priority, vehicles-first and paid time."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import time
from pathlib import Path

import dagster as dg
import numpy as np
import pypdf
import pytest
from sensor_ticks import stop_file_tick

from sgroute_assets.domain.exports import render_exports
from sgroute_assets.domain.exports.driver_csv import BREAK_REF, driver_csvs
from sgroute_assets.domain.exports.planner_csv import planner_csv
from sgroute_assets.domain.routing import (
    DepotPoint,
    Fleet,
    FleetError,
    ObjectiveWeights,
    SolverSettings,
    VehicleBreak,
    VehicleType,
    clock,
    parse_fleet_file,
    plan_routes,
)
from sgroute_assets.domain.routing.feasibility import ClaimedRoute, check_plan
from sgroute_assets.domain.routing.instance import VehicleSpec, VrptwInstance, instance_from_stops
from sgroute_assets.domain.routing.schedule import schedule_route
from sgroute_assets.domain.stops import Stop
from sgroute_assets.domain.travel_times import LegTiming, estimate_matrix, with_extra_nodes
from sgroute_resources.app_database import AppDatabase
from sgroute_resources.stop_file_store import LocalStopFileStore

DEPOT = (1.3354, 103.8879)
DEFAULT = VehicleType("Van", 4, 40, 480, 1080, 600, 30.0)
FAST = SolverSettings(time_limit_s=2)


def matrix_for(stops):
    ids = ["DEPOT"] + [s.stop_ref for s in stops]
    return estimate_matrix(ids, np.r_[DEPOT[0], [s.lat for s in stops]], np.r_[DEPOT[1], [s.lon for s in stops]])


def test_fleet_file_rows_and_columns_are_named_in_every_problem():
    data = (
        b"name,count,capacity,shift_start,shift_end,max_route_minutes,fixed_cost_min,break_minutes\n"
        b"Van,3,,,,,,\n"
        b"Lorry,two,100,07:00,25:99,,,\n"
        b",1,10,,,,,\n"
        b"Bike,1,-4,,,,x,\n"
        b"Van,1,10,,,,,\n"
        b"Late,1,10,19:00,09:00,,,\n"
        b"Tea,1,10,,,,,30\n"
    )
    out = parse_fleet_file("week12.fleet.csv", data, DEFAULT)
    text = "\n".join(out.issues)
    assert "week12.fleet.csv, row 3, column count: 'two' is not a whole number" in text
    assert "week12.fleet.csv, row 3, column shift_end: '25:99' is not a time of day" in text
    assert "week12.fleet.csv, row 4, column name: is required" in text
    assert "week12.fleet.csv, row 5, column capacity: '-4'" in text
    assert "week12.fleet.csv, row 5, column fixed_cost_min: 'x'" in text
    assert "vehicle type Van appears more than once" in text
    assert "week12.fleet.csv, row 7: Late: the shift must start before it ends" in text
    assert "week12.fleet.csv, row 8, column break_minutes: a break needs" in text
    assert not out.usable
    # The valid row took the default type's blanks.
    van = out.types[0]
    assert (van.name, van.count, van.capacity, van.shift_start_min, van.max_route_min) == ("Van", 3, 40, 480, 600)


def test_fleet_file_without_required_columns_is_refused():
    out = parse_fleet_file("x.fleet.csv", b"name,capacity,colour\nVan,10,red\n", DEFAULT)
    assert any("unknown columns colour" in i for i in out.issues)
    assert any("no count column" in i for i in out.issues)


def test_heterogeneous_fleet_respects_each_types_capacity_and_shift():
    rng = np.random.default_rng(5)
    stops = [
        Stop(
            f"S{i}",
            i + 2,
            lat=1.30 + rng.uniform(0, 0.06),
            lon=103.80 + rng.uniform(0, 0.1),
            demand=3,
            service_time_min=5,
        )
        for i in range(8)
    ]
    # Two heavy stops only the lorry carries; two afternoon stops only the lorry's shift reaches.
    stops += [Stop(f"H{i}", 20 + i, lat=1.32, lon=103.85 + 0.01 * i, demand=25, service_time_min=5) for i in range(2)]
    stops += [
        Stop(f"P{i}", 30 + i, lat=1.34, lon=103.86 + 0.01 * i, demand=2, tw_start_min=15 * 60, tw_end_min=16 * 60)
        for i in range(2)
    ]
    vans = VehicleType("Van", 2, 12, 8 * 60, 12 * 60, 240, 30.0)
    lorry = VehicleType("Lorry", 1, 60, 8 * 60, 18 * 60, 600, 60.0)
    fleet = Fleet(*DEPOT, types=(vans, lorry))
    plan = plan_routes(fleet, stops, matrix_for(stops), FAST)
    assert not plan.dropped
    by_type = {"Van": vans, "Lorry": lorry}
    assert sum(r.vehicle_type == "Lorry" for r in plan.routes) <= 1
    assert sum(r.vehicle_type == "Van" for r in plan.routes) <= 2
    for route in plan.routes:
        spec = by_type[route.vehicle_type]
        assert route.load <= spec.capacity
        assert spec.shift_start_min * 60 <= route.start_s and route.end_s <= spec.shift_end_min * 60
        assert route.duration_s <= spec.max_route_min * 60
        assert route.vehicle_name.startswith(route.vehicle_type)
    on_lorry = {v.stop.stop_ref for r in plan.routes if r.vehicle_type == "Lorry" for v in r.visits}
    assert {"H0", "H1", "P0", "P1"} <= on_lorry
    assert len({r.vehicle_name for r in plan.routes}) == len(plan.routes)


@pytest.mark.parametrize("engine", ["pyvrp", "ortools"])
def test_high_priority_stops_are_dropped_last(engine):
    # One vehicle carries two of four stops; the normal ones are nearer, so without priority they would stay.
    near = [Stop(f"N{i}", 2 + i, lat=1.336, lon=103.889 + 0.002 * i, demand=5) for i in range(2)]
    far = [Stop(f"F{i}", 4 + i, lat=1.42, lon=103.75 + 0.01 * i, demand=5, priority="high") for i in range(2)]
    stops = near + far
    fleet = Fleet(*DEPOT, vehicles=1, capacity=10, shift_start_min=480, shift_end_min=1080, max_route_min=600)
    plan = plan_routes(fleet, stops, matrix_for(stops), SolverSettings(time_limit_s=2, engine=engine))
    served = {v.stop.stop_ref for r in plan.routes for v in r.visits}
    assert served == {"F0", "F1"}
    assert {d.stop.stop_ref: d.reason for d in plan.dropped} == {"N0": "capacity", "N1": "capacity"}
    # The same stops without priority: the near ones are kept (so the test above is not an accident).
    plain = [Stop(s.stop_ref, s.row, lat=s.lat, lon=s.lon, demand=5) for s in stops]
    plan = plan_routes(fleet, plain, matrix_for(plain), SolverSettings(time_limit_s=2, engine=engine))
    assert {v.stop.stop_ref for r in plan.routes for v in r.visits} == {"N0", "N1"}


def morning_and_afternoon():
    return [
        Stop("AM", 2, lat=1.34, lon=103.88, tw_start_min=8 * 60, tw_end_min=9 * 60, service_time_min=10),
        Stop("PM", 3, lat=1.33, lon=103.90, tw_start_min=15 * 60, tw_end_min=16 * 60, service_time_min=10),
    ]


@pytest.mark.parametrize("engine", ["pyvrp", "ortools"])
def test_paid_time_splits_a_day_long_gap_and_vehicles_first_does_not(engine):
    stops = morning_and_afternoon()
    fleet = Fleet(
        *DEPOT,
        vehicles=2,
        capacity=10,
        shift_start_min=480,
        shift_end_min=1080,
        max_route_min=600,
        vehicle_fixed_cost_s=30 * 60,
    )
    settings = SolverSettings(time_limit_s=2, engine=engine)
    paid = plan_routes(fleet, stops, matrix_for(stops), settings)
    # Six hours of waiting cost more than a second vehicle: two short routes, no pointless gap.
    assert paid.vehicles_used == 2 and sum(r.wait_s for r in paid.routes) == 0
    first = plan_routes(fleet, stops, matrix_for(stops), settings, ObjectiveWeights(vehicles_first=True))
    assert first.vehicles_used == 1 and not first.dropped
    travel_only = plan_routes(fleet, stops, matrix_for(stops), settings, ObjectiveWeights(paid_time=0.0))
    assert travel_only.vehicles_used == 1  # without paid time the idle afternoon looks free


@pytest.fixture
def app_db(app_db_url: str) -> AppDatabase:
    return AppDatabase(url=app_db_url)


def test_fleet_file_is_no_partition_and_a_change_replans_its_stop_file(tmp_path, app_db, monkeypatch):
    monkeypatch.setenv("SGROUTE_INBOX_MIN_AGE_S", "0")  # the files are written whole before the first tick
    store = LocalStopFileStore(
        inbox=str(tmp_path / "inbox"), exports_dir=str(tmp_path / "exports"), quarantine_dir=str(tmp_path / "q")
    )
    inbox = Path(store.inbox)
    inbox.mkdir(parents=True)
    (inbox / "week12.csv").write_text("stop_ref,lat,lon\nA1,1.2862,103.8533\n")
    (inbox / "week12.fleet.csv").write_text("name,count,capacity\nVan,2,30\n")

    def tick(instance, cursor):
        return stop_file_tick(instance, store, app_db, cursor)

    with dg.instance_for_test() as instance:
        first = tick(instance, None)
        assert [r.partition_key for r in first.run_requests] == ["week12.csv"]
        assert instance.get_dynamic_partitions("stop_files") == ["week12.csv"]
        assert not Path(store.quarantine_dir).exists()
        (inbox / "week12.fleet.csv").write_text("name,count,capacity\nVan,3,30\n")
        os.utime(inbox / "week12.fleet.csv", ns=(time.time_ns() + 10**9,) * 2)
        changed = tick(instance, first.cursor)
        (rerun,) = changed.run_requests
        assert rerun.partition_key == "week12.csv" and rerun.tags["sgroute/fleet"] == "week12.fleet.csv"
        assert tick(instance, changed.cursor).run_requests == []


DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


def test_route_plan_uses_the_fleet_file_beside_the_stop_file(make_local_resources, app_db_url, tmp_path, materialise):
    resources = make_local_resources(app_db_url)
    name = "east_west_tight_windows.csv"
    shutil.copy(DEMO / name, tmp_path / "inbox" / name)
    (tmp_path / "inbox" / "east_west_tight_windows.fleet.csv").write_text(
        "name,count,capacity,max_route_minutes\nVan,3,30,480\nLorry,1,80,600\n"
    )
    fast = {"ops": {"route_plan": {"config": {"solver_time_limit_s": 2.0}}}}
    with dg.instance_for_test() as instance:
        result = materialise(instance, resources, name, fast)
        assert result.success
        plan = result.asset_value("route_plan")
        assert [t.name for t in plan.fleet.vehicle_types] == ["Van", "Lorry"] and plan.fleet.vehicles == 4
        assert {r.vehicle_type for r in plan.routes} <= {"Van", "Lorry"}
        for r in plan.routes:
            assert r.load <= (30 if r.vehicle_type == "Van" else 80)

        (tmp_path / "inbox" / "east_west_tight_windows.fleet.csv").write_text("name,count\nVan,zero\n")
        broken = materialise(instance, resources, name, fast)
        assert not broken.success
        failure = next(e for e in broken.all_events if e.event_type_value == "STEP_FAILURE")
        assert "east_west_tight_windows.fleet.csv, row 2, column count" in str(failure.event_specific_data.error)


# --- Own start/end depots and driver breaks ---------------------------------------------------------------

VAN_START, VAN_END = (1.3000, 103.8000), (1.3600, 103.9500)


def lunch_stops() -> list[Stop]:
    """A day around lunch: morning and afternoon windows on both sides of the island, two lorry-only loads."""
    rng = np.random.default_rng(11)
    stops = []
    for i in range(14):
        morning = i % 2 == 0
        stops.append(
            Stop(
                f"S{i}",
                i + 2,
                lat=1.29 + rng.uniform(0, 0.08),
                lon=103.76 + rng.uniform(0, 0.2),
                demand=2,
                service_time_min=10,
                tw_start_min=(9 if morning else 13) * 60,
                tw_end_min=(12 if morning else 16) * 60,
            )
        )
    # Heavy stops only the lorry carries, either side of its break window: its day runs through lunch.
    stops.append(Stop("H0", 20, lat=1.33, lon=103.86, demand=12, service_time_min=15, tw_start_min=600, tw_end_min=660))
    stops.append(Stop("H1", 21, lat=1.35, lon=103.90, demand=12, service_time_min=15, tw_start_min=810, tw_end_min=870))
    return stops


def lunch_fleet(breaks: bool = True) -> Fleet:
    van = VehicleType(
        "Van", 2, 10, 8 * 60, 18 * 60, 600, 30.0, *VAN_START, *VAN_END,
        break_=VehicleBreak(12 * 60, 13 * 60, 45) if breaks else None,
    )  # fmt: skip
    lorry_break = VehicleBreak(11 * 60 + 30, 12 * 60 + 30, 30) if breaks else None
    lorry = VehicleType("Lorry", 1, 34, 7 * 60, 17 * 60, 540, 60.0, break_=lorry_break)
    return Fleet(*DEPOT, types=(van, lorry))


def matrix_with_depots(fleet: Fleet, stops: list[Stop]):
    points = fleet.depot_points()
    ids = ["DEPOT"] + [s.stop_ref for s in stops] + [node for node, _ in points]
    lats = np.r_[DEPOT[0], [s.lat for s in stops], [p.lat for _, p in points]]
    lons = np.r_[DEPOT[1], [s.lon for s in stops], [p.lon for _, p in points]]
    return estimate_matrix(ids, lats, lons)


def claimed_routes(plan, fleet: Fleet, node_of: dict[str, int]) -> list[ClaimedRoute]:
    types = [t.name for t in fleet.vehicle_types]
    return [
        ClaimedRoute(
            visits=[node_of[v.stop.stop_ref] for v in r.visits],
            start=r.start_s,
            service_start=[v.service_start_s for v in r.visits],
            end=r.end_s,
            vehicle_type=types.index(r.vehicle_type),
            break_start=r.break_start_s,
        )
        for r in plan.routes
    ]


def assert_schedule_honours_fleet(plan, fleet: Fleet, matrix) -> int:
    """Every route's own numbers, re-derived here: capacity, shift, depots and legs, break. Returns the number
    of routes that took their break on the road."""
    by_name = {t.name: t for t in fleet.vehicle_types}
    index = {node: k for k, node in enumerate(matrix.node_ids)}
    on_road = 0
    for r in plan.routes:
        t = by_name[r.vehicle_type]
        assert r.load <= t.capacity
        assert t.shift_start_min * 60 <= r.start_s and r.end_s <= t.shift_end_min * 60
        assert r.duration_s <= t.max_route_min * 60
        start = index[t.start_node_id] if t.start_node_id else 0
        end = index[t.end_node_id] if t.end_node_id else 0
        assert plan.start_point(r) == fleet.start_point(t.name) == r.start_depot
        assert plan.end_point(r) == fleet.end_point(t.name) == r.end_depot
        first, last = index[r.visits[0].stop.stop_ref], index[r.visits[-1].stop.stop_ref]
        assert r.visits[0].travel_s == round(matrix.duration_s[start, first])
        assert r.return_travel_s == round(matrix.duration_s[last, end])
        brk = t.break_
        rest = 0 if r.break_start_s is None else r.break_end_s - r.break_start_s
        if r.break_after == len(r.visits):
            assert r.end_s == max(r.visits[-1].departure_s + r.return_travel_s, r.break_start_s) + rest
        else:
            assert r.end_s == r.visits[-1].departure_s + r.return_travel_s
        if r.break_after == 0:
            assert r.visits[0].service_start_s >= max(r.start_s + r.visits[0].travel_s, r.break_start_s) + rest
        else:
            assert r.visits[0].arrival_s == r.start_s + r.visits[0].travel_s
        if brk is None:
            assert r.break_start_s is None
            continue
        if r.break_start_s is None:
            # Off the road: back before the latest break start, or leaving after a break at the earliest start.
            assert r.end_s <= brk.latest_min * 60 or r.start_s >= (brk.earliest_min + brk.minutes) * 60
            continue
        on_road += 1
        assert brk.earliest_min * 60 <= r.break_start_s <= brk.latest_min * 60
        assert r.break_end_s - r.break_start_s == brk.minutes * 60
        assert r.start_s <= r.break_start_s and r.break_end_s <= r.end_s
        for k, v in enumerate(r.visits):
            assert v.departure_s <= r.break_start_s or v.service_start_s >= r.break_end_s, "break overlaps a visit"
            assert (v.departure_s <= r.break_start_s) == (k < r.break_after)
    return on_road


@pytest.mark.parametrize("engine", ["ortools", "pyvrp"])
def test_own_depots_capacity_shift_and_breaks_on_both_engines(engine):
    stops = lunch_stops()
    # PyVRP 0.14 has no breaks: it plans the same fleet's depots, capacities and shifts; auto takes OR-Tools
    # as soon as a break is in the fleet.
    fleet = lunch_fleet(breaks=engine == "ortools")
    matrix = matrix_with_depots(fleet, stops)
    assert matrix.node_ids[-2:] == ["depot:Van:start", "depot:Van:end"]
    plan = plan_routes(fleet, stops, matrix, SolverSettings(time_limit_s=3, engine=engine))
    assert plan.engine == engine and not plan.dropped
    node_of = {node: k for k, node in enumerate(matrix.node_ids)}
    inst = instance_from_stops(fleet, stops, matrix)
    assert check_plan(inst, claimed_routes(plan, fleet, node_of), []) == []
    on_road = assert_schedule_honours_fleet(plan, fleet, matrix)
    assert {r.vehicle_type for r in plan.routes} == {"Van", "Lorry"}
    assert {"H0", "H1"} <= {v.stop.stop_ref for r in plan.routes if r.vehicle_type == "Lorry" for v in r.visits}
    if engine == "ortools":
        assert on_road >= 1, "the lorry works through its break window and must break on the road"
        lorry = next(r for r in plan.routes if r.vehicle_type == "Lorry")
        assert lorry.break_start_s is not None
    else:
        with pytest.raises(ValueError, match="cannot plan driver breaks"):
            plan_routes(lunch_fleet(), stops, matrix_with_depots(lunch_fleet(), stops), SolverSettings(engine="pyvrp"))
    auto = plan_routes(lunch_fleet(), stops, matrix_with_depots(lunch_fleet(), stops), SolverSettings(time_limit_s=1))
    assert auto.engine == "ortools"


def test_a_matrix_without_the_fleets_depot_points_is_refused():
    stops = lunch_stops()
    with pytest.raises(FleetError, match="depot:Van:start"):
        instance_from_stops(lunch_fleet(), stops, matrix_for(stops))


def one_type_instance(break_window, minutes, legs=600, service=600, windows=None, end_point=False):
    """Depot, stops A and B, optionally an own end point E: every leg ``legs`` s, so the times are by hand."""
    ids = ["DEPOT", "A", "B"] + (["depot:Van:end"] if end_point else [])
    n = len(ids)
    travel = np.full((n, n), legs, dtype=np.int64)
    np.fill_diagonal(travel, 0)
    windows = windows or [(8 * 3600, 18 * 3600)] * 2
    spec = VehicleSpec(
        "Van", 1, 10, 8 * 3600, 18 * 3600, 10 * 3600, break_window=break_window, break_duration=minutes * 60,
        end_depot=3 if end_point else 0,
    )  # fmt: skip
    return VrptwInstance(
        node_ids=ids,
        travel=travel,
        distance=travel.astype(float),
        demand=[0, 1, 1] + [0] * end_point,
        service=[0, service, service] + [0] * end_point,
        tw_open=[8 * 3600] + [w[0] for w in windows] + [8 * 3600] * end_point,
        tw_close=[18 * 3600] + [w[1] for w in windows] + [18 * 3600] * end_point,
        vehicle_types=[spec],
        extra_depots=int(end_point),
    )


def test_schedule_places_the_break_by_hand_checked_times():
    h, m = 3600, 60
    # A at 11:00 sharp, B at 13:00 sharp, break window 11:30-12:30 for 30 min. The vehicle leaves at 10:50 (as
    # late as useful), reaches B at 11:20 and breaks there 11:30-12:00 while it would wait anyway: not waiting.
    inst = one_type_instance((11 * h + 30 * m, 12 * h + 30 * m), 30, windows=[(11 * h, 11 * h), (13 * h, 13 * h)])
    t = schedule_route(inst, [1, 2])
    assert (t.start, t.service_start, t.end) == (10 * h + 50 * m, [11 * h, 13 * h], 13 * h + 20 * m)
    assert (t.break_start, t.break_end, t.break_after) == (11 * h + 30 * m, 12 * h, 1)
    assert t.arrival[1] == 11 * h + 20 * m and t.waiting == [0, 100 * m - 30 * m]
    assert check_plan(inst, [ClaimedRoute([1, 2], t.start, t.service_start, t.end, 0, t.break_start)], []) == []
    # Back to back from 08:00 (A from 08:10), break window 08:30-08:40 for 20 min: breaking at B on arrival
    # (08:30) pushes B and the return by 20 minutes; breaking on the way back would end as late but later.
    inst = one_type_instance((8 * h + 30 * m, 8 * h + 40 * m), 20, windows=[(8 * h + 10 * m, 18 * h)] * 2)
    t = schedule_route(inst, [1, 2])
    assert (t.start, t.service_start, t.end) == (8 * h, [8 * h + 10 * m, 8 * h + 50 * m], 9 * h + 10 * m)
    assert (t.break_start, t.break_after) == (8 * h + 30 * m, 1)
    assert check_plan(inst, [ClaimedRoute([1, 2], t.start, t.service_start, t.end, 0, t.break_start)], []) == []
    # A morning route back before the latest break start takes no break on the road.
    inst = one_type_instance((12 * h, 13 * h), 45, windows=[(9 * h, 9 * h), (9 * h + 20 * m, 10 * h)])
    t = schedule_route(inst, [1, 2])
    assert t.break_start is None and t.end == 9 * h + 40 * m
    assert check_plan(inst, [ClaimedRoute([1, 2], t.start, t.service_start, t.end, 0)], []) == []
    # An own end point is the last node, not a stop, and the return leg goes there.
    inst = one_type_instance(None, 0, legs=900, end_point=True)
    inst.travel[2, 3] = 1500
    t = schedule_route(inst, [1, 2])
    assert t.end == t.departure[-1] + 1500 and list(inst.stop_nodes) == [1, 2]


def test_feasibility_check_catches_a_missing_misplaced_or_overlapping_break():
    h, m = 3600, 60
    inst = one_type_instance((11 * h + 30 * m, 12 * h + 30 * m), 30, windows=[(11 * h, 11 * h), (13 * h, 13 * h)])
    t = schedule_route(inst, [1, 2])

    def check(break_start):
        return " ".join(check_plan(inst, [ClaimedRoute([1, 2], t.start, t.service_start, t.end, 0, break_start)], []))

    assert check(t.break_start) == ""
    assert "takes no break" in check(None)
    assert "outside its window" in check(12 * h + 45 * m)
    assert "overlaps the visit to B" in check(12 * h + 45 * m)
    assert "overlaps the visit to A" in check(10 * h + 55 * m)
    # The gap holds the break but not the break and the leg: B is claimed before the vehicle can be there.
    inst = one_type_instance((8 * h + 25 * m, 9 * h), 30, windows=[(8 * h + 10 * m, 18 * h)] * 2)
    claimed = ClaimedRoute([1, 2], 8 * h, [8 * h + 10 * m, 8 * h + 57 * m], 9 * h + 17 * m, 0, 8 * h + 25 * m)
    assert any("before arrival at 32400" in p for p in check_plan(inst, [claimed], []))
    # A break claimed by a type that has none.
    inst = one_type_instance(None, 0)
    t = schedule_route(inst, [1, 2])
    claimed = ClaimedRoute([1, 2], t.start, t.service_start, t.end, 0, t.end)
    assert any("has none" in p for p in check_plan(inst, [claimed], []))


def test_fleet_file_with_depots_and_breaks_through_route_plan(make_local_resources, app_db_url, tmp_path, materialise):
    resources = make_local_resources(app_db_url)
    name = "east_west_tight_windows.csv"
    shutil.copy(DEMO / name, tmp_path / "inbox" / name)
    west, east = (1.3332, 103.7435), (1.3525, 103.9449)
    (tmp_path / "inbox" / "east_west_tight_windows.fleet.csv").write_text(
        "name,count,capacity,max_route_minutes,start_lat,start_lon,end_lat,end_lon,break_earliest,break_latest,"
        "break_minutes\n"
        f"West,2,30,600,{west[0]},{west[1]},{west[0]},{west[1]},12:00,13:30,30\n"
        f"East,2,30,600,{east[0]},{east[1]},,,12:00,13:30,30\n"
    )
    fast = {"ops": {"route_plan": {"config": {"solver_time_limit_s": 3.0}}}}
    with dg.instance_for_test() as instance:
        result = materialise(instance, resources, name, fast)
        assert result.success
        plan = result.asset_value("route_plan")
        assert plan.engine == "ortools"  # breaks: auto takes OR-Tools
        assert [t.name for t in plan.fleet.vehicle_types] == ["West", "East"]
        assert plan.fleet.vehicle_types[0].break_.minutes == 30
        for r in plan.routes:
            own = DepotPoint(f"{r.vehicle_type} start", *(west if r.vehicle_type == "West" else east))
            assert plan.start_point(r) == own
            expected_end = own if r.vehicle_type == "West" else plan.fleet.depot
            assert plan.end_point(r) == (DepotPoint("West end", *west) if r.vehicle_type == "West" else expected_end)
            if r.break_start_s is not None:
                assert 12 * 3600 <= r.break_start_s <= 13.5 * 3600 and r.break_end_s - r.break_start_s == 1800
            else:
                assert r.end_s <= 13.5 * 3600 or r.start_s >= 12.5 * 3600
        with_break = [r for r in plan.routes if r.break_start_s is not None]
        assert with_break, "a day of stops from 07:00 to 17:00 keeps some driver on the road over lunch"
        route = with_break[0]
        rows = read_driver_csv(driver_csvs(plan)[route.vehicle_id])
        (brk,) = [row for row in rows if row["stop_ref"] == BREAK_REF]
        assert (brk["eta"], brk["departure"]) == (clock(route.break_start_s), clock(route.break_end_s))
        assert brk["address"] == "Driver break (30 min)"
        refs = [row["stop_ref"] for row in rows]
        assert refs.index(BREAK_REF) == route.break_after + 1  # after the depot row and the visits before it
        assert rows[0]["address"] == plan.start_point(route).name
        assert rows[-1]["address"] == plan.end_point(route).name
        planner = [row for row in read_driver_csv(planner_csv(plan)) if row["stop_ref"] == BREAK_REF]
        assert len(planner) == len(with_break)
        mine = next(row for row in planner if row["vehicle"] == route.vehicle_id)
        assert (mine["eta"], mine["departure"], mine["address"]) == (
            clock(route.break_start_s), clock(route.break_end_s), "Driver break (30 min)",
        )  # fmt: skip
        assert mine["plan_id"] == plan.plan_id and mine["tw2_start"] == mine["late_min"] == ""
        # The other timeline exports show the break and the route's own depots too.
        files = render_exports(plan)
        geo = json.loads(files["routes.geojson"])
        line = next(f for f in geo["features"] if f["properties"].get("vehicle") == route.vehicle_id)
        assert line["properties"]["break_start"] == clock(route.break_start_s)
        assert line["properties"]["start_depot"] == plan.start_point(route).name
        start = plan.start_point(route)
        assert line["geometry"]["coordinates"][0] == [round(start.lon, 6), round(start.lat, 6)]
        assert {"West start", "West end", "East start"} <= {
            f["properties"]["name"] for f in geo["features"] if f["properties"]["kind"] == "depot"
        }
        pdf = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(files["driver_pack.pdf"])).pages)
        assert "Driver break, 30 min" in pdf and f"Start at {start.name}" in " ".join(pdf.split())
        html = files["route_map.html"].decode()
        assert f"break {clock(route.break_start_s)}-{clock(route.break_end_s)}" in html and "depot · West start" in html


def read_driver_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_a_stop_only_the_break_keeps_off_is_dropped_for_the_break():
    # Served 12:00-12:10 at the latest, while the only driver must start a 30 min break between 12:00 and 12:05:
    # the stop and the break cannot both happen. A second type without a break could serve it.
    stop = Stop("LUNCH", 2, lat=1.336, lon=103.889, service_time_min=10, tw_start_min=12 * 60, tw_end_min=12 * 60 + 10)
    van = VehicleType("Van", 1, 10, 8 * 60, 18 * 60, 600, 30.0, break_=VehicleBreak(12 * 60, 12 * 60 + 5, 30))
    plan = plan_routes(Fleet(*DEPOT, types=(van,)), [stop], matrix_for([stop]), FAST)
    assert [(d.stop.stop_ref, d.reason) for d in plan.dropped] == [("LUNCH", "driver_break")]
    assert "30 min break" in plan.dropped[0].message
    bike = VehicleType("Bike", 1, 10, 8 * 60, 18 * 60, 600, 30.0)
    plan = plan_routes(Fleet(*DEPOT, types=(van, bike)), [stop], matrix_for([stop]), FAST)
    assert not plan.dropped and plan.routes[0].vehicle_type == "Bike"


def test_extra_depot_nodes_keep_the_matrix_cells_and_come_from_the_same_source():
    stops = lunch_stops()[:5]
    base = matrix_for(stops)
    base.duration_s[1, 2] = 1234.0  # as if OneMap had answered this pair: it must survive the extension
    base.timing = LegTiming(480, 1080, service_min=(0, 10, 10, 10, 10, 10), tw_start_min=(None,) * 6,
                            tw_end_min=(None,) * 6)  # fmt: skip
    asked = []

    def build(ids, lats, lons, timing):
        asked.append((ids, timing))
        return estimate_matrix(ids, lats, lons)

    points = lunch_fleet().depot_points()
    out = with_extra_nodes(base, [n for n, _ in points], [p.lat for _, p in points], [p.lon for _, p in points], build)
    assert out.node_ids == base.node_ids + ["depot:Van:start", "depot:Van:end"]
    assert out.duration_s[1, 2] == 1234.0 and np.array_equal(out.duration_s[:6, :6], base.duration_s)
    fresh = estimate_matrix(out.node_ids, out.lats, out.lons)
    assert np.array_equal(out.duration_s[6:, :], fresh.duration_s[6:, :])
    assert np.array_equal(out.duration_s[:, 6:], fresh.duration_s[:, 6:])
    ((ids, timing),) = asked
    assert timing.service_min[-2:] == (0, 0) and len(timing.tw_end_min) == 8 and out.timing is base.timing
    assert out.provenance["extra_nodes"]["nodes"] == ["depot:Van:start", "depot:Van:end"]


def test_route_numbers_are_the_fleets_vehicle_numbers_even_with_vehicles_left_unused():
    """Van x 3 then a Lorry: a plan with one van and the lorry calls them V01 and V04 (Lorry), the numbers a
    planner's sequence file uses, so "V04" on an export and in a sequence file is the same vehicle."""
    # Only the lorry carries the 50; the 20 no longer fits on it, so one van goes too.
    stops = [Stop("BIG", 2, lat=1.30, lon=103.85, demand=50), Stop("SMALL", 3, lat=1.31, lon=103.85, demand=20)]
    vans = VehicleType("Van", 3, 30, 480, 1080, 600, 30.0)
    lorry = VehicleType("Lorry", 1, 60, 480, 1080, 600, 30.0)
    plan = plan_routes(Fleet(*DEPOT, types=(vans, lorry)), stops, matrix_for(stops), FAST)
    assert not plan.dropped
    by_id = {r.vehicle_id: (r.vehicle_name, [v.stop.stop_ref for v in r.visits]) for r in plan.routes}
    assert by_id == {"V01": ("Van 1", ["SMALL"]), "V04": ("Lorry", ["BIG"])}
