"""The travel-time model: trained from observed drive times, versioned, cheap to evaluate for whole matrices.

Model (see ``travel_time_features`` for why each feature is there)::

    log(duration_s) = b0 + base(log h, bearing) + A_o(origin) + A_d(destination)
                      + mean over the straight line of [C1 + log h * C2] + time(hour, weekend, log h)
    duration_s     *= calibration(log h)

fitted by ridge regression (scikit-learn) on sparse features; ``route_distance_m`` gets the same model
without the time terms. Every term is linear in its coefficients, so a fitted model folds into a few numbers
and fields on two lat/lon grids: that is all a version holds (``to_dict``), a few tens of kB of JSON and no
training rows. Prediction rebuilds the features with numpy from those fields, for pairs or for a whole matrix.

Choices that matter:

* **Ridge towards a prior.** Retraining from the app's observations fits the *difference* from a prior model
  (the shipped default): with 200 trip-log rows the model moves where the rows say so and keeps the default
  elsewhere; with 100,000 rows the data dominate. Fitting from scratch (``prior=None``) is what
  ``sgroute eta evaluate`` and the benchmark do, so their numbers never see test rows through the default.
* **Calibration for MAPE.** The least-squares fit in log space predicts the median; the MAPE-optimal
  prediction is lower where errors are wide (short legs). A linear-in-log-distance factor is fitted on
  out-of-fold predictions by weighted L1 (exactly the MAPE objective), clipped to [0.8, 1.2].
* **Distance outside the training range** continues as a power law with the model's own local slope instead
  of extrapolating a quadratic (the shared file has no leg under 1 km; deliveries have many).
* **Time of day only when learnable**: hour and weekend terms switch on only when the timed training rows
  cover at least two 3-hour bands (or both weekdays and weekends); OneMap legs carry no departure time
  (its router has no time input) and count as "time unknown", imputed with the timed rows' average.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import drift
from .features import (
    LOG_H_CENTRE,
    FeatureSpec,
    base_columns,
    bearing_terms,
    clamped_log_h,
    corridor_fractions,
    corridor_rows,
    default_spec,
    haversine_m,
    tent_rows,
    time_columns,
)

MODEL_FORMAT = 1
DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "models" / "travel_time_default.json"
SG_TZ = dt.timezone(dt.timedelta(hours=8))  # Singapore has no daylight saving: a fixed offset is exact
# Road distance when neither observations nor a prior give a distance model: the curve in travel_time.py
# (fitted on the shared file, 11.3 % MAPE against route_distance_m), copied so this module stands alone.
CURVE_DISTANCE_OFFSET_M = 406.59923339
CURVE_DISTANCE_FACTOR = 1.0622437
CURVE_DISTANCE_EXPONENT = 1.02616952
MIN_DISTANCE_ROWS = 30
SIGNIFICANT_DIGITS = 7
CORRIDOR_RASTER = 8  # raster nodes per corridor grid step (see TravelTimeModel._corridor_raster)
POINT_ROW_WIDTH = 100  # values per JSON list of the point field


# --------------------------------------------------------------------------------------------- observations


@dataclass
class Observations:
    """Observed legs as arrays. ``distance_m``/``depart_hour``/``day_of_week`` are NaN where unknown.

    ``depart_hour`` is the local (SGT) clock hour as a float, ``day_of_week`` 0 = Monday.
    """

    origin_lat: np.ndarray
    origin_lon: np.ndarray
    dest_lat: np.ndarray
    dest_lon: np.ndarray
    duration_s: np.ndarray
    distance_m: np.ndarray
    depart_hour: np.ndarray
    day_of_week: np.ndarray
    source: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(np.asarray(self.origin_lat))
        for name in ("origin_lat", "origin_lon", "dest_lat", "dest_lon", "duration_s"):
            setattr(self, name, np.asarray(getattr(self, name), dtype=float).reshape(n))
        for name in ("distance_m", "depart_hour", "day_of_week"):
            value = getattr(self, name)
            arr = np.full(n, np.nan) if value is None else np.asarray(value, dtype=float).reshape(n)
            setattr(self, name, arr)
        if self.source is not None:
            self.source = np.asarray(self.source, dtype=object).reshape(n)

    def __len__(self) -> int:
        return int(self.origin_lat.size)

    def subset(self, index: np.ndarray) -> Observations:
        return Observations(
            origin_lat=self.origin_lat[index],
            origin_lon=self.origin_lon[index],
            dest_lat=self.dest_lat[index],
            dest_lon=self.dest_lon[index],
            duration_s=self.duration_s[index],
            distance_m=self.distance_m[index],
            depart_hour=self.depart_hour[index],
            day_of_week=self.day_of_week[index],
            source=None if self.source is None else self.source[index],
        )

    @property
    def haversine_m(self) -> np.ndarray:
        return haversine_m(self.origin_lat, self.origin_lon, self.dest_lat, self.dest_lon)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Observations:
        """From columns named as in trip logs and the shared file (``timestamp_iso`` and distance optional)."""
        hour, dow = local_hour_and_weekday(frame["timestamp_iso"] if "timestamp_iso" in frame else None, len(frame))
        return cls(
            origin_lat=frame["origin_lat"].to_numpy(float),
            origin_lon=frame["origin_lon"].to_numpy(float),
            dest_lat=frame["dest_lat"].to_numpy(float),
            dest_lon=frame["dest_lon"].to_numpy(float),
            duration_s=frame["actual_duration_s"].to_numpy(float),
            distance_m=frame["route_distance_m"].to_numpy(float) if "route_distance_m" in frame else None,
            depart_hour=hour,
            day_of_week=dow,
        )


def local_hour_and_weekday(timestamps: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """SGT clock hour (float) and weekday of ISO timestamps; naive ones are taken as SGT, blanks as unknown."""
    hour = np.full(n, np.nan)
    dow = np.full(n, np.nan)
    if timestamps is None:
        return hour, dow
    for i, value in enumerate(list(timestamps)):
        when = to_sgt(value)
        if when is not None:
            hour[i] = when.hour + when.minute / 60.0 + when.second / 3600.0
            dow[i] = when.weekday()
    return hour, dow


def to_sgt(value: Any) -> dt.datetime | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, dt.datetime):
        when = value
    else:
        text = str(value).strip()
        if not text:
            return None
        try:
            when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if when.tzinfo is None:
        return when.replace(tzinfo=SG_TZ)
    return when.astimezone(SG_TZ)


# ----------------------------------------------------------------------------------------------- training


@dataclass(frozen=True)
class TrainingConfig:
    """Hyperparameters. Chosen once by 5-fold CV on the shared file over a small grid and checked on three
    other shuffles (``benchmarks/travel_time_model_cv.py``); not tuned per split."""

    area_step: float = 0.04
    corridor_step: float = 0.02
    corridor_samples: int = 8
    alpha: float = 3.0
    # Penalty per block = alpha / scale**2: the few global terms are nearly free, the grids are shrunk.
    base_scale: float = 10.0
    area_scale: float = 1.0
    corridor_scale: float = 2.0
    time_scale: float = 3.0
    # Per-location effect shared by origin and destination on a fine tent grid (~830 m): the last-mile access
    # of a street address, which the 0.04 degree areas average away; it matters most on short legs.
    point_step: float = 0.0075  # 0 = off
    point_scale: float = 0.7
    # Corridor fields times cos/sin of twice the bearing: crossing a place is faster along its expressways.
    corridor_dir: bool = True
    corridor_dir_scale: float = 0.5
    clip_mads: float = 2.5  # winsorise log-residuals beyond this many robust SDs (0 = plain least squares)
    calibrate: bool = True
    calibration_folds: int = 5
    calibration_max_rows: int = 20_000
    min_time_rows: int = 30
    min_time_share: float = 0.05
    seed: int = 42

    def spec(self, use_hour: bool = False, use_dow: bool = False) -> FeatureSpec:
        base = default_spec()
        return FeatureSpec(
            area=replace(base.area, step=self.area_step),
            corridor=replace(base.corridor, step=self.corridor_step),
            corridor_samples=self.corridor_samples,
            use_hour=use_hour,
            use_dow=use_dow,
            point=replace(base.area, step=self.point_step) if self.point_step > 0 else None,
            corridor_dir=self.corridor_dir,
        )

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class LinearPart:
    """One fitted log-linear predictor folded into fields: what ``predict_*`` evaluates."""

    intercept: float
    base: np.ndarray  # coefficients of BASE_COLUMNS
    area_o: np.ndarray  # node field on spec.area
    area_d: np.ndarray
    corridor: np.ndarray  # node field on spec.corridor
    corridor_lh: np.ndarray
    time: np.ndarray  # coefficients of spec.time_column_names()
    slope_lo: float  # power-law exponent below / above the clamped distance range
    slope_hi: float
    corridor_s2: np.ndarray = field(default_factory=lambda: np.zeros(0))  # node fields on spec.corridor
    corridor_c2: np.ndarray = field(default_factory=lambda: np.zeros(0))
    point: np.ndarray = field(default_factory=lambda: np.zeros(0))  # node field on spec.point

    def to_dict(self) -> dict:
        return {
            "intercept": _round(self.intercept),
            "base": _list(self.base),
            "area_o": _list(self.area_o),
            "area_d": _list(self.area_d),
            "corridor": _list(self.corridor),
            "corridor_lh": _list(self.corridor_lh),
            "time": _list(self.time),
            "slope_lo": _round(self.slope_lo),
            "slope_hi": _round(self.slope_hi),
            "corridor_s2": _list(self.corridor_s2),
            "corridor_c2": _list(self.corridor_c2),
            "point": _rows(self.point, self.point_rows),
        }

    @property
    def point_rows(self) -> int:
        """Stored as grid rows of a fixed width so that no JSON list is as long as the training data."""
        return max(1, int(math.ceil(self.point.size / POINT_ROW_WIDTH)))

    @classmethod
    def from_dict(cls, data: dict) -> LinearPart:
        return cls(
            intercept=float(data["intercept"]),
            base=np.asarray(data["base"], dtype=float),
            area_o=np.asarray(data["area_o"], dtype=float),
            area_d=np.asarray(data["area_d"], dtype=float),
            corridor=np.asarray(data["corridor"], dtype=float),
            corridor_lh=np.asarray(data["corridor_lh"], dtype=float),
            time=np.asarray(data["time"], dtype=float),
            slope_lo=float(data["slope_lo"]),
            slope_hi=float(data["slope_hi"]),
            corridor_s2=np.asarray(data.get("corridor_s2", []), dtype=float),
            corridor_c2=np.asarray(data.get("corridor_c2", []), dtype=float),
            point=np.asarray([v for row in data.get("point", []) for v in row], dtype=float),
        )

    def rounded(self) -> LinearPart:
        return LinearPart.from_dict(self.to_dict())


@dataclass
class TravelTimeModel:
    """A fitted, versioned travel-time model. Holds parameters only: no training rows."""

    version: str
    trained_at: dt.datetime
    spec: FeatureSpec
    h_lo: float
    h_hi: float
    duration: LinearPart
    distance: LinearPart | None
    calibration: tuple[float, float] = (1.0, 0.0)  # factor = clip(c0 + c1 * lhc, 0.8, 1.2)
    time_fill: np.ndarray = field(default_factory=lambda: np.zeros(0))  # time columns for "time unknown"
    n_train: int = 0
    n_train_distance: int = 0
    cv: dict[str, Any] = field(default_factory=dict)
    reference: dict[str, dict] = field(default_factory=dict)  # PSI reference histograms (drift)
    prior_version: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache"] = {}  # derived rasters are rebuilt on first use, not pickled by the IO manager
        return state

    # -------------------------------------------------------------- properties and (de)serialisation
    @property
    def cv_mape(self) -> float | None:
        value = self.cv.get("mape")
        return None if value is None else float(value)

    @property
    def time_aware(self) -> bool:
        return self.spec.use_hour or self.spec.use_dow

    @property
    def source_label(self) -> str:
        return f"travel_time_model:{self.version}"

    def to_dict(self) -> dict:
        return {
            "format": MODEL_FORMAT,
            "version": self.version,
            "trained_at": self.trained_at.isoformat(),
            "spec": self.spec.to_dict(),
            "h_lo": _round(self.h_lo),
            "h_hi": _round(self.h_hi),
            "duration": self.duration.to_dict(),
            "distance": None if self.distance is None else self.distance.to_dict(),
            "calibration": [_round(c) for c in self.calibration],
            "time_fill": _list(self.time_fill),
            "n_train": int(self.n_train),
            "n_train_distance": int(self.n_train_distance),
            "cv": self.cv,
            "reference": self.reference,
            "prior_version": self.prior_version,
            "config": self.config,
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, data: dict) -> TravelTimeModel:
        if int(data.get("format", 0)) != MODEL_FORMAT:
            raise ValueError(f"unsupported travel-time model format {data.get('format')!r} (expected {MODEL_FORMAT})")
        trained_at = dt.datetime.fromisoformat(data["trained_at"])
        if trained_at.tzinfo is None:
            trained_at = trained_at.replace(tzinfo=dt.UTC)
        return cls(
            version=str(data["version"]),
            trained_at=trained_at,
            spec=FeatureSpec.from_dict(data["spec"]),
            h_lo=float(data["h_lo"]),
            h_hi=float(data["h_hi"]),
            duration=LinearPart.from_dict(data["duration"]),
            distance=None if data.get("distance") is None else LinearPart.from_dict(data["distance"]),
            calibration=tuple(float(c) for c in data["calibration"]),
            time_fill=np.asarray(data.get("time_fill", []), dtype=float),
            n_train=int(data.get("n_train", 0)),
            n_train_distance=int(data.get("n_train_distance", 0)),
            cv=dict(data.get("cv", {})),
            reference=dict(data.get("reference", {})),
            prior_version=data.get("prior_version"),
            config=dict(data.get("config", {})),
            notes=dict(data.get("notes", {})),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TravelTimeModel:
        return cls.from_dict(json.loads(text))

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json() + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> TravelTimeModel:
        return cls.from_json(Path(path).read_text())

    # ------------------------------------------------------------------------------------- prediction
    def predict_pairs(
        self,
        origin_lat,
        origin_lon,
        dest_lat,
        dest_lon,
        depart_hour: float | np.ndarray | None = None,
        day_of_week: int | np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Seconds and metres for each (origin, destination) row; NaN hours/days mean "unknown"."""
        olat, olon, dlat, dlon = np.broadcast_arrays(
            *(np.asarray(a, dtype=float) for a in (origin_lat, origin_lon, dest_lat, dest_lon))
        )
        shape = olat.shape
        olat, olon, dlat, dlon = (a.ravel() for a in (olat, olon, dlat, dlon))
        h = haversine_m(olat, olon, dlat, dlon)
        lhc = clamped_log_h(h, self.h_lo, self.h_hi)
        bearings = bearing_terms(olat, olon, dlat, dlon)
        base = base_columns(lhc, bearings)
        area = self.spec.area
        ao = (area.interpolate(self.duration.area_o, olat, olon), area.interpolate(self.duration.area_d, dlat, dlon))
        corridor = self._corridor_pairs(olat, olon, dlat, dlon)
        cpp = self._corridor_channels
        s2, c2 = bearings[2], bearings[3]
        hours = None if depart_hour is None else np.broadcast_to(np.asarray(depart_hour, float), shape).ravel()
        days = None if day_of_week is None else np.broadcast_to(np.asarray(day_of_week, float), shape).ravel()
        log_t = (
            self.duration.intercept
            + base @ self.duration.base
            + ao[0]
            + ao[1]
            + self._point_effect(self.duration, olat, olon, dlat, dlon)
            + corridor[:, 0]
            + lhc * corridor[:, 1]
            + self._time_effect(lhc, hours, days)
        )
        if cpp == 4:
            log_t += s2 * corridor[:, 2] + c2 * corridor[:, 3]
        duration = np.exp(log_t + self._extrapolation(h, self.duration)) * self._calibration_factor(lhc)
        if self.distance is not None:
            d = self.distance
            log_d = (
                d.intercept
                + base @ d.base
                + area.interpolate(d.area_o, olat, olon)
                + area.interpolate(d.area_d, dlat, dlon)
                + self._point_effect(d, olat, olon, dlat, dlon)
                + corridor[:, cpp]
                + lhc * corridor[:, cpp + 1]
            )
            if cpp == 4:
                log_d += s2 * corridor[:, 6] + c2 * corridor[:, 7]
            distance = np.exp(log_d + self._extrapolation(h, d))
        else:
            distance = curve_distance_m(h)
        same = h < 1.0
        duration[same] = 0.0
        distance[same] = 0.0
        return duration.reshape(shape), distance.reshape(shape)

    def predict_matrix(
        self,
        lats,
        lons,
        depart_hour: float | np.ndarray | None = None,
        day_of_week: int | np.ndarray | None = None,
        block_rows: int = 256,
        dtype: Any = np.float32,
    ) -> tuple[np.ndarray, np.ndarray]:
        """n x n seconds and metres (row = origin). ``depart_hour``: scalar, per origin (n,) or per leg (n, n).

        Works on blocks of origin rows so memory stays ~O(block_rows * n). Features that depend on one end only
        (areas, grid coordinates) are computed once per node; the corridor mean is K bilinear look-ups per
        cell. Computed in float32 (error ~1e-6 relative, far below the model's ~10 %); returns float64.
        """
        lats = np.asarray(lats, dtype=float).ravel()
        lons = np.asarray(lons, dtype=float).ravel()
        n = lats.size
        duration = np.zeros((n, n))
        distance = np.zeros((n, n))
        if n == 0:
            return duration, distance
        hours = _per_origin(depart_hour, n)
        dows = _per_origin(day_of_week, n)
        parts = [self.duration] + ([self.distance] if self.distance is not None else [])
        area = self.spec.area
        node_p = [self._point_node(p, lats, lons) for p in parts]
        node_o = np.stack(
            [area.interpolate(p.area_o, lats, lons) + q for p, q in zip(parts, node_p, strict=True)], axis=1
        )
        node_d = np.stack(
            [area.interpolate(p.area_d, lats, lons) + q for p, q in zip(parts, node_p, strict=True)], axis=1
        )
        node_o, node_d = node_o.astype(dtype), node_d.astype(dtype)
        cpp = self._corridor_channels
        raster, stride = self._corridor_raster()
        fx, fy = self.spec.corridor.fractional(lats, lons)
        fx *= CORRIDOR_RASTER
        fy *= CORRIDOR_RASTER
        ts = corridor_fractions(self.spec.corridor_samples)
        cal0, cal1 = self.calibration
        for r0 in range(0, n, block_rows):
            r1 = min(n, r0 + block_rows)
            rows = slice(r0, r1)
            h = haversine_m(lats[rows, None], lons[rows, None], lats[None, :], lons[None, :])
            lhc = clamped_log_h(h, self.h_lo, self.h_hi).astype(dtype)
            bearings = [
                b.astype(dtype) for b in bearing_terms(lats[rows, None], lons[rows, None], lats[None, :], lons[None, :])
            ]
            # Corridor: K points along each segment, nearest node of the fine raster (see _corridor_raster).
            acc = np.zeros((r1 - r0, n, raster.shape[1]), dtype=dtype)
            for t in ts:
                ix = ((fx[rows] * (1 - t) + 0.5).astype(dtype)[:, None] + (fx * t).astype(dtype)[None, :]).astype(
                    np.int32
                )
                iy = ((fy[rows] * (1 - t) + 0.5).astype(dtype)[:, None] + (fy * t).astype(dtype)[None, :]).astype(
                    np.int32
                )
                iy *= stride
                iy += ix
                acc += raster[iy]
            acc *= dtype(1.0 / len(ts))
            time = None
            if self.time_aware:
                hb = None if hours is None else hours[rows]
                db = None if dows is None else dows[rows]
                time = self._time_effect(lhc, hb, db).astype(dtype)
            for k, part in enumerate(parts):
                b = part.base.astype(dtype)
                s, c, s2, c2, s4, c4 = bearings
                log_v = (
                    dtype(part.intercept)
                    + lhc * (b[0] + lhc * b[1] + b[8] * s + b[9] * c)
                    + b[2] * s
                    + b[3] * c
                    + b[4] * s2
                    + b[5] * c2
                    + b[6] * s4
                    + b[7] * c4
                    + node_o[rows, k, None]
                    + node_d[None, :, k]
                    + acc[..., cpp * k]
                    + lhc * acc[..., cpp * k + 1]
                )
                if cpp == 4:
                    log_v += s2 * acc[..., 4 * k + 2] + c2 * acc[..., 4 * k + 3]
                if k == 0 and time is not None:
                    log_v += time
                value = np.exp(log_v.astype(float) + self._extrapolation(h, part))
                if k == 0:
                    value *= np.clip(cal0 + cal1 * lhc, 0.8, 1.2)
                    duration[rows] = value
                else:
                    distance[rows] = value
            if self.distance is None:
                distance[rows] = curve_distance_m(h)
            same = h < 1.0
            duration[rows][same] = 0.0
            distance[rows][same] = 0.0
        return duration, distance

    def predict_plan_matrix(
        self,
        lats,
        lons,
        shift_start_min: float,
        day_of_week: int | None = None,
        service_min=None,
        tw_start_min=None,
        tw_end_min=None,
        vehicles: int = 1,
        shift_end_min: float | None = None,
        bucket_min: int = 60,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Seconds, metres and the departure hour used per leg, for a plan whose node 0 is the depot.

        A time-invariant model needs one pass (all legs get the shift start's bucket); otherwise a first pass
        at the shift start gives the expected times into the route (:func:`departure_hour_buckets`) and a
        second pass predicts each leg at its own bucket.
        """
        n = len(np.asarray(lats))
        start_hour = bucket_centre_hour(shift_start_min * 60.0, bucket_min)
        first_d, first_m = self.predict_matrix(lats, lons, depart_hour=start_hour, day_of_week=day_of_week)
        if not self.time_aware or n < 2:
            return first_d, first_m, np.full((n, n), start_hour)
        hours = departure_hour_buckets(
            first_d,
            shift_start_min,
            service_min=service_min,
            tw_start_min=tw_start_min,
            tw_end_min=tw_end_min,
            vehicles=vehicles,
            shift_end_min=shift_end_min,
            bucket_min=bucket_min,
        )
        duration, distance = self.predict_matrix(lats, lons, depart_hour=hours, day_of_week=day_of_week)
        return duration, distance, hours

    # -------------------------------------------------------------------------------------- internals
    def _corridor_raster(self) -> tuple[np.ndarray, int]:
        """The corridor fields sampled on a raster CORRIDOR_RASTER times finer than their grid: (cells, 2|4).

        Evaluating the bilinear field at K points per leg costs 4 look-ups and a blend each; the nearest
        raster node is 1 look-up (a 1000 x 1000 matrix in a quarter of the time) and, at 1/8 of a 0.02 degree
        cell, differs from the exact blend by far less than the model's error. ``predict_pairs`` uses the same
        raster, so pairs and matrices agree and the CV numbers include the approximation.
        """
        cached = self._cache.get("raster")
        if cached is None:
            grid = self.spec.corridor
            rx = (grid.nx - 1) * CORRIDOR_RASTER + 1
            ry = (grid.ny - 1) * CORRIDOR_RASTER + 1
            gy, gx = np.mgrid[0:ry, 0:rx] / CORRIDOR_RASTER
            lat = (grid.lat_min + gy * grid.step).ravel()
            lon = (grid.lon_min + gx * grid.step).ravel()
            parts = [self.duration] + ([self.distance] if self.distance is not None else [])
            names = ("corridor", "corridor_lh") + (
                ("corridor_s2", "corridor_c2") if self._corridor_channels == 4 else ()
            )
            fields = [getattr(p, name) for p in parts for name in names]
            raster = np.stack([grid.interpolate(f, lat, lon) for f in fields], axis=1).astype(np.float32)
            cached = (raster, rx)
            self._cache["raster"] = cached
        return cached

    def _corridor_pairs(self, olat, olon, dlat, dlon) -> np.ndarray:
        """Corridor means per row, the duration channels then the distance ones (zeros without a distance part)."""
        raster, stride = self._corridor_raster()
        grid = self.spec.corridor
        ox, oy = (v * CORRIDOR_RASTER for v in grid.fractional(olat, olon))
        dx, dy = (v * CORRIDOR_RASTER for v in grid.fractional(dlat, dlon))
        acc = np.zeros((np.size(olat), raster.shape[1]))
        ts = corridor_fractions(self.spec.corridor_samples)
        for t in ts:
            ix = (ox * (1 - t) + 0.5 + dx * t).astype(np.int64)
            iy = (oy * (1 - t) + 0.5 + dy * t).astype(np.int64)
            acc += raster[iy * stride + ix]
        acc /= len(ts)
        if acc.shape[1] == self._corridor_channels:
            acc = np.concatenate([acc, np.zeros_like(acc)], axis=1)
        return acc

    @property
    def _corridor_channels(self) -> int:
        """Raster channels per part: C1, C2 and, with direction-dependent corridors, the two bearing fields."""
        return 4 if self.spec.corridor_dir else 2

    def _point_node(self, part: LinearPart, lat, lon) -> np.ndarray:
        """The per-location effect at the points (0 when the model has none)."""
        grid = self.spec.point
        if grid is None or part.point.size != grid.size:
            return np.zeros(np.shape(lat))
        return grid.interpolate(part.point, lat, lon)

    def _point_effect(self, part: LinearPart, olat, olon, dlat, dlon) -> np.ndarray:
        return self._point_node(part, olat, olon) + self._point_node(part, dlat, dlon)

    def _extrapolation(self, h: np.ndarray, part: LinearPart) -> np.ndarray:
        """Power-law continuation outside [h_lo, h_hi] in log space (0 inside)."""
        logh = np.log(np.maximum(h, 1e-3))
        below = np.minimum(logh - math.log(self.h_lo), 0.0)
        above = np.maximum(logh - math.log(self.h_hi), 0.0)
        return part.slope_lo * below + part.slope_hi * above

    def _calibration_factor(self, lhc: np.ndarray) -> np.ndarray:
        c0, c1 = self.calibration
        return np.clip(c0 + c1 * lhc, 0.8, 1.2)

    def _time_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """Time effect per (weekday/weekend, minute of day) as ``A + lhc * B`` (the time columns are linear in
        lhc), so a matrix needs two look-ups per cell instead of 15 trigonometric columns."""
        cached = self._cache.get("time_tables")
        if cached is None:
            minutes = np.arange(1440, dtype=float) / 60.0
            coef = self.duration.time
            tables = []
            for weekend in (0.0, 1.0):
                w = np.full(1440, weekend)
                at0 = time_columns(self.spec, np.zeros(1440), minutes, w) @ coef
                at1 = time_columns(self.spec, np.ones(1440), minutes, w) @ coef
                tables.append((at0, at1 - at0))
            cached = (np.stack([t[0] for t in tables]), np.stack([t[1] for t in tables]))
            self._cache["time_tables"] = cached
        return cached

    def _time_effect(self, lhc: np.ndarray, hours: np.ndarray | None, days: np.ndarray | None) -> np.ndarray | float:
        """Log-duration contribution of hour and weekend; times to the minute; unknown -> training average."""
        if not self.time_aware:
            return 0.0
        fill = float(self.time_fill @ self.duration.time) if self.time_fill.size else 0.0
        h = np.full(1, np.nan) if hours is None else np.asarray(hours, dtype=float)
        d = np.full(1, np.nan) if days is None else np.asarray(days, dtype=float)
        unknown = np.isnan(h) if self.spec.use_hour else np.zeros(h.shape, dtype=bool)
        if self.spec.use_dow:
            unknown = unknown | np.isnan(d)
        if np.all(unknown):
            return np.full(np.shape(lhc), fill)
        a, b = self._time_tables()
        minute = np.rint(np.nan_to_num(h) * 60.0).astype(np.int64) % 1440 if self.spec.use_hour else 0
        weekend = (np.nan_to_num(d) >= 5).astype(np.int64) if self.spec.use_dow else 0
        effect = a[weekend, minute] + lhc * b[weekend, minute]
        return np.where(unknown, fill, effect)


def _per_origin(value, n: int) -> np.ndarray | None:
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
    service = _per_node(service_min, n, 0.0) * 60.0
    tw_a = _per_node(tw_start_min, n, np.nan) * 60.0 - start_s
    tw_b = _per_node(tw_end_min, n, np.nan) * 60.0 - start_s
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


def _per_node(values, n: int, default: float) -> np.ndarray:
    """Per-node values as floats (None -> NaN), then NaN -> ``default``; the depot's entry is ignored."""
    if values is None:
        return np.full(n, default)
    arr = np.array([np.nan if v is None else float(v) for v in np.asarray(values, dtype=object).ravel()])
    if arr.size != n:
        raise ValueError(f"expected {n} per-node values, got {arr.size}")
    arr[0] = np.nan
    return np.where(np.isnan(arr), default, arr)


# ------------------------------------------------------------------------------------------------ fitting


def decide_time_use(obs: Observations, config: TrainingConfig) -> tuple[bool, bool]:
    """Switch the hour / weekend terms on only when the timed rows can teach them."""
    hours = obs.depart_hour[~np.isnan(obs.depart_hour)]
    use_hour = False
    if hours.size >= config.min_time_rows:
        bands = np.bincount((np.mod(hours, 24.0) // 3).astype(int), minlength=8) / hours.size
        use_hour = int(np.sum(bands >= config.min_time_share)) >= 2
    days = obs.day_of_week[~np.isnan(obs.day_of_week)]
    use_dow = False
    if days.size >= config.min_time_rows:
        weekend_share = float(np.mean(days >= 5))
        use_dow = config.min_time_share <= weekend_share <= 1 - config.min_time_share
    return use_hour, use_dow


def _design(
    spec: FeatureSpec,
    config: TrainingConfig,
    obs: Observations,
    h_lo: float,
    h_hi: float,
    time_fill: np.ndarray,
    with_time: bool,
):
    """Sparse (CSR) design matrix with the per-block penalty scales applied, plus lhc for later use."""
    from scipy import sparse

    n = len(obs)
    h = obs.haversine_m
    lhc = clamped_log_h(h, h_lo, h_hi)
    base = base_columns(lhc, bearing_terms(obs.origin_lat, obs.origin_lon, obs.dest_lat, obs.dest_lon))
    blocks = spec.blocks()
    rows_parts, cols_parts, vals_parts = [], [], []

    def add_dense(block: slice, values: np.ndarray, scale: float) -> None:
        if values.shape[1] == 0:
            return
        r, c = np.nonzero(np.ones_like(values, dtype=bool))
        rows_parts.append(r)
        cols_parts.append(block.start + c)
        vals_parts.append(values[r, c] * scale)

    def add_sparse(block: slice, idx: np.ndarray, w: np.ndarray, scale: float) -> None:
        rows_parts.append(np.repeat(np.arange(n), idx.shape[1]))
        cols_parts.append(block.start + idx.ravel())
        vals_parts.append(w.ravel() * scale)

    add_dense(blocks["base"], base, config.base_scale)
    idx, w = tent_rows(spec.area, obs.origin_lat, obs.origin_lon)
    add_sparse(blocks["area_o"], idx, w, config.area_scale)
    idx, w = tent_rows(spec.area, obs.dest_lat, obs.dest_lon)
    add_sparse(blocks["area_d"], idx, w, config.area_scale)
    idx, w = corridor_rows(
        spec.corridor, obs.origin_lat, obs.origin_lon, obs.dest_lat, obs.dest_lon, spec.corridor_samples
    )
    add_sparse(blocks["corridor"], idx, w, config.corridor_scale)
    add_sparse(blocks["corridor_lh"], idx, w * lhc[:, None], config.corridor_scale)
    if spec.corridor_dir:
        _, _, s2, c2, _, _ = bearing_terms(obs.origin_lat, obs.origin_lon, obs.dest_lat, obs.dest_lon)
        add_sparse(blocks["corridor_s2"], idx, w * s2[:, None], config.corridor_dir_scale)
        add_sparse(blocks["corridor_c2"], idx, w * c2[:, None], config.corridor_dir_scale)
    if spec.point is not None:  # one field for both ends: the duplicate entries of a row are summed
        for lat, lon in ((obs.origin_lat, obs.origin_lon), (obs.dest_lat, obs.dest_lon)):
            idx_p, w_p = tent_rows(spec.point, lat, lon)
            add_sparse(blocks["point"], idx_p, w_p, config.point_scale)
    if with_time and spec.time_column_names():
        add_dense(
            blocks["time"], time_design(spec, lhc, obs.depart_hour, obs.day_of_week, time_fill), config.time_scale
        )
    width = spec.n_columns if with_time else blocks["time"].start
    X = sparse.csr_matrix(
        (np.concatenate(vals_parts), (np.concatenate(rows_parts), np.concatenate(cols_parts))), shape=(n, width)
    )
    return X, lhc


def _scales(spec: FeatureSpec, config: TrainingConfig, width: int) -> np.ndarray:
    scale = np.ones(width)
    blocks = spec.blocks()
    scale[blocks["base"]] = config.base_scale
    scale[blocks["area_o"]] = config.area_scale
    scale[blocks["area_d"]] = config.area_scale
    scale[blocks["corridor"]] = config.corridor_scale
    scale[blocks["corridor_lh"]] = config.corridor_scale
    scale[blocks["corridor_s2"]] = config.corridor_dir_scale
    scale[blocks["corridor_c2"]] = config.corridor_dir_scale
    scale[blocks["point"]] = config.point_scale
    if width > blocks["time"].start:
        scale[blocks["time"]] = config.time_scale
    return scale


def _ridge(X, target: np.ndarray, alpha: float) -> tuple[float, np.ndarray]:
    """scikit-learn Ridge with the conjugate-gradient solver on the sparse design.

    Grid nodes no row touches (the sea, unvisited areas) are all-zero columns whose ridge coefficient is
    exactly 0: they are left out of the solve. On the shared file (1,300 rows, ~350 active columns) CG at
    tol 1e-7 matches the dense Cholesky solution to ~1e-6 and takes milliseconds instead of ~0.15 s.
    """
    from sklearn.linear_model import Ridge

    active = np.flatnonzero(X.getnnz(axis=0) > 0)
    model = Ridge(alpha=alpha, fit_intercept=True, solver="sparse_cg", tol=1e-7).fit(X[:, active], target)
    coef = np.zeros(X.shape[1])
    coef[active] = model.coef_
    return float(model.intercept_), coef


def _part_from_coef(
    spec: FeatureSpec, intercept: float, coef: np.ndarray, with_time: bool, h_lo: float, h_hi: float, slopes: tuple
) -> LinearPart:
    blocks = spec.blocks()
    base = coef[blocks["base"]]
    lo, hi = slopes
    lhc_lo = math.log(h_lo) - LOG_H_CENTRE
    lhc_hi = math.log(h_hi) - LOG_H_CENTRE
    return LinearPart(
        intercept=intercept,
        base=base,
        area_o=coef[blocks["area_o"]],
        area_d=coef[blocks["area_d"]],
        corridor=coef[blocks["corridor"]],
        corridor_lh=coef[blocks["corridor_lh"]],
        time=coef[blocks["time"]] if with_time else np.zeros(0),
        slope_lo=float(np.clip(base[0] + 2 * base[1] * lhc_lo, *lo)),
        slope_hi=float(np.clip(base[0] + 2 * base[1] * lhc_hi, *hi)),
        corridor_s2=coef[blocks["corridor_s2"]],
        corridor_c2=coef[blocks["corridor_c2"]],
        point=coef[blocks["point"]],
    )


def _coef_from_part(spec: FeatureSpec, part: LinearPart, with_time: bool) -> np.ndarray:
    """Inverse of ``_part_from_coef`` (used to start from a prior): raw-scale coefficient vector."""
    blocks = spec.blocks()
    width = spec.n_columns if with_time else blocks["time"].start
    coef = np.zeros(width)
    coef[blocks["base"]] = part.base
    coef[blocks["area_o"]] = part.area_o
    coef[blocks["area_d"]] = part.area_d
    coef[blocks["corridor"]] = part.corridor
    coef[blocks["corridor_lh"]] = part.corridor_lh
    for name in ("corridor_s2", "corridor_c2", "point"):
        values = getattr(part, name)
        if values.size == blocks[name].stop - blocks[name].start:
            coef[blocks[name]] = values
    if with_time and part.time.size == blocks["time"].stop - blocks["time"].start:
        coef[blocks["time"]] = part.time
    return coef


def _fit_linear(
    spec: FeatureSpec,
    config: TrainingConfig,
    obs: Observations,
    target: np.ndarray,
    h_lo: float,
    h_hi: float,
    time_fill: np.ndarray,
    with_time: bool,
    prior: LinearPart | None,
    slopes: tuple,
) -> LinearPart:
    X, _ = _design(spec, config, obs, h_lo, h_hi, time_fill, with_time)
    scale = _scales(spec, config, X.shape[1])
    offset = 0.0
    prior_coef = np.zeros(X.shape[1])
    if prior is not None:
        prior_coef = _coef_from_part(spec, prior, with_time)
        offset = X @ (prior_coef / scale) + prior.intercept
    y = target - offset
    intercept, coef = _ridge(X, y, config.alpha)
    if config.clip_mads:
        # One winsorising pass: a leg 5x longer than the straight line (a U-turn around a canal) would
        # otherwise drag a whole grid cell; targets are pulled to within clip_mads robust SDs of the fit.
        fitted = intercept + X @ coef
        resid = y - fitted
        spread = 1.4826 * float(np.median(np.abs(resid - np.median(resid))))
        if spread > 0:
            bound = config.clip_mads * spread
            intercept, coef = _ridge(X, fitted + np.clip(resid, -bound, bound), config.alpha)
    raw = prior_coef + coef * scale
    if prior is not None:
        intercept += prior.intercept
    return _part_from_coef(spec, intercept, raw, with_time, h_lo, h_hi, slopes)


def _h_range(h: np.ndarray, prior: TravelTimeModel | None) -> tuple[float, float]:
    lo = float(max(100.0, np.quantile(h, 0.005)))
    hi = float(max(lo * 2.0, np.quantile(h, 0.995)))
    if prior is not None:
        lo, hi = min(lo, prior.h_lo), max(hi, prior.h_hi)
    return lo, hi


DURATION_SLOPES = ((0.5, 1.0), (0.6, 1.0))
DISTANCE_SLOPES = ((0.8, 1.2), (0.9, 1.1))


def _fit_core(
    obs: Observations, config: TrainingConfig, prior: TravelTimeModel | None, spec: FeatureSpec
) -> TravelTimeModel:
    """Everything but calibration, CV and the drift reference: the ridge fits."""
    h = obs.haversine_m
    keep = (h >= 1.0) & (obs.duration_s > 0)
    obs = obs.subset(np.nonzero(keep)[0])
    h = h[keep]
    h_lo, h_hi = _h_range(h, prior)
    lhc = clamped_log_h(h, h_lo, h_hi)
    time_fill = np.zeros(len(spec.time_column_names()))
    if spec.time_column_names():
        timed = ~np.isnan(obs.depart_hour) if spec.use_hour else ~np.isnan(obs.day_of_week)
        full = time_design(spec, lhc[timed], obs.depart_hour[timed], obs.day_of_week[timed], time_fill)
        time_fill = full.mean(axis=0) if full.shape[0] else time_fill
    compatible = (
        prior is not None
        and prior.spec.area == spec.area
        and prior.spec.corridor == spec.corridor
        and prior.spec.point == spec.point
        and prior.spec.corridor_dir == spec.corridor_dir
    )
    prior_use = prior if compatible else None
    duration = _fit_linear(
        spec,
        config,
        obs,
        np.log(obs.duration_s),
        h_lo,
        h_hi,
        time_fill,
        True,
        prior_use.duration if prior_use else None,
        DURATION_SLOPES,
    )
    has_d = ~np.isnan(obs.distance_m) & (obs.distance_m > 0)
    n_dist = int(has_d.sum())
    distance: LinearPart | None
    if n_dist >= MIN_DISTANCE_ROWS:
        sub = obs.subset(np.nonzero(has_d)[0])
        prior_d = prior_use.distance if prior_use is not None else None
        distance = _fit_linear(
            spec, config, sub, np.log(sub.distance_m), h_lo, h_hi, time_fill, False, prior_d, DISTANCE_SLOPES
        )
    else:
        distance = prior_use.distance if prior_use is not None else None
    return TravelTimeModel(
        version="unversioned",
        trained_at=dt.datetime.now(dt.UTC),
        spec=spec,
        h_lo=h_lo,
        h_hi=h_hi,
        duration=duration.rounded(),
        distance=None if distance is None else distance.rounded(),
        time_fill=np.asarray([_round(v) for v in time_fill]),
        n_train=len(obs),
        n_train_distance=n_dist,
        prior_version=prior_use.version if prior_use else None,
        config=config.to_dict(),
    )


def _calibrate(
    obs: Observations, predicted: np.ndarray, lhc: np.ndarray, config: TrainingConfig
) -> tuple[float, float]:
    """MAPE-optimal linear factor in log distance: weighted L1 of y/p on lhc with weights p/y."""
    from sklearn.linear_model import QuantileRegressor

    ratio = obs.duration_s / predicted
    weight = predicted / obs.duration_s
    ok = np.isfinite(ratio) & np.isfinite(weight)
    idx = np.nonzero(ok)[0]
    if idx.size < 20:
        return 1.0, 0.0
    if idx.size > config.calibration_max_rows:
        idx = np.random.default_rng(config.seed).choice(idx, config.calibration_max_rows, replace=False)
    q = QuantileRegressor(quantile=0.5, alpha=0.0, solver="highs")
    q.fit(lhc[idx, None], ratio[idx], sample_weight=weight[idx])
    return float(q.intercept_), float(q.coef_[0])


def fit_model(
    obs: Observations,
    config: TrainingConfig | None = None,
    prior: TravelTimeModel | None = None,
    cv_folds: int | None = 5,
    version: str | None = None,
    notes: dict[str, Any] | None = None,
) -> TravelTimeModel:
    """Fit a versioned model on ``obs`` (optionally towards ``prior``), with its k-fold CV error.

    The CV repeats the whole procedure (calibration included) per fold, so ``cv["mape"]`` is an honest
    estimate of the error on new legs drawn like these; ``cv_folds=None`` skips it (tests, inner loops).
    """
    config = config or TrainingConfig()
    if len(obs) < 10:
        raise ValueError(f"need at least 10 observations to fit a travel-time model, got {len(obs)}")
    use_hour, use_dow = decide_time_use(obs, config)
    spec = config.spec(use_hour, use_dow)
    model = _fit_calibrated(obs, config, prior, spec)
    if cv_folds:
        model.cv = cross_validate(obs, config, prior=prior, folds=cv_folds, spec=spec).summary()
    model.reference = drift.build_reference(
        drift.drift_features(obs.origin_lat, obs.origin_lon, obs.dest_lat, obs.dest_lon, obs.depart_hour)
    )
    model.notes = dict(notes or {})
    model.notes.setdefault("sources", _source_counts(obs))
    model.version = version or _version_for(model)
    return model


def _fit_calibrated(
    obs: Observations, config: TrainingConfig, prior: TravelTimeModel | None, spec: FeatureSpec
) -> TravelTimeModel:
    model = _fit_core(obs, config, prior, spec)
    if config.calibrate and len(obs) >= 50:
        oof = np.full(len(obs), np.nan)
        for train, test in _folds(len(obs), config.calibration_folds, config.seed + 1):
            inner = _fit_core(obs.subset(train), replace(config, calibrate=False), prior, spec)
            inner.calibration = (1.0, 0.0)
            oof[test] = inner.predict_pairs(*_pairs(obs.subset(test)))[0]
        lhc = clamped_log_h(obs.haversine_m, model.h_lo, model.h_hi)
        c0, c1 = _calibrate(obs, oof, lhc, config)
        model.calibration = (_round(c0), _round(c1))
    return model


def _pairs(obs: Observations) -> tuple:
    return obs.origin_lat, obs.origin_lon, obs.dest_lat, obs.dest_lon, obs.depart_hour, obs.day_of_week


def _folds(n: int, k: int, seed: int):
    from sklearn.model_selection import KFold

    return KFold(n_splits=min(k, n), shuffle=True, random_state=seed).split(np.zeros(n))


@dataclass
class CVResult:
    predicted: np.ndarray
    actual: np.ndarray
    folds: int
    seed: int
    fold_mape: list[float]

    def summary(self) -> dict[str, Any]:
        out = error_summary(self.actual, self.predicted)
        out.update(folds=self.folds, seed=self.seed, fold_mape=[round(v, 3) for v in self.fold_mape])
        return out


def cross_validate(
    obs: Observations,
    config: TrainingConfig | None = None,
    prior: TravelTimeModel | None = None,
    folds: int = 5,
    seed: int | None = None,
    spec: FeatureSpec | None = None,
) -> CVResult:
    """Shuffled k-fold CV of the full training procedure; the out-of-fold predictions for every row."""
    config = config or TrainingConfig()
    seed = config.seed if seed is None else seed
    spec = spec or config.spec(*decide_time_use(obs, config))
    predicted = np.full(len(obs), np.nan)
    fold_mape = []
    for train, test in _folds(len(obs), folds, seed):
        model = _fit_calibrated(obs.subset(train), config, prior, spec)
        predicted[test] = model.predict_pairs(*_pairs(obs.subset(test)))[0]
        fold_mape.append(mape(obs.duration_s[test], predicted[test]))
    return CVResult(predicted=predicted, actual=obs.duration_s, folds=folds, seed=seed, fold_mape=fold_mape)


def mape(actual, predicted) -> float:
    """Mean absolute percentage error in percent."""
    return float(np.mean(drift.percentage_errors(actual, predicted)))


def error_summary(actual, predicted) -> dict[str, float]:
    actual = np.asarray(actual, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    ape = drift.percentage_errors(actual, predicted)
    return {
        "n": int(actual.size),
        "mape": round(float(np.mean(ape)), 3),
        "median_ape": round(float(np.median(ape)), 3),
        "mae_s": round(float(np.mean(np.abs(predicted - actual))), 2),
    }


# ------------------------------------------------------------------------------ baselines and the default


def baseline_predictions(obs: Observations, kind: str) -> np.ndarray:
    """The simple references: ``haversine_9ms`` and the old system's fallback ``haversine_x1.2_8.33ms``."""
    h = obs.haversine_m
    if kind == "haversine_9ms":
        return h / 9.0
    if kind == "haversine_x1.2_8.33ms":
        return h * 1.2 / 8.33
    raise ValueError(f"unknown baseline {kind!r}")


def loglog_cv(obs: Observations, folds: int = 5, seed: int = 42) -> CVResult:
    """The plain least-squares fit log(duration) = a + b log(haversine), cross-validated the same way."""
    h = obs.haversine_m
    y = np.log(obs.duration_s)
    predicted = np.full(len(obs), np.nan)
    fold_mape = []
    for train, test in _folds(len(obs), folds, seed):
        A = np.column_stack([np.ones(train.size), np.log(h[train])])
        coef = np.linalg.lstsq(A, y[train], rcond=None)[0]
        predicted[test] = np.exp(coef[0] + coef[1] * np.log(h[test]))
        fold_mape.append(mape(obs.duration_s[test], predicted[test]))
    return CVResult(predicted=predicted, actual=obs.duration_s, folds=folds, seed=seed, fold_mape=fold_mape)


@cache
def _default_model_json(path: str) -> str:
    return Path(path).read_text()


def load_default_model(path: str | Path | None = None) -> TravelTimeModel:
    """The model shipped with the package (fitted on the shared OneMap file; parameters only)."""
    return TravelTimeModel.from_json(_default_model_json(str(path or DEFAULT_MODEL_PATH)))


def _version_for(model: TravelTimeModel) -> str:
    digest = hashlib.sha256(
        json.dumps(
            {"d": model.duration.to_dict(), "cal": model.calibration, "n": model.n_train}, sort_keys=True
        ).encode()
    ).hexdigest()[:8]
    return f"ttm-{model.trained_at.strftime('%Y%m%d%H%M%S')}-{digest}"


def _source_counts(obs: Observations) -> dict[str, int]:
    if obs.source is None:
        return {}
    values, counts = np.unique(obs.source.astype(str), return_counts=True)
    return {str(v): int(c) for v, c in zip(values, counts, strict=True)}


def _round(value: float) -> float:
    return float(f"{float(value):.{SIGNIFICANT_DIGITS}g}")


def _list(values: np.ndarray) -> list[float]:
    return [_round(v) for v in np.asarray(values, dtype=float).ravel()]


def _rows(values: np.ndarray, rows: int) -> list[list[float]]:
    flat = _list(values)
    return [flat[i * POINT_ROW_WIDTH : (i + 1) * POINT_ROW_WIDTH] for i in range(rows)] if flat else []
