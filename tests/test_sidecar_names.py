"""Sidecar names as the README writes them (issue 23): `<stop file name>.fleet.csv` literally
(`orders.csv.fleet.csv`) works like `orders.fleet.csv`, for every sidecar kind; a sidecar whose stop file is
not in the inbox is said once, with the names looked for (issue 24: `x.overrides.csv` waited silently)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg
import pytest
from sensor_ticks import stop_file_tick

from sgroute_assets.domain.stops import find_sidecar, sidecar_kind, stop_file_names_for
from sgroute_assets.domain.stops.overrides import sidecar_names_for
from sgroute_resources.app_database import AppDatabase
from sgroute_resources.stop_file_store import LocalStopFileStore

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


@pytest.fixture
def app_db(app_db_url: str) -> AppDatabase:
    return AppDatabase(url=app_db_url)


def test_both_names_of_every_sidecar_kind_map_to_the_stop_file() -> None:
    for mark in (".fleet", ".sequence", ".overrides"):
        names = sidecar_names_for("orders.csv", mark)
        assert names[:2] == [f"orders{mark}.csv", f"orders{mark}.xlsx"]
        assert f"orders.csv{mark}.csv" in names and f"orders.csv{mark}.xlsx" in names
        assert sidecar_kind(f"orders.csv{mark}.csv") == mark[1:]
        assert stop_file_names_for(f"orders.csv{mark}.csv") == ["orders.csv"]
        assert stop_file_names_for(f"orders{mark}.csv") == ["orders.csv", "orders.xlsx"]


def test_the_literal_fleet_name_is_used_by_the_plan(make_local_resources, app_db_url, tmp_path, materialise) -> None:
    resources = make_local_resources(app_db_url)
    name = "east_west_tight_windows.csv"
    (tmp_path / "inbox" / name).write_bytes((DEMO / name).read_bytes())
    (tmp_path / "inbox" / f"{name}.fleet.csv").write_text("name,count,capacity\nVan,3,30\nLorry,1,80\n")
    store = resources["stop_file_store"]
    assert find_sidecar(store, name, ".fleet")[0] == f"{name}.fleet.csv"
    fast = {"ops": {"route_plan": {"config": {"solver_time_limit_s": 1.0}}}}
    with dg.instance_for_test() as instance:
        result = materialise(instance, resources, name, fast)
        assert result.success
        plan = result.asset_value("route_plan")
    assert [t.name for t in plan.fleet.vehicle_types] == ["Van", "Lorry"]


def test_a_literal_sidecar_change_replans_and_a_lone_sidecar_is_said_once(tmp_path, app_db, monkeypatch) -> None:
    monkeypatch.setenv("SGROUTE_INBOX_MIN_AGE_S", "0")
    store = LocalStopFileStore(
        inbox=str(tmp_path / "inbox"), exports_dir=str(tmp_path / "exports"), quarantine_dir=str(tmp_path / "q")
    )
    inbox = Path(store.inbox)
    inbox.mkdir(parents=True)
    (inbox / "week12.csv").write_text("stop_ref,lat,lon\nA1,1.2862,103.8533\n")
    (inbox / "week12.csv.fleet.csv").write_text("name,count,capacity\nVan,2,30\n")
    (inbox / "x.overrides.csv").write_text("stop_ref,lat,lon\nA1,1.30,103.85\n")
    with dg.instance_for_test() as instance:
        first = stop_file_tick(instance, store, app_db)
        assert [r.partition_key for r in first.run_requests] == ["week12.csv"]
        assert "x.overrides.csv" in first.cursor and "x.csv or x.xlsx" in first.cursor  # remembered as said
        (inbox / "week12.csv.fleet.csv").write_text("name,count,capacity\nVan,3,30\n")
        os.utime(inbox / "week12.csv.fleet.csv", ns=(time.time_ns() + 10**9,) * 2)
        changed = stop_file_tick(instance, store, app_db, first.cursor)
        (rerun,) = changed.run_requests
        assert rerun.partition_key == "week12.csv" and rerun.tags["sgroute/fleet"] == "week12.csv.fleet.csv"


def test_progress_and_add_files_rerun_their_stop_file_once_per_version(tmp_path, app_db, monkeypatch) -> None:
    """Issue 18: the sensor takes the day's progress and urgent-stop files like fleet files, once per version."""
    monkeypatch.setenv("SGROUTE_INBOX_MIN_AGE_S", "0")
    store = LocalStopFileStore(
        inbox=str(tmp_path / "inbox"), exports_dir=str(tmp_path / "exports"), quarantine_dir=str(tmp_path / "q")
    )
    inbox = Path(store.inbox)
    inbox.mkdir(parents=True)
    (inbox / "day.csv").write_text("stop_ref,lat,lon\nA1,1.2862,103.8533\n")
    with dg.instance_for_test() as instance:
        cursor = stop_file_tick(instance, store, app_db).cursor
        for kind, name in (("progress", "day.progress.csv"), ("add", "day.add.csv")):
            assert sidecar_kind(name) == kind and stop_file_names_for(name) == ["day.csv", "day.xlsx"]
            (inbox / name).write_text("vehicle,status,time\nVan 1,off,10:00\n")
            os.utime(inbox / name, ns=(time.time_ns() + 10**9,) * 2)
            tick = stop_file_tick(instance, store, app_db, cursor)
            (rerun,) = tick.run_requests
            assert rerun.partition_key == "day.csv" and rerun.tags[f"sgroute/{kind}"] == name
            assert kind in rerun.run_key
            cursor = tick.cursor
            assert stop_file_tick(instance, store, app_db, cursor).run_requests == []  # the same version: once
