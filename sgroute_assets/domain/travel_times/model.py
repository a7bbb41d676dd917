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
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .features import (
    FeatureSpec,
    base_columns,
    bearing_terms,
    clamped_log_h,
    corridor_fractions,
    haversine_m,
)
from .linear_part import LinearPart, rounded, rounded_list
from .model_terms import (
    CORRIDOR_RASTER,
    bucket_centre_hour,
    calibration_factor,
    corridor_channels,
    corridor_pairs,
    corridor_raster,
    curve_distance_m,
    departure_hour_buckets,
    extrapolation,
    per_origin,
    point_effect,
    point_node,
    time_effect,
)

MODEL_FORMAT = 1


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
    # Arrays derived from the fields on first use (corridor raster, time tables): rebuilt, never stored.
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["derived"] = {}  # derived rasters are rebuilt on first use, not pickled by the IO manager
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        state.pop("_cache", None)  # the field's name in values stored before 2026-12
        state["derived"] = {}
        self.__dict__.update(state)

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
            "h_lo": rounded(self.h_lo),
            "h_hi": rounded(self.h_hi),
            "duration": self.duration.to_dict(),
            "distance": None if self.distance is None else self.distance.to_dict(),
            "calibration": [rounded(c) for c in self.calibration],
            "time_fill": rounded_list(self.time_fill),
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
        corridor = corridor_pairs(self, olat, olon, dlat, dlon)
        cpp = corridor_channels(self)
        s2, c2 = bearings[2], bearings[3]
        hours = None if depart_hour is None else np.broadcast_to(np.asarray(depart_hour, float), shape).ravel()
        days = None if day_of_week is None else np.broadcast_to(np.asarray(day_of_week, float), shape).ravel()
        log_t = (
            self.duration.intercept
            + base @ self.duration.base
            + ao[0]
            + ao[1]
            + point_effect(self, self.duration, olat, olon, dlat, dlon)
            + corridor[:, 0]
            + lhc * corridor[:, 1]
            + time_effect(self, lhc, hours, days)
        )
        if cpp == 4:
            log_t += s2 * corridor[:, 2] + c2 * corridor[:, 3]
        duration = np.exp(log_t + extrapolation(self, h, self.duration)) * calibration_factor(self, lhc)
        if self.distance is not None:
            d = self.distance
            log_d = (
                d.intercept
                + base @ d.base
                + area.interpolate(d.area_o, olat, olon)
                + area.interpolate(d.area_d, dlat, dlon)
                + point_effect(self, d, olat, olon, dlat, dlon)
                + corridor[:, cpp]
                + lhc * corridor[:, cpp + 1]
            )
            if cpp == 4:
                log_d += s2 * corridor[:, 6] + c2 * corridor[:, 7]
            distance = np.exp(log_d + extrapolation(self, h, d))
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
        hours = per_origin(depart_hour, n)
        dows = per_origin(day_of_week, n)
        parts = [self.duration] + ([self.distance] if self.distance is not None else [])
        area = self.spec.area
        node_p = [point_node(self, p, lats, lons) for p in parts]
        node_o = np.stack(
            [area.interpolate(p.area_o, lats, lons) + q for p, q in zip(parts, node_p, strict=True)], axis=1
        )
        node_d = np.stack(
            [area.interpolate(p.area_d, lats, lons) + q for p, q in zip(parts, node_p, strict=True)], axis=1
        )
        node_o, node_d = node_o.astype(dtype), node_d.astype(dtype)
        cpp = corridor_channels(self)
        raster, stride = corridor_raster(self)
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
                time = time_effect(self, lhc, hb, db).astype(dtype)
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
                value = np.exp(log_v.astype(float) + extrapolation(self, h, part))
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
