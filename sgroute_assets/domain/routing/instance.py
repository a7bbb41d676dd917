"""A VRPTW instance in integer units, independent of where it came from (a stop file or Solomon).

The solver engines, the schedule and the feasibility check all read this one structure, so the check
verifies exactly the numbers the engines were given.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..stops import LOAD_UNITS, LoadUnit, Stop, shared_places
from ..travel_times import TravelMatrix
from .fleet import Fleet, FleetError

UNREACHABLE = np.iinfo(np.int64).max // 4
COST_SCALE = 10  # objective units per weighted second of a real plan
HIGH_PRIORITY_FACTOR = 10  # a high-priority stop's drop penalty, times the normal one: dropped last


@dataclass(frozen=True)
class VehicleSpec:
    """One vehicle type in instance units (seconds for real plans)."""

    name: str
    count: int
    capacity: int
    shift_start: int
    shift_end: int
    max_route: int
    fixed_cost: int = 0  # objective units per vehicle used
    break_window: tuple[int, int] | None = None  # earliest, latest break start
    break_duration: int = 0
    start_depot: int = 0  # node its routes leave from (0: the main depot; else a node after the stops)
    end_depot: int = 0  # node its routes end at
    max_stops: int | None = None  # most stops one route serves (None: no limit)
    load_capacity: tuple[int | None, ...] = ()  # per VrptwInstance.load_names: what it carries (None: no limit)
    # Overtime: route time beyond ``regular`` (seconds) costs ``overtime_cost`` objective units per second, up to
    # ``max_route`` and ``shift_end``, which already include the overtime allowed. None: no overtime.
    regular: int | None = None
    overtime_cost: int = 0

    def vehicle_names(self) -> list[str]:
        return [self.name] if self.count == 1 else [f"{self.name} {k}" for k in range(1, self.count + 1)]


@dataclass
class VrptwInstance:
    node_ids: list[str]  # node 0 is the depot, then the stops, then ``extra_depots`` own start/end points
    travel: np.ndarray  # int64 n x n, time units (seconds for real plans)
    distance: np.ndarray  # float n x n, metres for real plans (reporting only)
    demand: list[int]
    service: list[int]
    tw_open: list[int]
    tw_close: list[int]
    vehicle_types: list[VehicleSpec]
    # Objective: travel_cost per unit of driving + duration_cost per unit of paid route time (leaving the
    # depot to coming back, waiting included) + each type's fixed cost per vehicle used.
    travel_cost: int = 1
    duration_cost: int = 0
    drop_penalty: int | None = None
    high_priority: list[bool] = field(default_factory=list)  # per node; empty: all normal
    unit_scale: int = 1  # instance units per unit of the source (10 for DIMACS-scaled benchmarks)
    # Vehicle types' own start/end points: the last nodes, never visited, only left from or driven to.
    extra_depots: int = 0
    # Stops only some vehicle types may serve (node -> their type indices); a stop not listed goes on any.
    # A re-plan during the day binds what is already loaded to its van (each van its own type, replan.py).
    allowed_types: dict[int, frozenset[int]] = field(default_factory=dict)
    # Skills a stop requires (node -> names), for drop reasons; the rule itself is in ``allowed_types``.
    required_skills: dict[int, tuple[str, ...]] = field(default_factory=dict)
    # Loads in other units than demand's parcels (domain/stops/loads.py), only those the stops use: their names
    # ("weight_kg"), and per name each node's amount in tenths; VehicleSpec.load_capacity follows the names.
    load_names: tuple[str, ...] = ()
    loads: list[list[int]] = field(default_factory=list)
    # Setup paid once per place (domain/stops/places.py): per node its setup and place; ``travel`` already holds
    # the setup on every leg into a node from another place. Empty when no stop has a setup.
    setup: list[int] = field(default_factory=list)
    place: list[int] = field(default_factory=list)
    # A second window some stops accept (node -> open, close), after their first: served in one or the other.
    second_window: dict[int, tuple[int, int]] = field(default_factory=dict)
    # Soft window ends (node -> close, cost per second late in objective units); ``tw_close`` is then the hard end,
    # the allowed lateness included. Only OR-Tools plans them (engines/solve.py).
    soft_close: dict[int, tuple[int, int]] = field(default_factory=dict)

    def late_by(self, node: int, at: int) -> int:
        """Seconds past the soft end of the window (0 without one)."""
        soft = self.soft_close.get(node)
        return 0 if soft is None else max(0, at - soft[0])

    def windows(self, node: int) -> list[tuple[int, int]]:
        first = (int(self.tw_open[node]), int(self.tw_close[node]))
        return [first, self.second_window[node]] if node in self.second_window else [first]

    def in_window(self, node: int, at: int) -> bool:
        return any(o <= at <= c for o, c in self.windows(node))

    def service_start_at(self, node: int, ready: int) -> int:
        """The earliest service at or after ``ready``: the first window still open then, else ``ready`` (late)."""
        for open_, close in self.windows(node):
            if ready <= close:
                return max(ready, open_)
        return max(ready, int(self.tw_open[node]))

    def close_for(self, node: int, at: int) -> int:
        """The close of the window a service at ``at`` falls in (or the last one that opened before it); a soft
        end while ``at`` is not past it, so re-timing never makes a stop late that was not."""
        soft = self.soft_close.get(node)
        if soft is not None and at <= soft[0]:
            return soft[0]
        found = int(self.tw_close[node])
        for open_, close in self.windows(node):
            if open_ <= at:
                found = close
        return found

    def last_close(self, node: int) -> int:
        return self.windows(node)[-1][1]

    def setup_on(self, a: int, b: int) -> int:
        """The setup seconds ``travel[a, b]`` includes: ``b``'s setup when the leg arrives from another place."""
        if not self.setup or self.place[a] == self.place[b]:
            return 0
        return self.setup[b]

    def load_units(self) -> list[LoadUnit]:
        return [next(u for u in LOAD_UNITS if u.column == name) for name in self.load_names]

    def over_capacity(self, nodes: list[int], vehicle_type: int) -> list[str]:
        """The load units (parcels first) that ``nodes`` together exceed on one vehicle of the type, as text."""
        spec = self.vehicle_types[vehicle_type]
        out = []
        parcels = sum(self.demand[n] for n in nodes)
        if parcels > spec.capacity:
            out.append(f"{parcels} parcels of {spec.capacity}")
        for d, unit in enumerate(self.load_units()):
            cap = spec.load_capacity[d] if d < len(spec.load_capacity) else None
            amount = sum(self.loads[d][n] for n in nodes)
            if cap is not None and amount > cap:
                out.append(f"{unit.text(amount)} of {unit.text(cap)}")
        return out

    def keep_types(self, kept: list[int], specs: list[VehicleSpec]) -> VrptwInstance:
        """The instance with only the types ``kept`` (full indices, in this order) as ``specs``; which types may
        serve each stop is renumbered with them (a stop none of them may serve keeps an empty set)."""
        position = {k: j for j, k in enumerate(kept)}
        allowed = {n: frozenset(position[k] for k in ts if k in position) for n, ts in self.allowed_types.items()}
        return replace(self, vehicle_types=specs, allowed_types=allowed)

    def allows(self, node: int, vehicle_type: int) -> bool:
        allowed = self.allowed_types.get(node)
        return allowed is None or vehicle_type in allowed

    @property
    def size(self) -> int:
        return len(self.node_ids)

    @property
    def stop_nodes(self) -> range:
        """The nodes to be served (1..n); node 0 and the own depot points after them are not stops."""
        return range(1, self.size - self.extra_depots)

    def is_stop(self, node: int) -> bool:
        return 1 <= node < self.size - self.extra_depots

    def start_node(self, vehicle_type: int = 0) -> int:
        return self.vehicle_types[vehicle_type].start_depot

    def end_node(self, vehicle_type: int = 0) -> int:
        return self.vehicle_types[vehicle_type].end_depot

    def path(self, visits: list[int], vehicle_type: int = 0) -> list[int]:
        """The route's nodes from its start depot through ``visits`` to its end depot."""
        return [self.start_node(vehicle_type), *visits, self.end_node(vehicle_type)]

    @property
    def vehicles(self) -> int:
        return sum(t.count for t in self.vehicle_types)

    @property
    def capacity(self) -> int:
        return max(t.capacity for t in self.vehicle_types)

    @property
    def shift_start(self) -> int:
        return min(t.shift_start for t in self.vehicle_types)

    @property
    def shift_end(self) -> int:
        return max(t.shift_end for t in self.vehicle_types)

    @property
    def max_route(self) -> int:
        return max(t.max_route for t in self.vehicle_types)

    @property
    def has_breaks(self) -> bool:
        return any(t.break_window is not None for t in self.vehicle_types)

    def vehicle_type_of(self) -> list[int]:
        """The type index of each vehicle, vehicles numbered type by type."""
        return [k for k, t in enumerate(self.vehicle_types) for _ in range(t.count)]

    def penalty(self) -> int:
        """Dropping a stop must cost more than serving it ever could, so it only happens when forced.

        Serving a stop adds at most two legs of travel, its service, waiting up to the whole shift and one
        more vehicle; twice that bound is the penalty. Not a huge constant: PyVRP searches markedly worse
        with prizes orders of magnitude above the plan's costs (measured: +1.4 % on sg_real_100 at 1e6).
        """
        if self.drop_penalty is not None:
            return self.drop_penalty
        finite = self.travel[self.travel < UNREACHABLE]
        longest = int(finite.max()) if finite.size else 0
        horizon = self.shift_end - self.shift_start
        fixed = max(t.fixed_cost for t in self.vehicle_types)
        # A break a route did not need before may now fall inside it: one more break of paid time.
        rest = max(t.break_duration for t in self.vehicle_types)
        bound = (
            self.travel_cost * 2 * longest
            + self.duration_cost * (2 * longest + max(self.service) + horizon + rest)
            + fixed
        )
        return 2 * bound + 1

    def node_penalty(self, node: int) -> int:
        high = bool(self.high_priority) and self.high_priority[node]
        return self.penalty() * (HIGH_PRIORITY_FACTOR if high else 1)


@dataclass(frozen=True)
class ObjectiveWeights:
    """What a plan costs, in seconds-equivalents: the planner's trade-offs, from config."""

    travel: float = 1.0  # per second driving (fuel, wear)
    paid_time: float = 1.0  # per second of route duration, waiting included (wages)
    vehicles_first: bool = False  # fewest vehicles first, then cost

    def scaled(self) -> tuple[int, int]:
        """Integer weights for the engines (tenths, so 0.5 is exact)."""
        return round(self.travel * COST_SCALE), round(self.paid_time * COST_SCALE)


def instance_from_stops(
    fleet: Fleet,
    stops: list[Stop],
    matrix: TravelMatrix,
    weights: ObjectiveWeights | None = None,
    extra_points: tuple[str, ...] = (),
) -> VrptwInstance:
    """Seconds throughout; a stop without a window may be served any time in the shift.

    The matrix is node 0 the depot, nodes 1..n the stops, then (only when the fleet has them) the vehicle
    types' own start/end points by their ``depot:<type>:start|end`` ids (``Fleet.depot_points``), then
    ``extra_points``: further places routes may start from (where vans are during a re-plan, replan.py).
    """
    n = len(stops) + 1
    if matrix.size < n:
        raise ValueError(f"matrix has {matrix.size} nodes for {len(stops)} stops plus a depot")
    extra = list(matrix.node_ids[n:])
    wanted = [node_id for node_id, _ in fleet.depot_points()] + list(extra_points)
    missing = [w for w in wanted if w not in extra]
    if missing or len(extra) != len(set(extra)) or not set(extra) <= set(wanted):
        raise FleetError(
            f"the travel matrix has {len(extra)} nodes after the stops ({', '.join(extra) or 'none'}) but the fleet's "
            f"own start/end points are {', '.join(wanted) or 'none'}; rebuild it with the fleet's points"
        )
    node_of = {node_id: n + k for k, node_id in enumerate(extra)}
    weights = weights or ObjectiveWeights()
    travel_cost, duration_cost = weights.scaled()
    duration = np.where(np.isfinite(matrix.duration_s), np.rint(matrix.duration_s), UNREACHABLE)
    units = [u for u in LOAD_UNITS if any(getattr(s, u.column) for s in stops)]
    setup, place = [], []
    if any(s.setup_min for s in stops):
        n_all = len(matrix.node_ids)
        setup = [0] + [s.setup_min * 60 for s in stops] + [0] * len(extra)
        # Depot points are places of their own (negative numbers never equal a stop's place).
        place = [-1] + shared_places(stops) + [-2 - k for k in range(len(extra))]
        arrive = np.array(setup, dtype=np.int64)[None, :].repeat(n_all, axis=0)
        same = np.array(place)[:, None] == np.array(place)[None, :]
        duration = np.where(duration >= UNREACHABLE, UNREACHABLE, duration + np.where(same, 0, arrive))
    shift_start = fleet.shift_start_min * 60
    # A stop without a window may be served any time a vehicle works, overtime included.
    shift_end = max(t.shift_end_min + t.max_overtime_min for t in fleet.vehicle_types) * 60
    specs = []
    for t in fleet.vehicle_types:
        fixed = round(t.fixed_cost_min * 60 * COST_SCALE)
        specs.append(
            VehicleSpec(
                name=t.name,
                count=t.count,
                capacity=t.capacity,
                shift_start=t.shift_start_min * 60,
                shift_end=(t.shift_end_min + t.max_overtime_min) * 60,
                max_route=(t.max_route_min + t.max_overtime_min) * 60,
                regular=min(t.max_route_min, t.shift_end_min - t.shift_start_min) * 60 if t.max_overtime_min else None,
                overtime_cost=round(t.overtime_cost_per_hour * COST_SCALE / 60) if t.max_overtime_min else 0,
                fixed_cost=fixed,
                break_window=(t.break_.earliest_min * 60, t.break_.latest_min * 60) if t.break_ else None,
                break_duration=t.break_.minutes * 60 if t.break_ else 0,
                start_depot=node_of[t.start_node_id] if t.start_node_id else 0,
                end_depot=node_of[t.end_node_id] if t.end_node_id else 0,
                max_stops=t.max_stops,
                load_capacity=tuple(
                    None if getattr(t, u.capacity_column) is None else u.scaled(getattr(t, u.capacity_column))
                    for u in units
                ),
            )
        )
    if weights.vehicles_first:
        # A vehicle must cost more than any plan's whole travel and paid time could save.
        bound = (travel_cost + duration_cost) * (shift_end - shift_start) * (fleet.vehicles + 1)
        specs = [replace(s, fixed_cost=bound + s.fixed_cost) for s in specs]
    depots = [0] * len(extra)  # own depot points: no demand, no service, open all shift
    skilled = {i: s.requires for i, s in enumerate(stops, start=1) if s.requires}
    return VrptwInstance(
        node_ids=list(matrix.node_ids),
        travel=duration.astype(np.int64),
        distance=np.nan_to_num(matrix.distance_m, nan=0.0, posinf=0.0),
        demand=[0] + [s.demand for s in stops] + depots,
        service=[0] + [s.service_time_min * 60 for s in stops] + depots,
        tw_open=[shift_start]
        + [s.tw_start_min * 60 if s.tw_start_min is not None else shift_start for s in stops]
        + [shift_start] * len(extra),
        tw_close=[shift_end]
        + [(s.tw_end_min + s.late_ok_min) * 60 if s.tw_end_min is not None else shift_end for s in stops]
        + [shift_end] * len(extra),
        vehicle_types=specs,
        travel_cost=travel_cost,
        duration_cost=duration_cost,
        high_priority=[False] + [s.priority == "high" for s in stops] + [False] * len(extra),
        extra_depots=len(extra),
        allowed_types={i: fleet.skilled_types(need) for i, need in skilled.items()},
        load_names=tuple(u.column for u in units),
        setup=setup,
        place=place,
        soft_close={
            i: (s.tw_end_min * 60, round(s.lateness_cost_per_min * COST_SCALE / 60))
            for i, s in enumerate(stops, start=1)
            if s.late_ok_min and s.tw_end_min is not None
        },
        second_window={
            i: (s.tw2_start_min * 60, s.tw2_end_min * 60)
            for i, s in enumerate(stops, start=1)
            if s.tw2_start_min is not None and s.tw2_end_min is not None
        },
        loads=[[0] + [u.scaled(getattr(s, u.column)) for s in stops] + depots for u in units],
        required_skills=skilled,
    )
