"""Re-plan the rest of a day that is already on the road (issue 18).

A dispatcher at 11:00 has vans out, parcels loaded, deliveries made, a customer who was not home and maybe
urgent orders or a van gone home sick. A plan from scratch would move what is delivered and what is loaded on
another van. Here the day as it stands (``day_state.py``) becomes a smaller problem the ordinary engines and the
independent check solve, so nothing about routing is written twice:

- every van in service is a vehicle type of its own (count 1) that leaves from where it is (its reported
  position or its last reported stop, as an extra matrix node) no earlier than it is free, with the capacity its
  delivered parcels freed up, what is left of its maximum route, and no fixed cost once it is on the road;
- done visits are history: never offered to the engines, put back on their van's route as reported;
- what a van carries is bound to it through ``VrptwInstance.allowed_types`` as the mode says:
  ``resequence`` binds every loaded stop and plans nothing new; ``assign_new`` binds loaded stops and lets new
  and unassigned ones go to any van; ``free`` binds nothing (a re-plan before loading);
- a failed visit is retried by its van no earlier than ``retry_after_min`` after the attempt when that is set
  (the parcel is on that van), otherwise dropped as ``failed_attempt``;
- a van that is off leaves its loaded stops to other vans (``assign_new``, ``free``) or drops them with a
  reason naming it (``resequence``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..stops import Stop, format_clock
from ..travel_times import TravelMatrix
from .balance import route_cost
from .day_state import POSITION, DayState, VanState
from .drop_reasons import DropReason
from .engines.solve import ProgressCallback, SolverSettings
from .feasibility import InfeasiblePlanError
from .fleet import DepotPoint, Fleet
from .instance import ObjectiveWeights, VehicleSpec, VrptwInstance, instance_from_stops
from .plan import SolvedInstance, assemble_plan, schedule_and_check, solve_instance
from .plan_types import ReplanSummary, Route, RoutePlan, Visit
from .revisions import DONE, Revision
from .route_build import build_route

RESEQUENCE, ASSIGN_NEW, FREE = "resequence", "assign_new", "free"
MODES = (RESEQUENCE, ASSIGN_NEW, FREE)
FAILED_ATTEMPT = "failed_attempt"
VAN_OFF = "van_off"
KEEPS_VANS = "mode_keeps_vans"  # resequence: a stop no van carries gets none
VAN_NODE_PREFIX = "van:"
# With loaded stops bound to their vans, this share of the time limit re-plans, alone, each van that dropped one of
# its own stops (measured on a 500-stop day at 11:00, 8 s: the whole-fleet search with bindings leaves stops a
# single van's search serves).
REPAIR_SHARE = 0.15


@dataclass(frozen=True)
class ReplanOptions:
    mode: str = ASSIGN_NEW
    retry_after_min: int | None = None  # None: a failed visit is not retried today
    progress_source: str = ""
    fingerprint: str = ""
    warm_start: bool = True  # start the search from each van's remaining stops (False: a cold, fresh solve)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown re-planning mode '{self.mode}'; choose one of {', '.join(MODES)}")
        if self.retry_after_min is not None and self.retry_after_min < 0:
            raise ValueError("retry_after_min must not be negative")


def van_node_id(van: VanState) -> str:
    return f"{VAN_NODE_PREFIX}{van.slot.vehicle_id}"


def van_points(day: DayState) -> list[tuple[str, DepotPoint]]:
    """The reported positions the travel matrix needs as extra nodes (after the fleet's own points)."""
    return [(van_node_id(v), v.continues_from) for v in day.vans if v.in_service and v.continues_from_kind == POSITION]


def _van_spec(
    base: VehicleSpec, van: VanState, start: int, started_s: int, carried: list[int], on_road: bool
) -> VehicleSpec:
    """One van's vehicle type for the rest of the day; ``carried`` is what its history took, parcels first and
    then each other load unit of the instance."""
    free_s = max(base.shift_start, van.free_at_min * 60)
    max_route = base.max_route - (free_s - started_s) if on_road else base.max_route
    window = base.break_window
    if window is not None and window[1] < free_s:
        window = None  # the break window is over: taken or not, no re-plan can place it now
    elif window is not None:
        window = (max(window[0], free_s), window[1])
    done = sum(1 for h in van.history if h.status == DONE)
    return replace(
        base,
        name=van.slot.name,
        count=1,
        max_stops=None if base.max_stops is None else max(0, base.max_stops - done),
        capacity=max(0, base.capacity - carried[0]),
        load_capacity=tuple(
            None if cap is None else max(0, cap - carried[1 + d]) for d, cap in enumerate(base.load_capacity)
        ),
        shift_start=min(free_s, base.shift_end),
        max_route=max(0, max_route),
        regular=None if base.regular is None else max(0, base.regular - (free_s - started_s if on_road else 0)),
        fixed_cost=0 if on_road else base.fixed_cost,
        break_window=window,
        break_duration=base.break_duration if window is not None else 0,
        start_depot=start,
    )


def replan_day(
    fleet: Fleet,
    stops: list[Stop],
    matrix: TravelMatrix,
    previous: Revision,
    day: DayState,
    options: ReplanOptions,
    settings: SolverSettings,
    weights: ObjectiveWeights | None = None,
    progress: ProgressCallback | None = None,
) -> RoutePlan:
    """The day re-planned at ``day.as_of_min``: history kept, the rest solved and checked as the mode allows.

    ``matrix`` holds the depot, ``stops``, the fleet's own points and ``van_points(day)`` in that order.
    Raises InfeasiblePlanError when the remainder fails the independent check, as every plan does."""
    base = instance_from_stops(fleet, stops, matrix, weights, tuple(node for node, _ in van_points(day)))
    node_of = {s.stop_ref: i for i, s in enumerate(stops, start=1)}
    node_stop = {i: s for i, s in enumerate(stops, start=1)}
    point_node = {node_id: k for k, node_id in enumerate(base.node_ids)}
    demand, tw_open = list(base.demand), list(base.tw_open)
    loads = [list(amounts) for amounts in base.loads]

    done = {h.stop_ref: h for v in day.vans for h in v.history if h.status == DONE and h.stop_ref in node_of}
    failed = {h.stop_ref: h for h in day.failed if h.stop_ref in node_of and h.stop_ref not in done}
    in_service = [v for v in day.vans if v.in_service]
    type_of = {v.slot.number: j for j, v in enumerate(in_service)}
    specs = []
    for van in in_service:
        took = [node_of[h.stop_ref] for h in van.history if h.stop_ref in node_of]
        carried = [sum(amounts[n] for n in took) for amounts in (base.demand, *base.loads)]
        type_spec = base.vehicle_types[van.slot.type_index]
        if van.continues_from_kind == POSITION:
            start = point_node[van_node_id(van)]
        elif van.history:
            start = node_of[van.history[-1].stop_ref]
        else:
            start = type_spec.start_depot
        on_road = bool(van.history) or van.continues_from_kind == POSITION or bool(van.on_board)
        started = previous.route_starts.get(van.slot.number, van.free_at_min * 60)
        specs.append(_van_spec(type_spec, van, start, min(started, van.free_at_min * 60), carried, on_road))

    allowed: dict[int, frozenset[int]] = {}
    pre_dropped: dict[int, DropReason] = {}
    off = {v.slot.number: v for v in day.vans if not v.in_service}
    for van in day.vans:
        for ref in van.on_board:
            if ref in failed or ref not in node_of:
                continue
            node = node_of[ref]
            if van.in_service and options.mode != FREE:
                allowed[node] = frozenset({type_of[van.slot.number]})
            elif not van.in_service and options.mode == RESEQUENCE:
                when = format_clock(van.off_at_min) if van.off_at_min is not None else "today"
                pre_dropped[node] = DropReason(
                    VAN_OFF, f"{van.slot.name} left service at {when} and mode resequence keeps stops on their van"
                )
    if options.mode == RESEQUENCE:
        for ref in day.unassigned:
            if ref in node_of and ref not in failed:
                pre_dropped[node_of[ref]] = DropReason(
                    KEEPS_VANS, "no van carries it and mode resequence only re-orders each van's stops; use assign_new"
                )
    for ref, report in failed.items():
        node = node_of[ref]
        attempt = format_clock(report.time_min) if report.time_min is not None else "earlier"
        van_type = type_of.get(report.slot.number)
        if options.retry_after_min is None or van_type is None:
            why = "no retry today (set retry_after_min)" if van_type is not None else f"{report.slot.name} is off"
            pre_dropped[node] = DropReason(FAILED_ATTEMPT, f"attempted by {report.slot.name} at {attempt}; {why}")
            continue
        allowed[node] = frozenset({van_type})  # the parcel is on that van
        demand[node] = 0  # already counted in the van's carried load
        for amounts in loads:
            amounts[node] = 0
        retry_s = ((report.time_min or 0) + options.retry_after_min) * 60
        tw_open[node] = max(tw_open[node], min(retry_s, base.tw_close[node] + 1))

    for node, types in base.allowed_types.items():  # skills: only the vans of a skilled type
        vans = frozenset(j for j, v in enumerate(in_service) if v.slot.type_index in types)
        allowed[node] = allowed[node] & vans if node in allowed else vans
    handled = {node_of[ref] for ref in done}
    nodes = [n for n in base.stop_nodes if n not in handled]
    if not specs:  # every van is off: nothing can be served
        for n in nodes:
            pre_dropped.setdefault(n, DropReason(VAN_OFF, "every van has left service"))
        specs = [replace(base.vehicle_types[0], count=1, shift_start=base.shift_end)]
    inst = replace(base, vehicle_types=specs, demand=demand, loads=loads, tw_open=tw_open, allowed_types=allowed)
    # The search starts from each van's remaining stops in the previous order: a good plan in hand at once.
    offered = set(nodes) - set(pre_dropped)
    initial = [
        ([node_of[ref] for ref in van.on_board if ref in node_of and node_of[ref] in offered], type_of[van.slot.number])
        for van in in_service
        if options.warm_start
    ]
    bound = options.mode != FREE and any(len(a) == 1 for a in allowed.values())
    main = replace(settings, time_limit_s=settings.time_limit_s * (1 - REPAIR_SHARE)) if bound else settings
    solved = solve_instance(
        inst, main, progress, nodes=nodes, pre_dropped=pre_dropped, handled_elsewhere=handled, initial=initial
    )
    if solved.violations:
        raise InfeasiblePlanError(solved.violations)
    if bound:
        solved = repair_bound_drops(inst, solved, settings, settings.time_limit_s * REPAIR_SHARE, handled)
    for node in solved.dropped:
        if node_stop[node].stop_ref in failed and node not in solved.pre_dropped:
            report = failed[node_stop[node].stop_ref]
            solved.pre_dropped[node] = DropReason(
                FAILED_ATTEMPT,
                f"attempted by {report.slot.name} at {format_clock(report.time_min or 0)}; the retry no longer fits",
            )

    planned = {type_of[v.slot.number]: None for v in in_service}
    for visits, times, t in zip(solved.routes, solved.schedules, solved.route_types, strict=True):
        planned[t] = (visits, times)
    routes = []
    for van in day.vans:
        history = _history_visits(inst, van, node_of, node_stop, done)
        ahead = planned.get(type_of.get(van.slot.number, -1))
        if not history and ahead is None:
            continue
        route = _van_route(inst, van, history, ahead, node_stop, type_of.get(van.slot.number), previous)
        type_name = fleet.vehicle_types[van.slot.type_index].name
        route.vehicle_type, route.vehicle_name = type_name, van.slot.name
        route.start_depot, route.end_depot = fleet.start_point(type_name), fleet.end_point(type_name)
        routes.append(route)
    plan = assemble_plan(
        fleet, inst, routes, solved.dropped, solved.pre_dropped, solved, node_stop, settings, matrix.source
    )
    plan.replan = _summary(plan, previous, day, options, len(done), off)
    return plan


def _history_visits(
    inst: VrptwInstance, van: VanState, node_of: dict[str, int], node_stop: dict[int, Stop], done: dict
) -> list[Visit]:
    """The van's done visits as reported: arrival and service start at the reported time."""
    out: list[Visit] = []
    prev = 0  # the first done visit's leg is not known (where the van was before it): shown as none
    for report in van.history:
        if report.stop_ref not in done or done[report.stop_ref] is not report:
            continue
        node = node_of[report.stop_ref]
        at = (report.time_min or 0) * 60
        out.append(
            Visit(
                sequence=len(out) + 1,
                stop=node_stop[node],
                arrival_s=at,
                service_start_s=at,
                departure_s=at + int(inst.service[node]),
                travel_s=int(inst.travel[prev, node]) if out else 0,
                distance_m=float(inst.distance[prev, node]) if out else 0.0,
                status=DONE,
            )
        )
        prev = node
    return out


def _van_route(inst, van: VanState, history: list[Visit], ahead, node_stop, van_type, previous: Revision) -> Route:
    """History, then what is ahead (built as every route is, from where the van continues)."""
    if ahead is None:
        last = history[-1]
        return Route(
            vehicle=van.slot.number,
            start_s=previous.route_starts.get(van.slot.number, history[0].arrival_s),
            end_s=last.departure_s,
            visits=history,
            return_travel_s=0,
            return_distance_m=0.0,
        )
    visits, times = ahead
    route = build_route(inst, van.slot.number, visits, times, node_stop, van_type)
    for k, visit in enumerate(route.visits, start=len(history) + 1):
        visit.sequence = k
    if history:
        route.start_s = previous.route_starts.get(van.slot.number, history[0].arrival_s)
    route.visits = history + route.visits
    return route


def _summary(
    plan: RoutePlan, previous: Revision, day: DayState, options: ReplanOptions, frozen: int, off: dict
) -> ReplanSummary:
    kept = moved = new = 0
    for route in plan.routes:
        for visit in route.visits:
            if visit.status == DONE:
                continue
            before = previous.stops.get(visit.stop.stop_ref)
            if before is None:
                new += 1
            elif before.vehicle == route.vehicle:
                kept += 1
            else:
                moved += 1
    reasons = {}
    for van in off.values():
        when = format_clock(van.off_at_min) if van.off_at_min is not None else "today"
        reasons.update({ref: f"{van.slot.name} left service at {when}" for ref in van.on_board})
    reasons.update({ref: "urgent stop: new since the previous revision" for ref in day.unassigned
                    if ref not in previous.stops and ref not in previous.dropped})  # fmt: skip
    reasons.update(
        {h.stop_ref: f"retry after the failed attempt at {format_clock(h.time_min or 0)}" for h in day.failed}
    )
    return ReplanSummary(
        as_of_min=day.as_of_min,
        mode=options.mode,
        progress_source=options.progress_source,
        frozen=frozen,
        kept_vehicle=kept,
        moved=moved,
        new_served=new,
        dropped=len(plan.dropped),
        vans_off=tuple(v.slot.name for v in off.values()),
        fingerprint=options.fingerprint,
        reasons=tuple(sorted(reasons.items())),
    )


def repair_bound_drops(
    inst: VrptwInstance, solved: SolvedInstance, settings: SolverSettings, budget_s: float, handled: set[int]
) -> SolvedInstance:
    """Each van that dropped a stop bound to it alone is re-planned alone (its route and those stops) within the
    budget; a van's new route is kept only when it serves everything it served before and more. The whole plan
    passes the independent check again before it is returned."""
    routes = {t: list(v) for v, t in zip(solved.routes, solved.route_types, strict=True)}
    lost: dict[int, list[int]] = {}
    for node in solved.dropped:
        allowed = inst.allowed_types.get(node)
        if node not in solved.pre_dropped and allowed is not None and len(allowed) == 1:
            lost.setdefault(next(iter(allowed)), []).append(node)
    if not lost or budget_s <= 0:
        return solved
    each = max(0.2, budget_s / len(lost))
    recovered: set[int] = set()
    for t, extra in sorted(lost.items(), key=lambda item: -len(item[1])):
        before = routes.get(t, [])
        nodes = before + extra
        sub = replace(inst, vehicle_types=[inst.vehicle_types[t]], allowed_types={})
        trial = solve_instance(
            sub, replace(settings, time_limit_s=each, workers=1), nodes=nodes,
            handled_elsewhere=set(inst.stop_nodes) - set(nodes), initial=[(before, 0)] if before else None,
        )  # fmt: skip
        served = [n for r in trial.routes for n in r]
        if trial.violations or not set(before) <= set(served) or len(served) <= len(before):
            continue
        routes[t] = served
        recovered |= set(served) - set(before)
    if not recovered:
        return solved
    types = sorted(routes)
    used = [routes[t] for t in types]
    dropped = [n for n in solved.dropped if n not in recovered]
    schedules, violations = schedule_and_check(inst, used, types, set(dropped) | handled)
    if violations:
        raise InfeasiblePlanError(violations)
    before = dict(zip(solved.route_types, solved.schedules, strict=True))
    after = dict(zip(types, schedules, strict=True))
    moved = sum(
        route_cost(inst, routes[t], t, after[t]) - (route_cost(inst, old, t, before[t]) if t in before else 0)
        for t, old in ((t, dict(zip(solved.route_types, solved.routes, strict=True)).get(t, [])) for t in lost)
        if t in after
    )
    objective = solved.result.objective - sum(inst.node_penalty(n) for n in recovered) + moved
    return SolvedInstance(
        replace(solved.result, objective=objective), used, types, schedules, dropped, solved.pre_dropped, violations
    )
