"""The baselines a model is compared with: the old system's fallback, a haversine speed and a log-log fit."""

from __future__ import annotations

import numpy as np

from .drift import mape
from .fitting import CVResult, cv_folds
from .observations import Observations

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
    for train, test in cv_folds(len(obs), folds, seed):
        A = np.column_stack([np.ones(train.size), np.log(h[train])])
        coef = np.linalg.lstsq(A, y[train], rcond=None)[0]
        predicted[test] = np.exp(coef[0] + coef[1] * np.log(h[test]))
        fold_mape.append(mape(obs.duration_s[test], predicted[test]))
    return CVResult(predicted=predicted, actual=obs.duration_s, folds=folds, seed=seed, fold_mape=fold_mape)
