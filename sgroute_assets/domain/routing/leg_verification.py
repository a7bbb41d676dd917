"""A plan checked on the exact road times of the legs it drives, and repaired where they break it.

The matrix a plan is solved on is mostly the travel-time model (about 10 % off OneMap's drive times, with the
rest of the error pair-specific). A plan drives only ``stops + routes`` of its ``n^2`` legs, so those legs can
all be timed by OneMap even when the matrix cannot. This module does that, engine- and service-free:

1. **Which legs**: every leg of every route, start depot to end depot (two nodes at one point are no leg).
2. **Exact times**: the legs are asked from ``fetch`` (the travel-time resource: OD cache first, then OneMap
   within its own call budget); each exact duration and distance replaces the model's in the plan's instance.
3. **Re-time** every route on those legs with the same scheduler the planner uses.
4. **Detect** what the exact legs break on optimised routes: a stop served after its window closes, a route
   back after the shift or over its maximum duration.
5. **Repair**: re-solve the optimised routes on the instance with every exact leg known so far (a few rounds,
   each bounded in time), verify the legs the new plan uses, and so on. If the last round still breaks
   something, the stops that break it are dropped with a reason (``road_time``), so the plan that is stored is
   feasible on the exact legs it drives and passes the independent check on them.

Planner-fixed routes (domain/routing/resequence.py) are re-timed on the exact legs too but never re-solved: whatever
their order now breaks is reported as violations on their stops, as for the model's times.

Legs OneMap did not answer (down, out of budget) keep the model's time, each with why; every ETA says which it
rests on: ``onemap`` when every leg up to the stop is exact, else ``model``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import pairwise

import numpy as np

from ..stops import Stop
from ..travel_times import CELL_SAME, TravelMatrix
from .drop_reasons import DropReason, explain_drop, reason_alone
from .engines.solve import SolverSettings, solve_vrptw
from .feasibility import ClaimedRoute, InfeasiblePlanError, check_plan
from .instance import ObjectiveWeights, VrptwInstance, instance_from_stops
from .plan_types import DroppedStop, FallbackLeg, PlanVerification, Route, RouteEtaChange, RoutePlan, clock
from .resequence import vehicle_slots
from .route_build import build_route, stop_violations
from .schedule import RouteTimes, schedule_route

ETA_ONEMAP, ETA_MODEL = "onemap", "model"
ROAD_TIME = "road_time"  # drop reason: OneMap's road times make the stop late even after re-planning
DEFAULT_ROUNDS = 3  # verification rounds; every round but the first follows a re-solve
MIN_REPAIR_S = 1.0

Pair = tuple[float, float, float, float]  # origin lat, lon, destination lat, lon


@dataclass(frozen=True)
class ExactLeg:
    """A leg's road time as OneMap gave it (now or earlier, from the OD cache), with the road's polyline."""

    duration_s: float
    distance_m: float | None  # None: a cached leg without its distance (the model's stays)
    geometry: str | None = None  # Google encoded polyline, precision 5
    source: str = "onemap"  # onemap (asked now) | cache


@dataclass
class LegAnswers:
    """What the travel-time resource could say about some legs: exact ones, and why the others fell back."""

    exact: dict[Pair, ExactLeg] = field(default_factory=dict)
    failed: dict[Pair, str] = field(default_factory=dict)
    asked: int = 0  # legs sent to OneMap (counted against the verification budget)


LegFetcher = Callable[[list[Pair], int | None], LegAnswers]


@dataclass
class _Draft:
    visits: list[int]
    vehicle_type: int  # index into the full fleet's types
    number: int
    name: str
    fixed: bool


def _free_instance(inst: VrptwInstance, fixed: list[_Draft]) -> tuple[VrptwInstance, list[int]]:
    """The instance with only the vehicles no fixed route holds (types left empty removed) and ``kept``, the full
    type index of each of its types: what the optimised part is solved and checked on (as resequence does)."""
    per_type = [sum(1 for d in fixed if d.vehicle_type == k) for k in range(len(inst.vehicle_types))]
    kept = [k for k, spec in enumerate(inst.vehicle_types) if spec.count > per_type[k]]
    types = [replace(inst.vehicle_types[k], count=inst.vehicle_types[k].count - per_type[k]) for k in kept]
    return inst.keep_types(kept, types), kept


def _problems(inst: VrptwInstance, d: _Draft, times: RouteTimes) -> tuple[list[int], bool]:
    """Stops served after their window closes, and whether the route overruns its shift or maximum."""
    spec = inst.vehicle_types[d.vehicle_type]
    late = [n for n, s in zip(d.visits, times.service_start, strict=True) if s > inst.tw_close[n]]
    overrun = times.end > spec.shift_end or times.end - times.start > spec.max_route
    return late, overrun


class _Legs:
    """Exact legs known so far, patched into ``inst`` as they arrive; fallbacks remembered with their reason."""

    def __init__(self, inst: VrptwInstance, matrix: TravelMatrix, fetch: LegFetcher, budget: int | None):
        self.inst, self.matrix, self.fetch = inst, matrix, fetch
        self.codes = matrix.cell_sources()
        self.exact: dict[tuple[int, int], ExactLeg] = {}
        self.failed: dict[tuple[int, int], str] = {}
        self.budget_left = budget
        self.asked = 0

    def driven(self, a: int, b: int) -> bool:
        return a != b and self.codes[a, b] != CELL_SAME

    def known(self, a: int, b: int) -> bool:
        return (a, b) in self.exact or (a, b) in self.failed

    def verify(self, drafts: list[_Draft]) -> None:
        wanted: dict[Pair, list[tuple[int, int]]] = {}
        for d in drafts:
            for a, b in pairwise(self.inst.path(d.visits, d.vehicle_type)):
                if self.driven(a, b) and not self.known(a, b):
                    pair = (
                        float(self.matrix.lats[a]),
                        float(self.matrix.lons[a]),
                        float(self.matrix.lats[b]),
                        float(self.matrix.lons[b]),
                    )
                    wanted.setdefault(pair, []).append((a, b))
        if not wanted:
            return
        answers = self.fetch(list(wanted), self.budget_left)
        self.asked += answers.asked
        if self.budget_left is not None:
            self.budget_left = max(0, self.budget_left - answers.asked)
        for pair, legs in wanted.items():
            leg = answers.exact.get(pair)
            for a, b in legs:
                if leg is None:
                    self.failed[(a, b)] = answers.failed.get(pair, "OneMap gave no time for this leg")
                    continue
                self.exact[(a, b)] = leg
                self.inst.travel[a, b] = int(np.rint(leg.duration_s)) + self.inst.setup_on(a, b)
                if leg.distance_m is not None:
                    self.inst.distance[a, b] = leg.distance_m


def verify_plan(
    plan: RoutePlan,
    stops: list[Stop],
    matrix: TravelMatrix,
    settings: SolverSettings,
    fetch: LegFetcher,
    *,
    weights: ObjectiveWeights | None = None,
    fixed_vehicles: set[int] | frozenset[int] = frozenset(),
    budget: int | None = None,
    rounds: int = DEFAULT_ROUNDS,
    repair_time_limit_s: float | None = None,
) -> RoutePlan:
    """``plan`` re-timed on the exact legs it drives, re-solved where they break it, with ``plan.verification``.

    ``stops`` and ``matrix`` are what the plan was solved from (node k is ``stops[k-1]``, then the fleet's own
    depot points); ``fixed_vehicles`` are the route numbers a planner fixed. ``budget`` bounds the OneMap calls
    of the whole pass (None: every driven leg); each re-solve runs at most ``repair_time_limit_s`` (default
    half the solver's limit, at least a second). Raises InfeasiblePlanError if the repaired optimised routes
    still fail the independent check (they cannot, by construction; the check guards that).
    """
    started = time.perf_counter()
    fleet = plan.fleet
    base = instance_from_stops(fleet, stops, matrix, weights)  # the model's legs, as the plan was solved on
    inst = replace(base, travel=base.travel.copy(), distance=np.array(base.distance, dtype=float, copy=True))
    node_of = {s.stop_ref: k for k, s in enumerate(stops, start=1)}
    node_stop = {k: s for k, s in enumerate(stops, start=1)}
    type_of = {t.name: k for k, t in enumerate(fleet.vehicle_types)}
    drafts = [
        _Draft(
            [node_of[v.stop.stop_ref] for v in r.visits],
            type_of[r.vehicle_type],
            r.vehicle,
            r.vehicle_name,
            r.vehicle in fixed_vehicles,
        )
        for r in plan.routes
    ]
    fixed = [d for d in drafts if d.fixed]
    rest, kept = _free_instance(inst, fixed)
    legs = _Legs(inst, matrix, fetch, budget)
    limit = repair_time_limit_s or max(MIN_REPAIR_S, settings.time_limit_s / 2)
    reasons: dict[int, DropReason] = {node_of[d.stop.stop_ref]: DropReason(d.reason, d.message) for d in plan.dropped}
    late_at_first: set[int] = set()
    road_dropped: dict[int, DropReason] = {}
    done_rounds = resolves = 0
    resolved = False

    def timed(ds: list[_Draft]) -> list[tuple[_Draft, RouteTimes]]:
        return [(d, schedule_route(inst, d.visits, d.vehicle_type)) for d in ds]

    while True:
        done_rounds += 1
        legs.verify(drafts)
        bad = [(d, t) for d, t in timed([d for d in drafts if not d.fixed]) if any(_problems(inst, d, t))]
        if done_rounds == 1:
            for d, t in bad:
                late_at_first.update(_problems(inst, d, t)[0])
        if not bad or done_rounds >= rounds:
            break
        # Re-solve the optimised part on every exact leg known so far; stops the solver had dropped for a
        # reason of their own stay dropped, the others are offered again.
        served = [n for d in drafts if not d.fixed for n in d.visits]
        fixed_nodes = {n for d in fixed for n in d.visits}
        offered = sorted(
            set(served) | {n for n in reasons if n not in fixed_nodes and kept and reason_alone(rest, n) is None}
        )
        current = [(d.visits, kept.index(d.vehicle_type)) for d in drafts if not d.fixed]
        result = solve_vrptw(rest, replace(settings, time_limit_s=limit), offered, initial=current)
        resolves += 1
        if result.status != "feasible" and not any(result.routes):
            break  # no plan on the exact legs: keep this one and drop what breaks below
        resolved = True
        order = sorted((k for k, v in enumerate(result.routes) if v), key=lambda k: (result.route_types[k], k))
        new = [_Draft(list(result.routes[k]), kept[result.route_types[k]], 0, "", False) for k in order]
        drafts = fixed + new
        on_route = {n for d in new for n in d.visits}
        for node in offered:
            if node not in on_route and node not in reasons:
                used = [d.visits for d in new]
                reasons[node] = explain_drop(rest, node, used, [kept.index(d.vehicle_type) for d in new])
        for node in list(reasons):
            if node in on_route:
                del reasons[node]

    # Whatever still breaks on the exact legs after the last round: drop the stop that does (the first late
    # one, or the last stop of a route that overruns), verify the new leg it leaves, and look again.
    while True:
        bad = [(d, t) for d, t in timed([d for d in drafts if not d.fixed]) if any(_problems(inst, d, t))]
        if not bad:
            break
        for d, t in bad:
            late, overrun = _problems(inst, d, t)
            node = late[0] if late else d.visits[-1]
            k = d.visits.index(node)
            if late:
                why = (
                    f"on OneMap's road times it is reached at {clock(t.service_start[k])}, after its window closes "
                    f"at {clock(int(inst.tw_close[node]))}, even after {done_rounds} planning rounds"
                )
            else:
                why = (
                    f"on OneMap's road times its route cannot be back within the shift with it (back at "
                    f"{clock(t.end)}), even after {done_rounds} planning rounds"
                )
            road_dropped[node] = DropReason(ROAD_TIME, why)
            d.visits.remove(node)
        drafts = [d for d in drafts if d.visits]
        legs.verify(drafts)

    routes, violations = _routes(plan, inst, drafts, node_stop, fixed_vehicles, renumber=resolved or bool(road_dropped))
    free_routes = [(d, t) for d, t in timed([d for d in drafts if not d.fixed])]
    claimed = [
        ClaimedRoute(
            visits=d.visits,
            start=t.start,
            service_start=t.service_start,
            end=t.end,
            vehicle_type=kept.index(d.vehicle_type),
            break_start=t.break_start,
        )
        for d, t in free_routes
    ]
    on_routes = {n for d in drafts for n in d.visits}
    not_free = sorted(set(inst.stop_nodes) - {n for d, _ in free_routes for n in d.visits})
    problems = check_plan(rest, claimed, not_free)
    if problems:
        raise InfeasiblePlanError(problems)

    dropped = []
    for node in sorted(set(reasons) | set(road_dropped)):
        if node in on_routes:
            continue
        why = road_dropped.get(node) or reasons[node]
        dropped.append(DroppedStop(stop=node_stop[node], reason=why.code, message=why.message))

    report = _report(plan, base, inst, legs, drafts, routes, budget)
    report.rounds, report.resolves = done_rounds, resolves
    report.repaired_stops = [node_stop[n].stop_ref for n in sorted(late_at_first & on_routes)]
    report.dropped_stops = [node_stop[n].stop_ref for n in sorted(road_dropped)]
    report.time_s = time.perf_counter() - started
    # Fixed routes' violations are re-derived on the exact legs (the only ones a plan carries).
    return replace(plan, routes=routes, dropped=dropped, violations=violations, verification=report)


def _routes(
    plan: RoutePlan,
    inst: VrptwInstance,
    drafts: list[_Draft],
    node_stop: dict[int, Stop],
    fixed_vehicles: set[int] | frozenset[int],
    renumber: bool,
) -> tuple[list[Route], list[str]]:
    """Routes on the exact legs. Fixed routes keep their vehicle and get their violations re-derived; optimised
    ones keep theirs unless the plan changed, then take the fleet's vehicles in order (numbered type by type, as
    every plan is), skipping those a fixed route holds."""
    fleet = plan.fleet
    if renumber:
        free = [d for d in drafts if not d.fixed]
        slots = [s for s in vehicle_slots(fleet) if s.number not in fixed_vehicles]
        for d in sorted(free, key=lambda d: d.vehicle_type):
            slot = next(s for s in slots if s.type_index == d.vehicle_type)
            slots.remove(slot)
            d.number, d.name = slot.number, slot.name
    routes: list[Route] = []
    violations: list[str] = []
    for d in drafts:
        times = schedule_route(inst, d.visits, d.vehicle_type)
        route = build_route(inst, d.number, d.visits, times, node_stop, d.vehicle_type)
        route.vehicle_name = d.name
        route.start_depot = fleet.start_point(route.vehicle_type)
        route.end_depot = fleet.end_point(route.vehicle_type)
        if d.fixed:
            for visit, found in zip(route.visits, stop_violations(inst, d.visits, times, d.vehicle_type), strict=True):
                visit.violations = found
                violations += [
                    f"{route.vehicle_id} · {d.name} #{visit.sequence} {visit.stop.stop_ref}: {v}" for v in found
                ]
        routes.append(route)
    routes.sort(key=lambda r: r.vehicle)
    return routes, violations


def _report(
    plan: RoutePlan,
    base: VrptwInstance,
    inst: VrptwInstance,
    legs: _Legs,
    drafts: list[_Draft],
    routes: list[Route],
    budget: int | None,
) -> PlanVerification:
    """Per visit its ETA source and the road of the leg into it; per route the ETA change model -> exact."""
    by_number = {d.number: d for d in drafts}
    names = inst.node_ids
    driven = exact = cached = 0
    fallbacks: dict[tuple[int, int], FallbackLeg] = {}
    changes = []
    for route in routes:
        d = by_number[route.vehicle]
        path = inst.path(d.visits, d.vehicle_type)
        ok = True
        route_legs = route_exact = 0
        for k, (a, b) in enumerate(pairwise(path)):
            leg = legs.exact.get((a, b))
            if legs.driven(a, b):
                route_legs += 1
                if leg is not None:
                    route_exact += 1
                    cached += leg.source == "cache"
                else:
                    ok = False
                    fallbacks.setdefault((a, b), FallbackLeg(names[a], names[b], legs.failed.get((a, b), "not asked")))
            if k < len(route.visits):
                route.visits[k].eta_source = ETA_ONEMAP if ok else ETA_MODEL
                route.visits[k].road_geometry = leg.geometry if leg is not None else None
            else:
                route.return_geometry = leg.geometry if leg is not None else None
        driven += route_legs
        exact += route_exact
        model_times = schedule_route(base, d.visits, d.vehicle_type)
        deltas = [v.arrival_s - m for v, m in zip(route.visits, model_times.arrival, strict=True)]
        largest = max(deltas, key=abs) if deltas else 0
        changes.append(
            RouteEtaChange(
                vehicle=route.vehicle_id,
                vehicle_name=route.vehicle_name,
                legs=route_legs,
                legs_onemap=route_exact,
                max_eta_change_min=round(largest / 60, 1),
                mean_eta_change_min=round(sum(abs(x) for x in deltas) / len(deltas) / 60, 1) if deltas else 0.0,
            )
        )
    source = ETA_ONEMAP if exact == driven else (ETA_MODEL if exact == 0 else "mixed")
    return PlanVerification(
        eta_source=source,
        legs_driven=driven,
        legs_onemap=exact,
        legs_from_cache=cached,
        onemap_calls=legs.asked,
        budget=budget,
        rounds=0,
        resolves=0,
        time_s=0.0,
        routes=changes,
        fallback_legs=list(fallbacks.values()),
    )


def model_only(plan: RoutePlan) -> RoutePlan:
    """Without a road-time source every ETA rests on the model; the plan says so and nothing else changes."""
    for route in plan.routes:
        for visit in route.visits:
            visit.eta_source = ETA_MODEL
    return plan


__all__ = [
    "ETA_MODEL",
    "ETA_ONEMAP",
    "ROAD_TIME",
    "ExactLeg",
    "FallbackLeg",
    "LegAnswers",
    "LegFetcher",
    "Pair",
    "PlanVerification",
    "RouteEtaChange",
    "model_only",
    "verify_plan",
]
