"""The OR-Tools VRPTW model.

Every stop is an optional visit with a large penalty and the first solution is built by parallel cheapest
insertion: PATH_CHEAPEST_ARC with mandatory visits returns nothing at all on tight windows (Solomon R101 and
RC101, see shared/notes/vrp_solvers.md), while this set-up always returns a plan, dropping what it must.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from .vrptw_instance import UNREACHABLE, VrptwInstance

FIRST_SOLUTION_STRATEGIES = {
    "parallel_cheapest_insertion": routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION,
    "local_cheapest_insertion": routing_enums_pb2.FirstSolutionStrategy.LOCAL_CHEAPEST_INSERTION,
    "savings": routing_enums_pb2.FirstSolutionStrategy.SAVINGS,
    "path_cheapest_arc": routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC,
}
STATUS_NAMES = {
    0: "not_solved",
    1: "success",
    2: "partial_success_time_limit",
    3: "fail",
    4: "fail_timeout",
    5: "invalid",
    6: "infeasible",
    7: "optimal",
}


@dataclass
class SolverSettings:
    time_limit_s: float = 10.0
    first_solution: str = "parallel_cheapest_insertion"
    guided_local_search: bool = True


@dataclass
class SolverResult:
    routes: list[list[int]]  # per vehicle, node indices of the visits in order (depot excluded)
    dropped: list[int]
    status: str
    objective: int
    solve_time_s: float


def solve_vrptw(inst: VrptwInstance, settings: SolverSettings, candidates: list[int] | None = None) -> SolverResult:
    """Solve over ``candidates`` (stop nodes worth offering to the solver; all stops by default)."""
    nodes = list(range(1, inst.size)) if candidates is None else sorted(candidates)
    if not nodes:
        return SolverResult(
            routes=[[] for _ in range(inst.vehicles)], dropped=[], status="empty", objective=0, solve_time_s=0.0
        )
    # The model only sees the depot and the candidate stops; local index k maps back to node ``index_map[k]``.
    index_map = [0] + nodes
    sub = np.ix_(index_map, index_map)
    travel = inst.travel[sub]
    service = np.array([inst.service[i] for i in index_map], dtype=np.int64)
    horizon = int(max(inst.shift_end, max(inst.tw_close)) + 1)
    capped_travel = np.minimum(travel, horizon + 1)

    manager = pywrapcp.RoutingIndexManager(len(index_map), inst.vehicles, 0)
    routing = pywrapcp.RoutingModel(manager)

    arc_cost = routing.RegisterTransitMatrix(capped_travel.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(arc_cost)
    time_transit = routing.RegisterTransitMatrix((capped_travel + service[:, None]).tolist())
    routing.AddDimension(time_transit, horizon, horizon, False, "Time")
    time_dim = routing.GetDimensionOrDie("Time")

    demand_cb = routing.RegisterUnaryTransitVector([int(inst.demand[i]) for i in index_map])
    routing.AddDimensionWithVehicleCapacity(demand_cb, 0, [int(inst.capacity)] * inst.vehicles, True, "Load")

    penalty = inst.penalty()
    for k in range(1, len(index_map)):
        node = index_map[k]
        index = manager.NodeToIndex(k)
        time_dim.CumulVar(index).SetRange(int(inst.tw_open[node]), int(inst.tw_close[node]))
        routing.AddDisjunction([index], penalty)

    for v in range(inst.vehicles):
        start, end = routing.Start(v), routing.End(v)
        time_dim.CumulVar(start).SetRange(inst.shift_start, inst.shift_end)
        time_dim.CumulVar(end).SetRange(inst.shift_start, inst.shift_end)
        time_dim.SetSpanUpperBoundForVehicle(int(inst.max_route), v)
        # Leave as late and come back as early as the plan allows: ETAs without pointless waiting.
        routing.AddVariableMaximizedByFinalizer(time_dim.CumulVar(start))
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(end))
    if inst.vehicle_fixed_cost:
        routing.SetFixedCostOfAllVehicles(int(inst.vehicle_fixed_cost))

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = FIRST_SOLUTION_STRATEGIES[settings.first_solution]
    if settings.guided_local_search:
        params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(max(1, int(settings.time_limit_s * 1000)))

    started = time.perf_counter()
    solution = routing.SolveWithParameters(params)
    elapsed = time.perf_counter() - started
    status = STATUS_NAMES.get(routing.status(), str(routing.status()))

    if solution is None:
        # With every visit optional this means the solver found nothing in time: serve nobody, say so.
        return SolverResult(
            routes=[[] for _ in range(inst.vehicles)], dropped=nodes, status=status, objective=0, solve_time_s=elapsed
        )

    routes: list[list[int]] = []
    served: set[int] = set()
    for v in range(inst.vehicles):
        index = routing.Start(v)
        visits: list[int] = []
        index = solution.Value(routing.NextVar(index))
        while not routing.IsEnd(index):
            node = index_map[manager.IndexToNode(index)]
            visits.append(node)
            served.add(node)
            index = solution.Value(routing.NextVar(index))
        routes.append(visits)
    dropped = [n for n in nodes if n not in served]
    # Unreachable legs were capped for the model; a plan must never use one.
    for visits in routes:
        legs = zip([0] + visits, visits + [0], strict=True)
        if any(inst.travel[a, b] >= UNREACHABLE for a, b in legs):
            raise RuntimeError("solver used an unreachable leg")
    return SolverResult(
        routes=routes, dropped=dropped, status=status, objective=int(solution.ObjectiveValue()), solve_time_s=elapsed
    )
