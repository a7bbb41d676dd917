"""Stop files arriving in a bucket, asset values and exports in GCS: against the real GCS API of the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster_gcp import GCSResource
from sensor_ticks import stop_file_tick

from sgroute_assets.definitions import ROUTE_ASSETS, ROUTE_CHECKS
from sgroute_assets.stop_intake.stop_file_sensor import MAX_RUNS_PER_TICK, SensorCursor
from sgroute_resources.app_database import AppDatabase
from sgroute_resources.gcs_io_manager import CheckedGCSPickleIOManager, MissingBucketError
from sgroute_resources.gcs_stop_file_store import GCSStopFileStore

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
SMALL = b"stop_ref,lat,lon,demand\nA1,1.3000,103.8500,1\nA2,1.3100,103.8600,2\n"


@pytest.fixture
def store(gcs_bucket) -> GCSStopFileStore:
    return GCSStopFileStore(gcs=GCSResource(project="sgroute-test"), bucket=gcs_bucket.name)


@pytest.fixture
def app_db(app_db_url) -> AppDatabase:
    return AppDatabase(url=app_db_url)


def upload(bucket, name: str, data: bytes) -> None:
    bucket.blob(f"incoming/{name}").upload_from_string(data)


def tick(instance, store, app_db, cursor):
    return stop_file_tick(instance, store, app_db, cursor)


def run_until_quiet(instance, store, app_db, cursor, max_ticks=50):
    requests = []
    for _ in range(max_ticks):
        result = tick(instance, store, app_db, cursor)
        assert len(result.run_requests) <= MAX_RUNS_PER_TICK
        cursor = result.cursor
        requests.extend(result.run_requests)
        if not result.run_requests and SensorCursor.load(cursor).resume_after is None:
            return requests, cursor
    raise AssertionError("sensor never settled")


def test_300_files_in_batches_give_300_partitions_and_runs_exactly_once(gcs_bucket, store, app_db):
    requests, cursor = [], None
    with dg.instance_for_test() as instance:
        for batch in range(3):
            for i in range(100):
                upload(gcs_bucket, f"route_{batch}_{i:03d}.csv", SMALL.replace(b"A1", f"B{batch}{i}".encode()))
            new, cursor = run_until_quiet(instance, store, app_db, cursor)
            requests.extend(new)
        keys = [r.partition_key for r in requests]
        assert len(keys) == 300 and len(set(keys)) == 300
        assert len({r.run_key for r in requests}) == 300
        assert len(instance.get_dynamic_partitions("stop_files")) == 300
        for r in requests:
            assert r.run_key.startswith(r.partition_key + ":") and r.tags["sgroute/source"].startswith("gs://")

        # A restart: a fresh evaluation with the stored cursor finds nothing new.
        again = tick(instance, store, app_db, cursor)
        assert again.run_requests == [] and again.dynamic_partitions_requests == []


def test_each_tick_is_bounded(gcs_bucket, store, app_db):
    for i in range(MAX_RUNS_PER_TICK + 20):
        upload(gcs_bucket, f"f{i:03d}.csv", SMALL)
    with dg.instance_for_test() as instance:
        first = tick(instance, store, app_db, None)
        assert len(first.run_requests) == MAX_RUNS_PER_TICK
        assert SensorCursor.load(first.cursor).resume_after == f"f{MAX_RUNS_PER_TICK - 1:03d}.csv"
        second = tick(instance, store, app_db, first.cursor)
        assert len(second.run_requests) == 20
        assert {r.partition_key for r in first.run_requests}.isdisjoint(r.partition_key for r in second.run_requests)


def test_deleted_file_is_not_reprocessed_and_reupload_runs_once(gcs_bucket, store, app_db):
    for name in ("a.csv", "b.csv", "c.csv"):
        upload(gcs_bucket, name, SMALL)
    with dg.instance_for_test() as instance:
        first = tick(instance, store, app_db, None)
        assert len(first.run_requests) == 3
        gcs_bucket.blob("incoming/b.csv").delete()  # the old single-key cursor's failure mode
        after_delete = tick(instance, store, app_db, first.cursor)
        assert after_delete.run_requests == []
        assert set(SensorCursor.load(after_delete.cursor).files) == {"a.csv", "c.csv"}

        upload(gcs_bucket, "c.csv", SMALL)  # same bytes, new generation: the planner re-dropped it
        reupload = tick(instance, store, app_db, after_delete.cursor)
        (rerun,) = reupload.run_requests
        old = next(r for r in first.run_requests if r.partition_key == "c.csv")
        assert rerun.partition_key == "c.csv" and rerun.run_key != old.run_key
        assert rerun.tags["sgroute/version"] == str(gcs_bucket.get_blob("incoming/c.csv").generation)
        assert tick(instance, store, app_db, reupload.cursor).run_requests == []

    from sqlalchemy import select

    from sgroute_resources.app_tables import StopFile

    with app_db.session() as session:
        rows = {r.partition_key: r for r in session.scalars(select(StopFile))}
    assert rows["c.csv"].generation == rerun.tags["sgroute/version"]
    assert rows["a.csv"].source_uri == f"gs://{gcs_bucket.name}/incoming/a.csv"
    assert rows["a.csv"].content_hash is None  # the sensor never downloads: the run records the hash


def test_bad_files_are_quarantined_with_a_report_by_the_tick_or_their_run(gcs_bucket, store, app_db):
    from sgroute_assets.stop_intake.assets import stops

    upload(gcs_bucket, "notes.txt", b"call Ahmad about Tuesday")
    upload(gcs_bucket, "broken.xlsx", b"PK\x03\x04 not a workbook")
    upload(gcs_bucket, "latin1.csv", "stop_ref\nCaf\xe9\n".encode("latin-1"))
    upload(gcs_bucket, "good.csv", SMALL)
    generations = {b.name.removeprefix("incoming/"): b.generation for b in gcs_bucket.list_blobs(prefix="incoming/")}
    with dg.instance_for_test() as instance:
        result = tick(instance, store, app_db, None)
        # Only the name is known to the tick: notes.txt goes at once, the others are read by their runs.
        assert sorted(r.partition_key for r in result.run_requests) == ["broken.xlsx", "good.csv", "latin1.csv"]
        for request in result.run_requests:
            run = dg.materialize(
                [stops],
                resources={"stop_file_store": store, "app_db": app_db},
                instance=instance,
                partition_key=request.partition_key,
                tags=request.tags,
                raise_on_error=False,
            )
            assert run.success == (request.partition_key == "good.csv")
    names = {b.name for b in gcs_bucket.list_blobs()}
    assert "incoming/good.csv" in names
    for bad, suffix in (("notes", ".txt"), ("broken", ".xlsx"), ("latin1", ".csv")):
        quarantined = f"quarantine/{bad}.{generations[bad + suffix]}{suffix}"
        assert f"incoming/{bad}{suffix}" not in names
        assert quarantined in names  # moved, never deleted, under its generation
        report = json.loads(gcs_bucket.blob(f"{quarantined}.report.json").download_as_bytes())
        assert report["file"] == bad + suffix and report["problem"]
    assert b"Ahmad" in gcs_bucket.blob(f"quarantine/notes.{generations['notes.txt']}.txt").download_as_bytes()
    latin = json.loads(
        gcs_bucket.blob(f"quarantine/latin1.{generations['latin1.csv']}.csv.report.json").download_as_bytes()
    )
    assert "not UTF-8" in latin["problem"]


def test_partition_materialised_with_gcs_io_manager_and_exports_in_the_bucket(
    gcs_bucket, store, app_db, app_db_url, monkeypatch
):
    from sgroute_assets.resources import resources_for

    name = "east_west_tight_windows.csv"
    upload(gcs_bucket, name, (DEMO / name).read_bytes())
    gcs = GCSResource(project="sgroute-test")
    monkeypatch.setenv("DATABASE_URL", app_db_url)  # every resource on the test's database, none on the repo's
    resources = {
        **resources_for("local"),
        "stop_file_store": store,
        "app_db": app_db,
        "io_manager": CheckedGCSPickleIOManager(gcs=gcs, gcs_bucket=gcs_bucket.name, gcs_prefix="dagster"),
    }
    with dg.instance_for_test() as instance:
        (request,) = tick(instance, store, app_db, None).run_requests
        result = dg.materialize(
            [*ROUTE_ASSETS, *ROUTE_CHECKS],
            resources=resources,
            instance=instance,
            partition_key=request.partition_key,
            tags=request.tags,
            run_config={"ops": {"route_plan": {"config": {"solver_time_limit_s": 1.0}}}},
        )
        assert result.success
        written = result.asset_value("route_exports")
    names = {b.name for b in gcs_bucket.list_blobs()}
    for asset in ("stops", "validated_stops", "geocoded_stops", "travel_time_matrix", "route_plan", "route_exports"):
        assert f"dagster/{asset}/{name}" in names
    assert f"exports/{name}/validation_report.json" in names
    # The plan's files live under their own prefix, which exports/<partition>/manifest.json points at.
    manifest = json.loads(gcs_bucket.blob(f"exports/{name}/manifest.json").download_as_bytes())
    plan_prefix = manifest["location"].removeprefix(f"gs://{gcs_bucket.name}/")
    assert plan_prefix.startswith(f"exports/{name}/plans/{manifest['plan_id']}-")
    for export in ("planner.csv", "driver_pack.pdf", "route_map.png", "routes.geojson", "unplanned_stops.csv"):
        assert f"{plan_prefix}{export}" in names and export in manifest["files"]
    assert written["planner.csv"] == f"gs://{gcs_bucket.name}/{plan_prefix}planner.csv"
    pdf = gcs_bucket.get_blob(f"{plan_prefix}driver_pack.pdf")
    assert pdf.content_type == "application/pdf" and pdf.download_as_bytes().startswith(b"%PDF")


def test_bucket_exports_are_swapped_in_whole(gcs_bucket, store):
    """A re-plan with fewer vehicles leaves no old driver sheet; the manifest switches in one object write."""
    first = store.publish_exports("p.csv", {"planner.csv": b"a", "drivers/V01.csv": b"1", "drivers/V02.csv": b"2"},
                                  {"plan_id": "aaaa"})  # fmt: skip
    assert first["drivers/V02.csv"].startswith(f"gs://{gcs_bucket.name}/exports/p.csv/plans/aaaa-")
    assert store.read_export_manifest("p.csv")["plan_id"] == "aaaa"
    second = store.publish_exports("p.csv", {"planner.csv": b"b", "drivers/V01.csv": b"1"}, {"plan_id": "bbbb"})
    names = sorted(b.name for b in gcs_bucket.list_blobs(prefix="exports/p.csv/"))
    plan_prefix = second["planner.csv"].removeprefix(f"gs://{gcs_bucket.name}/").removesuffix("planner.csv")
    assert names == sorted(
        ["exports/p.csv/manifest.json", *(plan_prefix + n for n in ("planner.csv", "drivers/V01.csv", "manifest.json"))]
    )
    manifest = store.read_export_manifest("p.csv")
    assert manifest["plan_id"] == "bbbb" and manifest["files"] == ["drivers/V01.csv", "planner.csv"]
    assert store.browser_url(second["planner.csv"]).startswith("https://storage.cloud.google.com/" + gcs_bucket.name)


def test_missing_bucket_fails_with_a_clear_message(gcs_emulator):
    @dg.asset
    def numbers() -> list[int]:
        return [1, 2, 3]

    io = CheckedGCSPickleIOManager(gcs=GCSResource(project="sgroute-test"), gcs_bucket="no-such-bucket-xyz")
    with pytest.raises(MissingBucketError, match="GCS bucket 'no-such-bucket-xyz' for asset storage does not exist"):
        dg.materialize([numbers], resources={"io_manager": io})


def test_prod_definitions_load_with_gcs_resources(gcs_emulator):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SGROUTE_")}
    env.update(
        {
            "SGROUTE_ENV": "prod",
            "DATABASE_URL": "postgresql+psycopg://app:s3cret-pw@db.internal:5432/sgroute",
            "SGROUTE_BUCKET": "sgroute-prod",
        }
    )
    code = (
        "from sgroute_assets.definitions import defs;"
        "r = defs.resources; print(type(r['stop_file_store']).__name__, type(r['io_manager']).__name__,"
        " r['stop_file_store'].bucket); defs.resolve_sensor_def('stop_file_sensor')"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["GCSStopFileStore", "CheckedGCSPickleIOManager", "sgroute-prod"]
    assert "s3cret-pw" not in proc.stdout + proc.stderr

    del env["SGROUTE_BUCKET"]
    missing = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert missing.returncode != 0 and "SGROUTE_ENV=prod needs SGROUTE_BUCKET" in missing.stderr
    assert "s3cret-pw" not in missing.stderr


def test_bucket_keeps_every_revisions_exports(gcs_bucket, store):
    """Issue 18: rev-NN/ copies live beside the plan prefixes; a later revision's publish never deletes them."""
    store.publish_exports("r.csv", {"planner.csv": b"1", "rev-01/planner.csv": b"1"}, {"plan_id": "aaaa"})
    second = store.publish_exports(
        "r.csv", {"planner.csv": b"2", "rev-02/planner.csv": b"2"}, {"plan_id": "bbbb", "revision": 2}
    )
    assert second["rev-02/planner.csv"] == f"gs://{gcs_bucket.name}/exports/r.csv/rev-02/planner.csv"
    names = {b.name for b in gcs_bucket.list_blobs(prefix="exports/r.csv/")}
    assert {"exports/r.csv/rev-01/planner.csv", "exports/r.csv/rev-02/planner.csv"} <= names
    assert gcs_bucket.blob("exports/r.csv/rev-01/planner.csv").download_as_bytes() == b"1"
    assert store.read_export_manifest("r.csv")["revisions"] == ["rev-01", "rev-02"]
