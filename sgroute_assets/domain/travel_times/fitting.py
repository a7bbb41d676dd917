"""Training a model: design matrices, ridge towards a prior, calibration for MAPE, and ``fit_model``."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from . import drift
from .drift import error_summary, mape
from .features import (
    LOG_H_CENTRE,
    FeatureSpec,
    base_columns,
    bearing_terms,
    clamped_log_h,
    corridor_rows,
    tent_rows,
)
from .linear_part import LinearPart, rounded
from .model import TravelTimeModel
from .model_terms import time_design
from .observations import Observations
from .training_config import TrainingConfig
from .versions import source_counts, version_for

MIN_DISTANCE_ROWS = 30


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
        time_fill=np.asarray([rounded(v) for v in time_fill]),
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
    model = fit_calibrated(obs, config, prior, spec)
    if cv_folds:
        model.cv = cross_validate(obs, config, prior=prior, folds=cv_folds, spec=spec).summary()
    model.reference = drift.build_reference(
        drift.drift_features(obs.origin_lat, obs.origin_lon, obs.dest_lat, obs.dest_lon, obs.depart_hour)
    )
    model.notes = dict(notes or {})
    model.notes.setdefault("sources", source_counts(obs))
    model.version = version or version_for(model)
    return model


def fit_calibrated(
    obs: Observations, config: TrainingConfig, prior: TravelTimeModel | None, spec: FeatureSpec
) -> TravelTimeModel:
    model = _fit_core(obs, config, prior, spec)
    if config.calibrate and len(obs) >= 50:
        oof = np.full(len(obs), np.nan)
        for train, test in cv_folds(len(obs), config.calibration_folds, config.seed + 1):
            inner = _fit_core(obs.subset(train), replace(config, calibrate=False), prior, spec)
            inner.calibration = (1.0, 0.0)
            oof[test] = inner.predict_pairs(*observation_pairs(obs.subset(test)))[0]
        lhc = clamped_log_h(obs.haversine_m, model.h_lo, model.h_hi)
        c0, c1 = _calibrate(obs, oof, lhc, config)
        model.calibration = (rounded(c0), rounded(c1))
    return model


def observation_pairs(obs: Observations) -> tuple:
    return obs.origin_lat, obs.origin_lon, obs.dest_lat, obs.dest_lon, obs.depart_hour, obs.day_of_week


def cv_folds(n: int, k: int, seed: int):
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
    for train, test in cv_folds(len(obs), folds, seed):
        model = fit_calibrated(obs.subset(train), config, prior, spec)
        predicted[test] = model.predict_pairs(*observation_pairs(obs.subset(test)))[0]
        fold_mape.append(mape(obs.duration_s[test], predicted[test]))
    return CVResult(predicted=predicted, actual=obs.duration_s, folds=folds, seed=seed, fold_mape=fold_mape)
