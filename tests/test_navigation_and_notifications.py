"""Navigation links and customer messages (issue 19): every driver row carries Google Maps and Waze links to its
coordinates, the PDF's are clickable, the map's popups offer them in the browser, and
customer_notifications.csv gives each customer with a phone a 30-minute window around the plan's ETA."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from pypdf import PdfReader
from test_route_map_html import rendered_dom

from sgroute_assets.domain.exports import (
    driver_csvs,
    driver_pack_pdf,
    eta_window,
    google_maps_url,
    notifications_csv,
    route_map_html,
    waze_url,
)
from sgroute_assets.domain.routing import RoutePlan
from sgroute_assets.domain.stops import format_clock

PROBE = """<script>
(function () {
  var links = [];
  document.querySelectorAll(".sgr-stop").forEach(function (icon) {
    icon.dispatchEvent(new MouseEvent("click", {bubbles: true}));
    var open = document.querySelectorAll(".leaflet-popup-content");
    if (!open.length) return;
    open[open.length - 1].querySelectorAll("a.sgr-nav").forEach(function (a) { links.push(a.href); });
  });
  var out = document.createElement("pre"); out.id = "probe"; out.textContent = JSON.stringify(links);
  document.body.appendChild(out);
})();
</script></body>"""


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_every_driver_row_has_both_links_to_its_coordinates(small_plan: RoutePlan) -> None:
    for vehicle_id, data in driver_csvs(small_plan).items():
        rows = _rows(data)
        assert rows
        for row in rows:
            if row["stop_ref"] == "BREAK":
                continue
            lat, lon = float(row["lat"]), float(row["lon"])
            assert row["google_maps"] == google_maps_url(lat, lon), (vehicle_id, row["stop_ref"])
            assert row["waze"] == waze_url(lat, lon)
    assert google_maps_url(1.3, 103.85) == "https://www.google.com/maps/dir/?api=1&destination=1.300000,103.850000"
    assert waze_url(1.3, 103.85) == "https://waze.com/ul?ll=1.300000,103.850000&navigate=yes"


def test_the_pdf_links_are_clickable(small_plan: RoutePlan) -> None:
    reader = PdfReader(io.BytesIO(driver_pack_pdf(small_plan)))
    uris = {
        annot.get_object()["/A"]["/URI"]
        for page in reader.pages
        for annot in page.get("/Annots", []) or []
        if "/A" in annot.get_object() and "/URI" in annot.get_object()["/A"]
    }
    for route in small_plan.routes:
        for v in route.visits:
            assert google_maps_url(v.stop.lat, v.stop.lon) in uris
            assert waze_url(v.stop.lat, v.stop.lon) in uris


def test_map_popups_offer_both_links_in_the_browser(small_plan: RoutePlan, tmp_path: Path) -> None:
    page = tmp_path / "route_map.html"
    page.write_text(route_map_html(small_plan).decode().replace("</body>", PROBE, 1))
    dom = rendered_dom(page, tmp_path / "profile")
    text = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S).group(1).replace("&quot;", '"').replace("&amp;", "&")
    links = json.loads(text)
    expected = {u for r in small_plan.routes for v in r.visits
                for u in (google_maps_url(v.stop.lat, v.stop.lon), waze_url(v.stop.lat, v.stop.lon))}  # fmt: skip
    assert set(links) == expected


def test_notifications_match_the_plans_etas(small_plan: RoutePlan) -> None:
    rows = _rows(notifications_csv(small_plan))
    visits = {v.stop.stop_ref: (r, v) for r in small_plan.routes for v in r.visits}
    with_phone = {ref for ref, (_, v) in visits.items() if v.stop.phone and v.stop.phone.startswith("+")}
    assert with_phone and {r["stop_ref"] for r in rows} == with_phone
    for row in rows:
        route, visit = visits[row["stop_ref"]]
        start, end = eta_window(visit.service_start_s)
        assert (row["window_start"], row["window_end"]) == (format_clock(start), format_clock(end))
        assert end - start == 30 and start % 5 == 0
        assert start * 60 <= visit.service_start_s <= end * 60  # the ETA is inside the window told
        assert row["phone"] == visit.stop.phone and row["vehicle"] == route.vehicle_id
        assert f"between {row['window_start']} and {row['window_end']}" in row["message"]
        assert row["stop_ref"] in row["message"]
