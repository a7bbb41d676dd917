"""Balanced days (issue 19): no driver on a 9-hour day while another does 4, for a bounded price.

After the plan is solved, the longest route is capped (route duration, or stops per route) and the day is solved
again under the cap, a few times in a bisection between the mean and the longest route, within a share of the
time limit. A capped plan is kept only when it serves every stop the first plan served and costs at most
``max_increase`` more (3 % by default); the best ratio of longest to shortest route wins. The cap is one more
field of the model (``VehicleSpec.max_route`` or ``max_stops``), so the engines and the independent check hold
it like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from .instance import VrptwInstance

NONE, DURATION, STOPS = "none", "duration", "stops"
BALANCE_MODES = (NONE, DURATION, STOPS)
DEFAULT_MAX_INCREASE = 0.03
ROUNDS = 4
SHARE = 0.4  # of the time limit spent balancing, when asked for


@dataclass(frozen=True)
class BalanceReport:
    mode: str
    ratio_before: float
    ratio_after: float
    cost_increase: float  # the kept plan's cost over the first one's, e.g. 0.012
    rounds: int

    def summary(self) -> dict:
        return {
            "balance": self.mode,
            "ratio_before": round(self.ratio_before, 3),
            "ratio_after": round(self.ratio_after, 3),
            "cost_increase_pct": round(100 * self.cost_increase, 2),
            "rounds": self.rounds,
        }


def route_cost(inst: VrptwInstance, visits: list[int], t: int, times) -> int:
    """A route's share of the objective as the engines count it: driving, paid time, overtime, fixed cost."""
    path = inst.path(visits, t)
    travel = sum(int(inst.travel[a, b]) for a, b in zip(path, path[1:], strict=False))
    spec = inst.vehicle_types[t]
    duration = times.end - times.start
    overtime = 0 if spec.regular is None else max(0, duration - spec.regular) * spec.overtime_cost
    return inst.travel_cost * travel + inst.duration_cost * duration + spec.fixed_cost + overtime


def plan_cost(inst: VrptwInstance, solved) -> int:
    """The whole plan's cost: its routes and the penalty of every stop it drops."""
    routes = sum(
        route_cost(inst, v, t, s) for v, t, s in zip(solved.routes, solved.route_types, solved.schedules, strict=True)
    )
    return routes + sum(inst.node_penalty(n) for n in solved.dropped)


def _sizes(solved, mode: str) -> list[int]:
    if mode == STOPS:
        return [len(v) for v in solved.routes]
    return [s.end - s.start for s in solved.schedules]


def _ratio(sizes: list[int]) -> float:
    return max(sizes) / max(1, min(sizes)) if sizes else 1.0


def balance_solved(
    inst: VrptwInstance,
    solved,
    mode: str,
    solve: Callable[[VrptwInstance], object],
    max_increase: float = DEFAULT_MAX_INCREASE,
) -> tuple[object, BalanceReport]:
    """The most balanced of ``solved`` and its re-solves under a cap; ``solve(capped_instance)`` returns a solved
    instance (``plan.solve_instance`` with the balancing share of the time limit)."""
    if mode not in BALANCE_MODES:
        raise ValueError(f"unknown balance '{mode}'; choose one of {', '.join(BALANCE_MODES)}")
    before = _ratio(_sizes(solved, mode))
    if mode == NONE or len(solved.routes) < 2:
        return solved, BalanceReport(mode, before, before, 0.0, 0)
    base_cost = plan_cost(inst, solved)
    served = {n for v in solved.routes for n in v}
    best, best_ratio, best_cost = solved, before, base_cost
    sizes = _sizes(solved, mode)
    low, high = sum(sizes) // len(sizes), max(sizes)
    rounds = 0
    for _ in range(ROUNDS):
        if high - low <= (0 if mode == STOPS else 60):
            break
        cap = (low + high) // 2
        rounds += 1
        if mode == STOPS:
            types = [replace(s, max_stops=min(cap, s.max_stops or cap)) for s in inst.vehicle_types]
        else:
            types = [replace(s, max_route=min(cap, s.max_route)) for s in inst.vehicle_types]
        trial = solve(replace(inst, vehicle_types=types))
        keeps = not trial.violations and served <= {n for v in trial.routes for n in v}
        cost = plan_cost(inst, trial) if keeps else None
        if keeps and cost <= base_cost * (1 + max_increase):
            ratio = _ratio(_sizes(trial, mode))
            if ratio < best_ratio:
                best, best_ratio, best_cost = trial, ratio, cost
            high = cap  # it held: try a tighter cap
        else:
            low = cap  # too tight (or too dear): loosen
    return best, BalanceReport(mode, before, best_ratio, best_cost / base_cost - 1 if base_cost else 0.0, rounds)
