"""The sensor against a real inbox folder and a real (temporary) Dagster instance."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import dagster as dg
import pytest
from sensor_ticks import stop_file_tick

from sgroute_assets.domain.stops import partition_key_for
from sgroute_resources.app_database import AppDatabase
from sgroute_resources.stop_file_store import LocalStopFileStore

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


@pytest.fixture(autouse=True)
def _files_written_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests write each file completely before ticking, so none needs to wait for a copy to settle
    (tests/test_intake_robustness.py covers the wait)."""
    monkeypatch.setenv("SGROUTE_INBOX_MIN_AGE_S", "0")


@pytest.fixture
def app_db(app_db_url: str) -> AppDatabase:
    return AppDatabase(url=app_db_url)


@pytest.fixture
def store(tmp_path: Path) -> LocalStopFileStore:
    return LocalStopFileStore(
        inbox=str(tmp_path / "inbox"),
        exports_dir=str(tmp_path / "exports"),
        quarantine_dir=str(tmp_path / "quarantine"),
    )


def tick(instance: dg.DagsterInstance, store: LocalStopFileStore, cursor: str | None, app_db: AppDatabase):
    """One daemon-like tick: evaluate, then apply the partition requests as the daemon would."""
    return stop_file_tick(instance, store, app_db, cursor)


def test_new_files_become_partitions_with_runs_and_a_repeat_tick_does_nothing(store, app_db):
    Path(store.inbox).mkdir(parents=True)
    for f in DEMO.glob("*.csv"):
        shutil.copy(f, Path(store.inbox) / f.name)
    with dg.instance_for_test() as instance:
        first = tick(instance, store, None, app_db)
        keys = sorted(r.partition_key for r in first.run_requests)
        assert keys == sorted(partition_key_for(f.name) for f in DEMO.glob("*.csv"))
        assert sorted(instance.get_dynamic_partitions("stop_files")) == keys
        assert all(r.run_key.startswith(f"{r.partition_key}:") for r in first.run_requests)
        assert all(r.tags["dagster/partition"] == r.partition_key for r in first.run_requests)

        # Same cursor after a restart (a fresh evaluation): nothing new.
        again = tick(instance, store, first.cursor, app_db)
        assert again.run_requests == [] and again.dynamic_partitions_requests == []


def test_changed_content_reruns_its_partition_and_a_repeat_tick_does_not(store, app_db):
    inbox = Path(store.inbox)
    inbox.mkdir(parents=True)
    target = inbox / "Week 12 deliveries.csv"
    target.write_text("stop_ref,lat,lon\nA1,1.30,103.85\n")
    with dg.instance_for_test() as instance:
        first = tick(instance, store, None, app_db)
        (request,) = first.run_requests
        assert request.partition_key == "Week_12_deliveries.csv"

        touched = tick(instance, store, first.cursor, app_db)  # nothing changed
        assert touched.run_requests == []

        target.write_text("stop_ref,lat,lon\nA1,1.30,103.85\nA2,1.31,103.86\n")
        os.utime(target, ns=(target.stat().st_mtime_ns + 5_000_000_000,) * 2)  # a coarse-mtime file system
        changed = tick(instance, store, touched.cursor, app_db)
        (rerun,) = changed.run_requests
        assert rerun.partition_key == request.partition_key and rerun.run_key != request.run_key
        assert changed.dynamic_partitions_requests == []  # the partition already exists
        assert instance.get_dynamic_partitions("stop_files") == ["Week_12_deliveries.csv"]


def test_unsupported_files_are_quarantined_by_the_tick_and_unreadable_ones_by_their_run(store, app_db):
    from sgroute_assets.stop_intake.assets import stops

    inbox = Path(store.inbox)
    inbox.mkdir(parents=True)
    (inbox / "notes.txt").write_text("not a stop file")
    (inbox / "broken.xlsx").write_bytes(b"PK\x03\x04garbage")
    (inbox / "good.csv").write_text("stop_ref,lat,lon\nA1,1.30,103.85\n")
    quarantine = Path(store.quarantine_dir)
    with dg.instance_for_test() as instance:
        result = tick(instance, store, None, app_db)
        # The tick reads no file: only the name tells that notes.txt is no stop file.
        assert sorted(r.partition_key for r in result.run_requests) == ["broken.xlsx", "good.csv"]
        assert [p.name for p in quarantine.iterdir() if not p.name.endswith(".json")][0].startswith("notes.")
        request = next(r for r in result.run_requests if r.partition_key == "broken.xlsx")
        run = dg.materialize(
            [stops],
            resources={"stop_file_store": store, "app_db": app_db},
            instance=instance,
            partition_key=request.partition_key,
            tags=request.tags,
            raise_on_error=False,
        )
        assert not run.success
        failure = next(e for e in run.all_events if e.event_type_value == "STEP_FAILURE")
        assert "not a readable Excel" in failure.step_failure_data.error.message
    kept = sorted(p.name for p in quarantine.iterdir() if not p.name.endswith(".report.json"))
    assert [n.split(".")[0] for n in kept] == ["broken", "notes"] and kept[0].endswith(".xlsx")
    report = json.loads((quarantine / f"{kept[0]}.report.json").read_text())
    assert report["file"] == "broken.xlsx" and "not a readable Excel" in report["problem"]
    assert report["run_id"] == run.run_id
    assert (quarantine / kept[0]).read_bytes() == b"PK\x03\x04garbage"
    assert sorted(p.name for p in inbox.iterdir()) == ["good.csv"]


def test_a_deleted_file_is_not_reprocessed_and_others_are_untouched(store, app_db):
    inbox = Path(store.inbox)
    inbox.mkdir(parents=True)
    for name in ("a.csv", "b.csv"):
        (inbox / name).write_text(f"stop_ref,lat,lon\n{name},1.30,103.85\n")
    with dg.instance_for_test() as instance:
        first = tick(instance, store, None, app_db)
        assert len(first.run_requests) == 2
        (inbox / "a.csv").unlink()
        second = tick(instance, store, first.cursor, app_db)
        assert second.run_requests == []
        assert set(json.loads(second.cursor)["files"]) == {"b.csv"}


def test_overrides_file_is_no_partition_but_a_change_replans_its_stop_file(store, app_db):
    inbox = Path(store.inbox)
    inbox.mkdir(parents=True)
    (inbox / "week12.csv").write_text("stop_ref,address,postal_code\nA1,1 Fullerton Square,049178\n")
    (inbox / "week12.overrides.csv").write_text("stop_ref,lat,lon\nA1,1.2862,103.8533\n")
    with dg.instance_for_test() as instance:
        first = tick(instance, store, None, app_db)
        assert [r.partition_key for r in first.run_requests] == ["week12.csv"]
        assert instance.get_dynamic_partitions("stop_files") == ["week12.csv"]
        assert not Path(store.quarantine_dir).exists()
        assert tick(instance, store, first.cursor, app_db).run_requests == []

        (inbox / "week12.overrides.csv").write_text("stop_ref,lat,lon\nA1,1.2863,103.8534\n")
        os.utime(inbox / "week12.overrides.csv", ns=(time.time_ns() + 10**9,) * 2)
        changed = tick(instance, store, first.cursor, app_db)
        (rerun,) = changed.run_requests
        assert rerun.partition_key == "week12.csv" and rerun.run_key != first.run_requests[0].run_key
        assert rerun.tags["sgroute/overrides"] == "week12.overrides.csv"
        assert tick(instance, store, changed.cursor, app_db).run_requests == []
