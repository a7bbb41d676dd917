"""VRPLIB VRPTW files as VrptwInstance objects: Solomon / Gehring-Homberger and explicit matrices.

Euclidean files follow the DIMACS 2021 convention of the shipped best-known solutions: every quantity
times ten and distances truncated, so a plan's cost divided by ten compares directly with the ``.sol``
files. ``EDGE_WEIGHT_TYPE: EXPLICIT`` / ``FULL_MATRIX`` files are taken as they are: asymmetric integer
travel times, and a plan's cost is the sum of the matrix entries it uses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import vrplib

from .instance import VehicleSpec, VrptwInstance

SCALE = 10


class VrplibError(ValueError):
    """A VRPLIB file this planner cannot read, with the reason."""


def load_vrptw(path: Path) -> VrptwInstance:
    try:
        data = vrplib.read_instance(str(path))
    except Exception as exc:  # vrplib raises bare ValueErrors/KeyErrors on malformed files
        raise VrplibError(f"{path}: not a readable VRPLIB file ({exc})") from None
    weight_type = str(data.get("edge_weight_type", "EUC_2D")).upper()
    if weight_type == "EXPLICIT":
        fmt = str(data.get("edge_weight_format", "FULL_MATRIX")).upper()
        if fmt != "FULL_MATRIX":
            raise VrplibError(f"{path}: EDGE_WEIGHT_FORMAT {fmt} is not supported; use FULL_MATRIX")
        travel = np.asarray(data["edge_weight"], dtype=np.int64)
        scale = 1
    elif weight_type == "EUC_2D":
        coords = np.asarray(data["node_coord"], dtype=float)
        diff = coords[:, None, :] - coords[None, :, :]
        travel = np.floor(SCALE * np.sqrt((diff**2).sum(axis=2))).astype(np.int64)
        scale = SCALE
    else:
        raise VrplibError(f"{path}: EDGE_WEIGHT_TYPE {weight_type} is not supported; use EUC_2D or EXPLICIT")
    n = len(travel)
    if "time_window" not in data:
        raise VrplibError(f"{path}: no TIME_WINDOW_SECTION; this reads VRPTW files")
    depots = np.atleast_1d(np.asarray(data.get("depot", [0])))
    if len(depots) != 1 or int(depots[0]) != 0:
        raise VrplibError(f"{path}: exactly one depot, the first node, is supported")
    windows = np.asarray(data["time_window"], dtype=np.int64) * scale
    service = np.broadcast_to(np.asarray(data.get("service_time", 0), dtype=np.int64), (n,)).copy() * scale
    service[0] = 0
    horizon_open, horizon_close = int(windows[0, 0]), int(windows[0, 1])
    vehicles = int(data.get("vehicles", n - 1))
    return VrptwInstance(
        node_ids=[str(i) for i in range(n)],
        travel=travel,
        distance=travel.astype(float),
        demand=[int(d) for d in np.broadcast_to(np.asarray(data.get("demand", 0)), (n,))],
        service=[int(s) for s in service],
        tw_open=[int(w) for w in windows[:, 0]],
        tw_close=[int(w) for w in windows[:, 1]],
        vehicle_types=[
            VehicleSpec(
                name="vehicle",
                count=vehicles,
                capacity=int(data.get("capacity", np.iinfo(np.int32).max)),
                shift_start=horizon_open,
                shift_end=horizon_close,
                max_route=horizon_close - horizon_open,
            )
        ],
        unit_scale=scale,
    )


def best_known_cost(path: Path) -> float | None:
    """Distance-only best-known cost from the ``.sol`` beside the instance, if there is one."""
    sol = path.with_suffix(".sol")
    if not sol.exists():
        return None
    return float(vrplib.read_solution(str(sol))["cost"])


def plan_cost(inst: VrptwInstance, routes: list[list[int]]) -> float:
    """Travel of the routes in the file's own units (DIMACS-truncated for Euclidean files)."""
    total = 0
    for visits in routes:
        path = [0, *visits, 0]
        total += int(sum(inst.travel[a, b] for a, b in zip(path, path[1:], strict=False)))
    return total / inst.unit_scale
