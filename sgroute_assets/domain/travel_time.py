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

from dataclasses import dataclass, field
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
    """Square matrices over ``node_ids`` (node 0 is the depot). Seconds and metres, float."""

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
