"""Balanced days (issue 19): with balance on, the longest-to-shortest route ratio goes down and the cost stays
within its bound; the caps are ordinary model fields, so the independent check holds them."""

from __future__ import annotations

import numpy as np
import pytest

from sgroute_assets.domain.routing import Fleet, SolverSettings, plan_routes
from sgroute_assets.domain.stops import Stop
from sgroute_assets.domain.travel_times import estimate_matrix


def _day(sg_points):
    pts = sg_points.sample(36, random_state=41)
    stops = [
        Stop(stop_ref=f"Q{i:02d}", row=i + 2, lat=float(lat), lon=float(lon), demand=1, service_time_min=8)
        for i, (lat, lon) in enumerate(zip(pts.lat, pts.lon, strict=True))
    ]
    # Four vans of 14 for 36 stops: the cheapest plan leaves one van with far less work than the others.
    fleet = Fleet(depot_lat=1.3354, depot_lon=103.8879, vehicles=4, capacity=14, shift_start_min=8 * 60,
                  shift_end_min=20 * 60, max_route_min=720)  # fmt: skip
    ids = ["DEPOT"] + [s.stop_ref for s in stops]
    matrix = estimate_matrix(ids, np.r_[1.3354, [s.lat for s in stops]], np.r_[103.8879, [s.lon for s in stops]])
    return fleet, stops, matrix


@pytest.mark.parametrize("mode", ["duration", "stops"])
def test_balance_lowers_the_ratio_within_the_cost_bound(sg_points, mode):
    fleet, stops, matrix = _day(sg_points)
    plan = plan_routes(fleet, stops, matrix, SolverSettings(time_limit_s=4), balance=mode, balance_max_increase=0.03)
    report = plan.balance
    assert report is not None and report["balance"] == mode
    assert report["ratio_after"] < report["ratio_before"]
    assert report["cost_increase_pct"] <= 3.0
    sizes = [len(r.visits) for r in plan.routes] if mode == "stops" else [r.duration_s for r in plan.routes]
    assert max(sizes) / min(sizes) == pytest.approx(report["ratio_after"], abs=1e-3)
    assert not plan.dropped and plan.totals()["balance_ratio_after"] == report["ratio_after"]


def test_no_balance_changes_nothing(sg_points):
    fleet, stops, matrix = _day(sg_points)
    plan = plan_routes(fleet, stops, matrix, SolverSettings(time_limit_s=1))
    assert plan.balance is None and "balance_ratio_after" not in plan.totals()
