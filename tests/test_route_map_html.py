"""route_map.html as a person sees it: opened in headless Chromium, every route drawn (DOM check, no tiles)."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from sgroute_assets.domain.exports import route_map_html
from sgroute_assets.domain.routing import RoutePlan
from sgroute_assets.domain.routing.plan_types import NOT_LOCATED, UnplannedRow
from sgroute_assets.domain.stops import Stop


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("Chromium is not installed (Debian package chromium; `make test` installs it)")
    return found


def rendered_dom(html_file: Path, profile: Path) -> str:
    """The DOM after Leaflet ran: a fresh profile, no network extras, virtual time for the scripts."""
    proc = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=4000",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            html_file.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if "CONSOLE" in line and "Uncaught" in line]
    assert not errors, errors  # every popup's content is set on load, so a script error shows here
    return proc.stdout


@pytest.fixture(scope="module")
def plan_with_everything(small_plan: RoutePlan) -> RoutePlan:
    route = small_plan.routes[0]
    first = route.visits[0]
    hostile = replace(first.stop, extra={"notes": "<script>alert(1)</script> ${alert(2)} `call` on arrival"})
    routes = [replace(route, visits=[replace(first, stop=hostile), *route.visits[1:]]), *small_plan.routes[1:]]
    unlocated = UnplannedRow(
        row=50, stop_ref="NOGEO", status=NOT_LOCATED, reason="needs_attention", message="no geocoder",
        stop=Stop(stop_ref="NOGEO", row=50, address="1 Fullerton Square"),
    )  # fmt: skip
    return replace(small_plan, routes=routes, not_planned=[unlocated], plan_date="2026-12-02", plan_id="abc")


def test_map_opens_in_chromium_with_every_route_numbered_stop_and_the_depot(
    plan_with_everything: RoutePlan, tmp_path: Path
) -> None:
    plan = plan_with_everything
    page = tmp_path / "route_map.html"
    page.write_bytes(route_map_html(plan))
    dom = rendered_dom(page, tmp_path / "profile")

    for route in plan.routes:
        assert re.search(rf'<path[^>]*class="[^"]*sgr-route-{route.vehicle_id}\b', dom), f"{route.vehicle_id} drawn"
    pins = re.findall(r'<div class="sgr-pin"[^>]*>(\d+)</div>', dom)
    assert len(pins) == plan.stops_served
    assert sorted(map(int, pins)) == sorted(v.sequence for r in plan.routes for v in r.visits)
    assert dom.count('class="sgr-depot"') == 1
    located_drops = sum(d.stop.has_coordinates for d in plan.dropped)
    assert located_drops and dom.count('class="sgr-dropped"') == located_drops
    # OneMap basemap with its attribution; the legend names the day and lists the stop that is not on the map.
    assert "onemap.gov.sg/maps/tiles/Default/" in dom and "Singapore Land Authority" in dom
    legend = dom[dom.index('id="sgr-legend"') :]
    assert "Deliveries on Wed 2 Dec 2026" in legend and "NOGEO" in legend and "no geocoder" in legend
    assert "<script>alert(1)</script>" not in dom
    # File text is data: it appears only inside the JSON element, never in HTML or script source
    # (tests/test_html_injection.py opens hostile fields in the browser).
    outside_data = re.sub(
        r'<script type="application/json" id="sgr-data">.*?</script>', "", page.read_text(), flags=re.S
    )
    assert "alert(2)" not in outside_data and "call` on arrival" not in outside_data
    assert len(re.findall(r'class="leaflet-popup', dom)) == 0, "popups open on click only"


def test_map_html_is_self_contained(plan_with_everything: RoutePlan) -> None:
    page = route_map_html(plan_with_everything).decode()
    assert not re.search(r'<script[^>]+src="https?://', page), "Leaflet is inlined, no CDN"
    assert not re.search(r'<link[^>]+href="https?://', page)
