"""Exports always match the plan: automation after a re-plan, whole-folder swaps, and the check that says so."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import dagster as dg
import pytest

from sgroute_assets.definitions import ROUTE_ASSETS, ROUTE_CHECKS, defs
from sgroute_assets.route_planning.exports_asset import EXPORTS_CHECK
from sgroute_resources.stop_file_store import LocalStopFileStore

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
NAME = "orchard_central_deliveries.csv"


def fleet(vehicles: int) -> dict:
    return {"ops": {"route_plan": {"config": {"vehicles": vehicles, "capacity": 25, "solver_time_limit_s": 1.0}}}}


def check_result(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == EXPORTS_CHECK]
    return evaluation


def run_exports_check(instance: dg.DagsterInstance, resources: dict) -> dg.ExecuteInProcessResult:
    """The check on its own, as "Execute check" in the UI runs it."""
    job = dg.define_asset_job("exports_check", selection=dg.AssetSelection.checks(ROUTE_CHECKS[1]))
    checks = dg.Definitions(assets=ROUTE_ASSETS, asset_checks=ROUTE_CHECKS, jobs=[job], resources=resources)
    return checks.resolve_job_def("exports_check").execute_in_process(
        instance=instance, tags={"dagster/partition": NAME}, raise_on_error=False
    )


def test_replan_with_fewer_vehicles_leaves_no_stale_export(make_local_resources, app_db_url, tmp_path, materialise):
    resources = make_local_resources(app_db_url)
    shutil.copy(DEMO / NAME, tmp_path / "inbox" / NAME)
    exports = tmp_path / "exports" / NAME
    with dg.instance_for_test() as instance:
        first = materialise(instance, resources, NAME, fleet(4))
        assert first.success and check_result(first).passed
        assert sorted(p.name for p in (exports / "drivers").iterdir()) == ["V01.csv", "V02.csv", "V03.csv", "V04.csv"]
        first_id = first.asset_value("route_plan").plan_id
        assert json.loads((exports / "manifest.json").read_text())["plan_id"] == first_id

        automation = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert automation.total_requested == 0, "the sensor's run made the exports already"

        # Re-plan only route_plan, as a planner does from the Launchpad.
        replan = materialise(instance, resources, NAME, fleet(2), selection=dg.AssetSelection.assets("route_plan"))
        assert replan.success
        new_id = replan.asset_value("route_plan").plan_id
        assert new_id != first_id
        # The check no longer shows its last pass: the new plan marked the exports stale when it was stored.
        key = dg.AssetCheckKey(dg.AssetKey("route_exports"), EXPORTS_CHECK)
        (stale,) = instance.event_log_storage.get_asset_check_execution_history(key, limit=1)
        assert stale.status.value == "FAILED" and new_id in stale.event.dagster_event.event_specific_data.description

        # Until the exports follow, the check says they belong to the old plan.
        evaluation = check_result(run_exports_check(instance, resources))
        assert not evaluation.passed and first_id in evaluation.description and new_id in evaluation.description

        # Declarative automation asks for exactly this partition's exports...
        automation = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=automation.cursor)
        requested = automation.get_requested_partitions(dg.AssetKey("route_exports"))
        assert requested == {NAME}
        # ... and the run it asks for (route_exports with its checks) replaces the whole folder.
        follow = materialise(instance, resources, NAME, selection=dg.AssetSelection.assets("route_exports"))
        assert follow.success and check_result(follow).passed
        (latest,) = instance.event_log_storage.get_asset_check_execution_history(key, limit=1)
        assert latest.status.value == "SUCCEEDED" and latest.run_id == follow.run_id
        assert sorted(p.name for p in (exports / "drivers").iterdir()) == ["V01.csv", "V02.csv"]
        manifest = json.loads((exports / "manifest.json").read_text())
        assert manifest["plan_id"] == new_id and "drivers/V03.csv" not in manifest["files"]
        assert (exports / "validation_report.json").is_file(), "validation files are carried over"
        planner = list(csv.DictReader(io.StringIO((exports / "planner.csv").read_text(encoding="utf-8-sig"))))
        assert {r["plan_id"] for r in planner} == {new_id} and {r["vehicle"] for r in planner} <= {"V01", "V02"}
        assert not list((tmp_path / "exports" / ".staging").iterdir())

        again = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=automation.cursor)
        assert again.total_requested == 0


def test_a_crash_while_publishing_keeps_the_previous_exports(tmp_path):
    store = LocalStopFileStore(inbox=str(tmp_path / "in"), exports_dir=str(tmp_path / "out"), quarantine_dir="q")
    store.publish_exports("k.csv", {"planner.csv": b"old", "drivers/V01.csv": b"v1"}, {"plan_id": "old"})
    before = {p.relative_to(tmp_path): p.read_bytes() for p in (tmp_path / "out" / "k.csv").rglob("*") if p.is_file()}
    with pytest.raises(TypeError):
        # The second file cannot be written: the run dies half way through the new set.
        store.publish_exports("k.csv", {"planner.csv": b"new", "drivers/V02.csv": None}, {"plan_id": "new"})
    after = {p.relative_to(tmp_path): p.read_bytes() for p in (tmp_path / "out" / "k.csv").rglob("*") if p.is_file()}
    assert after == before and store.read_export_manifest("k.csv")["plan_id"] == "old"
    assert not list((tmp_path / "out" / ".staging").iterdir())


def test_exports_link_to_the_local_export_server(tmp_path):
    store = LocalStopFileStore(
        inbox="in", exports_dir=str(tmp_path), quarantine_dir="q", exports_url="http://127.0.0.1:3001/"
    )
    written = store.publish_exports("week 1.csv", {"drivers/V01.csv": b"x"}, {"plan_id": "p"})
    assert store.browser_url(written["drivers/V01.csv"]) == "http://127.0.0.1:3001/week%201.csv/drivers/V01.csv"
    assert store.browser_url("/elsewhere/file.csv") is None


def test_a_failed_export_says_why_in_plain_words(make_local_resources, app_db_url, tmp_path, materialise):
    resources = make_local_resources(app_db_url)
    shutil.copy(DEMO / NAME, tmp_path / "inbox" / NAME)
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    with dg.instance_for_test() as instance:
        assert materialise(instance, resources, NAME, fleet(2)).success
        store = resources["stop_file_store"]
        broken_store = LocalStopFileStore(
            inbox=store.inbox, exports_dir=str(blocker / "out"), quarantine_dir=store.quarantine_dir
        )
        broken = {**resources, "stop_file_store": broken_store}
        result = materialise(instance, broken, NAME, selection=dg.AssetSelection.assets("route_exports"))
        assert not result.success
        (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        assert failure.step_key == "route_exports"
        user = failure.step_failure_data.user_failure_data
        assert user is not None, "a dg.Failure, so the run page opens on the reason, not a stack trace"
        assert user.description.startswith("exports for plan ") and "could not be written" in user.description
        assert "previous exports are unchanged" in user.description
    assert (tmp_path / "exports" / NAME / "manifest.json").is_file()


def test_every_export_in_the_metadata_opens_in_a_browser(make_local_resources, app_db_url, tmp_path, materialise):
    """With the export server of `make dev` (SGROUTE_EXPORTS_URL), each file of the pack is a link, the
    interactive map included."""
    resources = make_local_resources(app_db_url, SGROUTE_EXPORTS_URL="http://127.0.0.1:3001")
    shutil.copy(DEMO / NAME, tmp_path / "inbox" / NAME)
    with dg.instance_for_test() as instance:
        result = materialise(instance, resources, NAME, fleet(2))
        assert result.success
        metadata = result.asset_materializations_for_node("route_exports")[0].metadata
    base = "http://127.0.0.1:3001/" + NAME.replace(" ", "%20") + "/"
    for key, file in [
        ("route_map_html", "route_map.html"),
        ("route_map", "route_map.png"),
        ("driver_pack", "driver_pack.pdf"),
        ("planner_csv", "planner.csv"),
        ("unplanned_stops_csv", "unplanned_stops.csv"),
        ("geojson", "routes.geojson"),
    ]:
        assert isinstance(metadata[key], dg.UrlMetadataValue), key
        assert metadata[key].url == base + file
    assert f"]({base}drivers/V01.csv)" in metadata["drivers"].value


def test_a_new_revision_keeps_the_earlier_revisions_folders(tmp_path):
    """Issue 18: exports/<partition>/rev-NN/ survive the swap of the current set (hard links, no copy)."""
    store = LocalStopFileStore(
        inbox=str(tmp_path / "inbox"), exports_dir=str(tmp_path / "exports"), quarantine_dir=str(tmp_path / "q")
    )
    store.publish_exports("d.csv", {"planner.csv": b"one", "rev-01/planner.csv": b"one"}, {"plan_id": "a"})
    store.publish_exports("d.csv", {"planner.csv": b"two", "rev-02/planner.csv": b"two"}, {"plan_id": "b"})
    root = tmp_path / "exports" / "d.csv"
    assert (root / "rev-01" / "planner.csv").read_bytes() == b"one"
    assert (root / "rev-02" / "planner.csv").read_bytes() == b"two" == (root / "planner.csv").read_bytes()
    assert json.loads((root / "manifest.json").read_text())["revisions"] == ["rev-01", "rev-02"]
