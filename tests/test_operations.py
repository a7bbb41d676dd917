"""Operations of the code location with real parts: real failed runs recorded by the run-failure sensor, and
retention deleting real exports and real pickles (local folders and the GCS emulator) of old partitions only."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import dagster as dg
import pytest
from dagster_gcp import GCSResource
from sqlalchemy import func, select, update

from sgroute_assets.definitions import defs
from sgroute_assets.operations.failed_runs import LOG_EVENT, record_failed_runs
from sgroute_assets.operations.retention import remove_expired, retention_days, retention_job
from sgroute_assets.route_planning.run_resources import K8S_CONFIG_TAG, run_pod_tags
from sgroute_resources import migrations
from sgroute_resources.app_database import AppDatabase, engine_for
from sgroute_resources.app_tables import FailedRun, RoutePlanRecord, StopFile
from sgroute_resources.gcs_io_manager import CheckedGCSPickleIOManager
from sgroute_resources.gcs_stop_file_store import GCSStopFileStore

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
FAST = {"ops": {"route_plan": {"config": {"solver_time_limit_s": 1.0}}}}
ROUTE_ASSETS = ("stops", "validated_stops", "geocoded_stops", "travel_time_matrix", "route_plan", "route_exports")


@pytest.fixture(params=["sqlite", "postgres"])
def any_app_db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'app.db'}"
    else:
        url = request.getfixturevalue("pg_database")["app_url"]
    migrations.upgrade(url)
    return url


def _evaluate_failure_sensor(instance, result, app_db_url: str) -> None:
    context = dg.build_run_status_sensor_context(
        sensor_name="record_failed_runs",
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources={"app_db": AppDatabase(url=app_db_url)},
    ).for_run_failure()
    record_failed_runs(context)


def _failed_rows(url: str) -> list[FailedRun]:
    with engine_for(url).connect() as conn:
        return list(conn.execute(select(FailedRun)).all())


def test_a_failed_route_run_is_recorded_once_with_partition_step_and_plain_reason(
    any_app_db_url, make_local_resources, materialise, capsys
):
    """The file behind the partition is gone: the stops step fails, and the row and log line say so plainly."""
    resources = make_local_resources(any_app_db_url)
    with dg.instance_for_test() as instance:
        result = materialise(instance, resources, "vanished.csv", FAST)
        assert not result.success
        capsys.readouterr()
        _evaluate_failure_sensor(instance, result, any_app_db_url)
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
        _evaluate_failure_sensor(instance, result, any_app_db_url)  # a retried tick: still one row
    (row,) = _failed_rows(any_app_db_url)
    assert row.run_id == result.run_id and row.job_name == result.dagster_run.job_name
    assert row.partition_key == "vanished.csv" and row.step_key == "stops"
    assert row.error_type == "Failure"  # the stops step turns StopFileNotFound into a dg.Failure
    assert row.reason.startswith("no stop file for partition 'vanished.csv'"), row.reason
    assert "Traceback" not in row.reason and not row.reason.startswith("Failure")
    (line,) = [entry for entry in lines if entry["event"] == LOG_EVENT]
    assert line["severity"] == "ERROR" and line["run_id"] == result.run_id
    assert (line["partition_key"], line["step_key"]) == ("vanished.csv", "stops")
    assert "failed at step stops" in line["message"] and row.reason in line["message"]


def test_a_file_with_no_valid_row_is_recorded_with_its_plain_reason(
    app_db_url, make_local_resources, materialise, tmp_path
):
    resources = make_local_resources(app_db_url)
    (tmp_path / "inbox" / "none_valid.csv").write_text("stop_ref,address,postal_code,lat,lon,demand\nX1,,12345,,,1\n")
    with dg.instance_for_test() as instance:
        result = materialise(instance, resources, "none_valid.csv", FAST)
        assert not result.success
        _evaluate_failure_sensor(instance, result, app_db_url)
        tags = instance.get_run_by_id(result.run_id).tags
    (row,) = _failed_rows(app_db_url)
    assert row.step_key == "geocoded_stops" and row.error_type == "Failure"
    assert row.reason.startswith("none_valid.csv has no valid stop row; first problems: "), row.reason
    # The Runs list shows run tags: the plain reason is one, so a dispatcher sees why without opening the run.
    assert tags["sgroute/failure"] == row.reason[:200]


def test_operations_are_registered_in_the_code_location():
    assert defs.resolve_sensor_def("record_failed_runs").default_status == dg.DefaultSensorStatus.RUNNING
    schedule = defs.resolve_schedule_def("retention_schedule")
    assert schedule.job_name == "retention_job" and schedule.execution_timezone == "Asia/Singapore"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_route_planning_job_asks_for_a_modest_pod_which_the_environment_can_raise(monkeypatch):
    # Locally no run gets a pod: the Runs list of `make dev` carries no dagster-k8s/config tag.
    assert K8S_CONFIG_TAG not in defs.resolve_job_def("route_planning_job").tags
    assert run_pod_tags() == {}
    monkeypatch.setenv("SGROUTE_ENV", "prod")
    resources = json.loads(run_pod_tags()[K8S_CONFIG_TAG])["container_config"]["resources"]
    assert resources == {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
    monkeypatch.setenv("SGROUTE_RUN_MEMORY_LIMIT", "8Gi")
    raised = json.loads(run_pod_tags()[K8S_CONFIG_TAG])["container_config"]["resources"]
    assert raised["limits"] == {"cpu": "2", "memory": "8Gi"}


def test_retention_days_come_from_the_environment_and_refuse_less_than_a_day(monkeypatch):
    assert retention_days() == 90
    monkeypatch.setenv("SGROUTE_RETENTION_DAYS", "30")
    assert retention_days() == 30 and retention_days(7) == 7
    with pytest.raises(ValueError, match="use >= 1"):
        retention_days(0.5)
    monkeypatch.setenv("SGROUTE_RETENTION_DAYS", "ninety")
    with pytest.raises(ValueError, match="not a number of days"):
        retention_days()


def _age(url: str, key: str, days: float) -> None:
    when = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    with engine_for(url).begin() as conn:
        conn.execute(update(StopFile).where(StopFile.partition_key == key).values(received_at=when, processed_at=when))


def _count(url: str, table) -> int:
    with engine_for(url).connect() as conn:
        return conn.scalar(select(func.count()).select_from(table))


def test_retention_removes_old_local_exports_and_pickles_and_keeps_the_rest(
    app_db_url, make_local_resources, materialise, tmp_path, monkeypatch, capsys
):
    resources = make_local_resources(app_db_url)
    for name in ("old.csv", "new.csv"):
        shutil.copy(DEMO / "orchard_central_deliveries.csv", tmp_path / "inbox" / name)
    storage, exports = tmp_path / "storage", tmp_path / "exports"
    with dg.instance_for_test() as instance:
        for name in ("old.csv", "new.csv"):
            assert materialise(instance, resources, name, FAST).success
        _age(app_db_url, "old.csv", days=100)
        _age(app_db_url, "new.csv", days=10)
        for name in ("old.csv", "new.csv"):
            assert all((storage / asset / name).is_file() for asset in ROUTE_ASSETS)
            assert (exports / name / "manifest.json").is_file()

        # A dry run lists, deletes nothing.
        dry = remove_expired(
            app_db=AppDatabase(url=app_db_url),
            store=resources["stop_file_store"],
            io_manager=resources["io_manager"].create_io_manager(dg.build_init_resource_context(instance=instance)),
            max_age_days=90,
            dry_run=True,
        )
        assert list(dry.removed) == ["old.csv"] and (storage / "stops" / "old.csv").is_file()

        monkeypatch.setenv("SGROUTE_RETENTION_DAYS", "90")
        capsys.readouterr()
        result = retention_job.execute_in_process(resources=resources, instance=instance)
        assert result.success
    assert not (exports / "old.csv").exists()
    assert not any((storage / asset / "old.csv").exists() for asset in ROUTE_ASSETS)
    assert all((storage / asset / "new.csv").is_file() for asset in ROUTE_ASSETS)
    assert (exports / "new.csv" / "manifest.json").is_file()
    # History stays: both stop files and both plans are still in the app tables.
    assert _count(app_db_url, StopFile) == 2 and _count(app_db_url, RoutePlanRecord) == 2
    (line,) = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith('{"')]
    removed = line["removed"]["old.csv"]
    assert len(removed) == 1 + len(ROUTE_ASSETS)  # the exports folder and one pickle per route asset
    assert line["max_age_days"] == 90 and not line["dry_run"] and "new.csv" not in line["removed"]

    # Another night: nothing left to remove; a partition with a run in flight is left alone.
    _age(app_db_url, "new.csv", days=120)
    again = remove_expired(
        app_db=AppDatabase(url=app_db_url),
        store=resources["stop_file_store"],
        io_manager=dg.FilesystemIOManager(base_dir=str(storage)).create_io_manager(dg.build_init_resource_context()),
        max_age_days=90,
        in_flight={"new.csv"},
    )
    assert again.removed == {} and again.skipped_in_flight == ["new.csv"]
    assert (storage / "stops" / "new.csv").is_file()


def test_retention_removes_old_partitions_from_the_bucket(gcs_bucket, app_db_url, make_local_resources, materialise):
    gcs = GCSResource(project="sgroute-test")
    store = GCSStopFileStore(gcs=gcs, bucket=gcs_bucket.name)
    io = CheckedGCSPickleIOManager(gcs=gcs, gcs_bucket=gcs_bucket.name, gcs_prefix="dagster")
    resources = {**make_local_resources(app_db_url), "stop_file_store": store, "io_manager": io}
    for name in ("old.csv", "old.csv.csv", "new.csv"):  # old.csv is a prefix of old.csv.csv
        gcs_bucket.blob(f"incoming/{name}").upload_from_string((DEMO / "orchard_central_deliveries.csv").read_bytes())
    with dg.instance_for_test() as instance:
        for name in ("old.csv", "old.csv.csv", "new.csv"):
            assert materialise(instance, resources, name, selection=["stops", "validated_stops"]).success
        _age(app_db_url, "old.csv", days=200)
        _age(app_db_url, "old.csv.csv", days=1)
        _age(app_db_url, "new.csv", days=1)
        before = {b.name for b in gcs_bucket.list_blobs()}
        assert {"dagster/stops/old.csv", "dagster/validated_stops/old.csv"} <= before
        assert "exports/old.csv/validation_report.json" in before
        assert retention_job.execute_in_process(resources=resources, instance=instance).success
    after = {b.name for b in gcs_bucket.list_blobs()}
    expected = {n for n in before if n.startswith("exports/old.csv/")}
    assert expected and before - after == expected | {"dagster/stops/old.csv", "dagster/validated_stops/old.csv"}
    assert "dagster/stops/old.csv.csv" in after and "exports/old.csv.csv/validation_report.json" in after
    assert "incoming/old.csv" in after  # the stop file itself is the user's: a re-run rebuilds everything
