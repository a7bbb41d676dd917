"""What a dispatcher and a driver read in the exports: notes, times, the day, every row, and nothing that runs.

Issue 11 (driver-facing content, every row accounted for) and issue 14 (formula injection, markdown escaping,
long fields in the PDF), on a real solved plan.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace

import pypdf
import pytest

from sgroute_assets.domain.exports import render_exports
from sgroute_assets.domain.exports.driver_pack_pdf import driver_pack_pdf
from sgroute_assets.domain.routing import RoutePlan, account_rows, clock, plan_markdown
from sgroute_assets.domain.stops import (
    NEEDS_ATTENTION,
    GeocodedStop,
    GeocodedStops,
    Issue,
    Stop,
    ValidationReport,
    validate_file,
)
from sgroute_assets.domain.stops.schema import RowResult


def read_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def pdf_text(data: bytes) -> str:
    """Page text with line wraps undone, as a reader would search it."""
    return " ".join(" ".join(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def with_stop_fields(plan: RoutePlan, **fields) -> RoutePlan:
    """Every served and dropped stop given the same extra fields (notes, warnings, hostile text...)."""

    def change(stop: Stop) -> Stop:
        extra = dict(stop.extra)
        if "notes" in fields:
            extra["notes"] = fields["notes"]
        if "gate_code" in fields:
            extra["gate_code"] = fields["gate_code"]
        direct = {k: v for k, v in fields.items() if k not in ("notes", "gate_code")}
        return replace(stop, extra=extra, **direct)

    routes = [replace(r, visits=[replace(v, stop=change(v.stop)) for v in r.visits]) for r in plan.routes]
    dropped = [replace(d, stop=change(d.stop)) for d in plan.dropped]
    return replace(plan, routes=routes, dropped=dropped)


@pytest.fixture(scope="module")
def dated_plan(small_plan: RoutePlan) -> RoutePlan:
    plan = with_stop_fields(small_plan, notes="Loading bay B4, call on arrival", gate_code="4711")
    return replace(plan, plan_id="abc12345", plan_date="2026-12-02", data_version="v-7", source_file="week.csv")


def test_notes_and_extra_columns_reach_every_driver_output(dated_plan: RoutePlan) -> None:
    files = render_exports(dated_plan)
    planner = read_csv(files["planner.csv"])
    assert planner and all(r["notes"] == "Loading bay B4, call on arrival" for r in planner)
    assert all(r["gate_code"] == "4711" for r in planner), "extra columns pass through"
    for route in dated_plan.routes:
        rows = read_csv(files[f"drivers/{route.vehicle_id}.csv"])[1:-1]
        assert rows and all(r["notes"] == "Loading bay B4, call on arrival" and r["gate_code"] == "4711" for r in rows)
        assert all(r["contact_name"] and r["address"] for r in rows)
    geo = json.loads(files["routes.geojson"])
    stops = [f["properties"] for f in geo["features"] if f["properties"]["kind"] == "stop"]
    assert stops and all(p["notes"] == "Loading bay B4, call on arrival" and p["contact_name"] for p in stops)
    assert geo["plan"]["plan_date"] == "2026-12-02" and geo["plan"]["plan_id"] == "abc12345"
    assert "Loading bay B4, call on arrival" in pdf_text(files["driver_pack.pdf"])


def test_eta_is_the_arrival_and_every_time_is_given(dated_plan: RoutePlan) -> None:
    files = render_exports(dated_plan)
    visits = {v.stop.stop_ref: v for r in dated_plan.routes for v in r.visits}
    waited = [v for v in visits.values() if v.wait_s >= 60]
    assert waited, "the fixture has windows that make a vehicle wait"
    for route in dated_plan.routes:
        for row in read_csv(files[f"drivers/{route.vehicle_id}.csv"])[1:-1]:
            v = visits[row["stop_ref"]]
            assert row["eta"] == clock(v.arrival_s) and row["service_start"] == clock(v.service_start_s)
            assert int(row["wait_min"]) == round(v.wait_s / 60)
            assert row["eta"] <= row["service_start"] <= row["departure"]
    planner = {r["stop_ref"]: r for r in read_csv(files["planner.csv"])}
    w = waited[0]
    assert planner[w.stop.stop_ref]["eta"] < planner[w.stop.stop_ref]["service_start"]


def test_plan_date_depot_and_shift_on_every_export(dated_plan: RoutePlan) -> None:
    files = render_exports(dated_plan)
    text = pdf_text(files["driver_pack.pdf"])
    assert "Deliveries on Wed 2 Dec 2026" in text
    assert "Tai Seng depot" in text and "08:00" in text
    for name, data in files.items():
        if name.endswith(".csv"):
            rows = read_csv(data)
            header = next(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
            assert {"plan_date", "depot", "shift", "plan_id"} <= set(header), name
            assert all(r["plan_date"] == "2026-12-02" and r["plan_id"] == "abc12345" for r in rows), name
            assert all(r["shift"] == "08:00-18:00" and r["depot"] == "Tai Seng depot" for r in rows), name


HOSTILE = ('=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\t=1+1")


@pytest.mark.parametrize("payload", HOSTILE)
def test_csv_exports_neutralise_formula_cells(small_plan: RoutePlan, payload: str) -> None:
    plan = with_stop_fields(small_plan, address=payload, contact_name=payload, notes=payload, gate_code=payload)
    plan = replace(plan, fleet=replace(plan.fleet, depot_name=payload))
    plan = account_rows(plan, _report_with_invalid(plan, payload), GeocodedStops())
    files = render_exports(plan)
    checked = 0
    for name, data in files.items():
        if not name.endswith(".csv"):
            continue
        for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")):
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")) or re.fullmatch(r"[+-]?\d+(\.\d+)?", cell)
                checked += payload in cell.removeprefix("'") and cell.startswith("'")
    assert checked > 10
    planner = read_csv(files["planner.csv"])
    assert planner[0]["address"] == "'" + payload
    assert all(r["phone"] in ("", "+6591234567") for r in planner), "plain numbers stay as they are"


def _report_with_invalid(plan: RoutePlan, text: str) -> ValidationReport:
    stops = [v.stop for r in plan.routes for v in r.visits] + [d.stop for d in plan.dropped]
    rows = [RowResult(row=s.row, stop_ref=s.stop_ref, errors=[], stop=s) for s in stops]
    bad = Issue("f.csv", 99, "demand", f"demand '{text}' must be a whole number")
    rows.append(RowResult(row=99, stop_ref=text, errors=[bad], stop=None))
    return ValidationReport(file="f.csv", rows=rows)


def test_markdown_summary_escapes_pipes_and_html(small_plan: RoutePlan) -> None:
    plan = with_stop_fields(
        small_plan, address="1 | 2 Road <img src=x onerror=alert(1)>", notes="[click](javascript:alert(1))"
    )
    md = plan_markdown(plan)
    assert "<img" not in md and "&lt;img" in md
    assert re.search(r"(?<!\\)\]\(javascript:", md) is None, "no live link"
    header_pipes, checked = 0, 0
    for line in md.splitlines():
        if not line.startswith("|"):
            header_pipes = 0
        elif not header_pipes:
            header_pipes = line.count("|")  # a table's header: its column count
        elif "Road" in line:
            # As many unescaped pipes as the table's header: no cell split by the pipe in the address.
            assert len(re.findall(r"(?<!\\)\|", line)) == header_pipes, line
            checked += 1
    assert checked >= 2  # route tables and the table of rows not on a route


@pytest.mark.parametrize("field", ["address", "contact_name", "notes"])
def test_pdf_survives_very_long_fields(small_plan: RoutePlan, field: str) -> None:
    """~1,570 characters of address or ~1,415 of contact name used to raise LayoutError and lose the pack."""
    long = " ".join(["Blk 123 Ang Mo Kio Avenue 3 #01-1234 Singapore"] * 34)[:1570]
    unbroken = "X" * 1415
    for value in (long, unbroken):
        plan = with_stop_fields(small_plan, **{field: value})
        pdf = driver_pack_pdf(plan)
        assert pdf.startswith(b"%PDF")
        assert "see CSV" in pdf_text(pdf)
        assert value.strip() in read_csv(render_exports(plan)["planner.csv"])[0][field], "the CSV keeps it whole"


def test_mixed_file_every_row_accounted_for(small_plan: RoutePlan) -> None:
    """Valid, invalid, not-located and warning rows: the counts add up and every report shows them."""
    data = (
        b"stop_ref,address,postal_code,lat,lon,phone,notes\n"
        b"OK1,,,1.30,103.85,91234567,front door\n"
        b"WARN1,,51845,1.31,103.86,+44 20 7946 0958,side gate\n"
        b"BAD1,,,1.30,,91234567,\n"
        b"NOGEO,1 Fullerton Square,049178,,,,\n"
    )
    report = validate_file("mixed.csv", data)
    assert (report.valid_count, report.invalid_count, len(report.warnings)) == (3, 1, 2)
    by_ref = {s.stop_ref: s for s in report.valid_stops}
    served_stops = [by_ref["OK1"], by_ref["WARN1"]]
    route = small_plan.routes[0]
    visits = [replace(v, stop=s) for v, s in zip(route.visits, served_stops, strict=False)]
    plan = replace(small_plan, routes=[replace(route, visits=visits)], dropped=[])
    geocoded = GeocodedStops(
        results=[GeocodedStop(stop=by_ref["NOGEO"], status=NEEDS_ATTENTION, source="none", reason="no geocoder")]
    )
    plan = account_rows(plan, report, geocoded, plan_id="p1", plan_date="2026-12-02")
    assert plan.row_counts() == {"rows": 4, "served": 2, "dropped": 0, "invalid": 1, "not_located": 1}
    files = render_exports(plan)
    unplanned = read_csv(files["unplanned_stops.csv"])
    assert [(r["stop_ref"], r["status"]) for r in unplanned] == [("BAD1", "invalid"), ("NOGEO", "not_located")]
    assert "lon" in unplanned[0]["message"] and unplanned[1]["message"] == "no geocoder"
    text = pdf_text(files["driver_pack.pdf"])
    assert "4 rows: 2 served, 0 dropped, 1 invalid, 1 not located" in text
    assert "BAD1" in text and "NOGEO" in text
    assert "not a Singapore number" in text, "the warning is shown next to the stop"
    md = plan_markdown(plan)
    assert "4 rows: 2 served, 0 dropped, 1 invalid, 1 not located" in md and "not a Singapore number" in md
    planner = {r["stop_ref"]: r for r in read_csv(files["planner.csv"])}
    assert "phone" in planner["WARN1"]["warnings"] and "postal_code" in planner["WARN1"]["warnings"]
    geo = json.loads(files["routes.geojson"])
    assert {u["stop_ref"] for u in geo["not_on_map"]} == {"BAD1", "NOGEO"}


def test_vehicle_names_from_the_fleet_on_the_exports(dated_plan: RoutePlan) -> None:
    routes = [replace(r, vehicle_name=f"Lorry {k}") for k, r in enumerate(dated_plan.routes, start=1)]
    plan = replace(dated_plan, routes=routes)
    files = render_exports(plan)
    planner = read_csv(files["planner.csv"])
    assert {(r["vehicle"], r["vehicle_name"]) for r in planner} == {(r.vehicle_id, r.vehicle_name) for r in routes}
    first = read_csv(files[f"drivers/{routes[0].vehicle_id}.csv"])
    assert {r["vehicle_name"] for r in first} == {"Lorry 1"}
    assert f"Vehicle {routes[0].vehicle_id} · Lorry 1 · Wed 2 Dec 2026" in pdf_text(files["driver_pack.pdf"])
    assert "Lorry 1" in plan_markdown(plan) and "Lorry 1" in files["route_map.html"].decode()


def test_urls_in_notes_stay_text_in_the_ui(small_plan: RoutePlan) -> None:
    """Issue 23: a note's URL became a link in the UI (GFM autolinks bare URLs and www. names)."""
    plan = with_stop_fields(small_plan, notes="pay at https://evil.example/pay or www.evil.example")
    md = plan_markdown(plan)
    assert "https://" not in md and "www.evil" not in md
    assert "https&#58;//evil.example/pay" in md and "www&#46;evil.example" in md  # shown as typed once rendered
