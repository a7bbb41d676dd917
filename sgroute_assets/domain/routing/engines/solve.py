"""One entry point for every VRPTW solve: picks the engine, runs it under a SearchMonitor, checks legs.

``auto`` (the default) runs PyVRP, the quality engine (one search per core on problems big enough to gain,
domain/routing/engines/portfolio.py), and OR-Tools only where a constraint needs it (driver breaks, which PyVRP 0.14
does not model). The route_plan asset, the CLI and the benchmarks all
come through here, so ``sgroute bench-vrptw`` measures exactly what planners get.
"""

from __future__ import annotations

import time

from ..instance import UNREACHABLE, VrptwInstance
from .ortools_engine import FIRST_SOLUTION_STRATEGIES, solve_ortools
from .portfolio import portfolio_size, solve_pyvrp_portfolio
from .search import (
    ENGINES,
    STOP_NOTHING_TO_PLAN,
    Progress,
    ProgressCallback,
    SearchMonitor,
    SolverResult,
    SolverSettings,
)

__all__ = [
    "ENGINES",
    "FIRST_SOLUTION_STRATEGIES",
    "Progress",
    "ProgressCallback",
    "SolverResult",
    "SolverSettings",
    "choose_engine",
    "engine_reason",
    "solve_vrptw",
]


def choose_engine(inst: VrptwInstance, settings: SolverSettings) -> str:
    if settings.engine not in ENGINES:
        raise ValueError(f"unknown engine '{settings.engine}'; choose one of {', '.join(ENGINES)}")
    if settings.engine != "auto":
        return settings.engine
    return "ortools" if inst.has_breaks or inst.soft_close else "pyvrp"


def engine_reason(inst: VrptwInstance, settings: SolverSettings) -> str:
    """Why the engine that plans this instance was chosen, in a planner's words (the plan and its page say it)."""
    if settings.engine != "auto":
        return f"{settings.engine} was asked for (solver engine setting)"
    if inst.has_breaks:
        return "OR-Tools: the fleet has driver breaks, which PyVRP 0.14 does not model"
    if inst.soft_close:
        return "OR-Tools: some stops allow lateness at a cost (late_ok_min), which PyVRP 0.14 does not model"
    return "PyVRP, the quality engine: everything in this plan is expressible in it"


def solve_vrptw(
    inst: VrptwInstance,
    settings: SolverSettings,
    candidates: list[int] | None = None,
    progress: ProgressCallback | None = None,
    initial: list[tuple[list[int], int]] | None = None,
) -> SolverResult:
    """Solve over ``candidates`` (stop nodes worth offering to the solver; all stops by default). ``initial``
    (routes as (visits, vehicle type)) starts PyVRP's search from a plan being repaired; OR-Tools starts cold."""
    started = time.perf_counter()
    engine = choose_engine(inst, settings)
    if engine == "pyvrp" and inst.has_breaks:
        raise ValueError("the pyvrp engine cannot plan driver breaks; use engine auto or ortools")
    if engine == "pyvrp" and inst.soft_close:
        raise ValueError("the pyvrp engine cannot plan soft lateness (late_ok_min); use engine auto or ortools")
    nodes = list(inst.stop_nodes) if candidates is None else sorted(candidates)
    if not nodes:
        return SolverResult(
            routes=[],
            dropped=[],
            status="empty",
            objective=0,
            solve_time_s=0.0,
            engine=engine,
            engine_reason=engine_reason(inst, settings),
            stop_reason=STOP_NOTHING_TO_PLAN,
        )
    monitor = SearchMonitor(engine, settings, len(nodes), progress, started=started)
    if engine == "pyvrp":
        result = solve_pyvrp_portfolio(inst, settings, nodes, monitor, portfolio_size(settings, len(nodes)), initial)
    else:
        result = solve_ortools(inst, settings, nodes, monitor)
    # Unreachable legs were capped for the engines; a plan must never use one.
    for visits, vehicle_type in zip(result.routes, result.route_types, strict=True):
        path = inst.path(visits, vehicle_type)
        if any(inst.travel[a, b] >= UNREACHABLE for a, b in zip(path, path[1:], strict=False)):
            raise RuntimeError(f"the {engine} engine used an unreachable leg")
    if progress is not None:
        progress(monitor.snapshot())
    result.engine_reason = engine_reason(inst, settings)
    return result
