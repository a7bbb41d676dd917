"""Why a stop was left out of the plan, in words a planner can act on.

OR-Tools cannot say why it dropped a visit (google/or-tools#2361), so each dropped stop is tested against
the constraints directly: alone first (can any vehicle serve it at all?), then against the routes as
planned (is every route full, or does it clash with every route's windows?).
"""

from __future__ import annotations

from dataclasses import dataclass

from .route_schedule import schedule_route
from .stop_schema import format_clock
from .vrptw_instance import UNREACHABLE, VrptwInstance

CAPACITY = "capacity"
TIME_WINDOW = "time_window"
SHIFT_LENGTH = "shift_length"
UNREACHABLE_REASON = "unreachable"
SOLVER_LIMIT = "solver_time_limit"


@dataclass(frozen=True)
class DropReason:
    code: str
    message: str


def _clock(seconds: int) -> str:
    return format_clock(seconds / 60) or ""


def reason_alone(inst: VrptwInstance, node: int) -> DropReason | None:
    """A reason that holds whatever the other stops do, or None if an empty vehicle could serve it."""
    out_leg, back_leg = int(inst.travel[0, node]), int(inst.travel[node, 0])
    if out_leg >= UNREACHABLE or back_leg >= UNREACHABLE:
        return DropReason(UNREACHABLE_REASON, "no road connection between the depot and this stop")
    if inst.demand[node] > inst.capacity:
        return DropReason(CAPACITY, f"demand {inst.demand[node]} is more than a vehicle carries ({inst.capacity})")
    earliest_arrival = inst.shift_start + out_leg
    if earliest_arrival > inst.tw_close[node]:
        return DropReason(
            TIME_WINDOW,
            f"the earliest a vehicle can arrive is {_clock(earliest_arrival)}, after the window closes at "
            f"{_clock(inst.tw_close[node])}",
        )
    begin = max(earliest_arrival, inst.tw_open[node])
    back = begin + inst.service[node] + back_leg
    if back > inst.shift_end:
        if inst.tw_open[node] > earliest_arrival:
            return DropReason(
                TIME_WINDOW,
                f"served when the window opens at {_clock(inst.tw_open[node])}, the vehicle is back at "
                f"{_clock(back)}, after the shift ends at {_clock(inst.shift_end)}",
            )
        return DropReason(
            SHIFT_LENGTH,
            f"a round trip to this stop ends at {_clock(back)}, after the shift ends at {_clock(inst.shift_end)}",
        )
    round_trip = out_leg + inst.service[node] + back_leg
    if round_trip > inst.max_route:
        return DropReason(
            SHIFT_LENGTH,
            f"a round trip takes {round_trip // 60} min, over the maximum route duration of {inst.max_route // 60} min",
        )
    return None


def _route_fits(inst: VrptwInstance, visits: list[int]) -> tuple[bool, bool, bool]:
    """(capacity ok, windows ok, shift ok) for a candidate visit order."""
    load_ok = sum(inst.demand[n] for n in visits) <= inst.capacity
    times = schedule_route(inst, visits)
    windows_ok = all(s <= inst.tw_close[n] for n, s in zip(visits, times.service_start, strict=True))
    shift_ok = times.end <= inst.shift_end and times.end - times.start <= inst.max_route
    return load_ok, windows_ok, shift_ok


def explain_drop(inst: VrptwInstance, node: int, routes: list[list[int]]) -> DropReason:
    alone = reason_alone(inst, node)
    if alone is not None:
        return alone
    if any(not r for r in routes) or len(routes) < inst.vehicles:
        return DropReason(
            SOLVER_LIMIT,
            "a free vehicle could serve this stop but the solver did not place it in time: raise the time limit",
        )
    loads = [sum(inst.demand[n] for n in r) for r in routes]
    if all(load + inst.demand[node] > inst.capacity for load in loads):
        return DropReason(
            CAPACITY,
            f"every vehicle is full (loads {', '.join(map(str, loads))} of {inst.capacity}); add a vehicle or capacity",
        )
    window_clash = shift_clash = False
    for visits, load in zip(routes, loads, strict=True):
        if load + inst.demand[node] > inst.capacity:
            continue
        for pos in range(len(visits) + 1):
            load_ok, windows_ok, shift_ok = _route_fits(inst, visits[:pos] + [node] + visits[pos:])
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
