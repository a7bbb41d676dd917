"""The PyVRP VRPTW engine (0.14, iterated local search through its ``Model`` API): the quality engine.

Measured on the Solomon and Gehring-Homberger benchmarks (shared/notes/vrp_solvers.md) it is within about
half a percent of the best known plans at 100-200 stops in 10 s, where OR-Tools is 4-9 % off. Stops are
optional clients whose prize is the drop penalty, so a stop is left out only when serving it is impossible
(or costs more than the penalty, which is set above any detour). Entities are declared with the Model API;
the travel matrix is handed over as one array instead of n^2 ``add_edge`` calls (seconds and a lot of
memory at 1000 stops). A vehicle type's own start/end points are PyVRP depots of their own (the type's
``start_depot``/``end_depot``); node 0 is always the first depot.
"""

from __future__ import annotations

import warnings

import numpy as np
from pyvrp import Model, PenaltyParams, Route, Solution, SolveParams, solve
from pyvrp._pyvrp import ActivityType
from pyvrp.exceptions import PenaltyBoundWarning

from ..instance import UNREACHABLE, VrptwInstance
from .search import SearchMonitor, SolverResult, SolverSettings

InitialRoutes = list[tuple[list[int], int]]  # (visits as instance nodes, vehicle type index) per route


def solve_pyvrp(
    inst: VrptwInstance,
    settings: SolverSettings,
    nodes: list[int],
    monitor: SearchMonitor,
    required: bool = False,
    initial: InitialRoutes | None = None,
) -> SolverResult:
    """Solve over ``nodes`` (the stops worth offering; never empty).

    ``required`` makes every stop a required client: PyVRP's search is tuned for that case and finds markedly
    better plans with it (RC206 1051.1 against 1064.3, RC208 776.1 against 782.8 in 10 s as optional clients),
    but it has no plan at all when some stop must be dropped, so it is run beside an optional-visit search
    (domain/routing/engines/portfolio.py), never alone.

    ``initial`` starts the search from given routes (a plan being repaired on exact legs,
    domain/routing/leg_verification.py) instead of PyVRP's own start; stops not in ``nodes`` are left out of them.
    """
    data, clients = problem_data(inst, nodes, required)
    return _solve(inst, settings, nodes, monitor, required, initial, data, clients)


def problem_data(inst: VrptwInstance, nodes: list[int], required: bool = False):
    """The instance over ``nodes`` as PyVRP's ProblemData, and the instance node of each client (a stop with two
    windows is two clients): what the engine solves, and what ``benchmarks/`` give plain PyVRP to compare."""
    own_depots = sorted({d for t in inst.vehicle_types for d in (t.start_depot, t.end_depot)} - {0})
    # A stop with a second window is two clients, one per window, in a mutually exclusive client group: exactly one
    # is visited (at most one when visits are optional). Client k is instance node ``clients[k]``.
    twins = [n for n in nodes if n in inst.second_window]
    clients = nodes + twins
    index_map = [0] + clients + own_depots
    sub = np.ix_(index_map, index_map)
    travel = inst.travel[sub]
    # Unreachable legs become longer than any shift: using one breaks every window, never in a feasible plan.
    # (Not PyVRP's MAX_VALUE: time warp times the raised penalties below would overflow.)
    finite = travel[travel < UNREACHABLE]
    horizon = inst.shift_end - inst.shift_start
    too_long = 4 * (horizon + int(finite.max() if finite.size else 0)) + 1
    matrix = np.where(travel >= UNREACHABLE, too_long, travel).astype(np.int64)

    m = Model()
    locations = [m.add_location(0, 0, name=inst.node_ids[n]) for n in index_map]
    depots = {}
    for k, node in zip([0, *range(len(clients) + 1, len(index_map))], [0, *own_depots], strict=True):
        depots[node] = m.add_depot(
            locations[k], tw_early=inst.shift_start, tw_late=inst.shift_end, name=inst.node_ids[node]
        )
    loads = allowed_type_loads(inst, nodes)
    # A route's stop count is one more load dimension: every stop loads 1, a type carries its max_stops.
    counted = any(spec.max_stops is not None for spec in inst.vehicle_types)
    # Kilograms and litres (domain/stops/loads.py): one dimension each; a type without a limit carries them all.
    totals = [sum(amounts[n] for n in nodes) for amounts in inst.loads]
    for k, spec in enumerate(inst.vehicle_types):
        stops_room = [spec.max_stops if spec.max_stops is not None else len(nodes)] if counted else []
        units = [
            total if d >= len(spec.load_capacity) or spec.load_capacity[d] is None else spec.load_capacity[d]
            for d, total in enumerate(totals)
        ]
        m.add_vehicle_type(
            num_available=spec.count,
            capacity=[spec.capacity, *units, *loads.capacity(k), *stops_room],
            start_depot=depots[spec.start_depot],
            end_depot=depots[spec.end_depot],
            fixed_cost=spec.fixed_cost,
            tw_early=spec.shift_start,
            tw_late=spec.shift_end,
            # Overtime (fleet.py): the regular duration, then up to the hard maximum at its cost per second.
            shift_duration=spec.max_route if spec.regular is None else spec.regular,
            max_overtime=0 if spec.regular is None else spec.max_route - spec.regular,
            unit_overtime_cost=spec.overtime_cost,
            unit_distance_cost=inst.travel_cost,
            unit_duration_cost=inst.duration_cost,
            name=spec.name,
        )
    groups = {node: m.add_client_group(required=required, name=inst.node_ids[node]) for node in twins}
    for k, node in enumerate(clients, start=1):
        early, late = inst.second_window[node] if k > len(nodes) else (inst.tw_open[node], inst.tw_close[node])
        group = groups.get(node)
        m.add_client(
            locations[k],
            delivery=[
                int(inst.demand[node]),
                *(int(amounts[node]) for amounts in inst.loads),
                *loads.delivery(node),
                *([1] if counted else []),
            ],
            service_duration=int(inst.service[node]),
            tw_early=int(early),
            tw_late=int(late),
            required=required and group is None,  # a group's members are not required one by one
            prize=0 if required else inst.node_penalty(node),
            group=group,
            name=inst.node_ids[node],
        )
    return m.data().replace(distance_matrices=[matrix], duration_matrices=[matrix]), clients


def _solve(inst, settings, nodes, monitor, required, initial, data, clients) -> SolverResult:
    # PyVRP's default penalty ceiling (1e5 per unit of excess load or time warp) is below our drop prizes,
    # so keeping an overloaded stop would look cheaper than dropping it and no feasible plan is found;
    # let one unit of violation cost as much as dropping the most valuable stop.
    top_prize = max(inst.node_penalty(n) for n in nodes)
    params = SolveParams(penalty=PenaltyParams(max_penalty=float(max(100_000, top_prize))))
    with warnings.catch_warnings():
        if required:
            # A required-stop search on a plan that must drop stops cannot become feasible: PyVRP warns that its
            # penalties hit their ceiling. That is expected (the optional-visit search makes the plan), not news.
            warnings.simplefilter("ignore", PenaltyBoundWarning)
        result = solve(
            data,
            stop=monitor.observe,
            seed=settings.seed,
            collect_stats=False,
            params=params,
            initial_solution=_initial_solution(data, nodes, initial),
        )
    best = result.best
    if not best.is_feasible():
        return SolverResult(
            routes=[],
            dropped=list(nodes),
            status="no_feasible_plan",
            objective=0,
            solve_time_s=monitor.elapsed(),
            engine="pyvrp",
            stop_reason=monitor.stop_reason,
        )
    routes: list[list[int]] = []
    route_types: list[int] = []
    served: set[int] = set()
    for route in best.routes():
        # A client activity carries the 0-based client index (not the location): client k is node clients[k].
        visits = [clients[a.idx] for a in route if a.type == ActivityType.CLIENT]
        if not visits:
            continue
        routes.append(visits)
        route_types.append(route.vehicle_type())
        served.update(visits)
    return SolverResult(
        routes=routes,
        route_types=route_types,
        dropped=[n for n in nodes if n not in served],
        status="feasible",
        objective=int(result.cost()),
        solve_time_s=monitor.elapsed(),
        engine="pyvrp",
        stop_reason=monitor.stop_reason,
        best_found_s=monitor.best_found_s(),
    )


class AllowedTypeLoads:
    """Which vehicle types may serve a stop, as extra load dimensions (PyVRP 0.14 has no allowed-vehicles rule).

    A dimension that a stop loads by one is closed (capacity 0) to every type not allowed to serve it. A stop
    bound to one type (a loaded parcel in a re-plan, replan.py) uses a binary code: for each bit b of the type
    index there are two dimensions, (b, 0) and (b, 1); type k opens (b, bit b of k) and closes the other, and a
    stop bound to k loads (b, bit b of k) for every b, so any other type differs in some bit and finds one of
    the stop's dimensions closed. Fifty vans cost twelve dimensions, not fifty. A stop allowed several types
    gets a dimension of its own set.
    """

    def __init__(self, inst: VrptwInstance, nodes: list[int]):
        sets = {inst.allowed_types[n] for n in nodes if n in inst.allowed_types}
        self.types = len(inst.vehicle_types)
        self.bits = max(1, (self.types - 1).bit_length()) if any(len(s) == 1 for s in sets) else 0
        self.groups = sorted((s for s in sets if len(s) != 1), key=sorted)
        self.inst = inst
        self.room = len(nodes)  # an open dimension holds every stop

    @property
    def dimensions(self) -> int:
        return 2 * self.bits + len(self.groups)

    def capacity(self, vehicle_type: int) -> list[int]:
        out = []
        for b in range(self.bits):
            bit = (vehicle_type >> b) & 1
            out += [self.room if bit == 0 else 0, self.room if bit == 1 else 0]
        return out + [self.room if vehicle_type in g else 0 for g in self.groups]

    def delivery(self, node: int) -> list[int]:
        allowed = self.inst.allowed_types.get(node)
        out = [0] * self.dimensions
        if allowed is None:
            return out
        if len(allowed) == 1 and self.bits:
            (k,) = allowed
            for b in range(self.bits):
                out[2 * b + ((k >> b) & 1)] = 1
        elif allowed in self.groups:
            out[2 * self.bits + self.groups.index(allowed)] = 1
        return out


def allowed_type_loads(inst: VrptwInstance, nodes: list[int]) -> AllowedTypeLoads:
    return AllowedTypeLoads(inst, nodes)


def _initial_solution(data, nodes: list[int], initial: InitialRoutes | None) -> Solution | None:
    """``initial`` as a PyVRP solution (client k is node ``nodes[k]``); None when there is none or PyVRP refuses
    it (more routes of a type than it has vehicles, say): the search then starts as it always does."""
    if not initial:
        return None
    client = {node: k for k, node in enumerate(nodes)}
    routes = []
    for visits, vehicle_type in initial:
        kept = [client[n] for n in visits if n in client]
        if kept:
            routes.append(Route(data, kept, vehicle_type))
    try:
        return Solution(data, routes)
    except RuntimeError:
        return None
