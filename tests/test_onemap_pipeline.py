"""A partition planned end to end with OneMap on (the fake on loopback), and `sgroute geocode`."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest
from onemap_fake_server import EMAIL, PASSWORD, FakeOneMap, place, synthetic_place

from sgroute_assets.cli import geocode as cli_geocode
from sgroute_assets.route_planning.matrix_asset import ROAD_TIMES_CHECK
from sgroute_assets.stop_intake.assets import GEOCODER_CHECK
from sgroute_resources.app_database import AppDatabase
from sgroute_resources.onemap_client import onemap_client_from_env
from sgroute_resources.onemap_geocoder import OneMapGeocoder
from sgroute_resources.onemap_travel_times import OneMapTravelTimes
from sgroute_resources.travel_times import CurveTravelTimes

FAST = {"ops": {"route_plan": {"config": {"solver_time_limit_s": 1.0}}}}
NAME = "onemap_week.csv"


@pytest.fixture
def gazetteer(fake_onemap: FakeOneMap, sg_points) -> FakeOneMap:
    pts = sg_points.sample(12, random_state=11)
    fake_onemap.places += [
        synthetic_place(k, lat, lon) for k, (lat, lon) in enumerate(zip(pts.lat, pts.lon, strict=True))
    ]
    fake_onemap.scripted["10 MAIN STREET"] = [
        place("10", "MAIN STREET", "NIL", "100010", 1.30, 103.80),
        place("10", "MAIN STREET", "NIL", "200010", 1.42, 103.95),
    ]
    return fake_onemap


def stop_file(fake: FakeOneMap) -> str:
    syn = [p for p in fake.places if p["POSTAL"].startswith("51")]
    rows = [
        "stop_ref,address,postal_code,lat,lon,demand,service_time_min",
        "E01,,049178,,,1,5",  # postal code only
        "E02,2 Orchard Turn,,,,1,5",  # address only
        "E03,,,1.28066,103.85040,1,5",  # coordinates only: reverse geocoded
        "E04,10 Main Street,,,,1,5",  # ambiguous: pinned by the overrides file
        "E05,99 Nowhere Lane,777777,,,1,5",  # not found: corrected by the overrides file
        "E06,,777778,,,1,5",  # not found, no override: needs attention
        f"E07,{syn[0]['BLK_NO']} {syn[0]['ROAD_NAME'].title()},,,,1,5",
        f"E08,,{syn[1]['POSTAL']},,,1,5",
        f"E09,Blk {syn[2]['BLK_NO']} {syn[2]['ROAD_NAME'].replace('AVENUE', 'Ave')},{syn[2]['POSTAL']},,,1,5",
        "E10,,12345,,,1,5",  # invalid postal code: never geocoded
    ]
    return "\n".join(rows) + "\n"


OVERRIDES = (
    "stop_ref,lat,lon,address,postal_code,note\nE04,1.30000,103.80000,,,pinned\nE05,,,11 Jalan Tan Tock Seng,,\n"
)


@pytest.fixture
def onemap_resources(tmp_path: Path, make_local_resources, app_db_url: str, gazetteer: FakeOneMap) -> dict:
    resources = make_local_resources(
        app_db_url, ONEMAP_BASE_URL=gazetteer.url, ONEMAP_EMAIL=EMAIL, ONEMAP_PASSWORD=PASSWORD
    )
    (tmp_path / "inbox" / NAME).write_text(stop_file(gazetteer))
    (tmp_path / "inbox" / NAME.replace(".csv", ".overrides.csv")).write_text(OVERRIDES)
    db = AppDatabase(url=app_db_url)
    client = onemap_client_from_env(
        requests_per_second=500.0, max_concurrency=8, timeout_s=0.5, max_attempts=2, backoff_initial_s=0.01
    )
    resources["geocoder"] = OneMapGeocoder(client=client, app_db=db)
    resources["travel_times"] = OneMapTravelTimes(client=client, app_db=db, model=CurveTravelTimes(), call_budget=500)
    return resources


@pytest.fixture
def run_partition(materialise):
    def run(instance, resources: dict, selection=None) -> dg.ExecuteInProcessResult:
        return materialise(instance, resources, NAME, FAST if selection is None else None, selection)

    return run


def checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def secrets_absent(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult, fake: FakeOneMap) -> None:
    text = json.dumps([str(e) for e in instance.all_logs(result.run_id)]) + str(
        instance.get_run_by_id(result.run_id).run_config
    )
    for secret in [PASSWORD, *fake.issued_tokens()]:
        assert secret not in text


def test_partition_planned_with_onemap_then_rerun_makes_no_call(onemap_resources, gazetteer, run_partition):
    with dg.instance_for_test() as instance:
        first = run_partition(instance, onemap_resources)
        assert first.success
        geocoded = first.asset_value("geocoded_stops")
        by = {r.stop.stop_ref: r for r in geocoded.results}
        assert (by["E01"].status, by["E01"].source) == ("ok", "onemap")
        assert by["E02"].status == "ok" and by["E02"].stop.postal_code == "238801"
        assert by["E03"].source == "file" and by["E03"].stop.postal_code == "048582"
        assert (by["E04"].source, by["E04"].stop.lat, by["E04"].stop.lon) == ("manual", 1.3, 103.8)
        assert by["E05"].source == "manual" and by["E05"].status == "ok" and by["E05"].stop.postal_code == "308433"
        assert by["E06"].status == "needs_attention" and "777778" in by["E06"].reason
        assert all(by[r].status == "ok" for r in ("E07", "E08", "E09"))
        assert "E10" not in by  # invalid row
        plan = first.asset_value("route_plan")
        planned = {v.stop.stop_ref for r in plan.routes for v in r.visits} | {d.stop.stop_ref for d in plan.dropped}
        assert planned == {s.stop_ref for s in geocoded.located} and "E06" not in planned
        matrix = first.asset_value("travel_time_matrix")
        assert matrix.source == "onemap" and matrix.source_shares()["model"] == 0.0
        assert all(c.passed for c in checks(first).values())
        meta = instance.get_latest_materialization_event(dg.AssetKey("travel_time_matrix")).asset_materialization
        assert meta.metadata["share_onemap"].value == 1.0 and meta.metadata["fallback_to_model"].value is False
        gmeta = instance.get_latest_materialization_event(dg.AssetKey("geocoded_stops")).asset_materialization
        assert gmeta.metadata["overrides_applied"].value == 2
        first_calls = len(gazetteer.calls())
        assert len(gazetteer.calls("route")) == 9 * 8 and len(gazetteer.calls("token")) == 2  # one per step
        secrets_absent(instance, first, gazetteer)

        gazetteer.reset_log()
        second = run_partition(instance, onemap_resources)
        assert second.success
        assert gazetteer.calls() == [] and first_calls > 0
        again = {r.stop.stop_ref: r.source for r in second.asset_value("geocoded_stops").results}
        assert again["E01"] == again["E02"] == again["E07"] == "cache"
        assert again["E04"] == again["E05"] == "manual"
        assert second.asset_value("travel_time_matrix").source_shares()["cache"] == 1.0
        assert plan.stops_served == second.asset_value("route_plan").stops_served


def test_onemap_down_is_flagged_by_non_blocking_checks_not_silent(onemap_resources, gazetteer, run_partition):
    gazetteer.inject(None, 503, times=-1)
    with dg.instance_for_test() as instance:
        up_to_matrix = dg.AssetSelection.assets("stops", "validated_stops", "geocoded_stops", "travel_time_matrix")
        result = run_partition(instance, onemap_resources, up_to_matrix)
        assert result.success  # the run goes on with what could be located and the model
        geocoded = result.asset_value("geocoded_stops")
        located = {s.stop_ref for s in geocoded.located}
        assert located == {"E03", "E04"}  # file coordinates and the planner's pin
        assert geocoded.service_error and "503" in geocoded.service_error
        failed = checks(result)
        assert not failed[GEOCODER_CHECK].passed and failed[GEOCODER_CHECK].severity == dg.AssetCheckSeverity.WARN
        assert not failed[ROAD_TIMES_CHECK].passed and "unanswered" in failed[ROAD_TIMES_CHECK].description
        matrix = result.asset_value("travel_time_matrix")
        assert matrix.provenance["fallback"] and matrix.source == "haversine_curve_v1"
        secrets_absent(instance, result, gazetteer)


def test_cli_geocode_json_uses_the_configured_geocoder_and_its_cache(
    onemap_resources, gazetteer, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("ONEMAP_REQUESTS_PER_SECOND", "500")
    file = tmp_path / "inbox" / NAME
    assert cli_geocode.main(["geocode", str(file), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    by = {s["stop_ref"]: s for s in out["stops"]}
    assert set(by["E01"]) >= {"stop_ref", "lat", "lon", "source", "confidence", "status", "reason"}
    assert (by["E01"]["status"], by["E01"]["source"], by["E01"]["confidence"]) == ("ok", "onemap", 1.0)
    assert (by["E04"]["source"], by["E04"]["lat"]) == ("manual", 1.3)
    assert by["E06"]["status"] == "needs_attention" and by["E06"]["lat"] is None
    assert by["E10"]["status"] == "invalid" and "postal_code" in by["E10"]["reason"]
    assert out["overrides"]["applied"] == 2 and out["service_error"] is None
    gazetteer.reset_log()
    assert cli_geocode.main(["geocode", str(file), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert gazetteer.calls() == []
    assert {s["stop_ref"]: s["source"] for s in again["stops"]}["E01"] == "cache"


def test_cli_geocode_without_credentials_reports_instead_of_guessing(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("ONEMAP_EMAIL", raising=False)
    monkeypatch.delenv("ONEMAP_PASSWORD", raising=False)
    monkeypatch.setenv("SGROUTE_ENV", "local")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    file = tmp_path / "w.csv"
    file.write_text("stop_ref,address,lat,lon\nA1,,1.30,103.85\nA2,1 Fullerton Square,,\n")
    assert cli_geocode.main(["geocode", str(file)]) == 0
    text = capsys.readouterr().out
    assert "1 needs_attention, 1 ok" in text and "no geocoder is configured" in text
    assert cli_geocode.main(["geocode", str(tmp_path / "missing.csv")]) == 2
