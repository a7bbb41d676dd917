"""An independent check of a plan against its instance, run before any plan is stored.

It re-derives every time from the visit order and the instance's own numbers and shares no code with the
solver or the scheduler, so a bug in either (or in OR-Tools, see google/or-tools#3138) cannot pass unseen.

Each route runs from its vehicle type's start depot to its end depot. A type's driver break must start in
its window and last its minutes in one gap between two points of the route (time the vehicle is driving or
waiting, never a visit), and that gap must hold the leg's driving as well; a route without a break is only
allowed when the break falls off the road (the route ends before the latest break start, or leaves after a
break at the earliest start would be over). The route's duration includes the break.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .instance import UNREACHABLE, VrptwInstance


@dataclass
class ClaimedRoute:
    visits: list[int]
    start: int
    service_start: list[int]
    end: int
    vehicle_type: int = 0
    break_start: int | None = None  # the driver's break on this route, if it takes one on the road


class InfeasiblePlanError(RuntimeError):
    def __init__(self, violations: list[str]):
        super().__init__("plan failed its feasibility check: " + "; ".join(violations[:10]))
        self.violations = violations


def check_plan(inst: VrptwInstance, routes: list[ClaimedRoute], dropped: list[int]) -> list[str]:
    """Every violation found, as readable sentences; an empty list means the plan is feasible."""
    problems: list[str] = []
    name = inst.node_ids
    if len(routes) > inst.vehicles:
        problems.append(f"{len(routes)} routes for a fleet of {inst.vehicles}")
    for k, spec in enumerate(inst.vehicle_types):
        used = sum(1 for r in routes if r.vehicle_type == k and r.visits)
        if used > spec.count:
            problems.append(f"{used} routes of type {spec.name}, which has {spec.count} vehicles")

    counts = Counter(n for r in routes for n in r.visits) + Counter(dropped)
    stops = range(1, inst.size - inst.extra_depots)
    for node in stops:
        if counts[node] == 0:
            problems.append(f"stop {name[node]} is neither routed nor dropped")
        elif counts[node] > 1:
            problems.append(f"stop {name[node]} appears {counts[node]} times")
    for node in counts:
        if node not in stops:
            problems.append(f"node {node} is not a stop of this instance")
    if problems:
        return problems

    for v, route in enumerate(routes, start=1):
        if not route.visits:
            continue
        label = f"vehicle {v}"
        if not 0 <= route.vehicle_type < len(inst.vehicle_types):
            problems.append(f"{label}: unknown vehicle type {route.vehicle_type}")
            continue
        spec = inst.vehicle_types[route.vehicle_type]
        if len(route.service_start) != len(route.visits):
            problems.append(f"{label}: {len(route.visits)} visits but {len(route.service_start)} times")
            continue
        barred = [name[n] for n in route.visits if not inst.allows(n, route.vehicle_type)]
        if barred:
            problems.append(f"{label}: carries {', '.join(barred)}, which a {spec.name} may not serve")
        if spec.max_stops is not None and len(route.visits) > spec.max_stops:
            problems.append(f"{label}: {len(route.visits)} stops, over the {spec.name}'s maximum of {spec.max_stops}")
        load = sum(inst.demand[n] for n in route.visits)
        if load > spec.capacity:
            problems.append(f"{label}: load {load} exceeds capacity {spec.capacity}")
        for d, amounts in enumerate(inst.loads):
            cap = spec.load_capacity[d] if d < len(spec.load_capacity) else None
            carried = sum(amounts[n] for n in route.visits)
            if cap is not None and carried > cap:
                problems.append(f"{label}: {inst.load_names[d]} load {carried} exceeds capacity {cap} (tenths)")
        if route.start < spec.shift_start:
            problems.append(f"{label}: leaves at {route.start}, before the shift starts at {spec.shift_start}")
        brk, rest = route.break_start, spec.break_duration
        if spec.break_window is None and brk is not None:
            problems.append(f"{label}: claims a break at {brk} but type {spec.name} has none")
            brk = None
        if spec.break_window is not None:
            earliest, latest = spec.break_window
            if brk is None:
                if not (route.end <= latest or route.start >= earliest + rest):
                    problems.append(
                        f"{label}: on the road from {route.start} to {route.end} through the break window "
                        f"{earliest}-{latest} but takes no break"
                    )
            elif not earliest <= brk <= latest:
                problems.append(f"{label}: break starts at {brk}, outside its window {earliest}-{latest}")
        placed = brk is None
        clock, prev = route.start, spec.start_depot
        for node, claimed in zip(route.visits, route.service_start, strict=True):
            leg = int(inst.travel[prev, node])
            if leg >= UNREACHABLE:
                problems.append(f"{label}: no road from {name[prev]} to {name[node]}")
                break
            arrive = clock + leg
            if brk is not None and clock <= brk and brk + rest <= claimed:
                arrive += rest  # the break is in this gap: the gap must hold the leg and the break
                placed = True
            if claimed < arrive:
                problems.append(f"{label}: service at {name[node]} starts at {claimed}, before arrival at {arrive}")
            if not any(o <= claimed <= c for o, c in inst.windows(node)):
                shown = " or ".join(f"{o}-{c}" for o, c in inst.windows(node))
                problems.append(f"{label}: service at {name[node]} starts at {claimed}, outside its window {shown}")
            if brk is not None and brk < claimed + inst.service[node] and claimed < brk + rest:
                problems.append(f"{label}: the break {brk}-{brk + rest} overlaps the visit to {name[node]}")
            clock = max(claimed, arrive) + inst.service[node]
            prev = node
        leg = int(inst.travel[prev, spec.end_depot])
        if leg >= UNREACHABLE:
            problems.append(f"{label}: no road from {name[prev]} to {name[spec.end_depot]}")
        back = clock + leg
        if brk is not None and clock <= brk and brk + rest <= route.end:
            back = max(back, brk) + rest  # on the way back: driving until the break, then the rest of the leg
            placed = True
        if not placed:
            problems.append(f"{label}: the break {brk}-{brk + rest} is not between two points of the route")
        if back != route.end:
            problems.append(f"{label}: claims to return at {route.end} but the legs add up to {back}")
        if back > spec.shift_end:
            problems.append(f"{label}: returns at {back}, after the shift ends at {spec.shift_end}")
        if back - route.start > spec.max_route:
            problems.append(f"{label}: route takes {back - route.start}, over the maximum of {spec.max_route}")
    return problems
