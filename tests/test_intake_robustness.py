"""Intake that loses nothing: keys that never collide, ticks that never read bodies, copies that must settle,
quarantine that keeps every version, and ignored inbox entries logged once. Real folders, the GCS emulator, a
real SQLite app database and a real Dagster instance."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster_gcp import GCSResource
from sensor_ticks import stop_file_tick
from sqlalchemy import select, text

from sgroute_assets.domain.stops import partition_key_for, unique_partition_key
from sgroute_assets.domain.stops.partition_keys import MAX_KEY_LENGTH
from sgroute_assets.stop_intake.assets import stops
from sgroute_resources import migrations
from sgroute_resources.app_database import AppDatabase, engine_for
from sgroute_resources.app_tables import StopFileKey
from sgroute_resources.gcs_stop_file_store import GCSStopFileStore
from sgroute_resources.stop_file_store import LocalStopFileStore

CSV = "stop_ref,lat,lon\n{ref},1.30,103.85\n"


@pytest.fixture
def app_db(app_db_url: str) -> AppDatabase:
    return AppDatabase(url=app_db_url)


class BodylessLocalStore(LocalStopFileStore):
    """The real folder store, except that reading a body fails: what the sensor must never need."""

    def read(self, name: str, generation: str | None = None) -> bytes:
        raise AssertionError(f"the sensor read the body of {name}")


def local_store(tmp_path: Path, cls: type[LocalStopFileStore] = LocalStopFileStore) -> LocalStopFileStore:
    (tmp_path / "inbox").mkdir(exist_ok=True)
    return cls(inbox=str(tmp_path / "inbox"), exports_dir=str(tmp_path / "exports"), quarantine_dir=str(tmp_path / "q"))


def tick(instance, store, app_db, cursor=None) -> dg.SensorResult:
    return stop_file_tick(instance, store, app_db, cursor)


def read_partition(instance, store, app_db, key: str, tags: dict | None = None) -> dg.ExecuteInProcessResult:
    """The run's first step for a partition; without tags, as a Launchpad run of that partition."""
    return dg.materialize(
        [stops],
        resources={"stop_file_store": store, "app_db": app_db},
        instance=instance,
        partition_key=key,
        tags={k: v for k, v in (tags or {}).items() if not k.startswith("dagster/")},
        raise_on_error=False,
    )


def age(path: Path, seconds: float) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


# ----------------------------------------------------------------------------------------- partition keys


def test_a_taken_or_truncated_cleaned_name_gets_a_hash_of_the_full_name():
    assert unique_partition_key("week_1.csv", lambda k: False) == "week_1.csv"
    hashed = unique_partition_key("week 1.csv", lambda k: k == "week_1.csv")
    assert re.fullmatch(r"week_1_[0-9a-f]{8}\.csv", hashed)
    assert unique_partition_key("week 1.csv", lambda k: k == "week_1.csv") == hashed  # deterministic

    a, b = "x" * 125 + "_north.csv", "x" * 125 + "_south.csv"
    assert partition_key_for(a) == partition_key_for(b)  # what collided before
    ka, kb = unique_partition_key(a, lambda k: False), unique_partition_key(b, lambda k: False)
    assert ka != kb and ka.endswith(".csv") and kb.endswith(".csv")
    assert len(ka) <= MAX_KEY_LENGTH and len(kb) <= MAX_KEY_LENGTH

    # Every hashed form taken (never in practice): a counter keeps it going.
    seen: set[str] = set()
    for _ in range(3):
        seen.add(unique_partition_key("week 1.csv", lambda k: k in seen or k == "week_1.csv"))
    assert len(seen) == 3


def test_names_that_clean_to_one_key_get_two_partitions_and_keep_them(tmp_path, app_db, monkeypatch):
    monkeypatch.setenv("SGROUTE_INBOX_MIN_AGE_S", "0")
    store = local_store(tmp_path)
    inbox = Path(store.inbox)
    long_a, long_b = "r" * 118 + "_am.csv", "r" * 118 + "_pm.csv"
    for name in ("week 1.csv", "week_1.csv", long_a, long_b):
        (inbox / name).write_text(CSV.format(ref=name[-8:-4].replace(" ", "")))
    with dg.instance_for_test() as instance:
        first = tick(instance, store, app_db)
        keys = {r.tags["sgroute/source_name"]: r.partition_key for r in first.run_requests}
        assert len(keys) == 4 and len(set(keys.values())) == 4
        assert keys["week_1.csv"] == "week_1.csv"  # the file literally called that keeps the plain key
        assert keys["week 1.csv"] != "week_1.csv"
        assert sorted(instance.get_dynamic_partitions("stop_files")) == sorted(keys.values())

        # Each partition reads its own file, with or without the sensor's tags (a Launchpad re-run).
        for name, key in keys.items():
            for tags in (next(r.tags for r in first.run_requests if r.partition_key == key), None):
                run = read_partition(instance, store, app_db, key, tags)
                assert run.success
                assert run.asset_value("stops").attrs["file"] == name

        # A re-upload of one of them keeps its key.
        (inbox / "week 1.csv").write_text(CSV.format(ref="new"))
        age(inbox / "week 1.csv", -5)  # a distinct mtime even on a coarse clock
        again = tick(instance, store, app_db, first.cursor)
        (rerun,) = again.run_requests
        assert rerun.partition_key == keys["week 1.csv"] and again.dynamic_partitions_requests == []

    with app_db.session() as session:
        stored = dict(session.execute(select(StopFileKey.file_name, StopFileKey.partition_key)).all())
    assert stored == keys


def test_a_name_arriving_after_its_cleaned_twin_gets_its_own_partition_in_the_bucket(gcs_bucket, app_db):
    store = GCSStopFileStore(gcs=GCSResource(project="sgroute-test"), bucket=gcs_bucket.name)
    gcs_bucket.blob("incoming/week_1.csv").upload_from_string(CSV.format(ref="A"))
    with dg.instance_for_test() as instance:
        first = tick(instance, store, app_db)
        assert [r.partition_key for r in first.run_requests] == ["week_1.csv"]
        gcs_bucket.blob("incoming/week 1.csv").upload_from_string(CSV.format(ref="B"))
        second = tick(instance, store, app_db, first.cursor)
        (request,) = second.run_requests
        assert request.partition_key != "week_1.csv" and request.partition_key.startswith("week_1_")
        assert len(instance.get_dynamic_partitions("stop_files")) == 2
        for key, ref in (("week_1.csv", "A"), (request.partition_key, "B")):
            run = read_partition(instance, store, app_db, key)
            assert run.success and list(run.asset_value("stops")["stop_ref"]) == [ref]
        # The first file's re-upload (a new generation) stays on its partition.
        gcs_bucket.blob("incoming/week_1.csv").upload_from_string(CSV.format(ref="A2"))
        (rerun,) = tick(instance, store, app_db, second.cursor).run_requests
        assert rerun.partition_key == "week_1.csv"


def test_the_migration_keeps_the_keys_of_existing_partitions(tmp_path, monkeypatch):
    monkeypatch.setenv("SGROUTE_INBOX_MIN_AGE_S", "0")  # the file is written whole before the tick
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrations.upgrade(url, "0002_drift_details")
    with engine_for(url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO stop_files (partition_key, file_name, status, received_at) "
                "VALUES ('Week_12.csv', 'Week 12.csv', 'planned', CURRENT_TIMESTAMP)"
            )
        )
    migrations.upgrade(url)
    db = AppDatabase(url=url)
    with db.session() as session:
        assert session.scalar(select(StopFileKey.partition_key).where(StopFileKey.file_name == "Week 12.csv")) == (
            "Week_12.csv"
        )
    # A later `Week_12.csv` no longer lands in that partition.
    store = local_store(tmp_path)
    (Path(store.inbox) / "Week_12.csv").write_text(CSV.format(ref="X"))
    age(Path(store.inbox) / "Week_12.csv", 60)
    with dg.instance_for_test() as instance:
        (request,) = tick(instance, store, db).run_requests
    assert request.partition_key != "Week_12.csv"


# --------------------------------------------------------------------------------- claims without reading


def test_a_tick_claims_files_by_listing_alone_and_the_run_reads_them(tmp_path, app_db, monkeypatch):
    monkeypatch.setenv("SGROUTE_INBOX_MIN_AGE_S", "0")  # the files are written whole before the ticks
    store = local_store(tmp_path, BodylessLocalStore)
    inbox = Path(store.inbox)
    (inbox / "good.csv").write_text(CSV.format(ref="A1"))
    (inbox / "broken.xlsx").write_bytes(b"PK\x03\x04 garbage")
    (inbox / "stops.overrides.csv").write_text("stop_ref,lat,lon\nA1,1.3,103.8\n")
    (inbox / "stops.csv").write_text(CSV.format(ref="A1"))
    for path in inbox.iterdir():
        age(path, 60)
    with dg.instance_for_test() as instance:
        first = tick(instance, store, app_db)
        assert sorted(r.partition_key for r in first.run_requests) == ["broken.xlsx", "good.csv", "stops.csv"]
        (inbox / "stops.overrides.csv").write_text("stop_ref,lat,lon\nA1,1.31,103.81\n")
        age(inbox / "stops.overrides.csv", 30)
        (rerun,) = tick(instance, store, app_db, first.cursor).run_requests
        assert rerun.partition_key == "stops.csv" and rerun.tags["sgroute/overrides"] == "stops.overrides.csv"
        assert not Path(store.quarantine_dir).exists()  # nothing was read, so nothing judged unreadable

        readable = local_store(tmp_path)
        key_tags = {r.partition_key: r.tags for r in first.run_requests}
        assert read_partition(instance, readable, app_db, "good.csv", key_tags["good.csv"]).success
        assert not read_partition(instance, readable, app_db, "broken.xlsx", key_tags["broken.xlsx"]).success
    assert [p.name for p in Path(store.quarantine_dir).iterdir() if p.suffix == ".xlsx"]


def test_a_file_still_being_copied_is_taken_only_once_it_settles(tmp_path, app_db, monkeypatch, capfd):
    """The tick that first sees a file looks again once the settle time has passed: a copy still going on then is
    not taken; the next tick's two looks see it whole."""
    monkeypatch.setenv("SGROUTE_INBOX_MIN_AGE_S", "0.5")
    store = local_store(tmp_path)
    part = Path(store.inbox) / "week 9.csv"
    with dg.instance_for_test() as instance:
        with part.open("w") as copying:
            copying.write("stop_ref,lat,lon\nA1,1.30,103.85\n")
            copying.flush()
            age(part, 60)  # a copy that stalled: its file looks a minute old, yet more is coming

            def go_on() -> None:  # the copy goes on while the tick waits for its second look
                for i in range(8):
                    time.sleep(0.1)
                    copying.write(f"B{i},1.31,103.86\n")
                    copying.flush()

            writer = threading.Thread(target=go_on)
            writer.start()
            first = tick(instance, store, app_db)
            writer.join()
            assert first.run_requests == []  # changed between the two looks
        started = time.monotonic()
        (request,) = tick(instance, store, app_db, first.cursor).run_requests
        assert time.monotonic() - started >= 0.5  # its own second look, the settle time after the first
        run = read_partition(instance, store, app_db, request.partition_key, request.tags)
        assert run.success and len(run.asset_value("stops")) == 9
    assert capfd.readouterr().err.count("waiting for week 9.csv to finish copying") == 1


def test_a_file_dated_in_the_future_is_taken_after_two_looks_a_minimum_age_apart(tmp_path, app_db, monkeypatch):
    monkeypatch.setenv("SGROUTE_INBOX_MIN_AGE_S", "0.5")
    store = local_store(tmp_path)
    path = Path(store.inbox) / "skewed.csv"
    path.write_text(CSV.format(ref="A1"))
    age(path, -3600)  # written by a machine whose clock is an hour ahead: its age says nothing
    with dg.instance_for_test() as instance:
        started = time.monotonic()
        (request,) = tick(instance, store, app_db).run_requests
        assert time.monotonic() - started >= 0.5
        assert request.partition_key == "skewed.csv"


def test_a_settle_time_longer_than_a_tick_is_left_to_later_ticks(tmp_path, app_db, monkeypatch):
    monkeypatch.setenv("SGROUTE_INBOX_MIN_AGE_S", "30")  # a slow network share
    store = local_store(tmp_path)
    (Path(store.inbox) / "share.csv").write_text(CSV.format(ref="A1"))
    with dg.instance_for_test() as instance:
        started = time.monotonic()
        first = tick(instance, store, app_db)
        assert first.run_requests == [] and time.monotonic() - started < 5  # the tick does not sleep 30 s
        assert tick(instance, store, app_db, first.cursor).run_requests == []  # too soon for the second look
        monkeypatch.setenv("SGROUTE_INBOX_MIN_AGE_S", "0.2")  # as if 30 s had passed since the first look
        time.sleep(0.3)
        (request,) = tick(instance, store, app_db, first.cursor).run_requests
        assert request.partition_key == "share.csv"


def test_bucket_objects_are_complete_when_listed(gcs_bucket, app_db, monkeypatch):
    monkeypatch.setenv("SGROUTE_INBOX_MIN_AGE_S", "3600")
    store = GCSStopFileStore(gcs=GCSResource(project="sgroute-test"), bucket=gcs_bucket.name)
    gcs_bucket.blob("incoming/now.csv").upload_from_string(CSV.format(ref="A1"))
    with dg.instance_for_test() as instance:
        assert [r.partition_key for r in tick(instance, store, app_db).run_requests] == ["now.csv"]


# ------------------------------------------------------------------------------------------- quarantine


def test_a_second_quarantined_file_of_the_same_name_keeps_the_first(tmp_path, app_db, monkeypatch):
    monkeypatch.setenv("SGROUTE_INBOX_MIN_AGE_S", "0")
    store = local_store(tmp_path)
    inbox, quarantine = Path(store.inbox), Path(store.quarantine_dir)
    with dg.instance_for_test() as instance:
        cursor = None
        for attempt in ("first", "second"):
            (inbox / "notes.txt").write_text(f"{attempt} version")
            cursor = tick(instance, store, app_db, cursor).cursor
            (inbox / "stops.xlsx").write_bytes(f"PK\x03\x04 {attempt} broken workbook".encode())
            age(inbox / "stops.xlsx", -len(attempt))  # a new mtime each time
            result = tick(instance, store, app_db, cursor)
            cursor = result.cursor
            (request,) = result.run_requests
            assert not read_partition(instance, store, app_db, request.partition_key, request.tags).success
    for stem, suffix in (("notes", ".txt"), ("stops", ".xlsx")):
        kept = sorted(p for p in quarantine.glob(f"{stem}.*{suffix}"))
        assert len(kept) == 2 and b"first" in kept[0].read_bytes() and b"second" in kept[1].read_bytes()
        for path in kept:
            assert re.fullmatch(rf"{stem}\.\d{{8}}T\d{{12}}Z{re.escape(suffix)}", path.name)
            report = json.loads(path.with_name(path.name + ".report.json").read_text())
            assert report["file"] == stem + suffix and report["problem"]
            assert report["quarantined_as"] == path.resolve().as_uri()
    assert len(store.quarantine_reports("stops.xlsx")) == 2


def test_a_second_quarantined_object_of_the_same_name_keeps_the_first(gcs_bucket, app_db):
    store = GCSStopFileStore(gcs=GCSResource(project="sgroute-test"), bucket=gcs_bucket.name)
    generations = []
    with dg.instance_for_test() as instance:
        cursor = None
        for attempt in ("first", "second"):
            blob = gcs_bucket.blob("incoming/notes.txt")
            blob.upload_from_string(f"{attempt} version")
            generations.append(blob.generation)
            cursor = tick(instance, store, app_db, cursor).cursor
    for generation, attempt in zip(generations, ("first", "second"), strict=True):
        name = f"quarantine/notes.{generation}.txt"
        assert gcs_bucket.blob(name).download_as_bytes() == f"{attempt} version".encode()
        report = json.loads(gcs_bucket.blob(name + ".report.json").download_as_bytes())
        assert report["generation"] == str(generation) and report["file"] == "notes.txt"


# ---------------------------------------------------------------------------------------- ignored entries


def test_ignored_local_entries_are_logged_once_with_the_reason(tmp_path, app_db, monkeypatch, capfd):
    monkeypatch.setenv("SGROUTE_INBOX_MIN_AGE_S", "0")
    store = local_store(tmp_path)
    inbox = Path(store.inbox)
    (inbox / ".week 3.csv.partial").write_text("stop_ref\n")
    (inbox / "archive").mkdir()
    (inbox / "archive" / "old.csv").write_text(CSV.format(ref="A1"))
    (inbox / "good.csv").write_text(CSV.format(ref="A1"))
    with dg.instance_for_test() as instance:
        cursor = None
        for _ in range(3):
            cursor = tick(instance, store, app_db, cursor).cursor
        err = capfd.readouterr().err
        assert err.count("ignoring inbox entry .week 3.csv.partial: hidden file") == 1
        assert err.count("ignoring inbox entry archive: not a file (a folder?)") == 1

        # Gone, then back: logged again, once.
        (inbox / ".week 3.csv.partial").unlink()
        cursor = tick(instance, store, app_db, cursor).cursor
        (inbox / ".week 3.csv.partial").write_text("stop_ref\n")
        for _ in range(2):
            cursor = tick(instance, store, app_db, cursor).cursor
        assert capfd.readouterr().err.count("ignoring inbox entry .week 3.csv.partial") == 1


def test_bucket_sub_folders_are_logged_once_with_the_reason(gcs_bucket, app_db, capfd):
    store = GCSStopFileStore(gcs=GCSResource(project="sgroute-test"), bucket=gcs_bucket.name)
    gcs_bucket.blob("incoming/2026-11/week 1.csv").upload_from_string(CSV.format(ref="A1"))
    gcs_bucket.blob("incoming/2026-11/week 2.csv").upload_from_string(CSV.format(ref="A2"))
    gcs_bucket.blob("incoming/top.csv").upload_from_string(CSV.format(ref="A3"))
    with dg.instance_for_test() as instance:
        first = tick(instance, store, app_db)
        assert [r.partition_key for r in first.run_requests] == ["top.csv"]
        cursor = first.cursor
        for _ in range(2):
            cursor = tick(instance, store, app_db, cursor).cursor
    err = capfd.readouterr().err
    assert err.count("ignoring inbox entry 2026-11/: a sub-folder: only objects directly under incoming/") == 1
