"""The travel-time model in Dagster with a real SQLite (and Postgres) app database and real files:
trip logs in through the sensor, drift checked by the scheduled job, ERROR -> retrain -> new version used."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from sgroute_assets.domain.travel_times import load_default_model
from sgroute_assets.travel_time import model_assets as tm
from sgroute_resources import migrations
from sgroute_resources.app_database import AppDatabase
from sgroute_resources.app_tables import DriftReport, ObservedTravelTime
from sgroute_resources.travel_time_model_store import ModelTravelTimes, TravelTimeModelStore
from sgroute_resources.trip_log_store import LocalTripLogStore

ALL_ASSETS = tm.TRAVEL_TIME_MODEL_ASSETS + tm.TRAVEL_TIME_MODEL_CHECKS


@pytest.fixture(scope="module")
def drive_times(shared_dir) -> pd.DataFrame:
    return pd.read_csv(shared_dir / "data" / "onemap_drive_times.csv")


@pytest.fixture
def setup(app_db_url, tmp_path):
    actuals = tmp_path / "actuals"
    actuals.mkdir()
    store = TravelTimeModelStore(app_db=AppDatabase(url=app_db_url))
    resources = {
        "app_db": store.app_db,
        "travel_time_model_store": store,
        "trip_log_store": LocalTripLogStore(folder=str(actuals)),
        "io_manager": dg.FilesystemIOManager(base_dir=str(tmp_path / "io")),
    }
    defs = dg.Definitions(
        assets=tm.TRAVEL_TIME_MODEL_ASSETS,
        asset_checks=tm.TRAVEL_TIME_MODEL_CHECKS,
        jobs=tm.TRAVEL_TIME_MODEL_JOBS,
        sensors=tm.TRAVEL_TIME_MODEL_SENSORS,
        schedules=tm.TRAVEL_TIME_MODEL_SCHEDULES,
        resources=resources,
    )
    with dg.instance_for_test() as instance:
        yield {"store": store, "resources": resources, "defs": defs, "instance": instance, "actuals": actuals}


def _tick(setup, sensor_name: str, cursor: str | None = None):
    instance = setup["instance"]
    with dg.build_sensor_context(
        instance=instance,
        instance_ref=instance.get_ref(),
        cursor=cursor,
        resources=setup["resources"],
        definitions=setup["defs"],
    ) as context:
        result = setup["defs"].resolve_sensor_def(sensor_name).evaluate_tick(context)
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def _trip_log(rows: pd.DataFrame, factor: float = 1.0, timestamp: str = "") -> str:
    out = rows[["origin_lat", "origin_lon", "dest_lat", "dest_lon"]].copy()
    out["actual_duration_s"] = (rows["actual_duration_s"] * factor).round(1)
    out["route_distance_m"] = rows["route_distance_m"]
    out["timestamp_iso"] = timestamp
    return out.to_csv(index=False)


def _check_results(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_trip_log_sensor_loads_good_rows_and_reports_bad_ones(setup, drive_times):
    good = _trip_log(drive_times.iloc[:40], timestamp="2026-03-02T08:15:00")
    bad_lines = "1.30,103.85,1.35,103.90,abc,,\n103.85,1.30,1.35,103.90,900,,\n"
    (setup["actuals"] / "week 10.csv").write_text(good + bad_lines)
    (setup["actuals"] / "notes.txt").write_text("not a trip log")
    first = _tick(setup, "trip_log_sensor")
    assert [r.partition_key for r in first.run_requests] == ["week_10.csv"]
    assert _tick(setup, "trip_log_sensor", first.cursor).run_requests == []  # nothing new

    result = dg.materialize(
        ALL_ASSETS,
        selection=dg.AssetSelection.assets(tm.trip_log_observations),
        partition_key="week_10.csv",
        instance=setup["instance"],
        resources=setup["resources"],
    )
    assert result.success
    metadata = result.asset_materializations_for_node("trip_log_observations")[0].metadata
    assert metadata["loaded_rows"].value == 40 and metadata["invalid_rows"].value == 2
    issues = metadata["issues"].value.records
    assert {(r.data["row"], r.data["column"]) for r in issues} == {
        (42, "actual_duration_s"),
        (43, "origin_lat"),
        (43, "origin_lon"),
    }
    check = _check_results(result)["trip_log_rows_valid"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    with setup["store"].app_db.session() as db:
        rows = db.query(ObservedTravelTime).all()
    assert len(rows) == 40 and {r.source for r in rows} == {"trip_log"}
    assert rows[0].observed_at is not None

    # A corrected file replaces the partition's rows instead of adding to them.
    (setup["actuals"] / "week 10.csv").write_text(good)
    again = _tick(setup, "trip_log_sensor", first.cursor)
    assert len(again.run_requests) == 1 and again.run_requests[0].run_key != first.run_requests[0].run_key
    assert dg.materialize(
        ALL_ASSETS,
        selection=dg.AssetSelection.assets(tm.trip_log_observations),
        partition_key="week_10.csv",
        instance=setup["instance"],
        resources=setup["resources"],
    ).success
    assert setup["store"].count_observations() == {"trip_log": 40}


def test_too_few_observations_keep_the_shipped_default(setup):
    result = dg.materialize(
        ALL_ASSETS,
        selection=dg.AssetSelection.assets(tm.travel_time_model),
        instance=setup["instance"],
        resources=setup["resources"],
    )
    assert result.success
    default = load_default_model()
    assert result.output_for_node("travel_time_model").version == default.version
    versions = setup["store"].versions()
    assert [(v["version"], v["active"], v["n_train"]) for v in versions] == [(default.version, True, 1300)]
    assert versions[0]["cv_mape"] == default.cv_mape and versions[0]["artifact_uri"].startswith("dagster-run://")


def _insert_observations(store: TravelTimeModelStore, rows: pd.DataFrame, factor: float, tag: str) -> None:
    now = dt.datetime.now(dt.UTC)
    with store.app_db.session() as db:
        db.add_all(
            ObservedTravelTime(
                origin_lat=float(r.origin_lat),
                origin_lon=float(r.origin_lon),
                dest_lat=float(r.dest_lat),
                dest_lon=float(r.dest_lon),
                duration_s=float(r.actual_duration_s) * factor,
                distance_m=float(r.route_distance_m),
                observed_at=None,
                source="onemap",
                source_ref=f"{tag}:{i}",
                created_at=now,
            )
            for i, r in enumerate(rows.itertuples())
        )


def test_drift_error_triggers_a_retrain_whose_version_later_plans_use(setup, drive_times, sg_points):
    store, instance = setup["store"], setup["instance"]
    default = load_default_model()
    # 300 legs observed 15 % slower than the night-time OneMap file the default learnt from.
    _insert_observations(store, drive_times.sample(300, random_state=3), 1.15, "slow")

    drift_run = dg.materialize(
        ALL_ASSETS, selection=tm.DRIFT_SELECTION, instance=instance, resources=setup["resources"]
    )
    assert drift_run.success  # a failed non-blocking check is a finding, not a failed run
    check = _check_results(drift_run)["travel_time_drift_check"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    report = drift_run.output_for_node("travel_time_drift_report")
    assert report["severity"] == "ERROR" and report["model_version"] == default.version
    assert 1.12 < report["median_ratio"] < 1.19 and report["n_observations"] == 300
    metadata = drift_run.asset_materializations_for_node("travel_time_drift_report")[0].metadata
    assert metadata["plot"].value.startswith("![drift](data:image/png;base64,")
    with store.app_db.session() as db:
        row = db.query(DriftReport).one()
        assert (row.severity, row.n_observations, row.retrain_triggered) == ("ERROR", 300, False)
        assert set(row.psi) >= {"log_haversine", "origin_lat"}

    tick = _tick(setup, "travel_time_retrain_sensor")
    assert len(tick.run_requests) == 1 and tick.run_requests[0].run_key == f"drift-report-{row.id}"
    assert store.drift_reports()[0]["retrain_triggered"] is True
    assert _tick(setup, "travel_time_retrain_sensor").run_requests == []  # acted on once

    job = setup["defs"].resolve_job_def("travel_time_model_job")
    retrain = job.execute_in_process(instance=instance, tags=tick.run_requests[0].tags)
    assert retrain.success
    new = retrain.output_for_node("travel_time_model")
    assert new.version != default.version and new.prior_version == default.version and new.n_train == 300
    assert new.cv["folds"] == 5 and 5 < new.cv_mape < 15
    active = [v for v in store.versions() if v["active"]]
    assert [v["version"] for v in active] == [new.version]

    # Later plans get the new version: about 15 % longer legs than the default gave.
    pts = sg_points.sample(25, random_state=9)
    travel_times = ModelTravelTimes(store=store)
    matrix = travel_times.matrix(["DEPOT"] + [f"S{i}" for i in range(24)], pts.lat.to_numpy(), pts.lon.to_numpy(), "D")
    assert matrix.source == f"travel_time_model:{new.version}"
    before, _ = default.predict_matrix(pts.lat.to_numpy(), pts.lon.to_numpy(), depart_hour=8.5)
    off = ~np.eye(25, dtype=bool)
    assert 1.10 < np.median(matrix.duration_s[off] / before[off]) < 1.20
    plan = travel_times.plan_matrix(matrix.node_ids, matrix.lats, matrix.lons, "D", shift_start_min=8 * 60)
    np.testing.assert_allclose(plan.duration_s, matrix.duration_s)  # a night-trained model has no hours

    # The next drift run only looks at legs loaded after the new version was trained: nothing to judge yet.
    quiet = dg.materialize(ALL_ASSETS, selection=tm.DRIFT_SELECTION, instance=instance, resources=setup["resources"])
    assert quiet.output_for_node("travel_time_drift_report")["severity"] == "SKIPPED"
    assert _check_results(quiet)["travel_time_drift_check"].passed


def test_the_schedule_targets_the_drift_report_and_check(setup, monkeypatch):
    defs = setup["defs"]
    schedule = defs.resolve_schedule_def("travel_time_drift_schedule")
    assert schedule.cron_schedule == tm.DEFAULT_DRIFT_CRON and schedule.execution_timezone == "Asia/Singapore"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    job = defs.resolve_job_def(schedule.job_name)
    check_key = dg.AssetCheckKey(dg.AssetKey("travel_time_model"), "travel_time_drift_check")
    assert check_key in job.asset_layer.asset_graph.asset_check_keys
    resolved = tm.DRIFT_SELECTION.resolve_checks(defs.resolve_asset_graph())
    assert resolved == {check_key}
    assert tm.DRIFT_SELECTION.resolve(defs.resolve_asset_graph()) == {dg.AssetKey("travel_time_drift_report")}
    with dg.build_schedule_context(
        instance=setup["instance"], scheduled_execution_time=dt.datetime(2026, 3, 2, 3, 0)
    ) as context:
        data = schedule.evaluate_tick(context)
    assert len(data.run_requests) == 1

    monkeypatch.setenv("SGROUTE_DRIFT_CRON", "30 2 * * *")
    assert tm.build_drift_schedule().cron_schedule == "30 2 * * *"
    monkeypatch.setenv("SGROUTE_DRIFT_CRON", "every monday")
    with pytest.raises(dg.DagsterInvalidDefinitionError, match="SGROUTE_DRIFT_CRON"):
        tm.build_drift_schedule()


def test_model_versions_observations_and_drift_rows_on_postgres(pg_database, drive_times):
    url = pg_database["app_url"]
    migrations.upgrade(url)
    store = TravelTimeModelStore(app_db=AppDatabase(url=url))
    default = load_default_model()
    assert store.active_model().version == default.version  # empty database: the shipped default
    store.register(default, artifact_uri="test://default")
    _insert_observations(store, drive_times.iloc[:50], 1.0, "pg")
    obs = store.load_observations()
    assert len(obs) == 50 and np.isnan(obs.depart_hour).all()  # OneMap legs carry no departure time
    from sgroute_assets.domain.travel_times import fit_model
    from sgroute_assets.domain.travel_times.training_config import TrainingConfig

    small = TrainingConfig(area_step=0.08, corridor_step=0.04)
    model = fit_model(obs, small, prior=None, cv_folds=None)
    store.register(model, artifact_uri="test://new")
    assert [v["version"] for v in store.versions() if v["active"]] == [model.version]
    reloaded = store.active_model()
    assert reloaded.version == model.version
    np.testing.assert_allclose(
        reloaded.predict_pairs(obs.origin_lat, obs.origin_lon, obs.dest_lat, obs.dest_lon)[0],
        model.predict_pairs(obs.origin_lat, obs.origin_lon, obs.dest_lat, obs.dest_lon)[0],
    )
    store.register(default, artifact_uri="test://default")  # re-activating an old version
    assert store.active_model().version == default.version and len(store.versions()) == 2
