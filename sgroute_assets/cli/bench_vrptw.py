"""`sgroute bench-vrptw FILE.vrp --time-limit S [--engine E] --json`: our planner on a VRPLIB VRPTW file.

It solves through ``solve_instance``, the same code path ``route_plan`` uses (pre-drop, engine, schedule,
independent feasibility check), so its figures are what planners get. Euclidean files (Solomon,
Gehring-Homberger) follow the DIMACS convention (distances times ten, truncated) and the distance is
reported back in the file's units; ``EXPLICIT`` / ``FULL_MATRIX`` files are asymmetric integer travel times
and the distance is the sum of the entries used. ``routes`` lists each used route as the file's node
indices (depot 0 not included); ``wall_s`` is the whole solve, model building and checking included.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from sgroute_assets.cli.validate import EXIT_UNREADABLE


def register(subparsers: argparse._SubParsersAction) -> None:
    bench = subparsers.add_parser("bench-vrptw", help="solve a VRPLIB VRPTW file as route_plan would, report it")
    bench.add_argument("file", help="VRPLIB .vrp file (EUC_2D, or EXPLICIT FULL_MATRIX)")
    bench.add_argument("--time-limit", type=float, required=True, help="solver seconds")
    bench.add_argument("--engine", default="auto", choices=["auto", "pyvrp", "ortools"])
    bench.add_argument("--no-early-stop", action="store_true", help="search for the whole time limit")
    bench.add_argument("--seed", type=int, default=0)
    bench.add_argument("--workers", type=int, default=0, help="PyVRP searches side by side (0: one per core)")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.set_defaults(func=cmd_bench_vrptw)


def bench_file(
    path: Path, time_limit_s: float, engine: str, early_stop: bool = True, seed: int = 0, workers: int = 0
) -> dict:
    from sgroute_assets.domain.routing import SolverSettings, best_known_cost, load_vrptw, plan_cost, solve_instance

    inst = load_vrptw(path)
    settings = SolverSettings(
        time_limit_s=time_limit_s, engine=engine, stop_when_stalled=early_stop, seed=seed, workers=workers
    )
    started = time.perf_counter()
    solved = solve_instance(inst, settings)
    wall = time.perf_counter() - started
    distance = plan_cost(inst, solved.routes)
    bks = best_known_cost(path)
    return {
        "instance": path.stem,
        "engine": solved.result.engine,
        "distance": round(distance, 4),
        "routes": [[int(n) for n in r] for r in solved.routes],
        "feasible": not solved.violations,
        "dropped": len(solved.dropped),
        "wall_s": round(wall, 3),
        "dropped_nodes": [int(n) for n in solved.dropped],
        "stop_reason": solved.result.stop_reason,
        "searches": [
            {"seed": seed, "stops": mode, "cost": cost, "stop_reason": why}
            for seed, mode, cost, why in solved.result.portfolio
        ],
        "best_found_s": None if solved.result.best_found_s is None else round(solved.result.best_found_s, 3),
        "best_known": bks,
        "gap": None if not bks else round(distance / bks - 1, 6),
        "violations": solved.violations[:20],
    }


def cmd_bench_vrptw(args: argparse.Namespace) -> int:
    from sgroute_assets.domain.routing import VrplibError

    path = Path(args.file)
    if not path.is_file():
        print(f"{path}: no such file", file=sys.stderr)
        return EXIT_UNREADABLE
    if args.time_limit <= 0:
        print("--time-limit must be positive", file=sys.stderr)
        return 2
    try:
        out = bench_file(
            path, args.time_limit, args.engine, early_stop=not args.no_early_stop, seed=args.seed, workers=args.workers
        )
    except VrplibError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_UNREADABLE
    if args.json:
        print(json.dumps(out))
    else:
        gap = "" if out["gap"] is None else f" ({out['gap']:+.2%} vs best known {out['best_known']:g})"
        print(
            f"{out['instance']}: {out['engine']}, distance {out['distance']:g}{gap}, {len(out['routes'])} routes, "
            f"{out['dropped']} dropped, feasible {out['feasible']}, {out['wall_s']:.2f} s ({out['stop_reason']})"
        )
    return 0 if out["feasible"] else 1
