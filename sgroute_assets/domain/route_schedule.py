"""Times along a route, recomputed from the visit order alone.

The solver's cumul values place waiting wherever it likes (a defect of the system this replaces); here the
vehicle leaves the depot as late as it can without making anything later, so ETAs are what a driver sees.
"""

from __future__ import annotations

from dataclasses import dataclass

from .vrptw_instance import VrptwInstance


@dataclass
class RouteTimes:
    start: int  # departure from the depot
    arrival: list[int]
    service_start: list[int]
    departure: list[int]
    end: int  # back at the depot

    @property
    def waiting(self) -> list[int]:
        return [s - a for a, s in zip(self.arrival, self.service_start, strict=True)]


def _forward(inst: VrptwInstance, visits: list[int], depart: int) -> RouteTimes:
    arrival, start, leave = [], [], []
    clock, prev = depart, 0
    for node in visits:
        arrive = clock + int(inst.travel[prev, node])
        begin = max(arrive, int(inst.tw_open[node]))
        arrival.append(arrive)
        start.append(begin)
        clock = begin + int(inst.service[node])
        leave.append(clock)
        prev = node
    end = clock + int(inst.travel[prev, 0])
    return RouteTimes(start=depart, arrival=arrival, service_start=start, departure=leave, end=end)


def schedule_route(inst: VrptwInstance, visits: list[int], vehicle_type: int = 0) -> RouteTimes:
    """Earliest-service schedule, then the departure delayed by as much waiting as can be removed."""
    spec = inst.vehicle_types[vehicle_type]
    earliest = _forward(inst, visits, spec.shift_start)
    if not visits:
        return RouteTimes(start=spec.shift_start, arrival=[], service_start=[], departure=[], end=spec.shift_start)
    # Forward time slack: how far the departure can move before some window is missed. Capping the delay
    # at the total waiting keeps the return time (and so the shift end) where it was.
    slack = spec.shift_end - spec.shift_start
    waited = 0
    for node, arrive, begin in zip(visits, earliest.arrival, earliest.service_start, strict=True):
        waited += begin - arrive
        slack = min(slack, waited + int(inst.tw_close[node]) - begin)
    delay = max(0, min(slack, waited))
    return _forward(inst, visits, spec.shift_start + delay) if delay else earliest
