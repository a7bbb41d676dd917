"""The price of each OR-Tools-only feature (issue 19): soft lateness and driver breaks, which PyVRP 0.14 cannot
model, send a plan to OR-Tools. Measured on the same instance without the feature:

- PyVRP without the feature (what the file would get without it),
- OR-Tools without the feature (the engine's own price, at equal time),
- OR-Tools with the feature (what the file gets).

Costs are the plan's objective recomputed the same way for all (driving, paid time, fixed van costs, dropped stops'
penalties, plus lateness at its cost where allowed); real Singapore points, estimated road times, a third of the
stops with a 2-hour window.

Run alone: .venv/bin/python benchmarks/ortools_features_price.py [TIME_LIMIT_S] [SIZES]  (default 10, 100,200)
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from sgroute_assets.domain.routing import Fleet, SolverSettings, VehicleBreak, VehicleType, solve_instance
from sgroute_assets.domain.routing.balance import plan_cost
from sgroute_assets.domain.routing.instance import instance_from_stops
from sgroute_assets.domain.stops import Stop
from sgroute_assets.domain.travel_times import estimate_matrix

POINTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "sg_points.csv"


def day(n: int, seed: int = 5):
    rng = np.random.default_rng(seed)
    pts = pd.read_csv(POINTS).sample(n=n, random_state=seed).reset_index(drop=True)
    stops = []
    for i, p in pts.iterrows():
        start = int(rng.integers(8, 15)) if rng.random() < 1 / 3 else None
        stops.append(
            Stop(stop_ref=f"P{i:04d}", row=i + 2, lat=float(p["lat"]), lon=float(p["lon"]),
                 demand=int(rng.integers(1, 4)), service_time_min=8,
                 tw_start_min=None if start is None else start * 60,
                 tw_end_min=None if start is None else start * 60 + 120)
        )  # fmt: skip
    van = VehicleType("Van", max(4, n // 12), 40, 8 * 60, 18 * 60, 600, fixed_cost_min=30)
    ids = ["DEPOT"] + [s.stop_ref for s in stops]
    matrix = estimate_matrix(ids, np.r_[1.3354, [s.lat for s in stops]], np.r_[103.8879, [s.lon for s in stops]])
    return stops, van, matrix


def cost(fleet: Fleet, stops: list[Stop], matrix, engine: str, limit: float) -> tuple[float, int]:
    inst = instance_from_stops(fleet, stops, matrix)
    solved = solve_instance(inst, SolverSettings(time_limit_s=limit, engine=engine))
    assert not solved.violations, solved.violations[:3]
    late = sum(
        inst.late_by(n, s) * inst.soft_close[n][1]
        for visits, times in zip(solved.routes, solved.schedules, strict=True)
        for n, s in zip(visits, times.service_start, strict=True)
        if n in inst.soft_close
    )
    return plan_cost(inst, solved) + late, len(solved.dropped)


def main() -> int:
    limit = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    sizes = [int(x) for x in (sys.argv[2] if len(sys.argv) > 2 else "100,200").split(",")]
    print(f"load average before: {os.getloadavg()[0]:.2f}; limit {limit:g} s")
    print(f"{'instance':<10} {'feature':<16} {'PyVRP without':>14} {'OR-Tools without':>17} {'OR-Tools with':>14}")
    for n in sizes:
        stops, van, matrix = day(n)
        base = Fleet(depot_lat=1.3354, depot_lon=103.8879, types=(van,))
        without_p, dp = cost(base, stops, matrix, "pyvrp", limit)
        without_o, do = cost(base, stops, matrix, "ortools", limit)
        lenient = [replace(s, late_ok_min=20, lateness_cost_per_min=1.0) if s.tw_end_min else s for s in stops]
        with_late, dl = cost(base, lenient, matrix, "auto", limit)
        breaks = Fleet(depot_lat=1.3354, depot_lon=103.8879,
                       types=(replace(van, break_=VehicleBreak(12 * 60, 13 * 60 + 30, 30)),))  # fmt: skip
        with_break, db = cost(breaks, stops, matrix, "auto", limit)
        for feature, value, dropped in (("soft lateness", with_late, dl), ("driver break", with_break, db)):
            print(f"{f'sg_{n}':<10} {feature:<16} {without_p:>14.0f} {without_o:>17.0f} {value:>14.0f}   "
                  f"OR-Tools vs PyVRP without: {without_o / without_p - 1:+.2%}; with the feature vs PyVRP "
                  f"without: {value / without_p - 1:+.2%} (dropped {dp}/{do}/{dropped})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
