"""A VRPTW instance in integer units, independent of where it came from (a stop file or Solomon).

The solver, the schedule and the feasibility check all read this one structure, so the check verifies
exactly the numbers the solver was given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .fleet import Fleet
from .stop_schema import Stop
from .travel_time import TravelMatrix


@dataclass
class VrptwInstance:
    node_ids: list[str]  # node 0 is the depot
    travel: np.ndarray  # int64 n x n, time units (seconds for real plans)
    distance: np.ndarray  # float n x n, metres for real plans (reporting only)
    demand: list[int]
    service: list[int]
    tw_open: list[int]
    tw_close: list[int]
    vehicles: int
    capacity: int
    shift_start: int
    shift_end: int
    max_route: int
    vehicle_fixed_cost: int = 0
    drop_penalty: int | None = None

    @property
    def size(self) -> int:
        return len(self.node_ids)

    def penalty(self) -> int:
        """Dropping a stop must cost more than any detour could, so it only happens when forced."""
        if self.drop_penalty is not None:
            return self.drop_penalty
        finite = self.travel[self.travel < np.iinfo(np.int64).max // 4]
        longest = int(finite.max()) if finite.size else 0
        return max(1_000_000, 100 * longest + 10 * self.vehicle_fixed_cost)


UNREACHABLE = np.iinfo(np.int64).max // 4


def instance_from_stops(fleet: Fleet, stops: list[Stop], matrix: TravelMatrix) -> VrptwInstance:
    """Seconds throughout; a stop without a window may be served any time in the shift."""
    if matrix.size != len(stops) + 1:
        raise ValueError(f"matrix has {matrix.size} nodes for {len(stops)} stops plus a depot")
    duration = np.where(np.isfinite(matrix.duration_s), np.rint(matrix.duration_s), UNREACHABLE)
    shift_start = fleet.shift_start_min * 60
    shift_end = fleet.shift_end_min * 60
    return VrptwInstance(
        node_ids=list(matrix.node_ids),
        travel=duration.astype(np.int64),
        distance=np.nan_to_num(matrix.distance_m, nan=0.0, posinf=0.0),
        demand=[0] + [s.demand for s in stops],
        service=[0] + [s.service_time_min * 60 for s in stops],
        tw_open=[shift_start] + [s.tw_start_min * 60 if s.tw_start_min is not None else shift_start for s in stops],
        tw_close=[shift_end] + [s.tw_end_min * 60 if s.tw_end_min is not None else shift_end for s in stops],
        vehicles=fleet.vehicles,
        capacity=fleet.capacity,
        shift_start=shift_start,
        shift_end=shift_end,
        max_route=fleet.max_route_min * 60,
        vehicle_fixed_cost=fleet.vehicle_fixed_cost_s,
    )
