"""Soft lateness (issue 19): a stop's late_ok_min lets a van arrive that much after its window at
lateness_cost_per_min. PyVRP 0.14 cannot model it, so OR-Tools plans such files and the plan says why; the check
holds the allowance, and lateness is reported per stop and in the totals."""

from __future__ import annotations

import numpy as np
import pytest

from sgroute_assets.domain.routing import Fleet, SolverSettings, plan_routes
from sgroute_assets.domain.stops import Stop, validate_file
from sgroute_assets.domain.travel_times import estimate_matrix


def _plan(late_ok: int, engine: str = "auto"):
    # Two stops far apart, both due 08:00-08:20 and one van: the second can only be served late.
    stops = [
        Stop(stop_ref="A", row=2, lat=1.2900, lon=103.8500, demand=1, service_time_min=10, tw_start_min=480,
             tw_end_min=500, late_ok_min=late_ok, lateness_cost_per_min=2.0),
        Stop(stop_ref="B", row=3, lat=1.4300, lon=103.7800, demand=1, service_time_min=10, tw_start_min=480,
             tw_end_min=500, late_ok_min=late_ok, lateness_cost_per_min=2.0),
    ]  # fmt: skip
    fleet = Fleet(depot_lat=1.3354, depot_lon=103.8879, vehicles=1, capacity=10, shift_start_min=7 * 60 + 40,
                  shift_end_min=18 * 60, max_route_min=600)  # fmt: skip
    ids = ["DEPOT", "A", "B"]
    matrix = estimate_matrix(ids, np.r_[1.3354, 1.29, 1.43], np.r_[103.8879, 103.85, 103.78])
    return plan_routes(fleet, stops, matrix, SolverSettings(time_limit_s=1, engine=engine))


def test_a_late_arrival_within_the_allowance_is_planned_by_ortools_and_reported():
    strict = _plan(0)
    assert len(strict.dropped) == 1 and strict.engine == "pyvrp"
    soft = _plan(120)
    assert not soft.dropped and soft.engine == "ortools" and "lateness" in soft.engine_reason
    late = [v for r in soft.routes for v in r.visits if v.late_s]
    assert len(late) == 1
    (visit,) = late
    assert visit.late_s == visit.service_start_s - 500 * 60 and 0 < visit.late_s <= 120 * 60
    assert soft.totals()["late_min"] == round(visit.late_s / 60, 1)


def test_the_pyvrp_engine_refuses_soft_lateness_plainly():
    with pytest.raises(ValueError, match="cannot plan soft lateness"):
        _plan(60, engine="pyvrp")


def test_late_ok_needs_a_window():
    report = validate_file("s.csv", b"stop_ref,lat,lon,late_ok_min,lateness_cost_per_min\nA,1.30,103.85,30,1\n")
    assert [(i.row, i.column) for i in report.issues] == [(2, "late_ok_min")]
