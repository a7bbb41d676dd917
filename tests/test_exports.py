"""The exports render from a real solved plan and read back as the files they claim to be."""

from __future__ import annotations

import csv
import io
import json
import re
import struct
from dataclasses import replace

import pytest

from sgroute_assets.domain.exports import (
    driver_csvs,
    driver_pack_pdf,
    dropped_csv,
    planner_csv,
    render_exports,
    route_geojson,
    route_geojson_bytes,
    route_map_png,
    route_map_thumbnail,
    vehicle_color,
)
from sgroute_assets.domain.exports.dropped_csv import DROPPED_COLUMNS
from sgroute_assets.domain.exports.planner_csv import PLANNER_COLUMNS
from sgroute_assets.domain.routing import RoutePlan
from sgroute_assets.domain.routing.plan_types import DroppedStop

PLAN_FILES = (
    "planner.csv",
    "dropped_stops.csv",
    "unplanned_stops.csv",
    "routes.geojson",
    "route_map.png",
    "route_map.html",
    "plan.html",
    "driver_pack.pdf",
    "validation_issues.csv",  # published with the plan, with its columns (issue 23)
    "changes.csv",  # what moved since the previous revision (issue 18); a header only on revision 1
    "customer_notifications.csv",  # a 30-minute window per customer with a phone, for an SMS tool (issue 19)
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BOM = b"\xef\xbb\xbf"


def read_csv(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(BOM), "Excel needs the UTF-8 byte-order mark"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def pdf_page_count(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", data))


def empty_plan(plan: RoutePlan) -> RoutePlan:
    """Nothing served: every stop of the fixture dropped (and one without coordinates, as files allow)."""
    stops = [v.stop for r in plan.routes for v in r.visits] + [d.stop for d in plan.dropped]
    dropped = [DroppedStop(stop=s, reason="capacity", message="no vehicle <available> & none left") for s in stops]
    dropped.append(
        DroppedStop(
            stop=replace(stops[0], stop_ref="NOGEO", lat=None, lon=None), reason="unreachable", message="no coordinates"
        )
    )
    return replace(plan, routes=[], dropped=dropped)


@pytest.fixture(scope="module")
def exports(small_plan: RoutePlan) -> dict[str, bytes]:
    return render_exports(small_plan, title="Test plan & <friends>")


def test_fixture_has_routes_and_drops(small_plan: RoutePlan) -> None:
    assert small_plan.routes and small_plan.dropped


def test_planner_csv_one_row_per_visit(small_plan: RoutePlan) -> None:
    data = planner_csv(small_plan)
    header = next(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert tuple(header) == PLANNER_COLUMNS
    rows = read_csv(data)
    assert len(rows) == small_plan.stops_served
    assert {r["stop_ref"] for r in rows} == {v.stop.stop_ref for r in small_plan.routes for v in r.visits}
    for route in small_plan.routes:
        mine = [r for r in rows if r["vehicle"] == route.vehicle_id]
        assert [int(r["sequence"]) for r in mine] == list(range(1, len(route.visits) + 1))
        etas = [r["eta"] for r in mine]
        assert etas == sorted(etas), "HH:MM strings sort as times"
        for r in mine:
            assert re.fullmatch(r"\d\d:\d\d", r["eta"])
            assert r["arrival"] <= r["eta"] <= r["departure"]
            assert int(r["wait_min"]) >= 0


def test_planner_csv_keeps_postal_code_leading_zeros(small_plan: RoutePlan) -> None:
    rows = read_csv(planner_csv(small_plan))
    served = {v.stop.stop_ref: v.stop.postal_code for r in small_plan.routes for v in r.visits}
    assert all(r["postal_code"] == served[r["stop_ref"]] for r in rows)
    assert all(len(r["postal_code"]) == 6 for r in rows)
    # A zero-led code is exercised whether or not T000 was served: move it onto the first visit.
    route = small_plan.routes[0]
    visit = replace(route.visits[0], stop=replace(route.visits[0].stop, postal_code="018956"))
    plan = replace(small_plan, routes=[replace(route, visits=[visit])])
    assert read_csv(planner_csv(plan))[0]["postal_code"] == "018956"


def test_driver_csvs_start_and_end_at_depot(small_plan: RoutePlan) -> None:
    sheets = driver_csvs(small_plan)
    assert sorted(sheets) == sorted(r.vehicle_id for r in small_plan.routes)
    for route in small_plan.routes:
        rows = read_csv(sheets[route.vehicle_id])
        assert len(rows) == len(route.visits) + 2
        assert rows[0]["stop_ref"] == "DEPOT" and rows[-1]["stop_ref"] == "DEPOT"
        assert [r["stop_ref"] for r in rows[1:-1]] == [v.stop.stop_ref for v in route.visits]
        assert [int(r["seq"]) for r in rows] == list(range(len(rows)))
        for r, v in zip(rows[1:-1], route.visits, strict=True):
            if v.stop.tw_start_min is not None:
                assert re.fullmatch(r"\d\d:\d\d-\d\d:\d\d", r["time_window"])
            else:
                assert r["time_window"] == ""


def test_dropped_csv_lists_reasons(small_plan: RoutePlan) -> None:
    rows = read_csv(dropped_csv(small_plan))
    assert [r["stop_ref"] for r in rows] == [d.stop.stop_ref for d in small_plan.dropped]
    assert all(r["reason"] and r["message"] and r["row"].isdigit() for r in rows)
    assert list(rows[0])[:9] == [
        "stop_ref",
        "row",
        "reason",
        "message",
        "address",
        "postal_code",
        "tw_start",
        "tw_end",
        "demand",
    ]
    assert list(rows[0]) == list(DROPPED_COLUMNS)


def _assert_sg(coordinate: list[float]) -> None:
    lon, lat = coordinate
    assert 103.5 <= lon <= 104.2 and 1.1 <= lat <= 1.5, "GeoJSON order is [lon, lat]"


def test_geojson_structure(small_plan: RoutePlan) -> None:
    doc = json.loads(route_geojson_bytes(small_plan))
    assert doc == route_geojson(small_plan)
    assert doc["type"] == "FeatureCollection"
    by_kind: dict[str, list[dict]] = {}
    for feature in doc["features"]:
        assert feature["type"] == "Feature"
        by_kind.setdefault(feature["properties"]["kind"], []).append(feature)
    assert len(by_kind["depot"]) == 1
    assert by_kind["depot"][0]["properties"]["name"] == small_plan.fleet.depot_name
    assert len(by_kind["stop"]) == small_plan.stops_served
    assert len(by_kind["dropped"]) == sum(d.stop.has_coordinates for d in small_plan.dropped)
    lines = by_kind["route"]
    assert len(lines) == len(small_plan.routes)
    for feature in by_kind["depot"] + by_kind["stop"] + by_kind["dropped"]:
        assert feature["geometry"]["type"] == "Point"
        _assert_sg(feature["geometry"]["coordinates"])
    depot = by_kind["depot"][0]["geometry"]["coordinates"]
    for line, route in zip(lines, small_plan.routes, strict=True):
        assert line["geometry"]["type"] == "LineString"
        path = line["geometry"]["coordinates"]
        assert path[0] == path[-1] == depot
        assert len(path) == len(route.visits) + 2
        for c in path:
            _assert_sg(c)
        props = line["properties"]
        assert props["vehicle"] == route.vehicle_id and props["color"] == vehicle_color(route.vehicle)
        assert props["stops"] == len(route.visits) and props["distance_km"] > 0


def test_vehicle_colors_are_hex_and_cycle() -> None:
    assert all(re.fullmatch(r"#[0-9A-Fa-f]{6}", vehicle_color(n)) for n in range(1, 25))
    assert len({vehicle_color(n) for n in range(1, 9)}) == 8
    assert vehicle_color(1) == vehicle_color(1 + len({vehicle_color(n) for n in range(1, 100)}))


def test_map_png_and_thumbnail(small_plan: RoutePlan, exports: dict[str, bytes]) -> None:
    width, height = png_size(exports["route_map.png"])
    assert 900 <= width <= 1300 and 400 <= height <= 1500
    assert 20_000 < len(exports["route_map.png"]) < 2_000_000
    thumb = route_map_thumbnail(small_plan)
    width, _ = png_size(thumb)
    assert 400 <= width <= 520
    assert len(thumb) < 60_000


def test_thumbnail_stays_small_for_a_hundred_stops(small_plan: RoutePlan) -> None:
    """Dagster inlines the thumbnail as base64 markdown; the brief's budget is 60 kB at ~100 stops."""
    routes = []
    for k in range(4):  # the same 25-odd stops, nudged, four times over: ~100 stops on 12 routes
        for route in small_plan.routes:
            visits = [
                replace(v, stop=replace(v.stop, lat=v.stop.lat + 0.004 * k, lon=v.stop.lon - 0.003 * k))
                for v in route.visits
            ]
            routes.append(replace(route, vehicle=len(routes) + 1, visits=visits))
    plan = replace(small_plan, routes=routes)
    assert plan.stops_served >= 80
    assert len(route_map_thumbnail(plan)) < 60_000


def test_pdf_has_cover_and_a_page_per_vehicle(small_plan: RoutePlan, exports: dict[str, bytes]) -> None:
    pdf = exports["driver_pack.pdf"]
    assert pdf.startswith(b"%PDF")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert pdf_page_count(pdf) >= 1 + len(small_plan.routes)
    # Page text is compressed and subset-encoded; the outline (bookmarks) names each vehicle in plain text.
    outline = set(re.findall(rb"/Title \(Vehicle (V\d+)\)", pdf))
    assert outline == {r.vehicle_id.encode() for r in small_plan.routes}
    without_map = driver_pack_pdf(small_plan, title="No map")
    assert without_map.startswith(b"%PDF") and len(without_map) < len(pdf)


def test_render_exports_file_names(small_plan: RoutePlan, exports: dict[str, bytes]) -> None:
    expected = set(PLAN_FILES)
    expected |= {f"drivers/{r.vehicle_id}.csv" for r in small_plan.routes}
    assert set(exports) == expected
    assert all(isinstance(v, bytes) and v for v in exports.values())


def test_empty_plan_renders_every_file(small_plan: RoutePlan) -> None:
    plan = empty_plan(small_plan)
    files = render_exports(plan, title="Nothing served")
    assert set(files) == set(PLAN_FILES)
    assert read_csv(files["planner.csv"]) == []
    assert len(read_csv(files["dropped_stops.csv"])) == len(plan.dropped)
    doc = json.loads(files["routes.geojson"])
    kinds = [f["properties"]["kind"] for f in doc["features"]]
    assert "route" not in kinds and kinds.count("depot") == 1
    assert kinds.count("dropped") == len(plan.dropped) - 1  # NOGEO has nowhere to go on a map
    assert files["route_map.png"].startswith(PNG_SIGNATURE)
    assert len(route_map_thumbnail(plan)) < 60_000
    assert files["driver_pack.pdf"].startswith(b"%PDF") and pdf_page_count(files["driver_pack.pdf"]) >= 1
    assert driver_csvs(plan) == {}


def test_map_png_respects_size_arguments(small_plan: RoutePlan) -> None:
    width, _ = png_size(route_map_png(small_plan, width_in=5.0, dpi=80, title="Small"))
    assert width == 400
