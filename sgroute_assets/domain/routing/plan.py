"""From validated stops, a fleet and a travel matrix to a checked route plan.

This is the one place that strings the steps together (drop the impossible, solve, schedule, check,
explain), so the asset, the CLI and the benchmarks all plan the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..stops import Stop
from ..travel_times import TravelMatrix
from .balance import DEFAULT_MAX_INCREASE, NONE, ROUNDS, SHARE, balance_solved
from .drop_reasons import DropReason, explain_drop, reason_alone
from .engines.solve import ProgressCallback, SolverResult, SolverSettings, solve_vrptw
from .feasibility import ClaimedRoute, InfeasiblePlanError, check_plan
from .fleet import Fleet
from .instance import ObjectiveWeights, VrptwInstance, instance_from_stops
from .plan_types import DroppedStop, Route, RoutePlan
from .route_build import build_route
from .schedule import RouteTimes, schedule_route


@dataclass
class SolvedInstance:
    """An instance solved and checked: what route_plan and ``sgroute bench-vrptw`` both build on."""

    result: SolverResult
    routes: list[list[int]]  # used routes, grouped by vehicle type in the fleet's order
    route_types: list[int]
    schedules: list[RouteTimes]
    dropped: list[int]
    pre_dropped: dict[int, DropReason]
    violations: list[str]


def solve_instance(
    inst: VrptwInstance,
    settings: SolverSettings,
    progress: ProgressCallback | None = None,
    *,
    nodes: list[int] | None = None,
    pre_dropped: dict[int, DropReason] | None = None,
    handled_elsewhere: set[int] | None = None,
    initial: list[tuple[list[int], int]] | None = None,
) -> SolvedInstance:
    """Drop what no vehicle can serve, solve the rest, schedule it and run the independent check.

    ``nodes`` are the stops to plan (default: all), ``pre_dropped`` drops already decided with their reasons, and
    ``handled_elsewhere`` stops another part of the plan serves (a planner's fixed routes, resequence.py): the
    check counts them as accounted for rather than missing. ``initial`` (routes as (visits, vehicle type)) starts
    PyVRP's search from a plan in hand (a re-plan starts from what each van still carries, in its order).
    """
    nodes = list(inst.stop_nodes) if nodes is None else nodes
    pre_dropped = dict(pre_dropped or {})
    for node in nodes:
        if node not in pre_dropped:
            reason = reason_alone(inst, node)
            if reason is not None:
                pre_dropped[node] = reason
    candidates = [n for n in nodes if n not in pre_dropped]
    result = solve_vrptw(inst, settings, candidates, progress, initial)

    # Routes grouped by vehicle type, in the fleet's order, so numbers and names read naturally.
    order = sorted((k for k, visits in enumerate(result.routes) if visits), key=lambda k: (result.route_types[k], k))
    used = [result.routes[k] for k in order]
    types = [result.route_types[k] for k in order]
    dropped_nodes = sorted(set(result.dropped) | set(pre_dropped))
    schedules, violations = schedule_and_check(inst, used, types, set(dropped_nodes) | (handled_elsewhere or set()))
    return SolvedInstance(result, used, types, schedules, dropped_nodes, pre_dropped, violations)


def schedule_and_check(
    inst: VrptwInstance, routes: list[list[int]], types: list[int], accounted: set[int]
) -> tuple[list[RouteTimes], list[str]]:
    """Each route's schedule, and the independent check of the routes as scheduled; ``accounted`` are the stops
    on no route that are dropped or handled elsewhere (every other stop must be on a route)."""
    schedules = [schedule_route(inst, visits, t) for visits, t in zip(routes, types, strict=True)]
    claimed = [
        ClaimedRoute(
            visits=v, start=s.start, service_start=s.service_start, end=s.end, vehicle_type=t, break_start=s.break_start
        )
        for v, s, t in zip(routes, schedules, types, strict=True)
    ]
    return schedules, check_plan(inst, claimed, sorted(accounted))


def plan_routes(
    fleet: Fleet,
    stops: list[Stop],
    matrix: TravelMatrix,
    settings: SolverSettings,
    weights: ObjectiveWeights | None = None,
    progress: ProgressCallback | None = None,
    balance: str = NONE,
    balance_max_increase: float = DEFAULT_MAX_INCREASE,
) -> RoutePlan:
    """Solve and verify; raises InfeasiblePlanError rather than return a plan that breaks a constraint.

    ``balance`` (duration | stops) spends a share of the time limit evening out the routes (balance.py)."""
    inst = instance_from_stops(fleet, stops, matrix, weights)
    node_stop = {i + 1: s for i, s in enumerate(stops)}
    first = replace(settings, time_limit_s=settings.time_limit_s * (1 - SHARE)) if balance != NONE else settings
    solved = solve_instance(inst, first, progress)
    if solved.violations:
        raise InfeasiblePlanError(solved.violations)
    each = replace(settings, time_limit_s=max(0.5, settings.time_limit_s * SHARE / ROUNDS))
    solved, balanced = balance_solved(
        inst, solved, balance, lambda capped: solve_instance(capped, each), balance_max_increase
    )

    # A route's number is its vehicle's place in the fleet, counted type by type (as a planner's sequence file
    # names vehicles, domain/routing/resequence.py): "V03" is always the same vehicle, so with a mixed fleet the numbers
    # of a plan that leaves vehicles unused may have gaps (V01, V03).
    names = [spec.vehicle_names() for spec in inst.vehicle_types]
    offsets = [sum(spec.count for spec in inst.vehicle_types[:k]) for k in range(len(inst.vehicle_types))]
    taken = [0] * len(inst.vehicle_types)
    routes = []
    for visits, times, t in zip(solved.routes, solved.schedules, solved.route_types, strict=True):
        route = build_route(inst, offsets[t] + taken[t] + 1, visits, times, node_stop, t)
        route.vehicle_type = inst.vehicle_types[t].name
        route.vehicle_name = names[t][taken[t]]
        route.start_depot = fleet.start_point(route.vehicle_type)
        route.end_depot = fleet.end_point(route.vehicle_type)
        taken[t] += 1
        routes.append(route)
    plan = assemble_plan(
        fleet, inst, routes, solved.dropped, solved.pre_dropped, solved, node_stop, settings, matrix.source
    )
    plan.balance = balanced.summary() if balance != NONE else None
    return plan


def assemble_plan(
    fleet: Fleet,
    inst: VrptwInstance,
    routes: list[Route],
    dropped_nodes: list[int],
    pre_dropped: dict[int, DropReason],
    solved: SolvedInstance,
    node_stop: dict[int, Stop],
    settings: SolverSettings,
    matrix_source: str,
    violations: list[str] | None = None,
) -> RoutePlan:
    """The plan from its routes and dropped nodes, each drop explained against the solver's routes: one place for
    optimised plans and resequenced ones (resequence.py), so both report drops and solver figures alike."""
    result = solved.result
    dropped = []
    for node in dropped_nodes:
        why = pre_dropped.get(node) or explain_drop(inst, node, solved.routes, solved.route_types)
        dropped.append(DroppedStop(stop=node_stop[node], reason=why.code, message=why.message))
    return RoutePlan(
        fleet=fleet,
        routes=routes,
        dropped=dropped,
        solver_status=result.status,
        objective=result.objective,
        solve_time_s=result.solve_time_s,
        time_limit_s=settings.time_limit_s,
        matrix_source=matrix_source,
        engine=result.engine,
        engine_reason=result.engine_reason,
        stop_reason=result.stop_reason,
        best_found_s=result.best_found_s,
        violations=violations or [],
    )
