"""Drift of the travel-time model: is it still right about the legs driven since it was trained?

Three signals, each graded against configurable thresholds into OK / WARN / ERROR:

* **MAPE** of the model on the recent observations, relative to the model's own cross-validated MAPE
  (a model with 11 % CV error is not drifting when it shows 12 %; it is at 18 %).
* **Median ratio** actual / predicted (bias): uniformly slower traffic shows up here first and clearly,
  because the median of a ratio is robust to the few wild legs that dominate MAPE.
* **Population stability index** of the main features (log haversine, origin and destination lat/lon,
  departure hour) against the training distribution, stored with the model as decile histograms. PSI
  says the model is being asked about legs unlike those it learnt from (a new region, daytime trips for a
  night-trained model); 0.1 / 0.25 are the usual "watch" / "act" levels. PSI is only graded from
  ``psi_min_observations`` rows: with fewer, its sampling noise alone (about bins / n) crosses 0.1.

No observation means nothing to say: severity ``SKIPPED``, never an alarm.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .features import haversine_m

FEATURES = ("log_haversine", "origin_lat", "origin_lon", "dest_lat", "dest_lon", "depart_hour")
HOUR_EDGES = [3.0, 6.0, 9.0, 12.0, 15.0, 18.0, 21.0]  # inner edges of 8 three-hour bands
PSI_EPSILON = 1e-4


def percentage_errors(actual, predicted) -> np.ndarray:
    """Absolute error of each leg in percent of its actual duration: what MAPE averages, drift and CV alike."""
    actual = np.asarray(actual, dtype=float)
    return np.abs(np.asarray(predicted, dtype=float) - actual) / actual * 100.0


SEVERITIES = ("SKIPPED", "OK", "WARN", "ERROR")


def drift_features(olat, olon, dlat, dlon, depart_hour=None) -> dict[str, np.ndarray]:
    """The monitored features per leg; the hour only where known (NaN rows are left out of its PSI)."""
    h = haversine_m(olat, olon, dlat, dlon)
    out = {
        "log_haversine": np.log(np.maximum(h, 1.0)),
        "origin_lat": np.asarray(olat, dtype=float),
        "origin_lon": np.asarray(olon, dtype=float),
        "dest_lat": np.asarray(dlat, dtype=float),
        "dest_lon": np.asarray(dlon, dtype=float),
    }
    if depart_hour is not None:
        hours = np.asarray(depart_hour, dtype=float)
        out["depart_hour"] = np.mod(hours[~np.isnan(hours)], 24.0)
    return out


def build_reference(features: dict[str, np.ndarray], bins: int = 10) -> dict[str, dict[str, Any]]:
    """Decile edges and proportions per feature (fixed 3-hour bands for the hour): aggregates, not rows."""
    reference: dict[str, dict[str, Any]] = {}
    for name, values in features.items():
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        if values.size == 0:
            continue
        if name == "depart_hour":
            edges = list(HOUR_EDGES)
        else:
            qs = np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1])
            edges = [float(f"{q:.7g}") for q in np.unique(qs)]
        props = _proportions(values, edges)
        reference[name] = {"edges": edges, "proportions": [round(float(p), 6) for p in props], "n": int(values.size)}
    return reference


def _proportions(values: np.ndarray, edges: list[float]) -> np.ndarray:
    counts = np.bincount(np.searchsorted(np.asarray(edges), values, side="right"), minlength=len(edges) + 1)
    return counts / max(1, values.size)


def psi(reference: dict[str, Any], values) -> float | None:
    """Population stability index sum((p - q) * ln(p / q)) over the reference bins; None without values."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    expected = np.maximum(np.asarray(reference["proportions"], dtype=float), PSI_EPSILON)
    actual = np.maximum(_proportions(values, reference["edges"]), PSI_EPSILON)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


@dataclass(frozen=True)
class DriftThresholds:
    """When to warn and when to act (retrain). Set from SGROUTE_DRIFT_* variables in the Dagster module."""

    min_observations: int = 30
    mape_warn_factor: float = 1.3  # x the model's cross-validated MAPE
    mape_error_factor: float = 1.6
    default_baseline_mape: float = 12.0  # for a model without a CV MAPE
    ratio_warn: float = 0.08  # |median(actual / predicted) - 1|
    ratio_error: float = 0.12
    psi_warn: float = 0.10
    psi_error: float = 0.25
    psi_min_observations: int = 200

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DriftResult:
    model_version: str
    n_observations: int
    severity: str
    reasons: list[str] = field(default_factory=list)
    mape: float | None = None
    median_ape: float | None = None
    median_ratio: float | None = None
    baseline_mape: float | None = None
    psi: dict[str, float] = field(default_factory=dict)
    psi_graded: bool = False
    thresholds: dict[str, Any] = field(default_factory=dict)

    @property
    def is_error(self) -> bool:
        return self.severity == "ERROR"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _grade(value: float, warn: float, error: float) -> str:
    if value > error:
        return "ERROR"
    if value > warn:
        return "WARN"
    return "OK"


def evaluate_drift(
    model_version: str,
    actual,
    predicted,
    features: dict[str, np.ndarray],
    reference: dict[str, dict[str, Any]],
    thresholds: DriftThresholds | None = None,
    baseline_mape: float | None = None,
) -> DriftResult:
    """Grade the recent observations against the model's predictions and its training distribution."""
    t = thresholds or DriftThresholds()
    actual = np.asarray(actual, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    ok = np.isfinite(actual) & np.isfinite(predicted) & (actual > 0) & (predicted > 0)
    actual, predicted = actual[ok], predicted[ok]
    n = int(actual.size)
    result = DriftResult(model_version=model_version, n_observations=n, severity="SKIPPED", thresholds=t.to_dict())
    if n == 0 or n < t.min_observations:
        result.reasons.append(f"{n} recent observations, fewer than the {t.min_observations} needed to judge drift")
        return result
    ape = percentage_errors(actual, predicted)
    ratio = actual / predicted
    result.mape = round(float(np.mean(ape)), 3)
    result.median_ape = round(float(np.median(ape)), 3)
    result.median_ratio = round(float(np.median(ratio)), 4)
    baseline = float(baseline_mape) if baseline_mape else t.default_baseline_mape
    result.baseline_mape = round(baseline, 3)
    grades: list[str] = []

    g = _grade(result.mape / baseline, t.mape_warn_factor, t.mape_error_factor)
    grades.append(g)
    if g != "OK":
        result.reasons.append(
            f"MAPE {result.mape:.1f} % is {result.mape / baseline:.2f}x the model's CV MAPE {baseline:.1f} % "
            f"(warn > {t.mape_warn_factor}x, error > {t.mape_error_factor}x)"
        )
    g = _grade(abs(result.median_ratio - 1.0), t.ratio_warn, t.ratio_error)
    grades.append(g)
    if g != "OK":
        direction = "slower" if result.median_ratio > 1 else "faster"
        result.reasons.append(
            f"legs are {abs(result.median_ratio - 1) * 100:.0f} % {direction} than predicted "
            f"(median actual/predicted {result.median_ratio:.3f}; "
            f"warn beyond +-{t.ratio_warn}, error beyond +-{t.ratio_error})"
        )
    for name, values in features.items():
        if name not in reference:
            continue
        value = psi(reference[name], np.asarray(values)[np.isfinite(values)])
        if value is not None:
            result.psi[name] = round(value, 4)
    result.psi_graded = n >= t.psi_min_observations
    if result.psi_graded:
        for name, value in result.psi.items():
            g = _grade(value, t.psi_warn, t.psi_error)
            grades.append(g)
            if g != "OK":
                result.reasons.append(f"PSI of {name} is {value:.2f} (warn > {t.psi_warn}, error > {t.psi_error})")
    result.severity = max(grades, key=SEVERITIES.index)
    return result


def drift_plot_png(actual, predicted, result: DriftResult) -> bytes:
    """A small two-panel PNG (predicted vs actual; ratio histogram) for the report's metadata."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    actual = np.asarray(actual, dtype=float) / 60.0
    predicted = np.asarray(predicted, dtype=float) / 60.0
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(6.4, 2.6), dpi=72)
    try:
        if actual.size:
            ax1.scatter(predicted, actual, s=4, alpha=0.4, color="#1f77b4")
            top = float(max(actual.max(), predicted.max()))
            ax1.plot([0, top], [0, top], color="#444", lw=0.8)
            ratio = np.clip(actual * 60.0 / np.maximum(predicted * 60.0, 1e-9), 0.25, 4.0)
            ax2.hist(ratio, bins=np.geomspace(0.25, 4.0, 41), color="#ff7f0e", alpha=0.8)
            ax2.set_xscale("log")
            ax2.axvline(1.0, color="#444", lw=0.8)
            if result.median_ratio is not None:
                ax2.axvline(result.median_ratio, color="#d62728", lw=1.2, ls="--")
        ax1.set_xlabel("predicted (min)", fontsize=8)
        ax1.set_ylabel("observed (min)", fontsize=8)
        ax2.set_xlabel("observed / predicted", fontsize=8)
        ax1.set_title(f"n={result.n_observations}, MAPE {result.mape or 0:.1f} %", fontsize=8)
        ax2.set_title(f"{result.severity}: median ratio {result.median_ratio or 0:.3f}", fontsize=8)
        for ax in (ax1, ax2):
            ax.tick_params(labelsize=7)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(fig)


def mape(actual, predicted) -> float:
    """Mean absolute percentage error in percent."""
    return float(np.mean(percentage_errors(actual, predicted)))


def error_summary(actual, predicted) -> dict[str, float]:
    actual = np.asarray(actual, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    ape = percentage_errors(actual, predicted)
    return {
        "n": int(actual.size),
        "mape": round(float(np.mean(ape)), 3),
        "median_ape": round(float(np.median(ape)), 3),
        "mae_s": round(float(np.mean(np.abs(predicted - actual))), 2),
    }
