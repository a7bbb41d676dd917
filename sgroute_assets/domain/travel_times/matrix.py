"""Road travel times and distances estimated from straight-line distance.

Provenance of the constants: fitted on ``shared/data/onemap_drive_times.csv`` (1,300 real OneMap drive
routes, Singapore, 2026-02-21 00:05-00:27 SGT, haversine 1.0-19.9 km) by least squares in log-log space:

    duration_s      = exp(0.78372) * haversine_m ** 0.70134     (5-fold CV MAPE 12.2 %)
    road_distance_m = 406.6 + 1.06224 * haversine_m ** 1.02617  (MAPE 11.3 % against route_distance_m)

For comparison on the same file the old system's fallback (haversine*1.2 / 8.33 m/s) has a MAPE of 23.0 %
and haversine / 9 m/s 36.1 %. The curve is the default model until a trained travel-time model replaces
it; night-time data means it carries no congestion.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

EARTH_RADIUS_M = 6_371_008.8
DURATION_LOG_INTERCEPT = 0.78372374
DURATION_EXPONENT = 0.70134289
DISTANCE_OFFSET_M = 406.59923339
DISTANCE_FACTOR = 1.0622437
DISTANCE_EXPONENT = 1.02616952


def haversine_matrix(lat_a: np.ndarray, lon_a: np.ndarray, lat_b: np.ndarray, lon_b: np.ndarray) -> np.ndarray:
    """Great-circle metres between every point of A (rows) and every point of B (columns)."""
    la1 = np.radians(np.asarray(lat_a, dtype=float))[:, None]
    lo1 = np.radians(np.asarray(lon_a, dtype=float))[:, None]
    la2 = np.radians(np.asarray(lat_b, dtype=float))[None, :]
    lo2 = np.radians(np.asarray(lon_b, dtype=float))[None, :]
    h = np.sin((la2 - la1) * 0.5) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) * 0.5) ** 2
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def drive_seconds_from_haversine(haversine_m: np.ndarray) -> np.ndarray:
    h = np.asarray(haversine_m, dtype=float)
    return np.where(h > 0, np.exp(DURATION_LOG_INTERCEPT) * np.power(h, DURATION_EXPONENT), 0.0)


def road_metres_from_haversine(haversine_m: np.ndarray) -> np.ndarray:
    h = np.asarray(haversine_m, dtype=float)
    return np.where(h > 0, DISTANCE_OFFSET_M + DISTANCE_FACTOR * np.power(h, DISTANCE_EXPONENT), 0.0)


# Where each cell of a matrix came from (``TravelMatrix.cell_source`` holds these codes as uint8).
CELL_MODEL = 0  # the travel-time model (estimate_matrix)
CELL_ONEMAP = 1  # fetched from OneMap routing for this matrix
CELL_CACHE = 2  # a road time fetched earlier, from the OD cache
CELL_SAME = 3  # the diagonal, or two nodes at the same (rounded) point: zero
CELL_SOURCE_NAMES = ("model", "onemap", "cache", "same")


@dataclass(frozen=True)
class LegTiming:
    """When the legs of a plan are driven: the shift, the day and what the stops ask for.

    Time-aware models predict each leg at its departure bucket (shift start plus the expected time into the
    route); the route plan takes its shift from here so both always agree.
    """

    shift_start_min: int
    shift_end_min: int
    day_of_week: int | None = None  # 0 = Monday; None = the model's average day
    plan_date: str | None = None
    vehicles: int = 1
    service_min: tuple[int, ...] = ()
    tw_start_min: tuple[int | None, ...] = ()
    tw_end_min: tuple[int | None, ...] = ()


@dataclass
class TravelMatrix:
    """Square matrices over ``node_ids`` (node 0 is the depot, then the stops, then any vehicle type's own
    start/end points, see ``with_extra_nodes``). Seconds and metres, float."""

    node_ids: list[str]
    lats: np.ndarray
    lons: np.ndarray
    duration_s: np.ndarray
    distance_m: np.ndarray
    source: str
    depot_name: str = "Depot"
    # Per-cell origin (CELL_* codes); None means every off-diagonal cell came from the model.
    cell_source: np.ndarray | None = None
    # How the matrix was built (calls, budget, fallback reason...), shown as asset metadata.
    provenance: dict[str, Any] = field(default_factory=dict)
    timing: LegTiming | None = None

    @property
    def size(self) -> int:
        return len(self.node_ids)

    def cell_sources(self) -> np.ndarray:
        """The CELL_* code of every cell, the default (model, zero diagonal) when none were recorded."""
        if self.cell_source is not None:
            return self.cell_source
        codes = np.full((self.size, self.size), CELL_MODEL, dtype=np.uint8)
        np.fill_diagonal(codes, CELL_SAME)
        return codes

    def source_shares(self) -> dict[str, float]:
        """Share of the off-diagonal cells per source (model, onemap, cache, same), summing to 1."""
        n = self.size
        if n < 2:
            return {name: 0.0 for name in CELL_SOURCE_NAMES}
        codes = self.cell_sources()[~np.eye(n, dtype=bool)]
        counts = np.bincount(codes, minlength=len(CELL_SOURCE_NAMES))
        return {name: round(float(c) / codes.size, 4) for name, c in zip(CELL_SOURCE_NAMES, counts, strict=True)}


def estimate_matrix(node_ids: list[str], lats: np.ndarray, lons: np.ndarray, depot_name: str = "Depot") -> TravelMatrix:
    """The full n x n estimate in a few vectorised passes (a 1000 x 1000 matrix takes ~0.1 s)."""
    lats = np.asarray(lats, dtype=float)
    lons = np.asarray(lons, dtype=float)
    h = haversine_matrix(lats, lons, lats, lons)
    np.fill_diagonal(h, 0.0)
    return TravelMatrix(
        node_ids=list(node_ids),
        lats=lats,
        lons=lons,
        duration_s=drive_seconds_from_haversine(h),
        distance_m=road_metres_from_haversine(h),
        source="haversine_curve_v1",
        depot_name=depot_name,
    )


MatrixBuilder = Callable[[list[str], np.ndarray, np.ndarray, LegTiming | None], TravelMatrix]


def with_extra_nodes(
    matrix: TravelMatrix, node_ids: list[str], lats: list[float], lons: list[float], build: MatrixBuilder
) -> TravelMatrix:
    """``matrix`` with more nodes after its own (the vehicle types' own start/end points).

    Their rows and columns come from ``build`` over all the nodes, the same travel-time source that built
    ``matrix`` (so a depot leg is estimated, cached or fetched from OneMap like any other); the cells between
    ``matrix``'s own nodes stay exactly as they were, so the plan uses the matrix its asset reported on.
    """
    if not node_ids:
        return matrix
    n, k = matrix.size, len(node_ids)
    ids = list(matrix.node_ids) + list(node_ids)
    all_lats = np.r_[np.asarray(matrix.lats, dtype=float), np.asarray(lats, dtype=float)]
    all_lons = np.r_[np.asarray(matrix.lons, dtype=float), np.asarray(lons, dtype=float)]
    timing = matrix.timing
    if timing is not None and timing.service_min:
        # Depot points have no service and no window.
        timing = replace(
            timing,
            service_min=timing.service_min + (0,) * k,
            tw_start_min=timing.tw_start_min + (None,) * k,
            tw_end_min=timing.tw_end_min + (None,) * k,
        )
    full = build(ids, all_lats, all_lons, timing)
    if full.size != n + k:
        raise ValueError(f"the travel-time source returned {full.size} nodes for {n + k}")
    duration = np.array(full.duration_s, dtype=float, copy=True)
    distance = np.array(full.distance_m, dtype=float, copy=True)
    duration[:n, :n] = matrix.duration_s
    distance[:n, :n] = matrix.distance_m
    codes = full.cell_sources().copy()
    codes[:n, :n] = matrix.cell_sources()
    provenance = dict(matrix.provenance)
    provenance["extra_nodes"] = {"nodes": list(node_ids), "source": full.source, "provenance": full.provenance}
    return TravelMatrix(
        node_ids=ids,
        lats=all_lats,
        lons=all_lons,
        duration_s=duration,
        distance_m=distance,
        source=matrix.source,
        depot_name=matrix.depot_name,
        cell_source=codes,
        provenance=provenance,
        timing=matrix.timing,
    )
