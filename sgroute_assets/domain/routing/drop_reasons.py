"""Why a stop was left out of the plan, in words a planner can act on.

OR-Tools cannot say why it dropped a visit (google/or-tools#2361), so each dropped stop is tested against
the constraints directly: alone first (can any vehicle serve it at all?), then against the routes as
planned (is every route full, or does it clash with every route's windows?). Legs run from each vehicle
type's own start depot and to its own end depot, and a route's times include its driver break, so a stop
only the break keeps off every vehicle is said to be dropped for the break.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..stops import format_clock
from .instance import UNREACHABLE, VrptwInstance
from .schedule import schedule_route

CAPACITY = "capacity"
TIME_WINDOW = "time_window"
SHIFT_LENGTH = "shift_length"
UNREACHABLE_REASON = "unreachable"
SOLVER_LIMIT = "solver_time_limit"
DRIVER_BREAK = "driver_break"
MAX_STOPS = "max_stops"  # every route that could take it already has its type's maximum number of stops
SKILL = "skill"  # no vehicle of the fleet has every skill the stop requires
VAN_BOUND = "van_bound"  # loaded on a van that cannot reach it (a re-plan during the day keeps loads on vans)


@dataclass(frozen=True)
class DropReason:
    code: str
    message: str


def _clock(seconds: int) -> str:
    return format_clock(seconds / 60) or ""


def reason_alone(inst: VrptwInstance, node: int) -> DropReason | None:
    """A reason that holds whatever the other stops do, or None if an empty vehicle of some type could serve it."""
    types = [k for k in range(len(inst.vehicle_types)) if inst.allows(node, k)]
    if not types:
        if node in inst.required_skills:
            need = ", ".join(inst.required_skills[node])
            return DropReason(SKILL, f"it requires {need} and no vehicle in service has all of that")
        return DropReason(VAN_BOUND, "no vehicle that may carry it is in service")
    reasons = [_reason_alone_for(inst, node, k) for k in types]
    if any(r is None for r in reasons):
        return None
    # The most telling reason: one about the stop itself (road, load, window) before one about a break.
    return next((r for r in reasons if r.code != DRIVER_BREAK), reasons[0])


def _reason_alone_for(inst: VrptwInstance, node: int, vehicle_type: int) -> DropReason | None:
    spec = inst.vehicle_types[vehicle_type]
    out_leg, back_leg = int(inst.travel[spec.start_depot, node]), int(inst.travel[node, spec.end_depot])
    if out_leg >= UNREACHABLE or back_leg >= UNREACHABLE:
        return DropReason(UNREACHABLE_REASON, "no road connection between the depot and this stop")
    over = inst.over_capacity([node], vehicle_type)
    if over and inst.demand[node] > spec.capacity and len(over) == 1:
        return DropReason(CAPACITY, f"demand {inst.demand[node]} is more than a vehicle carries ({inst.capacity})")
    if over:
        return DropReason(CAPACITY, f"its load is more than a {spec.name} carries ({'; '.join(over)})")
    earliest_arrival = spec.shift_start + out_leg
    if earliest_arrival > inst.last_close(node):
        return DropReason(
            TIME_WINDOW,
            f"the earliest a vehicle can arrive is {_clock(earliest_arrival)}, after the window closes at "
            f"{_clock(inst.last_close(node))}",
        )
    begin = inst.service_start_at(node, earliest_arrival)
    back = begin + inst.service[node] + back_leg
    if back > spec.shift_end:
        if begin > earliest_arrival:
            return DropReason(
                TIME_WINDOW,
                f"served when the window opens at {_clock(begin)}, the vehicle is back at "
                f"{_clock(back)}, after the shift ends at {_clock(spec.shift_end)}",
            )
        return DropReason(
            SHIFT_LENGTH,
            f"a round trip to this stop ends at {_clock(back)}, after the shift ends at {_clock(spec.shift_end)}",
        )
    round_trip = out_leg + inst.service[node] + back_leg
    if round_trip > spec.max_route:
        return DropReason(
            SHIFT_LENGTH,
            f"a round trip takes {round_trip // 60} min, over the maximum route duration of {spec.max_route // 60} min",
        )
    if spec.break_window is not None:
        load_ok, windows_ok, shift_ok = _route_fits(inst, [node], vehicle_type)
        if not (windows_ok and shift_ok):
            earliest, latest = spec.break_window
            return DropReason(
                DRIVER_BREAK,
                f"the driver's {spec.break_duration // 60} min break (starting {_clock(earliest)}-{_clock(latest)}) "
                f"leaves no time to serve it within its window and the shift",
            )
    return None


def _route_fits(inst: VrptwInstance, visits: list[int], vehicle_type: int) -> tuple[bool, bool, bool]:
    """(capacity ok, windows ok, shift ok) for a candidate visit order."""
    spec = inst.vehicle_types[vehicle_type]
    fits = spec.max_stops is None or len(visits) <= spec.max_stops
    load_ok = fits and not inst.over_capacity(visits, vehicle_type)
    times = schedule_route(inst, visits, vehicle_type)
    windows_ok = all(inst.in_window(n, s) for n, s in zip(visits, times.service_start, strict=True))
    shift_ok = times.end <= spec.shift_end and times.end - times.start <= spec.max_route
    return load_ok, windows_ok, shift_ok


def explain_drop(
    inst: VrptwInstance, node: int, routes: list[list[int]], route_types: list[int] | None = None
) -> DropReason:
    alone = reason_alone(inst, node)
    if alone is not None:
        return alone
    types = route_types if route_types is not None else [0] * len(routes)
    for k, spec in enumerate(inst.vehicle_types):
        used = sum(1 for r, t in zip(routes, types, strict=True) if r and t == k)
        if used < spec.count and inst.allows(node, k) and _reason_alone_for(inst, node, k) is None:
            return DropReason(
                SOLVER_LIMIT,
                "a free vehicle could serve this stop but the solver did not place it in time: raise the time limit",
            )
    if any(not inst.allows(node, t) for t in types):  # only the routes that may take it count
        kept = [(r, t) for r, t in zip(routes, types, strict=True) if inst.allows(node, t)]
        routes, types = [r for r, _ in kept], [t for _, t in kept]
    limits = [inst.vehicle_types[t].max_stops for t in types]
    if routes and all(m is not None and len(r) >= m for r, m in zip(routes, limits, strict=True)):
        return DropReason(
            MAX_STOPS,
            f"every route that could take it has its maximum number of stops ({', '.join(str(m) for m in limits)})",
        )
    caps = [inst.vehicle_types[t].capacity for t in types]
    loads = [sum(inst.demand[n] for n in r) for r in routes]
    full = [inst.over_capacity([*r, node], t) for r, t in zip(routes, types, strict=True)]
    if routes and all(full) and any(inst.loads):
        which = f"with {', '.join(inst.required_skills[node])} " if node in inst.required_skills else ""
        return DropReason(
            CAPACITY,
            f"every vehicle {which}is full (with it: {'; '.join(found[0] for found in full)}); add a vehicle or "
            "capacity",
        )
    if all(load + inst.demand[node] > cap for load, cap in zip(loads, caps, strict=True)):
        which = f"with {', '.join(inst.required_skills[node])} " if node in inst.required_skills else ""
        return DropReason(
            CAPACITY,
            f"every vehicle {which}is full (loads {', '.join(f'{x}/{c}' for x, c in zip(loads, caps, strict=True))}); "
            "add a vehicle or capacity",
        )
    window_clash = shift_clash = False
    for visits, load, cap, t in zip(routes, loads, caps, types, strict=True):
        if load + inst.demand[node] > cap:
            continue
        for pos in range(len(visits) + 1):
            load_ok, windows_ok, shift_ok = _route_fits(inst, visits[:pos] + [node] + visits[pos:], t)
            if load_ok and windows_ok and shift_ok:
                return DropReason(
                    SOLVER_LIMIT,
                    "it fits into a planned route but the solver did not place it in time: raise the time limit",
                )
            window_clash |= not windows_ok
            shift_clash |= windows_ok and not shift_ok
    if shift_clash and not window_clash:
        return DropReason(SHIFT_LENGTH, "adding it to any route with room would run past the end of the shift")
    return DropReason(
        TIME_WINDOW,
        f"its window {_clock(inst.tw_open[node])}-{_clock(inst.tw_close[node])} clashes with the other stops on "
        "every route with room; add a vehicle or widen the window",
    )
