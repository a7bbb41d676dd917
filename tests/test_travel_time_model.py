"""The travel-time model on the real OneMap drive times: accuracy by CV, matrix = pairs, time of day, CLI."""

from __future__ import annotations

import argparse
import json
import pickle
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from sgroute_assets.cli import eta as cli_eta
from sgroute_assets.domain.travel_times import (
    Observations,
    TravelTimeModel,
    baseline_predictions,
    bucket_centre_hour,
    error_summary,
    fit_model,
    load_default_model,
)
from sgroute_assets.domain.travel_times.baselines import loglog_cv
from sgroute_assets.domain.travel_times.drift import mape
from sgroute_assets.domain.travel_times.fitting import cross_validate
from sgroute_assets.domain.travel_times.model_terms import departure_hour_buckets
from sgroute_assets.domain.travel_times.training_config import TrainingConfig
from sgroute_assets.domain.travel_times.versions import DEFAULT_MODEL_PATH

# Coarser grids than the shipped model: the same code, a fraction of the columns, fast tests.
SMALL = TrainingConfig(area_step=0.08, corridor_step=0.04, corridor_samples=6, calibration_folds=3)


@pytest.fixture(scope="module")
def drive_times(shared_dir) -> pd.DataFrame:
    return pd.read_csv(shared_dir / "data" / "onemap_drive_times.csv")


@pytest.fixture(scope="module")
def obs(drive_times) -> Observations:
    return Observations.from_frame(drive_times)


def test_shipped_default_is_small_parameters_only_and_accurate(obs):
    text = DEFAULT_MODEL_PATH.read_text()
    assert len(text) < 100_000
    model = load_default_model()
    assert model.version.startswith("default-") and model.n_train == 1300 and not model.time_aware
    assert model.cv["folds"] == 5 and model.cv_mape <= 11.5

    def longest_list(value) -> int:
        if isinstance(value, dict):
            return max([longest_list(v) for v in value.values()] or [0])
        if isinstance(value, list):
            return max([len(value)] + [longest_list(v) for v in value])
        return 0

    # The largest arrays are grid fields (19 x 27 corridor nodes); nothing has one entry per training row.
    assert longest_list(json.loads(text)) < 1300
    predicted, _ = model.predict_pairs(obs.origin_lat, obs.origin_lon, obs.dest_lat, obs.dest_lon)
    assert mape(obs.duration_s, predicted) < 11.0  # in-sample, a sanity check only


def test_five_fold_cv_beats_the_loglog_fit_and_the_baselines(obs):
    model_cv = cross_validate(obs, folds=5, seed=42).summary()
    loglog = loglog_cv(obs, folds=5, seed=42).summary()
    fallback = error_summary(obs.duration_s, baseline_predictions(obs, "haversine_x1.2_8.33ms"))
    flat = error_summary(obs.duration_s, baseline_predictions(obs, "haversine_9ms"))
    assert model_cv["mape"] < 11.2 and max(model_cv["fold_mape"]) < 12.0
    assert model_cv["mape"] < loglog["mape"] - 1.0
    assert loglog["mape"] < fallback["mape"] < flat["mape"]
    assert 22.0 < fallback["mape"] < 24.0 and 35.0 < flat["mape"] < 37.0


def test_matrix_equals_pairs_zero_diagonal_and_sensible_short_legs(obs, sg_points):
    model = load_default_model()
    pts = sg_points.sample(40, random_state=3)
    lats, lons = pts.lat.to_numpy(), pts.lon.to_numpy()
    duration, distance = model.predict_matrix(lats, lons, block_rows=7)  # several blocks
    i, j = np.meshgrid(np.arange(40), np.arange(40), indexing="ij")
    pd_, pm_ = model.predict_pairs(lats[i], lons[i], lats[j], lons[j])
    np.testing.assert_allclose(duration, pd_, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(distance, pm_, rtol=1e-4, atol=1e-3)
    assert np.all(np.diag(duration) == 0) and np.all(duration[~np.eye(40, dtype=bool)] > 0)
    # Below the 1 km of the training data the model continues as a power law: 200 m < 500 m < 1 km legs.
    step = np.array([0.0, 0.0018, 0.0045, 0.009])  # ~0, 200, 500, 1000 m north
    d, m = model.predict_matrix(1.33 + step, np.full(4, 103.85))
    assert 0 < d[0, 1] < d[0, 2] < d[0, 3] < 600 and 150 < m[0, 1] < m[0, 2] < m[0, 3] < 4000


def test_serialised_and_pickled_models_predict_the_same(obs):
    model = load_default_model()
    again = TravelTimeModel.from_json(model.to_json())
    unpickled = pickle.loads(pickle.dumps(model))
    args = (obs.origin_lat[:50], obs.origin_lon[:50], obs.dest_lat[:50], obs.dest_lon[:50])
    np.testing.assert_allclose(again.predict_pairs(*args)[0], model.predict_pairs(*args)[0], rtol=1e-9)
    np.testing.assert_allclose(unpickled.predict_pairs(*args)[1], model.predict_pairs(*args)[1], rtol=1e-9)


def _timed(drive_times: pd.DataFrame, n: int) -> Observations:
    """Real legs driven at 08:00 (30 % slower than OneMap's night time) and again at 22:00 (as at night)."""
    rows = drive_times.sample(n, random_state=5)
    morning = rows.assign(actual_duration_s=rows.actual_duration_s * 1.3, timestamp_iso="2026-03-03T08:10:00+08:00")
    evening = rows.assign(timestamp_iso="2026-03-03T22:10:00+08:00")
    return Observations.from_frame(pd.concat([morning, evening], ignore_index=True))


def test_time_of_day_is_learned_when_timestamps_vary_and_changes_the_plan_matrix(drive_times, sg_points):
    night_only = fit_model(Observations.from_frame(drive_times.sample(300, random_state=1)), SMALL, cv_folds=None)
    assert not night_only.time_aware
    model = fit_model(_timed(drive_times, 300), SMALL, cv_folds=None)
    assert model.time_aware and model.spec.use_hour and not model.spec.use_dow
    pts = sg_points.sample(30, random_state=2)
    lats, lons = pts.lat.to_numpy(), pts.lon.to_numpy()
    morning, _ = model.predict_matrix(lats, lons, depart_hour=8.5)
    evening, _ = model.predict_matrix(lats, lons, depart_hour=22.5)
    off = ~np.eye(30, dtype=bool)
    ratio = np.median(morning[off] / evening[off])
    assert 1.2 < ratio < 1.4
    i, j = np.meshgrid(np.arange(30), np.arange(30), indexing="ij")
    pairs, _ = model.predict_pairs(lats[i], lons[i], lats[j], lons[j], depart_hour=8.5)
    np.testing.assert_allclose(morning, pairs, rtol=1e-4, atol=1e-3)
    unknown, _ = model.predict_pairs(lats[i], lons[i], lats[j], lons[j])  # no time: the training average
    assert np.all(evening[off] < unknown[off]) and np.all(unknown[off] < morning[off])
    # Per-leg hours (n, n) give the same cells as a scalar hour when they are all equal.
    np.testing.assert_allclose(model.predict_matrix(lats, lons, depart_hour=np.full((30, 30), 8.5))[0], morning)
    # Plans: the same stops planned from 07:00 and from 21:00 get different matrices; a night-only model does not care.
    am, _, am_hours = model.predict_plan_matrix(lats, lons, shift_start_min=7 * 60, vehicles=3)
    pm, _, pm_hours = model.predict_plan_matrix(lats, lons, shift_start_min=21 * 60, vehicles=3)
    assert np.median(am[off] / pm[off]) > 1.15
    assert am_hours[0, 1] == 7.5 and am_hours.max() > 7.5  # later stops leave in later buckets
    n1, _, _ = night_only.predict_plan_matrix(lats, lons, shift_start_min=7 * 60)
    n2, _, _ = night_only.predict_plan_matrix(lats, lons, shift_start_min=21 * 60)
    np.testing.assert_array_equal(n1, n2)


def test_departure_hour_buckets_follow_depot_legs_windows_and_route_position():
    # Depot + 4 stops; every leg 10 min, stop 3 has a 13:00-14:00 window; 2 vehicles, 10 min service.
    legs = np.full((5, 5), 600.0)
    np.fill_diagonal(legs, 0.0)
    legs[0, 4] = 3 * 3600.0  # stop 4 is 3 h from the depot
    hours = departure_hour_buckets(
        legs,
        shift_start_min=8 * 60,
        service_min=[0, 10, 10, 10, 10],
        tw_start_min=[None, None, None, 13 * 60, None],
        tw_end_min=[None, None, None, 14 * 60, None],
        vehicles=2,
    )
    assert hours.shape == (5, 5)
    assert hours[0, 1] == 8.5 and hours[0, 0] == 8.5  # depot legs leave at the shift start
    assert hours[0, 3] == 12.5  # ... or as late as the window allows: arrive 13:00 after a 10 min leg
    assert hours[1, 2] == 8.5  # mid-route of 2 stops: about 17 min in, left after service -> 08:xx
    assert hours[3, 0] == 13.5  # windowed stop: expected inside its window, left after service
    assert hours[4, 1] == 11.5  # never before its 3 h depot leg: arrive 11:00, leave 11:10
    assert bucket_centre_hour(23.9 * 3600) == 23.5 and bucket_centre_hour(24.2 * 3600) == 0.5


def test_retraining_towards_the_default_moves_only_as_far_as_the_data_say(drive_times):
    default = load_default_model()
    rows = drive_times.sample(600, random_state=11)
    train, test = rows.iloc[:300], rows.iloc[300:]
    slower = Observations.from_frame(train.assign(actual_duration_s=train.actual_duration_s * 1.15))
    model = fit_model(slower, prior=default, cv_folds=None)
    assert model.prior_version == default.version
    held = Observations.from_frame(test)
    new, _ = model.predict_pairs(held.origin_lat, held.origin_lon, held.dest_lat, held.dest_lon)
    old, _ = default.predict_pairs(held.origin_lat, held.origin_lon, held.dest_lat, held.dest_lon)
    assert 1.11 < np.median(new / old) < 1.19


def _run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="sgroute")
    sub = parser.add_subparsers(dest="command", required=True)
    cli_eta.register(sub)
    args = parser.parse_args(argv)
    return args.func(args)


def test_eta_evaluate_on_a_split_of_the_shared_file(drive_times, tmp_path, capsys):
    shuffled = drive_times.sample(frac=1.0, random_state=21)
    train, test = shuffled.iloc[:1040], shuffled.iloc[1040:]
    train.to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "test.csv", index=False)
    assert (
        _run_cli(
            ["eta", "evaluate", "--train", str(tmp_path / "train.csv"), "--test", str(tmp_path / "test.csv"), "--json"]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"n_train", "n_test", "mape", "median_ape", "mae_s"}
    assert out["n_train"] == 1040 and out["n_test"] == 260
    assert out["mape"] < 12.0 and out["median_ape"] < out["mape"] and 40 < out["mae_s"] < 120
    # A test file with a bad row: reported on stderr, left out, still evaluated.
    bad = test.copy()
    bad["actual_duration_s"] = bad["actual_duration_s"].astype(object)
    bad.loc[bad.index[0], "actual_duration_s"] = "n/a"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    assert (
        _run_cli(
            ["eta", "evaluate", "--train", str(tmp_path / "train.csv"), "--test", str(tmp_path / "bad.csv"), "--json"]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert json.loads(captured.out)["n_test"] == 259 and "row 2" in captured.err
    assert (
        _run_cli(["eta", "evaluate", "--train", str(tmp_path / "missing.csv"), "--test", str(tmp_path / "test.csv")])
        == 2
    )


def test_eta_train_writes_a_loadable_model(drive_times, tmp_path, capsys):
    drive_times.sample(200, random_state=4).to_csv(tmp_path / "small.csv", index=False)
    out = tmp_path / "model.json"
    assert (
        _run_cli(["eta", "train", "--data", str(tmp_path / "small.csv"), "--out", str(out), "--folds", "3", "--json"])
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    model = TravelTimeModel.load(out)
    assert model.version == summary["version"] and model.n_train == 200 and model.cv["folds"] == 3


def test_fit_rejects_too_few_rows(obs):
    with pytest.raises(ValueError, match="at least 10"):
        fit_model(obs.subset(np.arange(5)), replace(SMALL), cv_folds=None)
