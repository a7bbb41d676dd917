"""Resequence evaluation: a planner's fixed order is timed as given and its violations reported, not refused."""

from __future__ import annotations

import csv
import io
import math
import shutil
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
from sensor_ticks import stop_file_tick

from sgroute_assets.domain.routing import (
    Fleet,
    RoutePlan,
    SequenceError,
    SolverSettings,
    VehicleType,
    clock,
    plan_with_sequence,
)
from sgroute_assets.domain.routing.feasibility import ClaimedRoute, check_plan
from sgroute_assets.domain.routing.instance import instance_from_stops
from sgroute_assets.domain.routing.resequence import (
    NO_FREE_VEHICLE,
    FixedRoute,
    parse_sequence_file,
    sequence_from_config,
    vehicle_slots,
)
from sgroute_assets.domain.stops import Stop
from sgroute_assets.domain.travel_times import estimate_matrix

DEPOT = (1.3354, 103.8879)
FAST = SolverSettings(time_limit_s=1)
DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


def matrix_for(stops):
    ids = ["DEPOT"] + [s.stop_ref for s in stops]
    return estimate_matrix(ids, np.r_[DEPOT[0], [s.lat for s in stops]], np.r_[DEPOT[1], [s.lon for s in stops]])


def vans(count=3, capacity=20, shift=(480, 1080), max_route=600) -> Fleet:
    return Fleet(*DEPOT, types=(VehicleType("Van", count, capacity, shift[0], shift[1], max_route),))


def scattered(n=10, seed=3, **kw) -> list[Stop]:
    rng = np.random.default_rng(seed)
    return [
        Stop(f"S{i}", i + 2, lat=1.30 + rng.uniform(0, 0.06), lon=103.80 + rng.uniform(0, 0.1), **kw) for i in range(n)
    ]


def slot(fleet: Fleet, vehicle_id: str):
    return next(s for s in vehicle_slots(fleet) if s.vehicle_id == vehicle_id)


def route_of(plan: RoutePlan, vehicle_id: str):
    return next(r for r in plan.routes if r.vehicle_id == vehicle_id)


# --- the file and the config ---------------------------------------------------------------------------------


def test_sequence_file_problems_name_file_row_and_column():
    fleet = Fleet(
        *DEPOT, types=(VehicleType("Van", 2, 20, 480, 1080, 600), VehicleType("Lorry", 1, 60, 480, 1080, 600))
    )
    data = (
        b"vehicle,stop_ref,position\n"
        b"Van 1,S1,1\n"
        b"Bus 9,S2,1\n"  # row 3: no such vehicle
        b"V01,S99,2\n"  # row 4: no such stop
        b"Van 1,S1,3\n"  # row 5: same stop twice on one route
        b"Lorry,S3,1\n"
        b"V02,S3,1\n"  # row 7: a stop on two routes
        b"Van 1,S4,two\n"  # row 8: position not a number
        b"Van 1,S5,1.5\n"  # row 9: not a whole number
        b"V1,S6,1\n"  # row 10: Van 1's position 1 is taken (V1 = Van 1)
        b",S7,4\n"  # row 11: vehicle missing
        b"Van 2,S0,1\n"  # row 12: invalid in the stop file
    )
    out = parse_sequence_file(
        "week12.sequence.csv", data, fleet, [f"S{i}" for i in range(1, 8)], not_routable={"S0": "invalid row"}
    )
    text = "\n".join(out.issues)
    assert "week12.sequence.csv, row 3, column vehicle: unknown vehicle 'Bus 9'" in text
    assert "V01 · Van 1, V02 · Van 2, V03 · Lorry" in text  # the message says what the fleet has
    assert "week12.sequence.csv, row 4, column stop_ref: unknown stop_ref 'S99'" in text
    assert (
        "week12.sequence.csv, row 5, column stop_ref: stop S1 is given twice (also week12.sequence.csv, row 2)" in text
    )
    assert (
        "week12.sequence.csv, row 7, column stop_ref: stop S3 is already on V03 · Lorry's route "
        "(week12.sequence.csv, row 6); a stop can be on one route only" in text
    )
    assert "week12.sequence.csv, row 8, column position: 'two' is not a whole number" in text
    assert "week12.sequence.csv, row 9, column position: '1.5' is not a whole number" in text
    assert (
        "week12.sequence.csv, row 10, column position: position 1 of V01 · Van 1 is already taken "
        "(week12.sequence.csv, row 2)" in text
    )
    assert "week12.sequence.csv, row 11, column vehicle: is required" in text
    assert "week12.sequence.csv, row 12, column stop_ref: stop S0 cannot be routed (invalid row)" in text
    assert len(out.issues) == 10 and not out.routes and not out.usable


def test_sequence_file_header_must_have_the_three_columns():
    out = parse_sequence_file("x.sequence.csv", b"vehicle,stop,order\nV01,S1,1\n", vans(), ["S1"])
    assert "x.sequence.csv: unknown columns stop, order (expected vehicle, stop_ref, position)" in out.issues
    assert "x.sequence.csv: the header has no stop_ref column" in out.issues
    assert "x.sequence.csv: the header has no position column" in out.issues


def test_vehicle_by_number_or_name_and_positions_order_the_stops(tmp_path):
    import openpyxl

    fleet = vans(3)
    book = openpyxl.Workbook()
    sheet = book.active
    for row in [("Vehicle", "Stop_Ref", "Position"), ("van 2", "S3", 10), ("V02", "S1", 2), ("v2", "S2", 5),
                ("Van 3", "S4", 1)]:  # fmt: skip
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    out = parse_sequence_file("x.sequence.xlsx", buf.getvalue(), fleet, ["S1", "S2", "S3", "S4"])
    assert out.usable, out.issues
    assert [(f.slot.vehicle_id, f.slot.name, f.stop_refs) for f in out.routes] == [
        ("V02", "Van 2", ("S1", "S2", "S3")),
        ("V03", "Van 3", ("S4",)),
    ]

    # A formula Excel never calculated is not a position: named by row and column, nothing used.
    sheet.append(("Van 1", "S5", "=B2+1"))
    buf = io.BytesIO()
    book.save(buf)
    out = parse_sequence_file("x.sequence.xlsx", buf.getvalue(), fleet, ["S1", "S2", "S3", "S4", "S5"])
    assert [i.split(":")[0] for i in out.issues] == ["x.sequence.xlsx, row 6, column position"] and not out.routes


def test_config_sequence_problems_and_order():
    fleet = vans(2)
    good = sequence_from_config([("Van 2", ["S3", "S1"])], fleet, ["S1", "S2", "S3"])
    assert good.usable and good.routes == [FixedRoute(slot(fleet, "V02"), ("S3", "S1"))]
    bad = sequence_from_config(
        [("Van 9", ["S1", "S2"]), ("V01", ["S3", "S3"]), ("Van 1", ["S2"]), ("V02", [])], fleet, ["S1", "S2", "S3"]
    )
    text = "\n".join(bad.issues)
    assert text.count("config sequence[0], vehicle: unknown vehicle 'Van 9'") == 1  # once, not once per stop
    assert "config sequence[1], stops[1]: stop S3 is given twice" in text
    assert "config sequence[2], vehicle: V01 · Van 1 is already given at config sequence[1]" in text
    assert "config sequence[3], stops: vehicle 'V02' has no stops" in text
    assert not bad.routes


# --- timing and evaluation -----------------------------------------------------------------------------------


def test_fixed_route_is_timed_exactly_in_the_given_order():
    stops = scattered(6, service_time_min=7, tw_start_min=9 * 60, tw_end_min=17 * 60)
    fleet = vans(2)
    matrix = matrix_for(stops)
    order = ("S4", "S0", "S5", "S2")
    plan = plan_with_sequence(fleet, stops, matrix, [FixedRoute(slot(fleet, "V01"), order)], FAST)
    route = route_of(plan, "V01")
    assert tuple(v.stop.stop_ref for v in route.visits) == order
    assert [v.sequence for v in route.visits] == [1, 2, 3, 4]
    travel = np.rint(matrix.duration_s).astype(int)
    index = {ref: i for i, ref in enumerate(matrix.node_ids)}
    # Every ETA is the departure plus the travel, waiting and service before it, from the matrix itself.
    elapsed, prev = 0, 0
    for visit in route.visits:
        node = index[visit.stop.stop_ref]
        elapsed += int(travel[prev, node])
        assert visit.travel_s == int(travel[prev, node])
        assert visit.arrival_s == route.start_s + elapsed
        assert visit.service_start_s == max(visit.arrival_s, visit.stop.tw_start_min * 60)
        elapsed += visit.wait_s + visit.stop.service_time_min * 60
        assert visit.departure_s == route.start_s + elapsed
        prev = node
    assert route.end_s == route.start_s + elapsed + int(travel[prev, 0])
    # Windows open at 09:00 and the shift at 08:00: the van leaves late enough not to wait at the first stop.
    assert route.start_s > 480 * 60 and route.visits[0].wait_s == 0
    assert route.visits[0].service_start_s == 9 * 60 * 60
    assert not plan.violations and all(not v.violations for v in route.visits)


def test_a_fixed_order_that_makes_a_stop_late_is_kept_and_its_lateness_reported_in_minutes():
    early = Stop("EARLY", 2, lat=1.36, lon=103.95, tw_start_min=8 * 60, tw_end_min=8 * 60 + 30, service_time_min=5)
    slow = Stop("SLOW", 3, lat=1.30, lon=103.80, service_time_min=45)
    stops = [early, slow]
    fleet = vans(2)
    matrix = matrix_for(stops)
    plan = plan_with_sequence(fleet, stops, matrix, [FixedRoute(slot(fleet, "V01"), ("SLOW", "EARLY"))], FAST)
    route = route_of(plan, "V01")
    assert [v.stop.stop_ref for v in route.visits] == ["SLOW", "EARLY"]  # not re-optimised
    travel = np.rint(matrix.duration_s).astype(int)
    arrive_early = 480 * 60 + travel[0, 2] + 45 * 60 + travel[2, 1]  # leaves at 08:00: waiting cannot help
    late_min = math.ceil((arrive_early - (8 * 60 + 30) * 60) / 60)
    assert late_min > 30
    first, second = route.visits
    assert route.start_s == 480 * 60 and second.service_start_s == arrive_early
    assert first.violations == []
    (late,) = second.violations
    assert late.startswith(f"late by {late_min} min: service starts ")
    assert late.endswith("the window closes at 08:30")
    assert plan.violations == [f"V01 · Van 1 #2 EARLY: {late}"]
    assert plan.stops_served == 2 and not plan.dropped


def test_capacity_and_shift_violations_are_reported_at_the_stops_that_break_them():
    stops = [Stop(f"C{i}", i + 2, lat=1.33 + 0.01 * i, lon=103.86, demand=8, service_time_min=40) for i in range(3)]
    fleet = Fleet(*DEPOT, types=(VehicleType("Van", 2, 20, 8 * 60, 10 * 60, 100),))
    matrix = matrix_for(stops)
    order = ("C0", "C1", "C2")
    plan = plan_with_sequence(fleet, stops, matrix, [FixedRoute(slot(fleet, "V02"), order)], FAST)
    route = route_of(plan, "V02")
    a, b, c = route.visits
    # 24 units on a 20-unit van: the third stop is the one that does not fit.
    assert not any("capacity" in v for v in a.violations + b.violations)
    assert "over capacity: 24 units loaded up to this stop, the Van carries 20" in c.violations
    # Three 40-minute stops do not fit a shift ending at 10:00, nor a 100-minute route.
    travel = np.rint(matrix.duration_s).astype(int)
    assert route.end_s == route.start_s + sum(travel[p, n] for p, n in [(0, 1), (1, 2), (2, 3), (3, 0)]) + 120 * 60
    past = [v for v in route.visits if any(x.startswith("past the shift") for x in v.violations)]
    longer = [v for v in route.visits if any(x.startswith("over the maximum route") for x in v.violations)]
    assert c in past and c in longer and a not in past and a not in longer
    assert f"past the shift: back at the depot at {clock(route.end_s)}, the shift ends at 10:00" in c.violations
    # Flagged exactly where the soonest return from the stop is past 10:00 (or over 100 minutes).
    for node, v in enumerate(route.visits, start=1):
        back = v.departure_s + int(travel[node, 0])
        assert (v in past) == (back > 10 * 3600) and (v in longer) == (back - route.start_s > 100 * 60)
    assert all(line.startswith("V02 · Van 2 #") for line in plan.violations)
    assert len(plan.violations) == sum(len(v.violations) for v in route.visits)

    # The independent check agrees the route is infeasible; the planner's plan is still returned.
    inst = instance_from_stops(fleet, stops, matrix)
    claimed = ClaimedRoute([1, 2, 3], route.start_s, [v.service_start_s for v in route.visits], route.end_s)
    problems = check_plan(inst, [claimed], [])
    assert any("exceeds capacity" in p for p in problems) and any("after the shift ends" in p for p in problems)


def test_the_other_stops_are_optimised_on_the_other_vehicles_and_feasible():
    stops = scattered(12, demand=4, service_time_min=6, tw_start_min=8 * 60, tw_end_min=13 * 60)
    fleet = vans(3, capacity=16)
    matrix = matrix_for(stops)
    # A silly order (it crosses the area twice) for Van 2, with a stop that becomes late.
    fixed = [FixedRoute(slot(fleet, "V02"), ("S0", "S7", "S3", "S9"))]
    plan = plan_with_sequence(fleet, stops, matrix, fixed, SolverSettings(time_limit_s=2))
    v02 = route_of(plan, "V02")
    assert [v.stop.stop_ref for v in v02.visits] == ["S0", "S7", "S3", "S9"]
    others = [r for r in plan.routes if r.vehicle_id != "V02"]
    served = {v.stop.stop_ref for r in others for v in r.visits}
    assert served == {s.stop_ref for s in stops} - {"S0", "S7", "S3", "S9"}  # 8 stops, 2 vans of 16: all fit
    assert not plan.dropped
    assert {r.vehicle_id for r in others} <= {"V01", "V03"}
    assert {(r.vehicle_id, r.vehicle_name) for r in plan.routes} <= {("V01", "Van 1"), ("V02", "Van 2"),
                                                                     ("V03", "Van 3")}  # fmt: skip
    for r in others:
        assert r.load <= 16 and all(not v.violations for v in r.visits)
        assert all(v.service_start_s <= v.stop.tw_end_min * 60 for v in r.visits)
    # Checked independently: the optimised routes are feasible in the full fleet, fixed stops set aside.
    inst = instance_from_stops(fleet, stops, matrix)
    node = {ref: i for i, ref in enumerate(matrix.node_ids)}
    claimed = [
        ClaimedRoute(
            [node[v.stop.stop_ref] for v in r.visits], r.start_s, [v.service_start_s for v in r.visits], r.end_s
        )
        for r in others
    ]
    assert check_plan(inst, claimed, [node[ref] for ref in fixed[0].stop_refs]) == []
    assert [r.vehicle for r in plan.routes] == sorted(r.vehicle for r in plan.routes)


def test_a_fixed_route_leaves_from_its_types_own_start_and_takes_its_break():
    from sgroute_assets.domain.routing import VehicleBreak

    stops = scattered(5, service_time_min=30)
    lorry = VehicleType(
        "Lorry", 1, 50, 8 * 60, 18 * 60, 600, start_lat=1.44, start_lon=103.79, break_=VehicleBreak(600, 630, 45)
    )
    fleet = Fleet(*DEPOT, types=(VehicleType("Van", 1, 20, 8 * 60, 18 * 60, 600), lorry))
    extra = fleet.depot_points()
    ids = ["DEPOT"] + [s.stop_ref for s in stops] + [node for node, _ in extra]
    lats = np.r_[DEPOT[0], [s.lat for s in stops], [p.lat for _, p in extra]]
    lons = np.r_[DEPOT[1], [s.lon for s in stops], [p.lon for _, p in extra]]
    matrix = estimate_matrix(ids, lats, lons)
    order = ("S3", "S1", "S0", "S4")
    plan = plan_with_sequence(fleet, stops, matrix, [FixedRoute(slot(fleet, "V02"), order)], FAST)
    route = route_of(plan, "V02")
    assert (route.vehicle_name, tuple(v.stop.stop_ref for v in route.visits)) == ("Lorry", order)
    travel = np.rint(matrix.duration_s).astype(int)
    start = ids.index(extra[0][0])
    assert route.visits[0].travel_s == travel[start, ids.index("S3")]  # from its own start, not the depot
    assert plan.start_point(route).name == "Lorry start"
    # Two hours of service from 08:00 run through the 10:00-10:30 break window: the break is taken on the road.
    assert route.break_start_s is not None and 600 * 60 <= route.break_start_s <= 630 * 60
    assert route.break_end_s - route.break_start_s == 45 * 60
    assert not plan.violations
    assert [v.stop.stop_ref for v in route_of(plan, "V01").visits] == ["S2"]


def test_with_every_vehicle_fixed_the_rest_is_dropped_with_the_reason():
    stops = scattered(4)
    fleet = vans(1)
    plan = plan_with_sequence(fleet, stops, matrix_for(stops), [FixedRoute(slot(fleet, "V01"), ("S2", "S0"))], FAST)
    assert [v.stop.stop_ref for v in plan.routes[0].visits] == ["S2", "S0"]
    assert {d.stop.stop_ref: d.reason for d in plan.dropped} == {"S1": NO_FREE_VEHICLE, "S3": NO_FREE_VEHICLE}
    assert plan.row_counts()["served"] + plan.row_counts()["dropped"] == 4


def test_a_stop_only_a_fixed_vehicle_could_carry_is_dropped_for_that_not_for_its_weight():
    stops = scattered(3, demand=2) + [Stop("HEAVY", 9, lat=1.33, lon=103.87, demand=30)]
    fleet = Fleet(
        *DEPOT, types=(VehicleType("Van", 1, 10, 480, 1080, 600), VehicleType("Lorry", 1, 50, 480, 1080, 600))
    )
    plan = plan_with_sequence(fleet, stops, matrix_for(stops), [FixedRoute(slot(fleet, "V02"), ("S0",))], FAST)
    assert [(d.stop.stop_ref, d.reason) for d in plan.dropped] == [("HEAVY", NO_FREE_VEHICLE)]
    assert {v.stop.stop_ref for v in route_of(plan, "V01").visits} == {"S1", "S2"}


def test_a_fixed_order_over_a_leg_with_no_road_is_refused():
    stops = scattered(3)
    matrix = matrix_for(stops)
    matrix.duration_s[1, 2] = np.inf
    fleet = vans(2)
    with pytest.raises(SequenceError) as err:
        plan_with_sequence(fleet, stops, matrix, [FixedRoute(slot(fleet, "V01"), ("S0", "S1"))], FAST)
    assert err.value.problems == ["V01 · Van 1: no road from S0 to S1"]


# --- through the real route_plan asset -----------------------------------------------------------------------


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))


def failure_text(result) -> str:
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    return str(failure.event_specific_data.error)


def test_a_sequence_file_is_no_partition_and_a_change_replans_its_stop_file(tmp_path, app_db_url, monkeypatch):
    import os
    import time

    from sgroute_resources.app_database import AppDatabase
    from sgroute_resources.stop_file_store import LocalStopFileStore

    monkeypatch.setenv("SGROUTE_INBOX_MIN_AGE_S", "0")  # the files are written whole before the first tick
    store = LocalStopFileStore(
        inbox=str(tmp_path / "inbox"), exports_dir=str(tmp_path / "exports"), quarantine_dir=str(tmp_path / "q")
    )
    inbox = Path(store.inbox)
    inbox.mkdir(parents=True)
    (inbox / "week12.csv").write_text("stop_ref,lat,lon\nA1,1.2862,103.8533\nA2,1.3000,103.8600\n")
    (inbox / "week12.sequence.csv").write_text("vehicle,stop_ref,position\nV01,A2,1\nV01,A1,2\n")

    def tick(instance, cursor):
        return stop_file_tick(instance, store, AppDatabase(url=app_db_url), cursor)

    with dg.instance_for_test() as instance:
        first = tick(instance, None)
        assert [r.partition_key for r in first.run_requests] == ["week12.csv"]
        assert instance.get_dynamic_partitions("stop_files") == ["week12.csv"]
        (inbox / "week12.sequence.csv").write_text("vehicle,stop_ref,position\nV01,A1,1\nV01,A2,2\n")
        os.utime(inbox / "week12.sequence.csv", ns=(time.time_ns() + 10**9,) * 2)
        changed = tick(instance, first.cursor)
        (rerun,) = changed.run_requests
        assert rerun.partition_key == "week12.csv" and rerun.tags["sgroute/sequence"] == "week12.sequence.csv"
        assert tick(instance, changed.cursor).run_requests == []


def test_route_plan_uses_the_sequence_file_beside_the_stop_file(
    make_local_resources, app_db_url, tmp_path, materialise
):
    resources = make_local_resources(app_db_url)
    name = "east_west_tight_windows.csv"
    inbox = tmp_path / "inbox"
    shutil.copy(DEMO / name, inbox / name)
    # Van 2 goes to Clementi at noon first, then to Jurong Point, whose window closed at 09:15.
    (inbox / "east_west_tight_windows.sequence.csv").write_text(
        "vehicle,stop_ref,position\nVan 2,EWT-013,1\nVan 2,EWT-001,2\n"
    )
    fast = {"ops": {"route_plan": {"config": {"solver_time_limit_s": 2.0}}}}
    with dg.instance_for_test() as instance:
        result = materialise(instance, resources, name, fast)
        assert result.success
        plan = result.asset_value("route_plan")
        v02 = route_of(plan, "V02")
        assert [v.stop.stop_ref for v in v02.visits] == ["EWT-013", "EWT-001"] and v02.vehicle_name == "Van 2"
        assert v02.visits[0].violations == [] and v02.visits[1].violations[0].startswith("late by ")
        others = {v.stop.stop_ref for r in plan.routes if r.vehicle_id != "V02" for v in r.visits}
        assert others and not others & {"EWT-013", "EWT-001"}
        assert all(not v.violations for r in plan.routes if r.vehicle_id != "V02" for v in r.visits)

        meta = result.asset_materializations_for_node("route_plan")[0].metadata
        # Underscores inside a word are shown as typed (issue 23: the UI showed "stop\\_ref").
        assert meta["fixed_routes"].value == "V02 · Van 2 (from east_west_tight_windows.sequence.csv)"
        assert meta["stops_with_violations"].value == 1
        (record,) = meta["violations"].records
        assert (record.data["vehicle"], record.data["stop_ref"]) == ("V02", "EWT-001")
        assert record.data["violation"] == v02.visits[1].violations[0]

        exports = tmp_path / "exports" / name
        planner = {r["stop_ref"]: r for r in read_csv(exports / "planner.csv")}
        assert planner["EWT-001"]["violations"] == v02.visits[1].violations[0]
        assert planner["EWT-013"]["violations"] == ""
        driver = {r["stop_ref"]: r for r in read_csv(exports / "drivers" / "V02.csv")}
        assert driver["EWT-001"]["violations"].startswith("late by ") and driver["DEPOT"]["violations"] == ""

        # The Launchpad's sequence takes precedence over the file.
        config = {"solver_time_limit_s": 2.0, "sequence": [{"vehicle": "V03", "stops": ["EWT-002", "EWT-004"]}]}
        by_config = materialise(instance, resources, name, {"ops": {"route_plan": {"config": config}}})
        assert by_config.success
        plan = by_config.asset_value("route_plan")
        assert [v.stop.stop_ref for v in route_of(plan, "V03").visits] == ["EWT-002", "EWT-004"]
        meta = by_config.asset_materializations_for_node("route_plan")[0].metadata
        assert meta["fixed_routes"].value == "V03 · Van 3 (from config (sequence))"

        # A sequence file with problems fails the run with every one of them, by row and column.
        (inbox / "east_west_tight_windows.sequence.csv").write_text(
            "vehicle,stop_ref,position\nVan 9,EWT-013,1\nVan 2,EWT-019,x\n"
        )
        broken = materialise(instance, resources, name, fast)
        assert not broken.success
        text = failure_text(broken)
        assert "east_west_tight_windows.sequence.csv, row 2, column vehicle: unknown vehicle 'Van 9'" in text
        assert "east_west_tight_windows.sequence.csv, row 3, column stop_ref: stop EWT-019 cannot be routed" in text
        assert "east_west_tight_windows.sequence.csv, row 3, column position: 'x' is not a whole number" in text
