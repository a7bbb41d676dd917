"""From validated stops, a fleet and a travel matrix to a checked route plan.

This is the one place that strings the steps together (drop the impossible, solve, schedule, check,
explain), so the asset, the CLI and the benchmarks all plan the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .drop_reasons import DropReason, explain_drop, reason_alone
from .fleet import DepotPoint, Fleet
from .plan_feasibility import ClaimedRoute, InfeasiblePlanError, check_plan
from .route_schedule import RouteTimes, schedule_route
from .stop_schema import Stop, format_clock
from .travel_time import TravelMatrix
from .vrptw_instance import ObjectiveWeights, VrptwInstance, instance_from_stops
from .vrptw_model import ProgressCallback, SolverResult, SolverSettings, solve_vrptw

if TYPE_CHECKING:
    from .leg_verification import PlanVerification


@dataclass
class Visit:
    sequence: int
    stop: Stop
    arrival_s: int
    service_start_s: int  # the ETA a customer is given
    departure_s: int
    travel_s: int  # from the previous point
    distance_m: float
    # What a planner-fixed order breaks at this stop (late, over capacity, past the shift): reported, not
    # refused, because the planner chose the order (domain/resequence.py). Always empty on optimised routes.
    violations: list[str] = field(default_factory=list)
    break_s: int = 0  # the driver's break taken here between arriving and starting service (not waiting)
    # What the ETA rests on: "onemap" when every leg up to here was timed by OneMap, else "model"
    # (domain/leg_verification.py), and OneMap's road polyline of the leg into this stop, if it sent one.
    eta_source: str = "model"
    road_geometry: str | None = None

    @property
    def wait_s(self) -> int:
        return self.service_start_s - self.arrival_s - self.break_s


@dataclass
class Route:
    vehicle: int  # 1-based, as drivers count
    start_s: int
    end_s: int
    visits: list[Visit]
    return_travel_s: int
    return_distance_m: float
    vehicle_type: str = "Van"  # the fleet's vehicle type this route is driven with
    vehicle_name: str = ""  # what dispatchers and drivers call the vehicle ("Van 2", "Lorry")
    # The driver's break when taken on the road (None: no break, or it falls before leaving / after return),
    # and how many visits come before it (0: on the way to the first stop; len(visits): on the way back).
    break_start_s: int | None = None
    break_end_s: int | None = None
    break_after: int | None = None
    # Where the route leaves from and ends (None: the plan's depot; RoutePlan.start_point/end_point resolve it).
    start_depot: DepotPoint | None = None
    end_depot: DepotPoint | None = None
    return_geometry: str | None = None  # OneMap's road polyline of the way back, if verified and sent

    @property
    def vehicle_id(self) -> str:
        return f"V{self.vehicle:02d}"

    @property
    def load(self) -> int:
        return sum(v.stop.demand for v in self.visits)

    @property
    def distance_m(self) -> float:
        return sum(v.distance_m for v in self.visits) + self.return_distance_m

    @property
    def travel_s(self) -> int:
        return sum(v.travel_s for v in self.visits) + self.return_travel_s

    @property
    def service_s(self) -> int:
        return sum(v.departure_s - v.service_start_s for v in self.visits)

    @property
    def wait_s(self) -> int:
        return sum(v.wait_s for v in self.visits)

    @property
    def duration_s(self) -> int:
        return self.end_s - self.start_s

    @property
    def break_s(self) -> int:
        return 0 if self.break_start_s is None else self.break_end_s - self.break_start_s


@dataclass
class DroppedStop:
    stop: Stop
    reason: str
    message: str


SERVED, DROPPED, INVALID, NOT_LOCATED = "served", "dropped", "invalid", "not_located"


@dataclass(frozen=True)
class UnplannedRow:
    """A row of the stop file that is on no route, and why: dropped by the solver, invalid, or not located."""

    row: int
    stop_ref: str | None
    status: str  # DROPPED | INVALID | NOT_LOCATED
    reason: str  # a short code (capacity, time_window, ..., invalid, needs_attention)
    message: str
    stop: Stop | None = None  # None for invalid rows: they never became a stop


@dataclass
class RoutePlan:
    fleet: Fleet
    routes: list[Route]
    dropped: list[DroppedStop]
    solver_status: str
    objective: int
    solve_time_s: float
    time_limit_s: float
    matrix_source: str
    checks: list[str] = field(default_factory=list)  # feasibility violations (always empty when stored)
    engine: str = ""  # pyvrp | ortools: which engine produced the routes
    stop_reason: str = ""  # time_limit | stalled | engine_finished | nothing_to_plan
    best_found_s: float | None = None  # when the search reached the returned plan
    # Identity and day, set by the route_plan asset and printed on every export so a driver's sheet can be
    # matched to the plan it came from (see domain/row_accounting.py for the rows not planned).
    plan_id: str = ""
    plan_date: str | None = None  # YYYY-MM-DD, the delivery day
    source_file: str = ""
    data_version: str | None = None  # the stop file version (generation or content hash) planned from
    file_rows: int | None = None  # rows in the stop file; None when the plan was made from stops alone
    not_planned: list[UnplannedRow] = field(default_factory=list)  # invalid and not-located rows
    # Every visit's violations on planner-fixed routes, one readable line each (domain/resequence.py).
    violations: list[str] = field(default_factory=list)
    # The verification pass on OneMap's road times (domain/leg_verification.py); None: none ran, every ETA
    # comes from the travel-time model.
    verification: PlanVerification | None = None

    @property
    def eta_source(self) -> str:
        """onemap (every driven leg timed by OneMap), mixed, or model (no road times: the embedded default)."""
        return "model" if self.verification is None else self.verification.eta_source

    def start_point(self, route: Route) -> DepotPoint:
        """Where ``route`` leaves from: its own start depot, its vehicle type's, or the plan's depot."""
        return route.start_depot or self.fleet.start_point(route.vehicle_type)

    def end_point(self, route: Route) -> DepotPoint:
        return route.end_depot or self.fleet.end_point(route.vehicle_type)

    @property
    def stops_served(self) -> int:
        return sum(len(r.visits) for r in self.routes)

    @property
    def vehicles_used(self) -> int:
        return len(self.routes)

    @property
    def total_distance_m(self) -> float:
        return sum(r.distance_m for r in self.routes)

    @property
    def total_duration_s(self) -> int:
        return sum(r.duration_s for r in self.routes)

    @property
    def invalid_rows(self) -> list[UnplannedRow]:
        return [u for u in self.not_planned if u.status == INVALID]

    @property
    def not_located(self) -> list[UnplannedRow]:
        return [u for u in self.not_planned if u.status == NOT_LOCATED]

    def unplanned(self) -> list[UnplannedRow]:
        """Every row on no route (dropped, invalid, not located), in the file's row order."""
        dropped = [
            UnplannedRow(d.stop.row, d.stop.stop_ref, DROPPED, d.reason, d.message, d.stop) for d in self.dropped
        ]
        return sorted(dropped + list(self.not_planned), key=lambda u: u.row)

    def row_counts(self) -> dict[str, int]:
        """rows = served + dropped + invalid + not located: every row of the file is accounted for."""
        served, dropped = self.stops_served, len(self.dropped)
        invalid, not_located = len(self.invalid_rows), len(self.not_located)
        rows = self.file_rows if self.file_rows is not None else served + dropped + invalid + not_located
        return {"rows": rows, SERVED: served, DROPPED: dropped, INVALID: invalid, NOT_LOCATED: not_located}

    @property
    def warned_stops(self) -> list[Stop]:
        return [v.stop for r in self.routes for v in r.visits if v.stop.warnings] + [
            d.stop for d in self.dropped if d.stop.warnings
        ]

    def totals(self) -> dict[str, float | int | str]:
        counts = self.row_counts()
        return {
            "rows": counts["rows"],
            "vehicles_used": self.vehicles_used,
            "vehicles_available": self.fleet.vehicles,
            "stops_served": self.stops_served,
            "stops_dropped": len(self.dropped),
            "stops_invalid": counts[INVALID],
            "stops_not_located": counts[NOT_LOCATED],
            "stops_with_warnings": len(self.warned_stops),
            "total_distance_km": round(self.total_distance_m / 1000, 2),
            "total_duration_min": round(self.total_duration_s / 60, 1),
            "total_drive_min": round(sum(r.travel_s for r in self.routes) / 60, 1),
            "total_wait_min": round(sum(r.wait_s for r in self.routes) / 60, 1),
            "solve_time_s": round(self.solve_time_s, 2),
            "solver_status": self.solver_status,
            "solver_engine": self.engine,
            "solver_stop_reason": self.stop_reason,
        }


def clock(seconds: int) -> str:
    return format_clock(seconds / 60) or ""


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
) -> SolvedInstance:
    """Drop what no vehicle can serve, solve the rest, schedule it and run the independent check.

    ``nodes`` are the stops to plan (default: all), ``pre_dropped`` drops already decided with their reasons, and
    ``handled_elsewhere`` stops another part of the plan serves (a planner's fixed routes, domain/resequence.py):
    the check counts them as accounted for rather than missing.
    """
    nodes = list(inst.stop_nodes) if nodes is None else nodes
    pre_dropped = dict(pre_dropped or {})
    for node in nodes:
        if node not in pre_dropped:
            reason = reason_alone(inst, node)
            if reason is not None:
                pre_dropped[node] = reason
    candidates = [n for n in nodes if n not in pre_dropped]
    result = solve_vrptw(inst, settings, candidates, progress)

    # Routes grouped by vehicle type, in the fleet's order, so numbers and names read naturally.
    order = sorted((k for k, visits in enumerate(result.routes) if visits), key=lambda k: (result.route_types[k], k))
    used = [result.routes[k] for k in order]
    types = [result.route_types[k] for k in order]
    schedules = [schedule_route(inst, visits, t) for visits, t in zip(used, types, strict=True)]
    dropped_nodes = sorted(set(result.dropped) | set(pre_dropped))
    claimed = [
        ClaimedRoute(
            visits=v, start=s.start, service_start=s.service_start, end=s.end, vehicle_type=t, break_start=s.break_start
        )
        for v, s, t in zip(used, schedules, types, strict=True)
    ]
    violations = check_plan(inst, claimed, sorted(set(dropped_nodes) | (handled_elsewhere or set())))
    return SolvedInstance(result, used, types, schedules, dropped_nodes, pre_dropped, violations)


def plan_routes(
    fleet: Fleet,
    stops: list[Stop],
    matrix: TravelMatrix,
    settings: SolverSettings,
    weights: ObjectiveWeights | None = None,
    progress: ProgressCallback | None = None,
) -> RoutePlan:
    """Solve and verify; raises InfeasiblePlanError rather than return a plan that breaks a constraint."""
    inst = instance_from_stops(fleet, stops, matrix, weights)
    node_stop = {i + 1: s for i, s in enumerate(stops)}
    solved = solve_instance(inst, settings, progress)
    if solved.violations:
        raise InfeasiblePlanError(solved.violations)

    # A route's number is its vehicle's place in the fleet, counted type by type (as a planner's sequence file
    # names vehicles, domain/resequence.py): "V03" is always the same vehicle, so with a mixed fleet the numbers
    # of a plan that leaves vehicles unused may have gaps (V01, V03).
    names = [spec.vehicle_names() for spec in inst.vehicle_types]
    offsets = [sum(spec.count for spec in inst.vehicle_types[:k]) for k in range(len(inst.vehicle_types))]
    taken = [0] * len(inst.vehicle_types)
    routes = []
    for visits, times, t in zip(solved.routes, solved.schedules, solved.route_types, strict=True):
        route = _route(inst, offsets[t] + taken[t] + 1, visits, times, node_stop, t)
        route.vehicle_type = inst.vehicle_types[t].name
        route.vehicle_name = names[t][taken[t]]
        route.start_depot = fleet.start_point(route.vehicle_type)
        route.end_depot = fleet.end_point(route.vehicle_type)
        taken[t] += 1
        routes.append(route)
    return assemble_plan(
        fleet, inst, routes, solved.dropped, solved.pre_dropped, solved, node_stop, settings, matrix.source
    )


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
    optimised plans and resequenced ones (domain/resequence.py), so both report drops and solver figures alike."""
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
        stop_reason=result.stop_reason,
        best_found_s=result.best_found_s,
        violations=violations or [],
    )


def _route(
    inst: VrptwInstance,
    number: int,
    visits: list[int],
    times: RouteTimes,
    node_stop: dict[int, Stop],
    vehicle_type: int = 0,
) -> Route:
    """A route's visits with their times and legs, from its type's start depot to its end depot."""
    out: list[Visit] = []
    prev = inst.start_node(vehicle_type)
    for seq, (node, arrive, begin, leave) in enumerate(
        zip(visits, times.arrival, times.service_start, times.departure, strict=True), start=1
    ):
        out.append(
            Visit(
                sequence=seq,
                stop=node_stop[node],
                arrival_s=arrive,
                service_start_s=begin,
                departure_s=leave,
                travel_s=int(inst.travel[prev, node]),
                distance_m=float(inst.distance[prev, node]),
                break_s=times.break_at(seq - 1),
            )
        )
        prev = node
    end = inst.end_node(vehicle_type)
    return Route(
        vehicle=number,
        start_s=times.start,
        end_s=times.end,
        visits=out,
        return_travel_s=int(inst.travel[prev, end]),
        return_distance_m=float(inst.distance[prev, end]),
        vehicle_type=inst.vehicle_types[vehicle_type].name,
        break_start_s=times.break_start,
        break_end_s=times.break_end,
        break_after=times.break_after,
    )
