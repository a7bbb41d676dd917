"""Drift grading on real OneMap legs: quiet on legs like the training data, loud on uniformly slower ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sgroute_assets.domain.travel_times import (
    DriftThresholds,
    Observations,
    drift_features,
    drift_plot_png,
    evaluate_drift,
    fit_model,
)
from sgroute_assets.domain.travel_times.drift import build_reference, psi


@pytest.fixture(scope="module")
def split(shared_dir):
    """A model fitted (with its 5-fold CV) on 1,000 shared legs, and the 300 legs it never saw."""
    rows = pd.read_csv(shared_dir / "data" / "onemap_drive_times.csv").sample(frac=1.0, random_state=8)
    train = Observations.from_frame(rows.iloc[:1000])
    recent = Observations.from_frame(rows.iloc[1000:])
    return fit_model(train, cv_folds=5), recent


def _drift(model, obs: Observations, factor: float = 1.0, thresholds: DriftThresholds | None = None):
    predicted, _ = model.predict_pairs(obs.origin_lat, obs.origin_lon, obs.dest_lat, obs.dest_lon, obs.depart_hour)
    features = drift_features(obs.origin_lat, obs.origin_lon, obs.dest_lat, obs.dest_lon, obs.depart_hour)
    return evaluate_drift(
        model.version, obs.duration_s * factor, predicted, features, model.reference, thresholds, model.cv_mape
    )


def test_quiet_on_legs_drawn_like_the_training_data(split):
    model, recent = split
    result = _drift(model, recent)
    assert result.severity == "OK", result.reasons
    assert 0.95 < result.median_ratio < 1.05
    assert result.mape < 1.3 * model.cv_mape
    assert result.psi_graded and max(result.psi.values()) < 0.1
    assert set(result.psi) == {"log_haversine", "origin_lat", "origin_lon", "dest_lat", "dest_lon", "depart_hour"}


def test_error_on_legs_uniformly_fifteen_percent_slower(split):
    model, recent = split
    result = _drift(model, recent, factor=1.15)
    assert result.severity == "ERROR"
    assert 1.12 < result.median_ratio < 1.20
    assert any("slower than predicted" in r for r in result.reasons)
    assert max(result.psi.values()) < 0.1  # the legs themselves did not change: only the times did
    # 10 % slower is a warning, not yet a retrain.
    assert _drift(model, recent, factor=1.10).severity == "WARN"
    png = drift_plot_png(recent.duration_s * 1.15, recent.duration_s, result)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) < 60_000


def test_daytime_legs_for_a_night_model_are_flagged_by_the_hour_psi(split):
    model, recent = split
    daytime = Observations(
        origin_lat=recent.origin_lat,
        origin_lon=recent.origin_lon,
        dest_lat=recent.dest_lat,
        dest_lon=recent.dest_lon,
        duration_s=recent.duration_s,
        distance_m=recent.distance_m,
        depart_hour=np.full(len(recent), 9.0),
        day_of_week=np.full(len(recent), 1.0),
    )
    result = _drift(model, daytime)
    assert result.severity == "ERROR" and result.psi["depart_hour"] > 0.25
    assert any("depart_hour" in r for r in result.reasons)


def test_few_observations_skip_and_psi_needs_enough_rows(split):
    model, recent = split
    few = recent.subset(np.arange(20))
    assert _drift(model, few).severity == "SKIPPED"
    empty = recent.subset(np.arange(0))
    assert _drift(model, empty).severity == "SKIPPED"
    some = recent.subset(np.arange(60))
    result = _drift(model, some)
    assert not result.psi_graded and result.severity in ("OK", "WARN")


def test_psi_is_zero_for_the_same_distribution_and_large_for_a_shift():
    rng = np.random.default_rng(0)
    reference = build_reference({"x": rng.normal(size=20_000)})["x"]
    assert len(reference["edges"]) == 9 and abs(sum(reference["proportions"]) - 1) < 1e-6
    assert psi(reference, rng.normal(size=20_000)) < 0.01
    assert 0.1 < psi(reference, rng.normal(0.4, 1.0, size=20_000)) < 0.25
    assert psi(reference, rng.normal(1.0, 1.0, size=20_000)) > 0.25
    assert psi(reference, np.array([])) is None
