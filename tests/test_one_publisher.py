"""One publisher per partition (issue 24): when two runs of one stop file overlap (`sgroute plan` beside the
daemon), the plan requested later is the one in the app tables and the exports, whichever finishes last; the
older one is kept as history only. The probe saw an older plan replace a newer one, and `stops` with 5 rows
beside `route_stops` with 400."""

from __future__ import annotations

from dataclasses import replace

import dagster as dg
from sqlalchemy import select

from sgroute_assets.domain.exports import render_exports
from sgroute_assets.domain.exports.route_geojson import plan_info
from sgroute_assets.domain.routing import RoutePlan
from sgroute_resources.app_database import AppDatabase, engine_for
from sgroute_resources.app_tables import RoutePlanRecord
from sgroute_resources.partition_records import replace_plan, upsert_stop_file
from sgroute_resources.stop_file_store import LocalStopFileStore


def test_the_later_request_wins_in_the_tables_and_the_exports(small_plan: RoutePlan, app_db_url, tmp_path) -> None:
    key = "orders.csv"
    older = replace(small_plan, plan_id="p-older", requested_at=1000.0)
    newer = replace(small_plan, plan_id="p-newer", requested_at=2000.0, routes=small_plan.routes[:1])
    db = AppDatabase(url=app_db_url)
    with db.session() as session:
        upsert_stop_file(session, key, file_name=key, source_uri=None, generation=None, status="received")
    store = LocalStopFileStore(
        inbox=str(tmp_path / "inbox"), exports_dir=str(tmp_path / "exports"), quarantine_dir=str(tmp_path / "q")
    )

    # The newer run finishes first; the older one, slower, finishes last.
    with db.session() as session:
        assert replace_plan(session, key, newer) is None
    assert store.publish_if_newest(key, render_exports(newer), {"partition": key, **plan_info(newer)}) is not None
    with db.session() as session:
        assert replace_plan(session, key, older) == "p-newer"  # not written: the newer plan stays
    assert store.publish_if_newest(key, render_exports(older), {"partition": key, **plan_info(older)}) is None

    assert store.read_export_manifest(key)["plan_id"] == "p-newer"
    assert "p-newer" in (tmp_path / "exports" / key / "planner.csv").read_text()
    with engine_for(app_db_url).connect() as conn:
        (record,) = conn.execute(select(RoutePlanRecord.solver, RoutePlanRecord.vehicles_used)).all()
    assert record.solver["plan_id"] == "p-newer" and record.vehicles_used == newer.vehicles_used

    # A plan requested later still replaces both, as a re-plan should.
    latest = replace(small_plan, plan_id="p-latest", requested_at=3000.0)
    with db.session() as session:
        assert replace_plan(session, key, latest) is None
    assert store.publish_if_newest(key, render_exports(latest), {"partition": key, **plan_info(latest)}) is not None
    assert store.read_export_manifest(key)["plan_id"] == "p-latest"


def test_a_run_records_when_it_was_requested(make_local_resources, app_db_url, tmp_path, materialise) -> None:
    resources = make_local_resources(app_db_url)
    (tmp_path / "inbox" / "r.csv").write_text("stop_ref,lat,lon\nA1,1.30,103.85\nA2,1.31,103.86\n")
    fast = {"ops": {"route_plan": {"config": {"solver_time_limit_s": 1.0}}}}
    with dg.instance_for_test() as instance:
        result = materialise(instance, resources, "r.csv", fast)
        assert result.success
        plan = result.asset_value("route_plan")
        created = instance.get_run_record_by_id(result.run_id).create_timestamp.timestamp()
    assert plan.requested_at == created
    assert (tmp_path / "exports" / "r.csv" / "manifest.json").read_text().count(str(created)) == 1
