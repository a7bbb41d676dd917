"""How a fitted model turns into numbers: corridor rasters, point and time effects, extrapolation, calibration.

The arithmetic behind ``TravelTimeModel.predict_pairs`` and ``predict_matrix``, apart from the model's data and
its (de)serialisation so each reads on its own. Functions take the model; caches live on the model (``derived``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .features import (
    FeatureSpec,
    corridor_fractions,
    time_columns,
)

if TYPE_CHECKING:
    from .linear_part import LinearPart
    from .model import TravelTimeModel


CORRIDOR_RASTER = 8  # raster nodes per corridor grid step (see corridor_raster)
# Road distance when neither observations nor a prior give a distance model: the curve in matrix.py
# (fitted on the shared file, 11.3 % MAPE against route_distance_m), copied so the model stands alone.
CURVE_DISTANCE_OFFSET_M = 406.59923339
CURVE_DISTANCE_FACTOR = 1.0622437
CURVE_DISTANCE_EXPONENT = 1.02616952


def corridor_raster(model: TravelTimeModel) -> tuple[np.ndarray, int]:
    """The corridor fields sampled on a raster CORRIDOR_RASTER times finer than their grid: (cells, 2|4).

    Evaluating the bilinear field at K points per leg costs 4 look-ups and a blend each; the nearest
    raster node is 1 look-up (a 1000 x 1000 matrix in a quarter of the time) and, at 1/8 of a 0.02 degree
    cell, differs from the exact blend by far less than the model's error. ``predict_pairs`` uses the same
    raster, so pairs and matrices agree and the CV numbers include the approximation.
    """
    cached = model.derived.get("raster")
    if cached is None:
        grid = model.spec.corridor
        rx = (grid.nx - 1) * CORRIDOR_RASTER + 1
        ry = (grid.ny - 1) * CORRIDOR_RASTER + 1
        gy, gx = np.mgrid[0:ry, 0:rx] / CORRIDOR_RASTER
        lat = (grid.lat_min + gy * grid.step).ravel()
        lon = (grid.lon_min + gx * grid.step).ravel()
        parts = [model.duration] + ([model.distance] if model.distance is not None else [])
        names = ("corridor", "corridor_lh") + (("corridor_s2", "corridor_c2") if corridor_channels(model) == 4 else ())
        fields = [getattr(p, name) for p in parts for name in names]
        raster = np.stack([grid.interpolate(f, lat, lon) for f in fields], axis=1).astype(np.float32)
        cached = (raster, rx)
        model.derived["raster"] = cached
    return cached


def corridor_pairs(model: TravelTimeModel, olat, olon, dlat, dlon) -> np.ndarray:
    """Corridor means per row, the duration channels then the distance ones (zeros without a distance part)."""
    raster, stride = corridor_raster(model)
    grid = model.spec.corridor
    ox, oy = (v * CORRIDOR_RASTER for v in grid.fractional(olat, olon))
    dx, dy = (v * CORRIDOR_RASTER for v in grid.fractional(dlat, dlon))
    acc = np.zeros((np.size(olat), raster.shape[1]))
    ts = corridor_fractions(model.spec.corridor_samples)
    for t in ts:
        ix = (ox * (1 - t) + 0.5 + dx * t).astype(np.int64)
        iy = (oy * (1 - t) + 0.5 + dy * t).astype(np.int64)
        acc += raster[iy * stride + ix]
    acc /= len(ts)
    if acc.shape[1] == corridor_channels(model):
        acc = np.concatenate([acc, np.zeros_like(acc)], axis=1)
    return acc


def corridor_channels(model: TravelTimeModel) -> int:
    """Raster channels per part: C1, C2 and, with direction-dependent corridors, the two bearing fields."""
    return 4 if model.spec.corridor_dir else 2


def point_node(model: TravelTimeModel, part: LinearPart, lat, lon) -> np.ndarray:
    """The per-location effect at the points (0 when the model has none)."""
    grid = model.spec.point
    if grid is None or part.point.size != grid.size:
        return np.zeros(np.shape(lat))
    return grid.interpolate(part.point, lat, lon)


def point_effect(model: TravelTimeModel, part: LinearPart, olat, olon, dlat, dlon) -> np.ndarray:
    return point_node(model, part, olat, olon) + point_node(model, part, dlat, dlon)


def extrapolation(model: TravelTimeModel, h: np.ndarray, part: LinearPart) -> np.ndarray:
    """Power-law continuation outside [h_lo, h_hi] in log space (0 inside)."""
    logh = np.log(np.maximum(h, 1e-3))
    below = np.minimum(logh - math.log(model.h_lo), 0.0)
    above = np.maximum(logh - math.log(model.h_hi), 0.0)
    return part.slope_lo * below + part.slope_hi * above


def calibration_factor(model: TravelTimeModel, lhc: np.ndarray) -> np.ndarray:
    c0, c1 = model.calibration
    return np.clip(c0 + c1 * lhc, 0.8, 1.2)


def time_tables(model: TravelTimeModel) -> tuple[np.ndarray, np.ndarray]:
    """Time effect per (weekday/weekend, minute of day) as ``A + lhc * B`` (the time columns are linear in
    lhc), so a matrix needs two look-ups per cell instead of 15 trigonometric columns."""
    cached = model.derived.get("time_tables")
    if cached is None:
        minutes = np.arange(1440, dtype=float) / 60.0
        coef = model.duration.time
        tables = []
        for weekend in (0.0, 1.0):
            w = np.full(1440, weekend)
            at0 = time_columns(model.spec, np.zeros(1440), minutes, w) @ coef
            at1 = time_columns(model.spec, np.ones(1440), minutes, w) @ coef
            tables.append((at0, at1 - at0))
        cached = (np.stack([t[0] for t in tables]), np.stack([t[1] for t in tables]))
        model.derived["time_tables"] = cached
    return cached


def time_effect(
    model: TravelTimeModel, lhc: np.ndarray, hours: np.ndarray | None, days: np.ndarray | None
) -> np.ndarray | float:
    """Log-duration contribution of hour and weekend; times to the minute; unknown -> training average."""
    if not model.time_aware:
        return 0.0
    fill = float(model.time_fill @ model.duration.time) if model.time_fill.size else 0.0
    h = np.full(1, np.nan) if hours is None else np.asarray(hours, dtype=float)
    d = np.full(1, np.nan) if days is None else np.asarray(days, dtype=float)
    unknown = np.isnan(h) if model.spec.use_hour else np.zeros(h.shape, dtype=bool)
    if model.spec.use_dow:
        unknown = unknown | np.isnan(d)
    if np.all(unknown):
        return np.full(np.shape(lhc), fill)
    a, b = time_tables(model)
    minute = np.rint(np.nan_to_num(h) * 60.0).astype(np.int64) % 1440 if model.spec.use_hour else 0
    weekend = (np.nan_to_num(d) >= 5).astype(np.int64) if model.spec.use_dow else 0
    effect = a[weekend, minute] + lhc * b[weekend, minute]
    return np.where(unknown, fill, effect)


def per_origin(value, n: int) -> np.ndarray | None:
    """Scalar, per-origin (n,) or per-leg (n, n) times as an array indexable by origin rows."""
    if value is None:
        return None
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return np.full((n, 1), float(arr))
    if arr.ndim == 1:
        return arr.reshape(n, 1)
    return arr.reshape(n, n)


def time_design(
    spec: FeatureSpec, lhc: np.ndarray, hours: np.ndarray, days: np.ndarray, fill: np.ndarray
) -> np.ndarray:
    """Time columns with rows of unknown time replaced by ``fill`` (the timed rows' column means)."""
    names = spec.time_column_names()
    n = lhc.size
    if not names:
        return np.zeros((n, 0))
    hours = np.asarray(hours, dtype=float)
    days = np.asarray(days, dtype=float)
    weekend = (days >= 5).astype(float)
    cols = time_columns(spec, lhc, np.nan_to_num(hours), weekend)
    unknown = np.isnan(hours) if spec.use_hour else np.zeros(n, dtype=bool)
    if spec.use_dow:
        unknown = unknown | np.isnan(days)
    if unknown.any() and fill.size == cols.shape[1]:
        cols[unknown] = fill
    return cols


def curve_distance_m(h: np.ndarray) -> np.ndarray:
    h = np.asarray(h, dtype=float)
    return np.where(h > 0, CURVE_DISTANCE_OFFSET_M + CURVE_DISTANCE_FACTOR * np.power(h, CURVE_DISTANCE_EXPONENT), 0.0)


def bucket_centre_hour(seconds_of_day, bucket_min: int = 60) -> np.ndarray | float:
    """Clock hour at the centre of the ``bucket_min`` bucket holding each time (seconds since midnight)."""
    bucket_s = bucket_min * 60.0
    seconds = np.asarray(seconds_of_day, dtype=float)
    centre = (np.floor(seconds / bucket_s) * bucket_s + bucket_s / 2.0) % 86400.0
    out = centre / 3600.0
    return float(out) if out.ndim == 0 else out


def departure_hour_buckets(
    first_pass_duration_s: np.ndarray,
    shift_start_min: float,
    service_min=None,
    tw_start_min=None,
    tw_end_min=None,
    vehicles: int = 1,
    shift_end_min: float | None = None,
    bucket_min: int = 60,
) -> np.ndarray:
    """Departure clock hour (bucket centre) for every leg i -> j of a plan matrix; node 0 is the depot.

    The plan is not known when the matrix is built, so this estimates when each node is left:

    * A route carries about s = ceil(stops / vehicles) stops. Its typical leg L is the mean over stops of the
      average travel time to their 3 nearest other stops (first-pass matrix, at the shift start), and a stop
      at a random position of the route is reached, on average, after a typical (median) depot leg plus
      (s - 1) / 2 legs and services: ``mid = median(depot leg) + (s - 1) / 2 * (L + mean service)``, capped
      by the shift length.
    * A stop is never reached before its direct depot leg; a stop with a time window is expected inside it
      (``mid`` clipped into the window). It is left after its service: that is the bucket of its row.
    * Depot legs (row 0) leave at the shift start, or later when the destination's window opens later
      (vehicles leave as late as possible): ``max(0, window start - leg)``.

    Windows and services are per node (minutes; NaN/None where none; depot entries ignored); times are
    clock minutes like ``shift_start_min``. The result is (n, n) hours; a leg's bucket is its origin's.
    """
    d = np.asarray(first_pass_duration_s, dtype=float)
    n = d.shape[0]
    start_s = float(shift_start_min) * 60.0
    service = per_node(service_min, n, 0.0) * 60.0
    tw_a = per_node(tw_start_min, n, np.nan) * 60.0 - start_s
    tw_b = per_node(tw_end_min, n, np.nan) * 60.0 - start_s
    depot_leg = d[0].copy()
    dep = np.zeros((n, n))
    if n > 1:
        stops = n - 1
        per_route = math.ceil(stops / max(1, int(vehicles)))
        legs = d[1:, 1:].copy()
        np.fill_diagonal(legs, np.inf)
        k = min(3, stops - 1)
        typical = float(np.mean(np.sort(legs, axis=1)[:, :k])) if k > 0 else 0.0
        mid = float(np.median(depot_leg[1:])) + (per_route - 1) / 2.0 * (typical + float(np.mean(service[1:])))
        if shift_end_min is not None:
            mid = min(mid, max(0.0, (float(shift_end_min) - float(shift_start_min)) * 60.0))
        arrive = np.full(n, mid)
        windowed = ~np.isnan(tw_a) & ~np.isnan(tw_b)
        arrive[windowed] = np.clip(mid, tw_a[windowed], tw_b[windowed])
        arrive = np.maximum(arrive, depot_leg)
        leave = arrive + service
        dep[1:, :] = leave[1:, None]
        first = np.where(np.isnan(tw_a), 0.0, np.maximum(0.0, tw_a - depot_leg))
        dep[0, :] = first
        dep[0, 0] = 0.0
    return bucket_centre_hour(start_s + dep, bucket_min)


def per_node(values, n: int, default: float) -> np.ndarray:
    """Per-node values as floats (None -> NaN), then NaN -> ``default``; the depot's entry is ignored."""
    if values is None:
        return np.full(n, default)
    arr = np.array([np.nan if v is None else float(v) for v in np.asarray(values, dtype=object).ravel()])
    if arr.size != n:
        raise ValueError(f"expected {n} per-node values, got {arr.size}")
    arr[0] = np.nan
    return np.where(np.isnan(arr), default, arr)
