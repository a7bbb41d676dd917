"""The fleet model: vehicle types (file, config), priority, vehicles-first and paid time."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from sgroute_assets.definitions import defs
from sgroute_assets.domain.fleet import Fleet, VehicleType
from sgroute_assets.domain.fleet_file import parse_fleet_file
from sgroute_assets.domain.route_plan import plan_routes
from sgroute_assets.domain.stop_schema import Stop
from sgroute_assets.domain.travel_time import estimate_matrix
from sgroute_assets.domain.vrptw_instance import ObjectiveWeights
from sgroute_assets.domain.vrptw_model import SolverSettings
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
        context = dg.build_sensor_context(
            instance=instance,
            instance_ref=instance.get_ref(),
            cursor=cursor,
            resources={"stop_file_store": store, "app_db": app_db},
            definitions=defs,
        )
        result = defs.resolve_sensor_def("stop_file_sensor").evaluate_tick(context)
        for request in result.dynamic_partitions_requests or []:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        return result

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
