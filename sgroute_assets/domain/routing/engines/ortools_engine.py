"""The OR-Tools VRPTW engine (the design's original engine; used for breaks and as a second opinion).

Every stop is an optional visit with a large penalty and the first solution is built by parallel cheapest
insertion: PATH_CHEAPEST_ARC with mandatory visits returns nothing at all on tight windows (Solomon R101 and
RC101, see shared/notes/vrp_solvers.md), while this set-up always returns a plan, dropping what it must.

Each vehicle starts and ends at its type's depot nodes (``RoutingIndexManager`` with per-vehicle starts and
ends). A driver break is a mandatory fixed-duration interval in its window that may not overlap a visit
(service time) and stretches the slack of the arc it falls in; OR-Tools lets it fall before the start or
after the end of a route, which is the off-the-road break ``route_schedule`` allows too.
"""

from __future__ import annotations

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from ..instance import VrptwInstance
from .search import STOP_ENGINE_DONE, SearchMonitor, SolverResult, SolverSettings

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


def solve_ortools(
    inst: VrptwInstance, settings: SolverSettings, nodes: list[int], monitor: SearchMonitor
) -> SolverResult:
    """Solve over ``nodes`` (the stops worth offering; never empty)."""
    # The model sees the candidate stops and the depots some vehicle uses (an unused main depot would be a
    # visit like any other); local index k maps back to node ``index_map[k]``.
    depots = {d for t in inst.vehicle_types for d in (t.start_depot, t.end_depot)}
    main = [0] if 0 in depots else []
    index_map = main + nodes + sorted(depots - {0})
    local = {node: k for k, node in enumerate(index_map)}
    first = len(main)  # local index of the first stop
    sub = np.ix_(index_map, index_map)
    travel = inst.travel[sub]
    service = np.array([inst.service[i] for i in index_map], dtype=np.int64)
    horizon = int(max(inst.shift_end, max(inst.tw_close)) + 1)
    capped_travel = np.minimum(travel, horizon + 1)
    vehicle_types = inst.vehicle_type_of()
    specs = [inst.vehicle_types[t] for t in vehicle_types]

    starts = [local[s.start_depot] for s in specs]
    ends = [local[s.end_depot] for s in specs]
    manager = pywrapcp.RoutingIndexManager(len(index_map), len(vehicle_types), starts, ends)
    routing = pywrapcp.RoutingModel(manager)

    arc_cost = routing.RegisterTransitMatrix((capped_travel * inst.travel_cost).tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(arc_cost)
    time_transit = routing.RegisterTransitMatrix((capped_travel + service[:, None]).tolist())
    routing.AddDimension(time_transit, horizon, horizon, False, "Time")
    time_dim = routing.GetDimensionOrDie("Time")

    demand_cb = routing.RegisterUnaryTransitVector([int(inst.demand[i]) for i in index_map])
    routing.AddDimensionWithVehicleCapacity(demand_cb, 0, [int(s.capacity) for s in specs], True, "Load")

    for d, amounts in enumerate(inst.loads):  # kilograms and litres: one dimension each
        unit_cb = routing.RegisterUnaryTransitVector([int(amounts[i]) for i in index_map])
        total = sum(int(amounts[i]) for i in index_map)
        caps = [s.load_capacity[d] if d < len(s.load_capacity) else None for s in specs]
        limits = [total if cap is None else int(cap) for cap in caps]
        routing.AddDimensionWithVehicleCapacity(unit_cb, 0, limits, True, inst.load_names[d])
    if any(s.max_stops is not None for s in specs):  # a route's stop count against its type's max_stops
        counts = [0] * first + [1] * len(nodes) + [0] * (len(index_map) - first - len(nodes))
        visit = routing.RegisterUnaryTransitVector(counts)
        limits = [int(s.max_stops) if s.max_stops is not None else len(nodes) for s in specs]
        routing.AddDimensionWithVehicleCapacity(visit, 0, limits, True, "Stops")

    for k in range(first, first + len(nodes)):
        node = index_map[k]
        index = manager.NodeToIndex(k)
        time_dim.CumulVar(index).SetRange(int(inst.tw_open[node]), inst.last_close(node))
        if node in inst.soft_close:  # allowed late up to tw_close, each second past the soft end at its cost
            soft, cost = inst.soft_close[node]
            time_dim.SetCumulVarSoftUpperBound(index, int(soft), int(cost))
        if node in inst.second_window:  # served in one window or the other, never between them
            time_dim.CumulVar(index).RemoveInterval(int(inst.tw_close[node]) + 1, inst.second_window[node][0] - 1)
        routing.AddDisjunction([index], inst.node_penalty(node))
        if node in inst.allowed_types:
            allowed = [v for v, t in enumerate(vehicle_types) if inst.allows(node, t)]
            # -1 is "not performed": the visit stays optional (SetAllowedVehiclesForIndex rejects a list here).
            routing.VehicleVar(index).SetValues([-1, *allowed])

    solver = routing.solver()
    node_visit_transit = [int(service[manager.IndexToNode(i)]) for i in range(routing.Size())]
    for v, spec in enumerate(specs):
        start, end = routing.Start(v), routing.End(v)
        time_dim.CumulVar(start).SetRange(spec.shift_start, spec.shift_end)
        time_dim.CumulVar(end).SetRange(spec.shift_start, spec.shift_end)
        time_dim.SetSpanUpperBoundForVehicle(int(spec.max_route), v)
        if spec.regular is not None and spec.overtime_cost:  # overtime: route time past the regular costs
            time_dim.SetSoftSpanUpperBoundForVehicle(pywrapcp.BoundCost(int(spec.regular), spec.overtime_cost), v)
        if spec.fixed_cost:
            routing.SetFixedCostOfVehicle(int(spec.fixed_cost), v)
        if spec.break_window is not None:
            earliest, latest = spec.break_window
            interval = solver.FixedDurationIntervalVar(earliest, latest, spec.break_duration, False, f"break {v}")
            time_dim.SetBreakIntervalsOfVehicle([interval], v, node_visit_transit)
        # Leave as late and come back as early as the plan allows: ETAs without pointless waiting.
        routing.AddVariableMaximizedByFinalizer(time_dim.CumulVar(start))
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(end))
    if inst.duration_cost:
        time_dim.SetSpanCostCoefficientForAllVehicles(int(inst.duration_cost))

    def on_solution() -> None:
        if monitor.observe(routing.CostVar().Max()):
            solver.FinishCurrentSearch()

    routing.AddAtSolutionCallback(on_solution)

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = FIRST_SOLUTION_STRATEGIES[settings.first_solution]
    if settings.guided_local_search:
        params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    remaining = monitor.deadline - monitor.started - monitor.elapsed()
    params.time_limit.FromMilliseconds(max(1, int(remaining * 1000)))

    solution = routing.SolveWithParameters(params)
    status = STATUS_NAMES.get(routing.status(), str(routing.status()))
    stop_reason = monitor.stop_reason or STOP_ENGINE_DONE
    if status in ("partial_success_time_limit", "fail_timeout") and not monitor.stop_reason:
        stop_reason = "time_limit"

    if solution is None:
        # With every visit optional this means the solver found nothing in time: serve nobody, say so.
        return SolverResult(
            routes=[],
            dropped=nodes,
            status=status,
            objective=0,
            solve_time_s=monitor.elapsed(),
            engine="ortools",
            stop_reason=stop_reason,
        )

    routes: list[list[int]] = []
    route_types: list[int] = []
    served: set[int] = set()
    for v in range(len(vehicle_types)):
        index = solution.Value(routing.NextVar(routing.Start(v)))
        visits: list[int] = []
        while not routing.IsEnd(index):
            node = index_map[manager.IndexToNode(index)]
            visits.append(node)
            served.add(node)
            index = solution.Value(routing.NextVar(index))
        if visits:
            routes.append(visits)
            route_types.append(vehicle_types[v])
    return SolverResult(
        routes=routes,
        route_types=route_types,
        dropped=[n for n in nodes if n not in served],
        status=status,
        objective=int(solution.ObjectiveValue()),
        solve_time_s=monitor.elapsed(),
        engine="ortools",
        stop_reason=stop_reason,
        best_found_s=monitor.best_found_s(),
    )
