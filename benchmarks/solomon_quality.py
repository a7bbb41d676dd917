"""Solver quality on Solomon / Gehring-Homberger VRPTW benchmarks against best-known solutions.

Each instance is solved twice in this process with the same model (optional visits, guided local search):
once with sgroute's first-solution strategy (parallel cheapest insertion) and once with PATH_CHEAPEST_ARC,
the replaced system's choice, as the reference. Every plan is verified by the independent feasibility check.
Run: .venv/bin/python benchmarks/solomon_quality.py [seconds]
"""

from __future__ import annotations

import sys
from pathlib import Path

from sgroute_assets.domain.plan_feasibility import ClaimedRoute, check_plan
from sgroute_assets.domain.route_schedule import schedule_route
from sgroute_assets.domain.vrplib_instance import best_known_cost, load_vrptw, plan_cost
from sgroute_assets.domain.vrptw_model import SolverSettings, solve_vrptw

SOLOMON = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "solomon"
INSTANCES = ["C101", "R101", "RC101", "C201", "R201", "RC201", "homberger/200/RC1_2_1"]


def run(inst, settings):
    result = solve_vrptw(inst, settings)
    used = [v for v in result.routes if v]
    claimed = []
    for visits in used:
        t = schedule_route(inst, visits)
        claimed.append(ClaimedRoute(visits=visits, start=t.start, service_start=t.service_start, end=t.end))
    violations = check_plan(inst, claimed, result.dropped)
    return result, used, violations


def main() -> int:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    print(f"time limit {seconds:g} s per solve; gap = cost / best-known distance-only cost - 1 (DIMACS convention)")
    print(
        f"{'instance':<22} {'BKS':>9} {'sgroute':>9} {'gap':>7} {'routes':>6} {'dropped':>7} {'viol':>4}   "
        f"{'PCA gap':>11}"
    )
    for name in INSTANCES:
        path = SOLOMON / f"{name}.vrp"
        if not path.exists():
            print(f"{name:<22} missing")
            continue
        bks = best_known_cost(path)
        inst = load_vrptw(path)
        result, used, violations = run(inst, SolverSettings(time_limit_s=seconds))
        cost = plan_cost(inst, used)
        old, old_used, _ = run(
            load_vrptw(path), SolverSettings(time_limit_s=seconds, engine="ortools", first_solution="path_cheapest_arc")
        )
        old_text = "no plan" if old.dropped and not old_used else f"{plan_cost(inst, old_used) / bks - 1:+.2%}"
        if old_used and old.dropped:
            old_text += f" ({len(old.dropped)} dropped)"
        print(
            f"{name:<22} {bks:>9.1f} {cost:>9.1f} {cost / bks - 1:>+7.2%} {len(used):>6} {len(result.dropped):>7} "
            f"{len(violations):>4}   {old_text:>11}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
