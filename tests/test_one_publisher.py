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
from sgroute_assets.domain.stops import GeocodedStop, GeocodedStops, ValidationReport
from sgroute_assets.domain.stops.schema import RowResult
from sgroute_resources.app_database import AppDatabase, engine_for
from sgroute_resources.app_tables import RoutePlanRecord, StopFile, StopRecord
from sgroute_resources.partition_records import record_validation, replace_plan, upsert_stop_file
from sgroute_resources.stop_file_store import LocalStopFileStore


def _inputs(plan: RoutePlan, key: str) -> tuple[ValidationReport, GeocodedStops]:
    """The validation and geocoding that made ``plan``: its served and dropped stops, located from the file."""
    stops = [v.stop for r in plan.routes for v in r.visits] + [d.stop for d in plan.dropped]
    report = ValidationReport(
        file=key, rows=[RowResult(row=s.row, stop_ref=s.stop_ref, errors=[], stop=s) for s in stops]
    )
    return report, GeocodedStops(results=[GeocodedStop(stop=s, status="ok", source="file") for s in stops])


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
        assert replace_plan(session, key, newer, *_inputs(newer, key)) is None
    assert store.publish_if_newest(key, render_exports(newer), {"partition": key, **plan_info(newer)}) is not None
    with db.session() as session:
        assert replace_plan(session, key, older, *_inputs(older, key)) == "p-newer"  # not written: the newer plan stays
    assert store.publish_if_newest(key, render_exports(older), {"partition": key, **plan_info(older)}) is None

    assert store.read_export_manifest(key)["plan_id"] == "p-newer"
    assert "p-newer" in (tmp_path / "exports" / key / "planner.csv").read_text()
    with engine_for(app_db_url).connect() as conn:
        (record,) = conn.execute(select(RoutePlanRecord.solver, RoutePlanRecord.vehicles_used)).all()
        stop_refs = set(conn.scalars(select(StopRecord.stop_ref)))
    assert record.solver["plan_id"] == "p-newer" and record.vehicles_used == newer.vehicles_used
    # The stops beside the plan are the newer run's: one route's stops and the dropped ones, not the older 25.
    assert stop_refs == {s.stop_ref for s in _inputs(newer, key)[0].valid_stops}

    # A plan requested later still replaces both, as a re-plan should.
    latest = replace(small_plan, plan_id="p-latest", requested_at=3000.0)
    with db.session() as session:
        assert replace_plan(session, key, latest, *_inputs(latest, key)) is None
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


def test_an_older_run_validating_late_leaves_the_newer_plan_and_its_stops(small_plan: RoutePlan, app_db_url) -> None:
    """The older run's validation step runs after the newer run stored its plan: it writes nothing, so the
    file row, the stops and the plan stay the newer run's."""
    key = "orders.csv"
    newer = replace(small_plan, plan_id="p-newer", requested_at=2000.0)
    report, geocoded = _inputs(newer, key)
    report.content_hash = "new"
    db = AppDatabase(url=app_db_url)
    with db.session() as session:
        assert replace_plan(session, key, newer, report, geocoded) is None
    older_report = ValidationReport(file=key, rows=report.rows[:2], content_hash="old")
    with db.session() as session:
        assert record_validation(session, key, older_report, requested_at=1000.0) is None
        assert record_validation(session, key, report, requested_at=3000.0) is not None  # a later run does write
    with engine_for(app_db_url).connect() as conn:
        (content_hash,) = conn.execute(select(StopFile.content_hash)).one()
        stop_refs = sorted(conn.scalars(select(StopRecord.stop_ref)))
    assert content_hash == "new" and stop_refs == sorted(s.stop_ref for s in report.valid_stops)
