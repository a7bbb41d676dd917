"""A demo partition materialised end to end through the real assets, checks and embedded resources."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
from dagster import DagsterEventType

from sgroute_assets.definitions import defs
from sgroute_assets.domain.routing import RoutePlan

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
FAST = {"ops": {"route_plan": {"config": {"solver_time_limit_s": 2.0}}}}


@pytest.fixture
def local_env(make_local_resources, app_db_url: str) -> dict:
    return make_local_resources(app_db_url)


def test_definitions_load_with_the_contract_names():
    assert defs.resolve_job_def("route_planning_job").partitions_def.name == "stop_files"
    assert defs.resolve_sensor_def("stop_file_sensor") is not None
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"stops", "validated_stops", "geocoded_stops", "travel_time_matrix", "route_plan", "route_exports"} <= keys


def test_tight_window_demo_partition_end_to_end(local_env, tmp_path, materialise):
    name = "east_west_tight_windows.csv"
    shutil.copy(DEMO / name, tmp_path / "inbox" / name)
    with dg.instance_for_test() as instance:
        result = materialise(instance, local_env, name, FAST)
        assert result.success
        report = result.asset_value("validated_stops")
        plan: RoutePlan = result.asset_value("route_plan")
        written = result.asset_value("route_exports")

        # Two planted bad rows are reported by row and column and kept out of the plan; a foreign phone and a
        # malformed postal code beside good coordinates are warnings, and those stops are planned.
        assert report.invalid_count == 2
        assert {(i.row, i.column) for i in report.issues} == {(20, "tw_end"), (26, "demand")}
        assert {(w.row, w.column) for w in report.warnings} == {(9, "phone"), (15, "postal_code")}
        served = {v.stop.stop_ref for r in plan.routes for v in r.visits}
        dropped = {d.stop.stop_ref for d in plan.dropped}
        assert served | dropped == {s.stop_ref for s in report.valid_stops}
        assert not served & dropped
        counts = plan.row_counts()
        assert counts["rows"] == len(report.rows) == sum(v for k, v in counts.items() if k != "rows")
        assert counts["invalid"] == 2 and plan.plan_date and plan.plan_id
        assert all(d.reason and d.message for d in plan.dropped)
        for route in plan.routes:
            for visit in route.visits:
                s = visit.stop
                if s.tw_start_min is not None:
                    assert s.tw_start_min * 60 <= visit.service_start_s <= s.tw_end_min * 60

        # Files landed where the exports asset says, and they agree with the plan.
        exports = tmp_path / "exports" / name
        expected = {
            "planner.csv",
            "dropped_stops.csv",
            "routes.geojson",
            "route_map.png",
            "driver_pack.pdf",
            "validation_report.json",
            "validation_issues.csv",
        }
        assert expected <= {p.name for p in exports.iterdir()}
        assert sorted(p.name for p in (exports / "drivers").iterdir()) == sorted(
            f"{r.vehicle_id}.csv" for r in plan.routes
        )
        assert all(Path(path).exists() for path in written.values())
        rows = list(csv.DictReader(io.StringIO((exports / "planner.csv").read_text(encoding="utf-8-sig"))))
        assert len(rows) == plan.stops_served
        # validation_issues.csv is the plan's too: its errors and warnings, each with the plan's columns.
        issues = list(csv.DictReader(io.StringIO((exports / "validation_issues.csv").read_text(encoding="utf-8-sig"))))
        assert {(int(i["row"]), i["column"], i["kind"]) for i in issues} == {
            (20, "tw_end", "error"),
            (26, "demand", "error"),
            (9, "phone", "warning"),
            (15, "postal_code", "warning"),
        }
        assert {(i["plan_id"], i["plan_date"], i["depot"]) for i in issues} == {
            (plan.plan_id, plan.plan_date, plan.fleet.depot_name)
        }
        geo = json.loads((exports / "routes.geojson").read_text())
        assert sum(f["geometry"]["type"] == "LineString" for f in geo["features"]) == plan.vehicles_used
        assert (exports / "driver_pack.pdf").read_bytes().startswith(b"%PDF")

        # The UI sees a markdown summary with the map embedded and the totals.
        event = instance.get_latest_materialization_event(dg.AssetKey("route_plan"))
        metadata = event.asset_materialization.metadata
        assert "data:image/png;base64," in metadata["summary"].value
        assert metadata["stops_served"].value == plan.stops_served
        assert metadata["stops_dropped"].value == len(plan.dropped)
        assert metadata["stops_invalid"].value == 2 and metadata["rows"].value == counts["rows"]
        assert list(metadata)[0] == "summary", "the page leads with the summary and its map"


def test_rerun_overwrites_the_same_files(local_env, tmp_path, materialise):
    name = "orchard_central_deliveries.csv"
    shutil.copy(DEMO / name, tmp_path / "inbox" / name)
    with dg.instance_for_test() as instance:
        root = tmp_path / "exports" / name

        def current() -> list[Path]:  # the current set; each plan's own copy is kept under rev-NN/ (issue 18)
            files = (p.relative_to(root) for p in root.rglob("*") if p.is_file())
            return sorted(p for p in files if not p.parts[0].startswith("rev-"))

        assert materialise(instance, local_env, name, FAST).success
        before, first = current(), sorted(p.relative_to(root / "rev-01") for p in (root / "rev-01").rglob("*"))
        assert materialise(instance, local_env, name, FAST).success
        after, second = current(), sorted(p.relative_to(root / "rev-02") for p in (root / "rev-02").rglob("*"))
        assert before == after
        assert first == second and (root / "rev-01" / "planner.csv").is_file()  # the first plan's files stay


def test_a_file_without_valid_rows_fails_on_its_plain_reason(local_env, tmp_path, materialise):
    """The run's failure (its RUN_FAILURE event's first step failure, what the run page and Runs list show)
    is the plain sentence, not Dagster's "blocking asset check failed"; the check says the same on the asset."""
    name = "all_bad.csv"
    (tmp_path / "inbox" / name).write_text("stop_ref,postal_code,phone\nA1,123,+44 20 7946 0958\n,,\n")
    with dg.instance_for_test() as instance:
        result = materialise(instance, local_env, name, FAST)
        assert not result.success
        evaluations = result.get_asset_check_evaluations()
        assert len(evaluations) == 1 and not evaluations[0].passed
        assert "all_bad.csv has no valid stop row" in evaluations[0].description
        assert "row 2, column postal_code" in evaluations[0].description
        planned = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey("route_plan")]
        assert planned == []
        (run_failure,) = instance.get_records_for_run(result.run_id, of_type=DagsterEventType.RUN_FAILURE).records
        first = run_failure.event_log_entry.dagster_event.event_specific_data.first_step_failure_event
        error = first.step_failure_data.error
        assert first.step_key == "geocoded_stops" and error.cls_name == "Failure"
        assert error.message.startswith("dagster._core.definitions.events.Failure: all_bad.csv has no valid stop row")
        assert "row 2, column postal_code" in error.message
    # Every row is still in the issues file, with this run's plan id.
    issues = list(
        csv.DictReader(io.StringIO((tmp_path / "exports" / name / "validation_issues.csv").read_text("utf-8-sig")))
    )
    assert {i["row"] for i in issues} == {"2"} and {i["plan_id"] for i in issues} == {result.run_id[:8]}


def test_stops_without_coordinates_are_reported_not_invented(local_env, tmp_path, materialise):
    name = "mixed.csv"
    (tmp_path / "inbox" / name).write_text(
        "stop_ref,address,postal_code,lat,lon\nA1,,,1.3000,103.8500\nA2,1 Fullerton Square,049178,,\n"
    )
    with dg.instance_for_test() as instance:
        result = materialise(instance, local_env, name, FAST)
        assert result.success
        geocoded = result.asset_value("geocoded_stops")
        assert [s.stop_ref for s in geocoded.located] == ["A1"]
        (attention,) = geocoded.needs_attention
        assert attention.stop.stop_ref == "A2" and "no geocoder is configured" in attention.reason
        plan = result.asset_value("route_plan")
        assert [v.stop.stop_ref for r in plan.routes for v in r.visits] == ["A1"]
        # The unlocated stop is in the plan's totals and its unplanned list, not only in geocoded_stops.
        assert plan.row_counts() == {"rows": 2, "served": 1, "dropped": 0, "invalid": 0, "not_located": 1}
        assert [(u.stop_ref, u.status) for u in plan.unplanned()] == [("A2", "not_located")]


def test_a_time_aware_model_makes_morning_and_evening_plans_differ(local_env, tmp_path, shared_dir, materialise):
    """The matrix is predicted at each leg's departure bucket, and the plan takes its shift from the matrix."""
    import pandas as pd

    from sgroute_assets.domain.travel_times import Observations, fit_model
    from sgroute_assets.domain.travel_times.training_config import TrainingConfig

    drive = pd.read_csv(shared_dir / "data" / "onemap_drive_times.csv").sample(300, random_state=5)
    rush = drive.assign(actual_duration_s=drive.actual_duration_s * 1.3, timestamp_iso="2026-03-03T08:10:00+08:00")
    night = drive.assign(timestamp_iso="2026-03-03T22:10:00+08:00")
    config = TrainingConfig(area_step=0.08, corridor_step=0.04, corridor_samples=6, calibration_folds=3)
    model = fit_model(Observations.from_frame(pd.concat([rush, night], ignore_index=True)), config, cv_folds=None)
    assert model.time_aware
    local_env["travel_time_model_store"].register(model, artifact_uri=None, activate=True)

    name = "orchard_central_deliveries.csv"
    shutil.copy(DEMO / name, tmp_path / "inbox" / name)
    plans = {}
    with dg.instance_for_test() as instance:
        for start, end in (("07:00", "13:00"), ("19:00", "23:59")):
            run_config = {
                "ops": {
                    "travel_time_matrix": {"config": {"shift_start": start, "shift_end": end}},
                    "route_plan": {"config": {"solver_time_limit_s": 1.0, "max_route_minutes": 400}},
                }
            }
            result = materialise(instance, local_env, name, run_config)
            assert result.success
            matrix = result.asset_value("travel_time_matrix")
            plans[start] = (matrix, result.asset_value("route_plan"))
    (am_matrix, am_plan), (pm_matrix, pm_plan) = plans["07:00"], plans["19:00"]
    assert am_matrix.source == pm_matrix.source == f"travel_time_model:{model.version}"
    off = ~np.eye(am_matrix.size, dtype=bool)
    assert np.median(am_matrix.duration_s[off] / pm_matrix.duration_s[off]) > 1.15
    assert am_plan.fleet.shift_start_min == 7 * 60 and pm_plan.fleet.shift_start_min == 19 * 60
    assert all(r.start_s >= 19 * 3600 for r in pm_plan.routes)
    assert am_plan.total_duration_s > 0 and pm_plan.total_duration_s > 0
