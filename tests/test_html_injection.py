"""Nothing from a stop file runs in a browser (issue 24): route_map.html opened in headless Chromium with hostile
text in every field still has its title, draws every pin and route, and shows each payload as typed."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

from test_route_map_html import rendered_dom

from sgroute_assets.domain.exports import plan_page_html, route_map_html
from sgroute_assets.domain.routing import RoutePlan

PAYLOADS = [
    "S`1 `${document.title='pwned'}`",
    "a\\`b\\${document.title='pwned'}",
    "C:\\users\\x\\new\\u0041",
    "12\\3",
    "</script><script>document.title='pwned'</script>",
    "${document.title='pwned'}",
    "javascript:document.title='pwned'",
    "<img src=x onerror=\"document.title='pwned'\">",
    "line\u2028separator\u2029here",
    "<!-- <script>document.title='pwned'</script>",
]

# Test instrumentation appended to a copy of the page: click every marker and record each popup's text, so the
# check reads what a person sees when they open it.
PROBE = """<script>
(function () {
  var seen = [];
  document.querySelectorAll(".leaflet-marker-icon").forEach(function (icon) {
    icon.dispatchEvent(new MouseEvent("click", {bubbles: true}));
    var open = document.querySelectorAll(".leaflet-popup-content");  /* a closing popup may linger: take the newest */
    if (open.length) seen.push(open[open.length - 1].textContent);
  });
  var out = document.createElement("pre"); out.id = "probe"; out.textContent = JSON.stringify(seen);
  document.body.appendChild(out);
})();
</script></body>"""


def _hostile_plan(plan: RoutePlan) -> RoutePlan:
    k = 0
    routes = []
    for route in plan.routes:
        visits = []
        for v in route.visits:
            text = PAYLOADS[k % len(PAYLOADS)]
            k += 1
            stop = replace(
                v.stop,
                stop_ref=f"{text} #{k}",
                address=text,
                contact_name=text,
                phone=text,
                extra={**v.stop.extra, "notes": text},
            )
            visits.append(replace(v, stop=stop))
        routes.append(replace(route, visits=visits))
    assert k >= len(PAYLOADS)
    return replace(plan, routes=routes, plan_date="2026-12-02")


def test_hostile_fields_neither_run_nor_blank_the_map(small_plan: RoutePlan, tmp_path: Path) -> None:
    plan = _hostile_plan(small_plan)
    page = route_map_html(plan).decode()
    assert not re.search(r"<script>[^<]*document\.title='pwned'", page)
    probe = tmp_path / "route_map.html"
    probe.write_text(page.replace("</body>", PROBE, 1))
    dom = rendered_dom(probe, tmp_path / "profile")

    assert re.search(r"<title>Deliveries on Wed 2 Dec 2026</title>", dom), "the title is unchanged"
    assert "pwned" not in dom.split("<body", 1)[0]
    pins = re.findall(r'<div class="sgr-pin"[^>]*>(\d+)</div>', dom)
    assert len(pins) == plan.stops_served, "every pin is drawn"
    for route in plan.routes:
        assert re.search(rf'<path[^>]*class="[^"]*sgr-route-{route.vehicle_id}\b', dom), "every route is drawn"
    assert '<img src="x"' not in dom and "onerror" not in dom.split('id="probe"')[0].split("</script>")[-1]

    popups = json.loads(re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S).group(1).replace("&quot;", '"')
                        .replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))  # fmt: skip
    assert len(popups) >= plan.stops_served  # every served stop's popup opens (plus depot and dropped)
    for payload in PAYLOADS:
        assert any(payload in text for text in popups), f"shown as typed: {payload!r}"


def test_plan_page_shows_hostile_text_as_text(small_plan: RoutePlan, tmp_path: Path) -> None:
    plan = _hostile_plan(small_plan)
    page = tmp_path / "plan.html"
    page.write_text(plan_page_html(plan))
    dom = rendered_dom(page, tmp_path / "profile")
    assert "<title>Deliveries on Wed 2 Dec 2026</title>" in dom
    body = dom.split("<body", 1)[1]
    assert "<script" not in body and "<img" not in body and "javascript:" not in re.findall(r'href="([^"]*)"', body)
