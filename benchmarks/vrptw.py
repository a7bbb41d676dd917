"""Side-by-side VRPTW quality: ours (``sgroute bench-vrptw``'s code path) vs PyVRP alone vs OR-Tools alone.

Every instance is solved one solver at a time in this process with the same time limit: ours as
route_plan runs it (engine auto, early stop on), plain ``pyvrp.solve`` on ``pyvrp.read(...,
round_func="dimacs")`` for the whole limit (the reference the issue's targets are stated against), and our
OR-Tools engine for the whole limit. Gaps are against the ``.sol`` best known (DIMACS distance-only) when
present; ``vs PyVRP`` is ours / PyVRP alone - 1. Every plan of ours and of OR-Tools passed the independent
feasibility check ("feas"); PyVRP alone is checked with its own ``is_feasible``.

Run: .venv/bin/python benchmarks/vrptw.py 'GLOB' [--time-limit S] [--no-ortools]
e.g. timeout 3600 .venv/bin/python benchmarks/vrptw.py '../shared/benchmarks/solomon/*.vrp' --time-limit 10
"""

from __future__ import annotations

import argparse
import glob
import statistics
import sys
import time
from pathlib import Path

import pyvrp
from pyvrp.stop import MaxRuntime

from sgroute_assets.cli.bench_vrptw import bench_file


def pyvrp_alone(path: Path, seconds: float) -> tuple[float, int, bool, float]:
    explicit = "EXPLICIT" in path.read_text()[:2000].upper()
    data = pyvrp.read(str(path), round_func="none" if explicit else "dimacs")
    started = time.perf_counter()
    result = pyvrp.solve(data, stop=MaxRuntime(seconds), seed=0, display=False)
    wall = time.perf_counter() - started
    scale = 1 if explicit else 10
    return result.best.distance() / scale, result.best.num_routes(), result.is_feasible(), wall


def pct(x: float | None) -> str:
    return "   n/a" if x is None else f"{x:+.2%}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("pattern")
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--no-ortools", action="store_true")
    args = parser.parse_args()
    paths = sorted(Path(p) for p in glob.glob(args.pattern))
    if not paths:
        print(f"no files match {args.pattern}")
        return 1
    t = args.time_limit
    print(f"time limit {t:g} s per solve, one solve at a time; gap vs .sol best known (distance-only, DIMACS)")
    print(
        f"{'instance':<12} {'BKS':>9} | {'ours':>9} {'gap':>7} {'rt':>3} {'drop':>4} {'feas':>4} {'wall':>5} "
        f"{'stop':>8}"
        f" | {'PyVRP':>9} {'gap':>7} {'rt':>3} {'wall':>5} | {'vs PyVRP':>8}"
        + ("" if args.no_ortools else f" | {'OR-Tools':>9} {'gap':>7} {'rt':>3} {'drop':>4}")
    )
    gaps, vs, pv_gaps, or_gaps, walls = [], [], [], [], []
    for path in paths:
        ours = bench_file(path, t, "auto")
        pv_dist, pv_routes, pv_feasible, pv_wall = pyvrp_alone(path, t)
        bks = ours["best_known"]
        rel = ours["distance"] / pv_dist - 1 if pv_feasible and pv_dist else None
        line = (
            f"{path.stem:<12} {bks or 0:>9.1f} | {ours['distance']:>9.1f} {pct(ours['gap']):>7} "
            f"{len(ours['routes']):>3} "
            f"{ours['dropped']:>4} {'yes' if ours['feasible'] else 'NO':>4} {ours['wall_s']:>5.1f} "
            f"{ours['stop_reason']:>8} | {pv_dist:>9.1f} {pct(pv_dist / bks - 1 if bks else None):>7} "
            f"{pv_routes:>3} {pv_wall:>5.1f} | {pct(rel):>8}"
        )
        if ours["gap"] is not None:
            gaps.append(ours["gap"])
        if bks and pv_feasible:
            pv_gaps.append(pv_dist / bks - 1)
        if rel is not None:
            vs.append(rel)
        walls.append(ours["wall_s"])
        if not args.no_ortools:
            ort = bench_file(path, t, "ortools", early_stop=False)
            line += f" | {ort['distance']:>9.1f} {pct(ort['gap']):>7} {len(ort['routes']):>3} {ort['dropped']:>4}" + (
                "" if ort["feasible"] else " INFEASIBLE"
            )
            if ort["gap"] is not None and not ort["dropped"]:
                or_gaps.append(ort["gap"])
        print(line, flush=True)
    print()
    if gaps:
        print(f"ours:      mean gap {statistics.mean(gaps):+.3%}, worst {max(gaps):+.3%} over {len(gaps)}")
    if pv_gaps:
        print(f"PyVRP:     mean gap {statistics.mean(pv_gaps):+.3%}, worst {max(pv_gaps):+.3%} over {len(pv_gaps)}")
    if or_gaps:
        print(f"OR-Tools:  mean gap {statistics.mean(or_gaps):+.3%}, worst {max(or_gaps):+.3%} (plans without drops)")
    if vs:
        print(f"ours vs PyVRP alone: mean {statistics.mean(vs):+.3%}, worst {max(vs):+.3%}, best {min(vs):+.3%}")
    print(f"ours: mean wall {statistics.mean(walls):.2f} s of {t:g} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
