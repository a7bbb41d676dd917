"""One route built from its visits and times, with what each of its stops breaks.

Optimised plans (plan.py), planner-fixed routes (resequence.py) and routes re-timed on road legs
(leg_verification.py) all build their routes here, so a route reads the same whichever way it was made.
"""

from __future__ import annotations

import math

from ..stops import Stop
from .instance import VrptwInstance
from .plan_types import Route, Visit, clock
from .schedule import RouteTimes


def build_route(
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
                travel_s=int(inst.travel[prev, node]) - inst.setup_on(prev, node),
                distance_m=float(inst.distance[prev, node]),
                break_s=times.break_at(seq - 1),
                setup_s=inst.setup_on(prev, node),
                late_s=inst.late_by(node, begin),
            )
        )
        prev = node
    end = inst.end_node(vehicle_type)
    spec = inst.vehicle_types[vehicle_type]
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
        overtime_s=0 if spec.regular is None else max(0, times.end - times.start - spec.regular),
    )


def stop_violations(inst: VrptwInstance, visits: list[int], times: RouteTimes, vehicle_type: int) -> list[list[str]]:
    """What each stop of a fixed route breaks, from its own times and the vehicle type's limits.

    Lateness is service after the window closes (whole minutes, rounded up: 20 s late is 1 min late). Capacity
    is flagged from the stop where the load carried for the route so far passes the capacity. The shift is
    flagged at every stop from which the vehicle cannot be back before the shift ends or within the maximum
    route duration (the last stop always, when the route as a whole overruns).
    """
    spec = inst.vehicle_types[vehicle_type]
    load = 0
    out: list[list[str]] = []
    last = len(visits) - 1
    for i, (node, begin, leave) in enumerate(zip(visits, times.service_start, times.departure, strict=True)):
        found: list[str] = []
        if not inst.allows(node, vehicle_type):
            need = ", ".join(inst.required_skills.get(node, ())) or "another vehicle"
            found.append(f"needs {need}: the {spec.name} does not have it")
        late = begin - inst.close_for(node, begin)
        if late > 0:
            found.append(
                f"late by {math.ceil(late / 60)} min: service starts {clock(begin)}, the window closes at "
                f"{clock(inst.close_for(node, begin))}"
            )
        if spec.max_stops is not None and i + 1 > spec.max_stops:
            found.append(f"over the maximum of {spec.max_stops} stops: stop {i + 1} of the {spec.name}'s route")
        load += int(inst.demand[node])
        if load > spec.capacity:
            found.append(f"over capacity: {load} units loaded up to this stop, the {spec.name} carries {spec.capacity}")
        over = [t for t in inst.over_capacity(visits[: i + 1], vehicle_type) if "parcels" not in t]
        if over:
            found.append(f"over capacity: {'; '.join(over)} loaded up to this stop")
        # From the last stop this is the route's own return (a break on the way back included); from earlier
        # ones, the soonest it could be.
        back = times.end if i == last else leave + int(inst.travel[node, inst.end_node(vehicle_type)])
        soonest = "" if i == last else " at the earliest from here"
        if back > spec.shift_end:
            ends = clock(spec.shift_end)
            found.append(f"past the shift: back at the depot at {clock(back)}{soonest}, the shift ends at {ends}")
        if back - times.start > spec.max_route:
            found.append(
                f"over the maximum route: {math.ceil((back - times.start) / 60)} min depot to depot{soonest}, "
                f"the maximum is {spec.max_route // 60} min"
            )
        out.append(found)
    return out
