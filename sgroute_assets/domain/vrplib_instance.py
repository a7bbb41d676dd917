"""Solomon and Gehring-Homberger VRPTW benchmarks as VrptwInstance objects.

Follows the DIMACS 2021 convention of the shipped best-known solutions: every quantity times ten and
distances truncated, so a plan's cost divided by ten compares directly with the ``.sol`` files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import vrplib

from .vrptw_instance import VrptwInstance

SCALE = 10


def load_vrptw(path: Path) -> VrptwInstance:
    data = vrplib.read_instance(str(path))
    coords = np.asarray(data["node_coord"], dtype=float)
    diff = coords[:, None, :] - coords[None, :, :]
    travel = np.floor(SCALE * np.sqrt((diff**2).sum(axis=2))).astype(np.int64)
    windows = np.asarray(data["time_window"], dtype=float) * SCALE
    service = np.broadcast_to(np.asarray(data["service_time"], dtype=float), (len(coords),)).copy() * SCALE
    service[0] = 0
    horizon_open, horizon_close = int(windows[0, 0]), int(windows[0, 1])
    return VrptwInstance(
        node_ids=[str(i) for i in range(len(coords))],
        travel=travel,
        distance=travel.astype(float),
        demand=[int(d) for d in np.asarray(data["demand"])],
        service=[int(s) for s in service],
        tw_open=[int(w) for w in windows[:, 0]],
        tw_close=[int(w) for w in windows[:, 1]],
        vehicles=int(data.get("vehicles", len(coords) - 1)),
        capacity=int(data["capacity"]),
        shift_start=horizon_open,
        shift_end=horizon_close,
        max_route=horizon_close - horizon_open,
    )


def best_known_cost(path: Path) -> float:
    """Distance-only best-known cost from the ``.sol`` beside the instance."""
    return float(vrplib.read_solution(str(path.with_suffix(".sol")))["cost"])


def plan_cost(inst: VrptwInstance, routes: list[list[int]]) -> float:
    total = 0
    for visits in routes:
        path = [0, *visits, 0]
        total += int(sum(inst.travel[a, b] for a, b in zip(path, path[1:], strict=False)))
    return total / SCALE
