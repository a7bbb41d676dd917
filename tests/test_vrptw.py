"""The solver, the schedule and the independent feasibility check on benchmarks and real points."""

from __future__ import annotations

import numpy as np
import pytest

from sgroute_assets.domain.routing import Fleet, SolverSettings, best_known_cost, load_vrptw, plan_cost, plan_routes
from sgroute_assets.domain.routing.engines.solve import solve_vrptw
from sgroute_assets.domain.routing.feasibility import ClaimedRoute, check_plan
from sgroute_assets.domain.routing.schedule import schedule_route
from sgroute_assets.domain.stops import Stop
from sgroute_assets.domain.travel_times import estimate_matrix


def claimed(inst, routes):
    out = []
    for visits in routes:
        t = schedule_route(inst, visits)
        out.append(ClaimedRoute(visits=visits, start=t.start, service_start=t.service_start, end=t.end))
    return out


@pytest.mark.parametrize(
    "name,engine,max_gap",
    [
        ("R101", "ortools", 0.06),
        ("RC101", "ortools", 0.10),
        ("C101", "ortools", 0.01),
        ("R101", "pyvrp", 0.01),
        ("RC101", "auto", 0.03),
        ("C101", "pyvrp", 0.001),
    ],
)
def test_solomon_tight_windows_solved_feasibly_within_the_time_limit(shared_dir, name, engine, max_gap):
    path = shared_dir / "benchmarks" / "solomon" / f"{name}.vrp"
    inst = load_vrptw(path)
    # OR-Tools searches the whole limit, as it did before early stopping existed (its GLS plateaus are long).
    settings = SolverSettings(time_limit_s=3, engine=engine, stop_when_stalled=engine != "ortools")
    result = solve_vrptw(inst, settings)
    assert result.engine == ("pyvrp" if engine == "auto" else engine)
    assert result.solve_time_s < 3 + 2.0
    used = [v for v in result.routes if v]
    assert result.dropped == []  # PATH_CHEAPEST_ARC finds no plan at all on R101/RC101
    assert check_plan(inst, claimed(inst, used), result.dropped) == []
    gap = plan_cost(inst, used) / best_known_cost(path) - 1
    assert gap <= max_gap, f"{name}: {gap:.2%} above the best known solution"


def test_feasibility_check_catches_broken_plans(shared_dir):
    inst = load_vrptw(shared_dir / "benchmarks" / "solomon" / "R101.vrp")
    result = solve_vrptw(inst, SolverSettings(time_limit_s=1, engine="ortools"))
    used = [v for v in result.routes if v]
    good = claimed(inst, used)
    assert check_plan(inst, good, result.dropped) == []

    reversed_route = claimed(inst, [list(reversed(used[0]))] + used[1:])
    assert any("outside its window" in p or "after the shift" in p for p in check_plan(inst, reversed_route, []))

    duplicated = claimed(inst, [used[0] + used[1][:1]] + used[1:])
    assert any("appears 2 times" in p for p in check_plan(inst, duplicated, []))

    missing = claimed(inst, used[1:])
    assert any("neither routed nor dropped" in p for p in check_plan(inst, missing, []))

    early = claimed(inst, used)
    early[0].service_start[0] -= 1000
    assert any("before arrival" in p or "outside its window" in p for p in check_plan(inst, early, []))

    merged = claimed(inst, [used[0] + used[1] + used[2]] + used[3:])
    problems = check_plan(inst, merged, [])
    assert problems  # three tight-window routes cannot be driven as one


def test_capacity_violation_is_reported():
    stops = [Stop(stop_ref=f"S{i}", row=i + 2, lat=1.30 + i * 0.01, lon=103.85, demand=6) for i in range(3)]
    fleet = Fleet(1.3354, 103.8879, vehicles=1, capacity=10, shift_start_min=480, shift_end_min=1080, max_route_min=600)
    ids = ["DEPOT"] + [s.stop_ref for s in stops]
    m = estimate_matrix(ids, np.r_[1.3354, [s.lat for s in stops]], np.r_[103.8879, [s.lon for s in stops]])
    plan = plan_routes(fleet, stops, m, SolverSettings(time_limit_s=1))
    assert plan.stops_served == 1 and len(plan.dropped) == 2
    assert {d.reason for d in plan.dropped} == {"capacity"}
    assert all("every vehicle is full" in d.message for d in plan.dropped)


def test_impossible_stops_are_dropped_with_reasons(small_plan):
    reasons = {d.stop.stop_ref: d for d in small_plan.dropped}
    assert reasons["EARLY"].reason == "time_window"
    assert "after the window closes at 07:30" in reasons["EARLY"].message
    assert reasons["HEAVY"].reason == "capacity"
    assert "more than a vehicle carries (40)" in reasons["HEAVY"].message


def test_routes_respect_windows_capacity_and_shift(small_plan):
    fleet = small_plan.fleet
    for route in small_plan.routes:
        assert route.load <= fleet.capacity
        assert fleet.shift_start_min * 60 <= route.start_s and route.end_s <= fleet.shift_end_min * 60
        assert route.duration_s <= fleet.max_route_min * 60
        for v in route.visits:
            assert v.arrival_s <= v.service_start_s < v.departure_s or v.stop.service_time_min == 0
            if v.stop.tw_start_min is not None:
                assert v.stop.tw_start_min * 60 <= v.service_start_s <= v.stop.tw_end_min * 60


def test_departure_is_delayed_instead_of_waiting_at_the_first_stop():
    stops = [Stop(stop_ref="LATE", row=2, lat=1.30, lon=103.85, tw_start_min=14 * 60, tw_end_min=15 * 60)]
    fleet = Fleet(1.3354, 103.8879, vehicles=1, capacity=10, shift_start_min=480, shift_end_min=1080, max_route_min=600)
    m = estimate_matrix(["DEPOT", "LATE"], np.r_[1.3354, 1.30], np.r_[103.8879, 103.85])
    plan = plan_routes(fleet, stops, m, SolverSettings(time_limit_s=1))
    (route,) = plan.routes
    (visit,) = route.visits
    assert visit.service_start_s == 14 * 3600 and visit.wait_s == 0
    assert route.start_s == 14 * 3600 - visit.travel_s


def test_shift_too_short_for_the_round_trip_is_a_shift_length_drop():
    stops = [Stop(stop_ref="FAR", row=2, lat=1.44, lon=103.70, service_time_min=60)]
    fleet = Fleet(1.3354, 104.05, vehicles=2, capacity=10, shift_start_min=480, shift_end_min=1080, max_route_min=60)
    m = estimate_matrix(["DEPOT", "FAR"], np.r_[1.3354, 1.44], np.r_[104.05, 103.70])
    plan = plan_routes(fleet, stops, m, SolverSettings(time_limit_s=1))
    (dropped,) = plan.dropped
    assert dropped.reason == "shift_length" and "maximum route duration of 60 min" in dropped.message


def ten_stop_plan_inputs(seed: int = 3):
    rng = np.random.default_rng(seed)
    stops = [
        Stop(
            stop_ref=f"S{i}",
            row=i + 2,
            lat=1.28 + rng.uniform(0, 0.1),
            lon=103.75 + rng.uniform(0, 0.2),
            demand=3,
            service_time_min=5,
        )
        for i in range(10)
    ]
    fleet = Fleet(1.3354, 103.8879, vehicles=3, capacity=20, shift_start_min=480, shift_end_min=1080, max_route_min=600)
    ids = ["DEPOT"] + [s.stop_ref for s in stops]
    m = estimate_matrix(ids, np.r_[1.3354, [s.lat for s in stops]], np.r_[103.8879, [s.lon for s in stops]])
    return fleet, stops, m


@pytest.mark.parametrize("engine", ["pyvrp", "ortools"])
def test_a_ten_stop_file_stops_early_when_the_search_stalls(engine):
    fleet, stops, m = ten_stop_plan_inputs()
    reports = []
    plan = plan_routes(fleet, stops, m, SolverSettings(time_limit_s=10, engine=engine), progress=reports.append)
    assert plan.stops_served == 10 and not plan.dropped
    assert plan.engine == engine and plan.stop_reason == "stalled"
    assert plan.solve_time_s < 2.5, plan.solve_time_s
    assert reports and reports[-1].best_cost is not None and reports[-1].best_found_s <= plan.solve_time_s
    assert all(r.vehicle_name.startswith("Van") for r in plan.routes)


def test_without_early_stop_the_whole_limit_is_used():
    fleet, stops, m = ten_stop_plan_inputs()
    settings = SolverSettings(time_limit_s=1.5, engine="pyvrp", stop_when_stalled=False)
    plan = plan_routes(fleet, stops, m, settings)
    assert plan.stop_reason == "time_limit" and plan.solve_time_s >= 1.5


def test_progress_is_reported_every_few_seconds_on_a_long_solve(shared_dir):
    inst = load_vrptw(shared_dir / "benchmarks" / "solomon" / "RC101.vrp")
    reports = []
    settings = SolverSettings(time_limit_s=2.5, engine="pyvrp", stop_when_stalled=False, progress_interval_s=0.5)
    solve_vrptw(inst, settings, progress=reports.append)
    times = [r.elapsed_s for r in reports]
    assert len(times) >= 4 and max(b - a for a, b in zip(times, times[1:], strict=False)) < 1.0
    assert reports[-1].best_cost is not None
