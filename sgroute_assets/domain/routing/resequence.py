"""A planner's own visit order for some routes: ``<stop file name>.sequence.csv`` (or ``.xlsx``), or config.

The system this replaces let a dispatcher say "Van 2 does these stops in this order" (a driver who knows the
estate, a customer who must be first) and re-timed the day around it. Here too: each fixed route is timed in
exactly the given order (no re-optimisation; the vehicle leaves as late as is useful, as
``schedule_route`` does), the stops on no fixed route are optimised on the vehicles left, and whatever a
fixed order breaks (a window missed, a vehicle overloaded, the shift overrun) is reported at the stop, not
refused: it is the planner's call. The optimised remainder still passes the independent feasibility check.

Columns (case-insensitive, order free), one row per stop on a fixed route:

| column | meaning |
|---|---|
| ``vehicle`` | a vehicle's name ("Van 2", "Lorry") or number ``V01``.. (see below) |
| ``stop_ref`` | a stop of the stop file, on one route only |
| ``position`` | a whole number ordering the vehicle's stops (1, 2, 3..., gaps allowed), unique per vehicle |

Vehicle numbers count the fleet's vehicles type by type: with Van x 3 and a Lorry, Van 1-3 are V01-V03 and the
Lorry is V04, as in a plan that uses every vehicle (names are unambiguous whichever vehicles a plan used).

Every problem names the file, row and column, like stop files; a sequence with any problem is not used (the
plan fails with the list rather than fix half the routes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from itertools import pairwise

from ..stops import (
    SidecarSource,
    Stop,
    StopFileError,
    find_sidecar,
    parse_float,
    read_stop_file,
    sidecar_columns,
    sidecar_rows,
)
from ..travel_times import TravelMatrix
from .drop_reasons import DropReason, reason_alone
from .engines.solve import ProgressCallback, SolverSettings
from .feasibility import InfeasiblePlanError
from .fleet import Fleet
from .instance import UNREACHABLE, ObjectiveWeights, instance_from_stops
from .plan import assemble_plan, solve_instance
from .plan_types import Route, RoutePlan
from .route_build import build_route, stop_violations
from .schedule import schedule_route

SEQUENCE_MARK = ".sequence"
COLUMNS = ("vehicle", "stop_ref", "position")
CONFIG_SOURCE = "config (sequence)"
NO_FREE_VEHICLE = "no_free_vehicle"  # a drop reason: every vehicle that could serve it has a fixed route
_VEHICLE_ID = re.compile(r"^v0*(\d+)$", re.IGNORECASE)


class SequenceError(ValueError):
    """A fixed order that cannot be timed at all (planner input, reported as is)."""

    def __init__(self, problems: list[str]):
        super().__init__("sequence problems: " + "; ".join(problems[:10]))
        self.problems = problems


@dataclass(frozen=True)
class VehicleSlot:
    """One vehicle of the fleet: its number (V01..), its type and what dispatchers call it."""

    number: int  # 1-based, the fleet's vehicles counted type by type
    type_index: int
    name: str

    @property
    def vehicle_id(self) -> str:
        return f"V{self.number:02d}"

    @property
    def label(self) -> str:
        return f"{self.vehicle_id} · {self.name}"


def vehicle_slots(fleet: Fleet) -> list[VehicleSlot]:
    """Every vehicle, type by type in the fleet's order: the numbering a plan using every vehicle has."""
    slots: list[VehicleSlot] = []
    for k, vehicle_type in enumerate(fleet.vehicle_types):
        for name in vehicle_type.vehicle_names():
            slots.append(VehicleSlot(len(slots) + 1, k, name))
    return slots


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def resolve_vehicle(text: str, slots: list[VehicleSlot]) -> VehicleSlot | None:
    """A vehicle by name ("Van 2", any case) or by number ("V02", "v2"); None if the fleet has no such vehicle."""
    by_name = {_key(s.name): s for s in slots}
    if _key(text) in by_name:
        return by_name[_key(text)]
    match = _VEHICLE_ID.match(text.strip())
    if match and 1 <= int(match.group(1)) <= len(slots):
        return slots[int(match.group(1)) - 1]
    return None


@dataclass(frozen=True)
class FixedRoute:
    slot: VehicleSlot
    stop_refs: tuple[str, ...]


@dataclass
class StopSequence:
    source: str | None = None  # the sidecar's file name, or CONFIG_SOURCE
    routes: list[FixedRoute] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return self.source is not None and bool(self.routes) and not self.issues


@dataclass(frozen=True)
class _Entry:
    """One stop on a fixed route as given, with the words that locate each of its cells in problems."""

    where: str  # "week12.sequence.csv, row 3" or "config sequence[1]"
    vehicle: str
    stop_ref: str
    position: str
    labels: dict[str, str]  # column -> "column vehicle" (file) or "stops[2]" (config)


def fleet_hint(slots: list[VehicleSlot]) -> str:
    """The fleet's vehicles as an unknown-vehicle problem lists them (the first twelve)."""
    shown = ", ".join(s.label for s in slots[:12])
    return f"the fleet has {shown}{', ...' if len(slots) > 12 else ''}"


def _validate(
    source: str,
    entries: list[_Entry],
    fleet: Fleet,
    stop_refs: Iterable[str],
    not_routable: dict[str, str] | None,
) -> StopSequence:
    out = StopSequence(source=source)
    slots = vehicle_slots(fleet)
    known = set(stop_refs)
    not_routable = not_routable or {}
    placed: dict[str, tuple[VehicleSlot | None, str]] = {}  # stop_ref -> (vehicle, where it was first given)
    positions: dict[tuple[int, int], str] = {}  # (vehicle number, position) -> where
    ordered: dict[int, list[tuple[int, str]]] = {}

    for e in entries:
        problems: list[str] = []

        def bad(column: str, message: str, e: _Entry = e, problems: list[str] = problems) -> None:
            problems.append(f"{e.where}, {e.labels[column]}: {message}")

        slot = None
        if not e.vehicle:
            bad("vehicle", "is required")
        else:
            slot = resolve_vehicle(e.vehicle, slots)
            if slot is None:
                bad("vehicle", f"unknown vehicle '{e.vehicle}' ({fleet_hint(slots)})")
        if not e.stop_ref:
            bad("stop_ref", "is required")
        elif e.stop_ref in not_routable:
            bad("stop_ref", f"stop {e.stop_ref} cannot be routed ({not_routable[e.stop_ref]})")
        elif e.stop_ref not in known:
            bad("stop_ref", f"unknown stop_ref '{e.stop_ref}' (not a stop of this stop file)")
        elif e.stop_ref in placed:
            first_slot, first_where = placed[e.stop_ref]
            if slot is not None and first_slot is not None and first_slot != slot:
                bad(
                    "stop_ref",
                    f"stop {e.stop_ref} is already on {first_slot.label}'s route ({first_where}); a stop can be on "
                    "one route only",
                )
            else:
                bad("stop_ref", f"stop {e.stop_ref} is given twice (also {first_where})")
        position = None
        value = parse_float(e.position) if e.position else None
        if not e.position:
            bad("position", "is required")
        elif value is None or value != int(value) or value < 1:
            bad("position", f"'{e.position}' is not a whole number of at least 1 (1, 2, 3 ...)")
        else:
            position = int(value)
            if slot is not None and (slot.number, position) in positions:
                bad(
                    "position",
                    f"position {position} of {slot.label} is already taken ({positions[slot.number, position]})",
                )
        if e.stop_ref and e.stop_ref not in placed:
            placed[e.stop_ref] = (slot, e.where)
        if slot is not None and position is not None:
            positions.setdefault((slot.number, position), e.where)
        if problems:
            out.issues += problems
            continue
        assert slot is not None and position is not None
        ordered.setdefault(slot.number, []).append((position, e.stop_ref))

    out.issues = list(dict.fromkeys(out.issues))  # a config route's unknown vehicle is one problem, not one per stop
    if not entries and not out.issues:
        out.issues.append(f"{source}: no stops (one row per stop: vehicle, stop_ref, position)")
    if not out.issues:
        out.routes = [
            FixedRoute(slots[number - 1], tuple(ref for _, ref in sorted(stops)))
            for number, stops in sorted(ordered.items())
        ]
    return out


def parse_sequence_file(
    name: str,
    data: bytes,
    fleet: Fleet,
    stop_refs: Iterable[str],
    not_routable: dict[str, str] | None = None,
) -> StopSequence:
    """Fixed routes from a sequence file, checked against the fleet and the stops that can be routed.

    ``not_routable`` maps stop_refs of the file that never reached the solver (invalid, not located) to why,
    so a planner who fixes one is told that rather than "unknown".
    """
    try:
        table = read_stop_file(name, data)
    except StopFileError as exc:
        return StopSequence(source=name, issues=[f"{name}: {exc.message}"])
    columns, issues = sidecar_columns(name, table, COLUMNS, COLUMNS)
    if issues:
        return StopSequence(source=name, issues=issues)

    labels = {c: f"column {c}" for c in COLUMNS}
    rows, unreadable = sidecar_rows(name, table, columns)
    entries = [_Entry(row.where, *(row.cells[c] for c in COLUMNS), labels=labels) for row in rows]
    out = _validate(name, entries, fleet, stop_refs, not_routable)
    if unreadable:
        out.issues = unreadable + out.issues
        out.routes = []
    return out


def sequence_from_config(
    routes: Iterable[tuple[str, list[str]]],
    fleet: Fleet,
    stop_refs: Iterable[str],
    not_routable: dict[str, str] | None = None,
) -> StopSequence:
    """Fixed routes from the Launchpad: (vehicle, [stop_ref, ...]) pairs, the list order being the visit order."""
    entries: list[_Entry] = []
    issues: list[str] = []
    seen: dict[str, int] = {}
    for i, (vehicle, stops) in enumerate(routes):
        where = f"config sequence[{i}]"
        if not stops:
            issues.append(f"{where}, stops: vehicle '{vehicle}' has no stops; give them in visit order")
        slot = resolve_vehicle(vehicle, vehicle_slots(fleet))
        if slot is not None and slot.vehicle_id in seen:
            issues.append(
                f"{where}, vehicle: {slot.label} is already given at config sequence[{seen[slot.vehicle_id]}]"
            )
            continue
        if slot is not None:
            seen[slot.vehicle_id] = i
        for j, ref in enumerate(stops):
            labels = {"vehicle": "vehicle", "stop_ref": f"stops[{j}]", "position": f"stops[{j}]"}
            entries.append(_Entry(where, vehicle.strip(), ref.strip(), str(j + 1), labels))
    out = _validate(CONFIG_SOURCE, entries, fleet, stop_refs, not_routable)
    if issues:
        out.issues = issues + out.issues
        out.routes = []
    return out


def find_sequence(
    store: SidecarSource | None,
    stop_file: str | None,
    fleet: Fleet,
    stop_refs: Iterable[str],
    not_routable: dict[str, str] | None = None,
    config_routes: Iterable[tuple[str, list[str]]] = (),
) -> StopSequence | None:
    """The Launchpad's sequence if it gives one (it takes precedence), else ``<stop file>.sequence.csv``/``.xlsx``
    beside the stop file, else None: the whole plan is optimised."""
    config_routes = list(config_routes)
    refs = list(stop_refs)
    if config_routes:
        return sequence_from_config(config_routes, fleet, refs, not_routable)
    if store is None or not stop_file:
        return None
    found = find_sidecar(store, stop_file, SEQUENCE_MARK)
    if found is None:
        return None
    return parse_sequence_file(*found, fleet, refs, not_routable)


def _name(route: Route, fleet: Fleet, slot: VehicleSlot) -> None:
    """The fleet vehicle a route is driven with, and where its type starts and ends (as ``plan_routes`` sets)."""
    route.vehicle_type = fleet.vehicle_types[slot.type_index].name
    route.vehicle_name = slot.name
    route.start_depot = fleet.start_point(route.vehicle_type)
    route.end_depot = fleet.end_point(route.vehicle_type)


def plan_with_sequence(
    fleet: Fleet,
    stops: list[Stop],
    matrix: TravelMatrix,
    sequence: list[FixedRoute],
    settings: SolverSettings,
    weights: ObjectiveWeights | None = None,
    progress: ProgressCallback | None = None,
) -> RoutePlan:
    """Fixed routes timed in the planner's order and evaluated; the other stops optimised on the other vehicles.

    Routes are numbered by fleet vehicle (a fixed "V03" stays V03 with its name), so numbers may have gaps.
    Raises SequenceError when a fixed order uses a leg with no road, and InfeasiblePlanError when the
    optimised remainder fails its check (as ``plan_routes`` does); the fixed routes' violations are on
    their visits and listed in ``RoutePlan.violations``.
    """
    inst = instance_from_stops(fleet, stops, matrix, weights)
    node_of = {s.stop_ref: i for i, s in enumerate(stops, start=1)}
    node_stop = {i: s for i, s in enumerate(stops, start=1)}
    slots = vehicle_slots(fleet)

    unknown = [ref for fixed in sequence for ref in fixed.stop_refs if ref not in node_of]
    if unknown:
        raise SequenceError([f"stop {ref} is not among the stops planned" for ref in unknown])
    fixed_nodes = [node_of[ref] for fixed in sequence for ref in fixed.stop_refs]
    if len(set(fixed_nodes)) != len(fixed_nodes) or len({f.slot.number for f in sequence}) != len(sequence):
        raise SequenceError(["a stop or a vehicle appears on more than one fixed route"])

    routes: list[Route] = []
    violations: list[str] = []
    problems: list[str] = []
    for fixed in sequence:
        visits = [node_of[ref] for ref in fixed.stop_refs]
        path = inst.path(visits, fixed.slot.type_index)
        no_road = [(a, b) for a, b in pairwise(path) if inst.travel[a, b] >= UNREACHABLE]
        problems += [f"{fixed.slot.label}: no road from {inst.node_ids[a]} to {inst.node_ids[b]}" for a, b in no_road]
        if no_road:
            continue
        times = schedule_route(inst, visits, fixed.slot.type_index)
        route = build_route(inst, fixed.slot.number, visits, times, node_stop, fixed.slot.type_index)
        _name(route, fleet, fixed.slot)
        for visit, found in zip(route.visits, stop_violations(inst, visits, times, fixed.slot.type_index), strict=True):
            visit.violations = found
            violations += [f"{fixed.slot.label} #{visit.sequence} {visit.stop.stop_ref}: {v}" for v in found]
        routes.append(route)
    if problems:
        raise SequenceError(problems)

    # The remainder: every vehicle not fixed, as an instance with only those vehicles (types left empty are
    # removed, so the engines never see a type with no vehicles); ``kept[j]`` is the full type index.
    fixed_per_type = [sum(1 for f in sequence if f.slot.type_index == k) for k in range(len(inst.vehicle_types))]
    kept = [k for k, spec in enumerate(inst.vehicle_types) if spec.count > fixed_per_type[k]]
    rest = inst.keep_types(
        kept, [replace(inst.vehicle_types[k], count=inst.vehicle_types[k].count - fixed_per_type[k]) for k in kept]
    )
    fixed_set = set(fixed_nodes)
    remaining = [n for n in inst.stop_nodes if n not in fixed_set]
    pre_dropped: dict[int, DropReason] = {}
    for node in remaining:
        reason = reason_alone(rest, node) if kept else None
        if not kept or (reason is not None and reason_alone(inst, node) is None):
            # Some vehicle could serve it, but not one the planner left free: say so, not "too heavy".
            pre_dropped[node] = DropReason(
                NO_FREE_VEHICLE, "only vehicles with a fixed route in the planner's sequence could serve it"
            )
    solved = solve_instance(
        rest, settings, progress, nodes=remaining, pre_dropped=pre_dropped, handled_elsewhere=fixed_set
    )
    if solved.violations:
        raise InfeasiblePlanError(solved.violations)

    taken = {f.slot.number for f in sequence}
    free = {k: [s for s in slots if s.type_index == k and s.number not in taken] for k in kept}
    for visits, times, t in zip(solved.routes, solved.schedules, solved.route_types, strict=True):
        slot = free[kept[t]].pop(0)
        route = build_route(rest, slot.number, visits, times, node_stop, t)
        _name(route, fleet, slot)
        routes.append(route)
    routes.sort(key=lambda r: r.vehicle)
    return assemble_plan(
        fleet,
        rest,
        routes,
        solved.dropped,
        solved.pre_dropped,
        solved,
        node_stop,
        settings,
        matrix.source,
        violations=violations,
    )
