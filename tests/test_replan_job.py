"""Re-planning through the real assets (issue 18): a progress file beside a planned stop file makes revision 2
with history kept and changes.csv exact; the same picture again makes no revision; a progress file naming an
unknown van fails with its row and column; an add file's urgent stops make revision 3; every revision's exports
stay under rev-NN/."""

from __future__ import annotations

import csv
import io
import os
import shutil
import time
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import create_engine, select

from sgroute_assets.domain.routing import RoutePlan, plan_changes, revision_of
from sgroute_assets.domain.stops import format_clock
from sgroute_resources.app_tables import PlanRevisionRecord

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
NAME = "orchard_central_deliveries.csv"
FAST = {"ops": {"route_plan": {"config": {"solver_time_limit_s": 1.0}}}}


def _revisions(url: str) -> list[PlanRevisionRecord]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(PlanRevisionRecord).order_by(PlanRevisionRecord.revision)))
    finally:
        engine.dispose()


def _progress(plan: RoutePlan, as_of: int) -> tuple[str, set[str]]:
    lines, done = ["vehicle,stop_ref,status,time,as_of"], set()
    for route in plan.routes:
        for v in route.visits:
            if v.service_start_s // 60 <= as_of - 10:
                lines.append(f"{route.vehicle_name},{v.stop.stop_ref},done,{format_clock(v.service_start_s // 60)},")
                done.add(v.stop.stop_ref)
    lines[1] += format_clock(as_of)
    return "\n".join(lines) + "\n", done


def _csv(path: Path, skip_notice: bool = False) -> list[dict[str, str]]:
    text = path.read_text(encoding="utf-8-sig")
    if skip_notice:
        text = text.split("\n", 1)[1]
    return list(csv.DictReader(io.StringIO(text)))


def test_progress_makes_a_revision_once_and_every_revision_keeps_its_exports(
    make_local_resources, app_db_url, tmp_path, materialise
):
    resources = make_local_resources(app_db_url)
    inbox, exports = tmp_path / "inbox", tmp_path / "exports" / NAME
    shutil.copy(DEMO / NAME, inbox / NAME)
    with dg.instance_for_test() as instance:
        first = materialise(instance, resources, NAME, FAST)
        assert first.success
        morning: RoutePlan = first.asset_value("route_plan")
        assert morning.revision == 1 and morning.revision_reason == "initial" and morning.changes == ()
        as_of = min(v.service_start_s for r in morning.routes for v in r.visits) // 60 + 90
        text, done = _progress(morning, as_of)
        assert done
        (inbox / "orchard_central_deliveries.progress.csv").write_text(text)

        second = materialise(instance, resources, NAME, FAST)
        assert second.success, second.all_events
        plan: RoutePlan = second.asset_value("route_plan")
        assert plan.revision == 2 and plan.revision_reason.startswith(f"progress at {format_clock(as_of)}")
        assert plan.replan is not None and plan.replan.frozen == len(done) and plan.replan.mode == "assign_new"
        kept = {v.stop.stop_ref: (r.vehicle, v.service_start_s) for r in plan.routes for v in r.visits}
        before = {v.stop.stop_ref: (r.vehicle, v.service_start_s) for r in morning.routes for v in r.visits}
        for ref in done:  # verbatim: same van, the reported minute
            assert kept[ref] == (before[ref][0], before[ref][1] // 60 * 60)
        assert plan.replan.kept_vehicle + plan.replan.frozen == len(kept)  # assign_new: no loaded stop moved

        # changes.csv: exactly the stops that moved, against the revision before.
        expected = [c.row() for c in plan_changes(revision_of(morning), revision_of(plan))]
        rows = _csv(exports / "changes.csv")
        assert [{k: r[k] for k in expected[0]} for r in rows] == expected if expected else rows == []
        assert all(r["revision"] == "2" for r in rows)
        # A changed route's driver file opens with the notice; the page leads with the changes.
        changed = {c["new_vehicle"] for c in expected} | {c["old_vehicle"] for c in expected}
        for route in plan.routes:
            first_line = (exports / "drivers" / f"{route.vehicle_id}.csv").read_text("utf-8-sig").splitlines()[0]
            assert first_line.lstrip('"').startswith("CHANGED in revision 2") == (route.vehicle_name in changed)
            sheet = _csv(exports / "drivers" / f"{route.vehicle_id}.csv", skip_notice=route.vehicle_name in changed)
            assert {r["stop_ref"] for r in sheet if r["status"] == "done"} == {
                v.stop.stop_ref for v in route.visits if v.stop.stop_ref in done
            }
        assert "Revision 2" in (exports / "plan.html").read_text()
        # Both revisions' exports are kept; the current set is revision 2's.
        assert (exports / "rev-01" / "planner.csv").is_file() and (exports / "rev-02" / "planner.csv").is_file()
        assert (exports / "rev-02" / "planner.csv").read_bytes() == (exports / "planner.csv").read_bytes()
        assert morning.plan_id in (exports / "rev-01" / "planner.csv").read_text("utf-8-sig")
        records = _revisions(app_db_url)
        assert [(r.revision, r.plan_id) for r in records] == [(1, morning.plan_id), (2, plan.plan_id)]
        assert records[1].summary["frozen"] == len(done) and len(records[1].changes) == len(expected)

        # The same picture uploaded again (a new file time): no new revision, the run says so.
        time.sleep(0.01)
        (inbox / "orchard_central_deliveries.progress.csv").write_text(text)
        os.utime(inbox / "orchard_central_deliveries.progress.csv")
        third = materialise(instance, resources, NAME, FAST)
        assert third.success
        assert [r.revision for r in _revisions(app_db_url)] == [1, 2]
        assert "rev-03" not in {p.name for p in exports.iterdir()}

        # Urgent stops in an add file: revision 3, each served or dropped with its reason.
        header = (DEMO / NAME).read_text().splitlines()[0]
        (inbox / "orchard_central_deliveries.add.csv").write_text(
            header + "\nURG-1,1 Scotts Road,228208,1.306600,103.832700,1,5,,,,Urgent One,\n"
            "URG-2,10 Bayfront Avenue,018956,1.282900,103.858600,1,5,09:00,09:30,,Too Late,\n"
        )
        fourth = materialise(instance, resources, NAME, FAST)
        assert fourth.success
        plan3: RoutePlan = fourth.asset_value("route_plan")
        assert plan3.revision == 3 and "urgent stops" in plan3.revision_reason
        served = {v.stop.stop_ref for r in plan3.routes for v in r.visits}
        dropped = {d.stop.stop_ref: d.reason for d in plan3.dropped}
        assert "URG-1" in served and dropped.get("URG-2") == "time_window"
        why = {c.stop_ref: c.why for c in plan3.changes}
        assert why["URG-1"].startswith("urgent stop")
        report = fourth.asset_value("validated_stops")
        assert len(report.rows) == 38 and plan3.row_counts()["rows"] == 38
        assert {p.name for p in exports.iterdir() if p.name.startswith("rev-")} == {"rev-01", "rev-02", "rev-03"}

        # A re-upload of the stop file with one more row (a new version, the same partition): revision 4.
        text = (DEMO / NAME).read_text().rstrip("\n") + "\nURG-3,2 Orchard Link,237978,1.302000,103.836500,1,5,,,,,\n"
        (inbox / NAME).write_text(text)
        fifth = materialise(instance, resources, NAME, FAST)
        assert fifth.success
        plan4: RoutePlan = fifth.asset_value("route_plan")
        assert plan4.revision == 4 and "URG-3" in {v.stop.stop_ref for r in plan4.routes for v in r.visits}
        assert {c.stop_ref for c in plan4.changes if c.old_vehicle == ""} >= {"URG-3"}
        assert all(kept[ref] == next((r.vehicle, v.service_start_s) for r in plan4.routes for v in r.visits
                                     if v.stop.stop_ref == ref) for ref in done)  # fmt: skip


def test_a_progress_file_naming_an_unknown_van_or_stop_fails_with_row_and_column(
    make_local_resources, app_db_url, tmp_path, materialise
):
    resources = make_local_resources(app_db_url)
    inbox = tmp_path / "inbox"
    shutil.copy(DEMO / NAME, inbox / NAME)
    with dg.instance_for_test() as instance:
        assert materialise(instance, resources, NAME, FAST).success
        (inbox / "orchard_central_deliveries.progress.csv").write_text(
            "vehicle,stop_ref,status,time,as_of\nVan 9,ORC-001,done,09:10,11:00\nVan 1,NOPE,done,09:20,\n"
        )
        result = materialise(instance, resources, NAME, FAST)
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
        message = failure.step_failure_data.error.message
        assert "orchard_central_deliveries.progress.csv, row 2, column vehicle: unknown vehicle 'Van 9'" in message
        assert "row 3, column stop_ref: unknown stop_ref 'NOPE'" in message
        assert [r.revision for r in _revisions(app_db_url)] == [1]


@pytest.mark.parametrize("mode", ["resequence", "free"])
def test_modes_from_the_launchpad(make_local_resources, app_db_url, tmp_path, materialise, mode):
    resources = make_local_resources(app_db_url)
    inbox = tmp_path / "inbox"
    shutil.copy(DEMO / NAME, inbox / NAME)
    with dg.instance_for_test() as instance:
        morning = materialise(instance, resources, NAME, FAST).asset_value("route_plan")
        settings = {"solver_time_limit_s": 1.0, "replan_mode": mode, "replan_at": "10:30"}
        if mode == "free":  # the same picture as Launchpad rows instead of a file
            settings["progress"] = [{"vehicle": "Van 1", "status": "off", "time": "10:00"}]
        else:
            (inbox / "orchard_central_deliveries.progress.csv").write_text("vehicle,status,time\nVan 1,off,10:00\n")
        config = {"ops": {"route_plan": {"config": settings}}}
        result = materialise(instance, resources, NAME, config)
        assert result.success
        plan = result.asset_value("route_plan")
        assert plan.replan.mode == mode and plan.replan.vans_off == ("Van 1",)
        assert plan.replan.progress_source == (
            "config (progress)" if mode == "free" else "orchard_central_deliveries.progress.csv"
        )
        first_van = {v.stop.stop_ref for r in morning.routes if r.vehicle_name == "Van 1" for v in r.visits}
        dropped = {d.stop.stop_ref: d.reason for d in plan.dropped}
        if mode == "resequence":
            assert first_van and all(dropped[ref] == "van_off" for ref in first_van)
        else:
            assert not any(r.vehicle_name == "Van 1" for r in plan.routes)
