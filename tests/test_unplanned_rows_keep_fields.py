"""An invalid row keeps every field of its row in every report, so a dispatcher can still call the customer;
priority reaches every export (issue 23, "keep everything")."""

from __future__ import annotations

import json
from dataclasses import replace

from test_export_content import pdf_text, read_csv

from sgroute_assets.domain.exports import render_exports
from sgroute_assets.domain.routing import RoutePlan, account_rows, plan_markdown
from sgroute_assets.domain.stops import GeocodedStops, validate_file

FILE = (
    b"stop_ref,address,postal_code,lat,lon,phone,contact_name,notes,demand,tw_start,tw_end,priority\n"
    b"OK1,,,1.30,103.85,91234567,Ann Lim,front door,2,,,high\n"
    b"BAD1,10 Anson Road #12-01,079903,1.2760,,98765432,Mr Tan Ah Kow,call at the lobby,-1,09:00,11:00,urgent\n"
)


def _plan(small_plan: RoutePlan) -> RoutePlan:
    report = validate_file("keep.csv", FILE)
    assert (report.valid_count, report.invalid_count) == (1, 1)
    ok = report.valid_stops[0]
    route = small_plan.routes[0]
    plan = replace(small_plan, routes=[replace(route, visits=[replace(route.visits[0], stop=ok)])], dropped=[])
    return account_rows(plan, report, GeocodedStops(results=[]), plan_id="p-keep", plan_date="2026-12-02")


def test_invalid_rows_keep_their_address_contact_and_phone_everywhere(small_plan: RoutePlan) -> None:
    plan = _plan(small_plan)
    files = render_exports(plan)
    (bad,) = read_csv(files["unplanned_stops.csv"])
    assert bad["status"] == "invalid" and "demand" in bad["message"]
    assert bad["address"] == "10 Anson Road #12-01" and bad["postal_code"] == "079903"
    assert (bad["contact_name"], bad["phone"], bad["notes"]) == ("Mr Tan Ah Kow", "98765432", "call at the lobby")
    assert (bad["lat"], bad["tw_start"], bad["tw_end"], bad["demand"]) == ("1.2760", "09:00", "11:00", "-1")
    assert bad["plan_id"] == "p-keep" and bad["plan_date"] == "2026-12-02"

    pack = pdf_text(files["driver_pack.pdf"])
    assert "Mr Tan Ah Kow" in pack and "98765432" in pack and "10 Anson Road" in pack

    markdown = plan_markdown(plan)
    assert "Mr Tan Ah Kow" in markdown and "98765432" in markdown and "10 Anson Road" in markdown


def test_priority_reaches_every_export(small_plan: RoutePlan) -> None:
    plan = _plan(small_plan)
    files = render_exports(plan)
    (served,) = read_csv(files["planner.csv"])
    assert served["priority"] == "high"
    driver = {r["stop_ref"]: r for r in read_csv(files[f"drivers/{plan.routes[0].vehicle_id}.csv"])}
    assert driver["OK1"]["priority"] == "high"
    (bad,) = read_csv(files["unplanned_stops.csv"])
    assert bad["priority"] == "urgent"  # as typed: the value that made the row invalid is what to fix
    geo = json.loads(files["routes.geojson"])
    stops = [f["properties"] for f in geo["features"] if f["properties"].get("stop_ref") == "OK1"]
    assert stops and stops[0]["priority"] == "high"
    assert "priority" in files["dropped_stops.csv"].decode("utf-8-sig").splitlines()[0].split(",")
