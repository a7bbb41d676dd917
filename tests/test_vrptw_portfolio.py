"""The PyVRP engine's searches: required stops beside optional visits, side by side or one after the other.

A plan that must drop stops still comes out (the required-stop search gives up, the optional one plans with
drops), whether the searches run in two processes or in one; a plan that can serve every stop comes from the
cheaper search, and the result says which searches ran and what each found.
"""

from __future__ import annotations

import numpy as np
import pytest

from sgroute_assets.domain.routing import SolverSettings, load_vrptw, solve_instance
from sgroute_assets.domain.routing.engines.portfolio import portfolio_size, required_may_work
from sgroute_assets.domain.routing.instance import VehicleSpec, VrptwInstance


def crowded_instance(stops: int = 60, vehicles: int = 2) -> VrptwInstance:
    """Stops 10 min apart on a line, all wanting service in the same five minutes: each vehicle serves one.

    Every stop is servable alone (so nothing is pre-dropped) and the fleet carries every demand (so the
    capacity shortcut does not apply): only a search over the whole plan finds that most must be dropped.
    """
    pos = np.arange(stops + 1)
    travel = (np.abs(pos[:, None] - pos[None, :]) * 600).astype(np.int64)
    travel[0, :] = travel[:, 0] = 600  # the depot is ten minutes from every stop
    travel[0, 0] = 0
    return VrptwInstance(
        node_ids=["depot"] + [f"S{i}" for i in range(1, stops + 1)],
        travel=travel,
        distance=travel.astype(float),
        demand=[0] + [1] * stops,
        service=[0] + [60] * stops,
        tw_open=[0] + [3600] * stops,
        tw_close=[8 * 3600] + [3900] * stops,
        vehicle_types=[VehicleSpec("Van", vehicles, 1000, 0, 8 * 3600, 8 * 3600)],
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_a_plan_with_drops_comes_out_when_serving_everything_is_impossible(workers):
    inst = crowded_instance()
    assert required_may_work(inst, list(range(1, inst.size)))
    settings = SolverSettings(time_limit_s=4, workers=workers)
    assert portfolio_size(settings, inst.size - 1) == workers
    solved = solve_instance(inst, settings)
    assert not solved.violations
    served = [n for r in solved.routes for n in r]
    assert len(served) == 2 and len(solved.routes) == 2  # one stop per vehicle is all the windows allow
    assert len(solved.dropped) == inst.size - 1 - 2
    searches = {(mode, cost is None): why for _, mode, cost, why in solved.result.portfolio}
    # The required-stop search found no plan and gave up early; the optional one planned with drops.
    assert searches[("required", True)] == "no_feasible_plan_found"
    assert ("optional", False) in searches
    assert solved.result.solve_time_s < 4 + 2


def test_more_demand_than_the_fleet_carries_skips_the_required_search():
    inst = crowded_instance(stops=60, vehicles=2)
    inst.demand = [0] + [40] * 60  # 2400 against 2000 of capacity
    assert not required_may_work(inst, list(range(1, inst.size)))
    solved = solve_instance(inst, SolverSettings(time_limit_s=3, workers=2))
    assert not solved.violations
    assert {mode for _, mode, _, _ in solved.result.portfolio} == {"optional"}
    assert len(solved.result.portfolio) == 2  # two optional-visit searches, seeds 0 and 1


def test_side_by_side_keeps_the_cheapest_feasible_search(shared_dir):
    inst = load_vrptw(shared_dir / "benchmarks" / "solomon" / "RC101.vrp")
    solved = solve_instance(inst, SolverSettings(time_limit_s=3, workers=2))
    assert not solved.violations and not solved.dropped
    costs = [cost for _, _, cost, _ in solved.result.portfolio]
    assert len(costs) == 2 and all(c is not None for c in costs)
    assert solved.result.objective == min(costs)
    assert [seed for seed, _, _, _ in solved.result.portfolio] == [0, 1]


def test_small_problems_run_one_search_in_this_process():
    inst = crowded_instance(stops=10, vehicles=10)
    inst.tw_close = [8 * 3600] + [8 * 3600] * 10  # every stop can be served
    settings = SolverSettings(time_limit_s=5)
    assert portfolio_size(settings, 10) == 1
    solved = solve_instance(inst, settings)
    assert not solved.violations and not solved.dropped
    assert [mode for _, mode, _, _ in solved.result.portfolio] == ["required"]
    assert solved.result.stop_reason == "stalled" and solved.result.solve_time_s < 2.5
