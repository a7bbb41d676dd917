"""Real-fleet constraints at quality (issue 19): ours against PyVRP alone given the same model at equal time.

Each instance is real Singapore points (shared/data/sg_points.csv, estimated road times) with the features PyVRP
0.14 expresses as our engine builds them: parcels and kilograms (two load dimensions), chiller skills (a third of
the stops; the chiller vans are a quarter of the fleet), a second window on a fifth of the stops (client groups)
and at most 25 stops per route. "Ours" is route_plan's engine (``solve_vrptw``, auto: the portfolio on both
cores, early stop on); "PyVRP alone" is plain ``pyvrp.solve`` for the whole limit on the very ProblemData our
engine builds (``problem_data``, every stop required: PyVRP's strongest mode), one core. Both plans serve every
stop, so their costs (PyVRP's objective: driving and paid time in tenths of a second, plus fixed vehicle costs)
compare directly; ours passed the independent check.

Run alone (no test suite beside it): .venv/bin/python benchmarks/fleet_features.py [TIME_LIMIT_S] [SIZES]
(default 10 s, sizes 100,200,400).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyvrp
from pyvrp._pyvrp import ActivityType
from pyvrp.stop import MaxRuntime

from sgroute_assets.domain.routing import Fleet, SolverSettings, VehicleType, solve_instance
from sgroute_assets.domain.routing.engines.pyvrp_engine import problem_data
from sgroute_assets.domain.routing.instance import instance_from_stops
from sgroute_assets.domain.stops import Stop
from sgroute_assets.domain.travel_times import estimate_matrix

POINTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "sg_points.csv"


def instance(n: int, seed: int):
    rng = np.random.default_rng(seed)
    pts = pd.read_csv(POINTS).sample(n=n, random_state=seed).reset_index(drop=True)
    stops = []
    for i, p in pts.iterrows():
        start = int(rng.integers(9, 15)) if rng.random() < 0.3 else None
        second = start is not None and start < 12 and rng.random() < 0.6
        stops.append(
            Stop(stop_ref=f"F{i:04d}", row=i + 2, lat=float(p["lat"]), lon=float(p["lon"]),
                 demand=int(rng.integers(1, 4)), weight_kg=float(rng.integers(2, 60)), service_time_min=5,
                 tw_start_min=None if start is None else start * 60,
                 tw_end_min=None if start is None else start * 60 + 90,
                 tw2_start_min=(start + 4) * 60 if second else None,
                 tw2_end_min=(start + 4) * 60 + 90 if second else None,
                 requires=("chiller",) if rng.random() < 1 / 3 else ())
        )  # fmt: skip
    vans = max(4, n // 14)
    chillers = max(2, vans // 3)
    types = (
        VehicleType("Van", vans, 60, 8 * 60, 19 * 60, 660, max_stops=25, capacity_weight_kg=900.0),
        VehicleType("Chiller", chillers, 50, 8 * 60, 19 * 60, 660, max_stops=25, capacity_weight_kg=700.0,
                    skills=("chiller",)),
    )  # fmt: skip
    fleet = Fleet(depot_lat=1.3354, depot_lon=103.8879, types=types)
    ids = ["DEPOT"] + [s.stop_ref for s in stops]
    lats = np.r_[fleet.depot_lat, [s.lat for s in stops]]
    lons = np.r_[fleet.depot_lon, [s.lon for s in stops]]
    return instance_from_stops(fleet, stops, estimate_matrix(ids, lats, lons))


def main() -> int:
    limit = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    sizes = [int(x) for x in (sys.argv[2] if len(sys.argv) > 2 else "100,200,400").split(",")]
    print(f"load average before: {os.getloadavg()[0]:.2f}; limit {limit:g} s; ours on both cores, PyVRP alone on one")
    print(f"{'instance':<14} {'ours':>12} {'dropped':>7} {'PyVRP alone':>12} {'dropped':>7} {'ours vs alone':>13}")
    ratios = []
    for n in sizes:
        for seed in (1, 2):
            inst = instance(n, seed)
            nodes = list(inst.stop_nodes)
            ours = solve_instance(inst, SolverSettings(time_limit_s=limit))
            assert not ours.violations, ours.violations[:3]
            data, clients = problem_data(inst, nodes, required=True)
            alone = pyvrp.solve(data, stop=MaxRuntime(limit), seed=0, display=False)
            best = alone.best
            visited = {clients[a.idx] for r in best.routes() for a in r if a.type == ActivityType.CLIENT}
            alone_dropped = len(nodes) - len(visited)
            feasible = best.is_feasible()
            ratio = ours.result.objective / alone.cost() - 1 if feasible and not ours.dropped else None
            if ratio is not None:
                ratios.append(ratio)
            shown = f"{ratio:+.2%}" if ratio is not None else "n/a"
            print(f"{f'sg_{n}_s{seed}':<14} {ours.result.objective:>12} {len(ours.dropped):>7} "
                  f"{int(alone.cost()) if feasible else 'infeasible':>12} {alone_dropped:>7} {shown:>13}")  # fmt: skip
    if ratios:
        print(f"mean ours vs PyVRP alone {np.mean(ratios):+.2%}, worst {max(ratios):+.2%} over {len(ratios)} instances")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
