"""Trip logs in through their sensor as a hostile inbox would send them: names that clean to one key, a file
too large to read, a sensor that must not read bodies; locally and in the bucket (GCS emulator)."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

from sgroute_assets.travel_time import model_assets as tm
from sgroute_resources.app_database import AppDatabase
from sgroute_resources.app_tables import ObservedTravelTime
from sgroute_resources.gcs_trip_log_store import GCSTripLogStore
from sgroute_resources.travel_time_model_store import TravelTimeModelStore
from sgroute_resources.trip_log_store import LocalTripLogStore, TripLogTooLarge

ALL_ASSETS = tm.TRAVEL_TIME_MODEL_ASSETS + tm.TRAVEL_TIME_MODEL_CHECKS


class CountingLocalStore(LocalTripLogStore):
    """The real folder store, counting the bodies it is asked for (the sensor must ask for none)."""

    def read(self, name: str) -> bytes:
        CountingLocalStore.reads.append(name)
        return super().read(name)


CountingLocalStore.reads = []


@pytest.fixture(scope="module")
def drive_times(shared_dir) -> pd.DataFrame:
    return pd.read_csv(shared_dir / "data" / "onemap_drive_times.csv")


def _csv(rows: pd.DataFrame) -> str:
    out = rows[["origin_lat", "origin_lon", "dest_lat", "dest_lon", "actual_duration_s", "route_distance_m"]]
    return out.to_csv(index=False)


def _setup(app_db_url, trip_log_store):
    store = TravelTimeModelStore(app_db=AppDatabase(url=app_db_url))
    resources = {
        "app_db": store.app_db,
        "travel_time_model_store": store,
        "trip_log_store": trip_log_store,
        "io_manager": dg.InMemoryIOManager(),
    }
    defs = dg.Definitions(
        assets=tm.TRAVEL_TIME_MODEL_ASSETS,
        asset_checks=tm.TRAVEL_TIME_MODEL_CHECKS,
        jobs=tm.TRAVEL_TIME_MODEL_JOBS,
        sensors=tm.TRAVEL_TIME_MODEL_SENSORS,
        resources=resources,
    )
    return store, resources, defs


def _tick(instance, defs, resources, cursor=None):
    with dg.build_sensor_context(
        instance=instance, instance_ref=instance.get_ref(), cursor=cursor, resources=resources, definitions=defs
    ) as context:
        result = defs.resolve_sensor_def("trip_log_sensor").evaluate_tick(context)
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def _run(instance, resources, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        ALL_ASSETS,
        selection=dg.AssetSelection.assets(tm.trip_log_observations),
        partition_key=request.partition_key,
        instance=instance,
        resources=resources,
        tags=request.tags,
    )


def _loaded_per_partition(store: TravelTimeModelStore) -> dict[str, int]:
    with store.app_db.session() as db:
        rows = db.query(ObservedTravelTime.source_ref).all()
    counts: dict[str, int] = {}
    for (ref,) in rows:
        key = ref.rsplit(":", 1)[0]  # source_ref is "<partition key>:row<n>"
        counts[key] = counts.get(key, 0) + 1
    return counts


def test_colliding_names_are_two_partitions_each_with_its_own_rows(app_db_url, tmp_path, drive_times):
    folder = tmp_path / "actuals"
    folder.mkdir()
    (folder / "trip 1.csv").write_text(_csv(drive_times.iloc[:8]))
    (folder / "trip_1.csv").write_text(_csv(drive_times.iloc[8:13]))
    CountingLocalStore.reads.clear()
    store, resources, defs = _setup(app_db_url, CountingLocalStore(folder=str(folder)))
    with dg.instance_for_test() as instance:
        first = _tick(instance, defs, resources)
        assert CountingLocalStore.reads == []  # listed and claimed, nothing read
        keys = {r.tags[tm.SOURCE_NAME_TAG]: r.partition_key for r in first.run_requests}
        assert keys["trip_1.csv"] == "trip_1.csv" and keys["trip 1.csv"].startswith("trip_1_")
        for request in first.run_requests:
            assert _run(instance, resources, request).success
        assert _loaded_per_partition(store) == {keys["trip 1.csv"]: 8, keys["trip_1.csv"]: 5}

        # A backfill from the UI carries no tags: the stored mapping still finds each key's own file.
        result = dg.materialize(
            ALL_ASSETS,
            selection=dg.AssetSelection.assets(tm.trip_log_observations),
            partition_key=keys["trip 1.csv"],
            instance=instance,
            resources=resources,
        )
        assert result.success
        assert _loaded_per_partition(store) == {keys["trip 1.csv"]: 8, keys["trip_1.csv"]: 5}
        assert _tick(instance, defs, resources, first.cursor).run_requests == []


def test_a_file_over_the_limit_is_refused_unread_said_once_and_others_go_on(
    app_db_url, tmp_path, drive_times, monkeypatch
):
    monkeypatch.setenv("SGROUTE_TRIP_LOG_MAX_BYTES", "2000")
    folder = tmp_path / "actuals"
    folder.mkdir()
    (folder / "big.csv").write_text(_csv(drive_times.iloc[:200]))
    (folder / "small.csv").write_text(_csv(drive_times.iloc[:5]))
    CountingLocalStore.reads.clear()
    store, resources, defs = _setup(app_db_url, CountingLocalStore(folder=str(folder)))
    with dg.instance_for_test() as instance:
        first = _tick(instance, defs, resources)
        assert [r.tags[tm.SOURCE_NAME_TAG] for r in first.run_requests] == ["small.csv"]
        assert CountingLocalStore.reads == []
        assert "big.csv" in first.cursor  # remembered as refused: the next tick does not say it again
        assert _tick(instance, defs, resources, first.cursor).run_requests == []
        with pytest.raises(TripLogTooLarge, match=r"big\.csv: .* over the limit of 2,000"):
            resources["trip_log_store"].read("big.csv")
        assert CountingLocalStore.reads == ["big.csv"]  # asked, refused before reading


def test_bucket_trip_logs_get_collision_free_keys_and_load(app_db_url, gcs_bucket, drive_times):
    from dagster_gcp import GCSResource

    gcs_bucket.blob("actuals/trip 1.csv").upload_from_string(_csv(drive_times.iloc[:6]))
    gcs_bucket.blob("actuals/trip_1.csv").upload_from_string(_csv(drive_times.iloc[6:9]))
    gcs_bucket.blob("actuals/nested/x.csv").upload_from_string(_csv(drive_times.iloc[:2]))
    trip_logs = GCSTripLogStore(gcs=GCSResource(project="sgroute-test"), bucket=gcs_bucket.name)
    store, resources, defs = _setup(app_db_url, trip_logs)
    with dg.instance_for_test() as instance:
        first = _tick(instance, defs, resources)
        keys = {r.tags[tm.SOURCE_NAME_TAG]: r.partition_key for r in first.run_requests}
        assert set(keys) == {"trip 1.csv", "trip_1.csv"} and len(set(keys.values())) == 2
        for request in first.run_requests:
            assert _run(instance, resources, request).success
        assert _loaded_per_partition(store) == {keys["trip 1.csv"]: 6, keys["trip_1.csv"]: 3}
