"""route_map.html: the plan on OneMap's basemap, one colour per route, numbered stops with what a driver needs.

The page is Leaflet (vendor/leaflet, BSD-2, inlined so routes, stops and the legend draw offline; only the
basemap tiles need the network), one static script of ours (static/route_map.js) and the plan as data: a
single JSON document in ``<script type="application/json">``, escaped so no text can close the script element.
The script builds every popup, tooltip and legend line with ``textContent``. No stop file value is ever
placed into HTML or JavaScript source, so a backtick, ``${...}``, ``</script>`` or a Windows path in a note
is shown as typed and cannot run or break the page.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from html import escape
from importlib import resources

from ..routing import Route, RoutePlan, accounting_text, clock, plan_title, shift_text, stop_windows_text, vehicle_label
from ..stops import Stop
from .colors import vehicle_color
from .navigation import navigation_links
from .road_path import has_roads, joined, route_legs

ONEMAP_TILES = "https://www.onemap.gov.sg/maps/tiles/Default/{z}/{x}/{y}.png"
# OneMap's terms ask for their logo, a link and the Singapore Land Authority credit on every map using the tiles.
ONEMAP_ATTRIBUTION = (
    '<img src="https://www.onemap.gov.sg/web-assets/images/logo/om_logo.png" style="height:20px;width:20px;"/>'
    '&nbsp;<a href="https://www.onemap.gov.sg/" target="_blank" rel="noopener noreferrer">OneMap</a>'
    "&nbsp;&copy;&nbsp;contributors&nbsp;&#124;&nbsp;"
    '<a href="https://www.sla.gov.sg/" target="_blank" rel="noopener noreferrer">Singapore Land Authority</a>'
)
# Numbered pins are HTML elements; beyond this many stops a plan shows small circles (numbers in the tooltip).
MAX_NUMBERED_STOPS = 1500
_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
# What JSON may hold but an HTML script element may not: "</script>", "<!--", and the two line separators that
# older JavaScript parsers treat as line ends.
_JSON_IN_HTML = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


@lru_cache(maxsize=1)
def _assets() -> dict[str, str]:
    here = resources.files("sgroute_assets.domain.exports")
    vendor, static = here / "vendor" / "leaflet", here / "static"
    return {
        "leaflet_js": (vendor / "leaflet.js").read_text(encoding="utf-8"),
        "leaflet_css": (vendor / "leaflet.css").read_text(encoding="utf-8"),
        "map_js": (static / "route_map.js").read_text(encoding="utf-8"),
        "map_css": (static / "route_map.css").read_text(encoding="utf-8"),
    }


def json_for_html(data: object) -> str:
    """JSON that can sit inside an HTML ``<script>`` element: no ``<``, ``>``, ``&`` or U+2028/2029 literally."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(_JSON_IN_HTML)


def _rows(pairs: list[tuple[str, object]]) -> list[list[str]]:
    """Popup rows as [label, text], the empty ones left out."""
    return [[k, str(v)] for k, v in pairs if v not in (None, "")]


def _stop_rows(stop: Stop) -> list[tuple[str, object]]:
    return [
        ("window", stop_windows_text(stop)),
        ("address", " ".join(x for x in (stop.address, stop.postal_code) if x)),
        ("contact", " ".join(x for x in (stop.contact_name, stop.phone) if x)),
        ("notes", stop.notes),
        ("priority", stop.priority if stop.priority != "normal" else ""),
        ("warnings", "; ".join(stop.warnings)),
    ]


def _color(route: Route) -> str:
    color = vehicle_color(route.vehicle)
    if not _COLOR.match(color):  # the palette is ours; the script relies on it being a plain #rrggbb
        raise ValueError(f"not a colour: {color!r}")
    return color


def _lines(plan: RoutePlan, route: Route, roads: bool) -> list[dict]:
    vid = route.vehicle_id
    legs = route_legs(plan, route)
    if not roads:  # no leg has a road line (no OneMap): straight legs, drawn as they always were
        return [{"points": joined(legs), "weight": 4, "className": f"sgr-route sgr-route-{vid}", "tooltip": vid}]
    out = []
    road = [leg.points for leg in legs if leg.road]
    straight = [leg.points for leg in legs if not leg.road]
    if road:  # OneMap's roads solid; a leg without road geometry as a dashed straight segment, said so
        out.append({"points": road, "weight": 4, "className": f"sgr-route sgr-road sgr-route-{vid}", "tooltip": vid})
    if straight:
        out.append(
            {
                "points": straight,
                "weight": 3,
                "dash": "6 6",
                "className": f"sgr-route sgr-straight sgr-route-{vid}",
                "tooltip": f"{vid}: straight line, no road geometry for this leg",
            }
        )
    return out


def _route_data(plan: RoutePlan, route: Route, roads: bool) -> dict:
    stops = []
    for v in route.visits:
        stop = v.stop
        if not stop.has_coordinates:
            continue
        rows = [
            ("stop", f"{route.vehicle_id} #{v.sequence} · {stop.stop_ref}"),
            ("arrival (ETA)", clock(v.arrival_s)),
            ("ETA from", "OneMap road times" if v.eta_source == "onemap" else "travel-time model"),
            ("wait", f"{round(v.wait_s / 60)} min" if v.wait_s >= 60 else ""),
            ("service", f"{clock(v.service_start_s)}-{clock(v.departure_s)}"),
            *_stop_rows(stop),
        ]
        stops.append(
            {
                "lat": stop.lat,
                "lon": stop.lon,
                "seq": v.sequence,
                "tooltip": f"{route.vehicle_id} #{v.sequence} {stop.stop_ref} · ETA {clock(v.arrival_s)}",
                "rows": _rows(rows),
                "links": dict(zip(("Google Maps", "Waze"), navigation_links(stop.lat, stop.lon), strict=True)),
            }
        )
    name = f"{vehicle_label(route)} · {len(route.visits)} stops · {route.distance_m / 1000:.1f} km"
    return {"name": name, "color": _color(route), "lines": _lines(plan, route, roads), "stops": stops}


def _bounds(plan: RoutePlan) -> list[list[float]]:
    points = [(plan.fleet.depot_lat, plan.fleet.depot_lon)]
    points += [(p.lat, p.lon) for r in plan.routes for p in (plan.start_point(r), plan.end_point(r))]
    stops = [v.stop for r in plan.routes for v in r.visits] + [d.stop for d in plan.dropped]
    points += [(s.lat, s.lon) for s in stops if s.lat is not None and s.lon is not None]
    lats, lons = [p[0] for p in points], [p[1] for p in points]
    pad = 0.004
    return [[min(lats) - pad, min(lons) - pad], [max(lats) + pad, max(lons) + pad]]


def _legend(plan: RoutePlan, title: str) -> dict:
    routes = []
    for route in plan.routes:
        text = f"{vehicle_label(route)} · {len(route.visits)} stops · {clock(route.start_s)}-{clock(route.end_s)}"
        if route.break_start_s is not None:
            text += f" · break {clock(route.break_start_s)}-{clock(route.break_end_s)}"
        routes.append({"color": _color(route), "text": text})
    off_map = [u for u in plan.unplanned() if u.stop is None or not u.stop.has_coordinates]
    return {
        "title": title,
        "lines": [f"{plan.fleet.depot_name} · shift {shift_text(plan)}", accounting_text(plan)],
        "routes": routes,
        "key": f"ETAs from {_eta_text(plan)} · D = depot · \u2715 = dropped",
        "offMapTitle": f"Not on the map ({len(off_map)})",
        "offMap": [f"row {u.row} {u.stop_ref or ''}: {u.status.replace('_', ' ')} - {u.message}" for u in off_map],
    }


def _eta_text(plan: RoutePlan) -> str:
    v = plan.verification
    if v is None or v.legs_onemap == 0:
        return "the travel-time model"
    if v.legs_onemap == v.legs_driven:
        return "OneMap road times (every driven leg); dashed = straight line, no road geometry"
    return f"OneMap road times for {v.legs_onemap} of {v.legs_driven} legs, the model for the rest"


def map_data(plan: RoutePlan, title: str) -> dict:
    """Everything the page draws, as plain data (what the script reads)."""
    roads = has_roads(plan)
    fleet = plan.fleet
    depot_rows = _rows([("depot", fleet.depot_name), ("shift", shift_text(plan))])
    depots = [
        {"lat": fleet.depot_lat, "lon": fleet.depot_lon, "tooltip": f"depot · {fleet.depot_name}", "rows": depot_rows}
    ]
    # Vehicle types' own start/end points some route uses: depot markers of their own.
    own = {p for r in plan.routes for p in (plan.start_point(r), plan.end_point(r))} - {fleet.depot}
    depots += [
        {"lat": p.lat, "lon": p.lon, "tooltip": f"depot · {p.name}", "rows": _rows([("depot", p.name)])}
        for p in sorted(own, key=lambda p: p.name)
    ]
    dropped = [
        {
            "lat": d.stop.lat,
            "lon": d.stop.lon,
            "tooltip": f"dropped {d.stop.stop_ref}: {d.reason}",
            "rows": _rows(
                [("dropped", d.stop.stop_ref), ("reason", d.reason), ("why", d.message), *_stop_rows(d.stop)]
            ),
        }
        for d in plan.dropped
        if d.stop.has_coordinates
    ]
    return {
        "tiles": {"url": ONEMAP_TILES, "attribution": ONEMAP_ATTRIBUTION},
        "numbered": plan.stops_served <= MAX_NUMBERED_STOPS,
        "bounds": _bounds(plan),
        "routes": [_route_data(plan, r, roads) for r in plan.routes],
        "dropped": {"name": f"\u2715 dropped ({len(plan.dropped)})", "stops": dropped},
        "depots": depots,
        "legend": _legend(plan, title),
    }


def route_map_html(plan: RoutePlan, *, title: str | None = None) -> bytes:
    title = title or plan_title(plan)
    assets = _assets()
    # A "</script>" inside the library would end the inline script early; Leaflet has none, keep it that way.
    leaflet_js = assets["leaflet_js"].replace("</script", "<\\/script")
    page = "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title>",
            f"<style>{assets['leaflet_css']}</style>",
            f"<style>{assets['map_css']}</style>",
            f"<script>{leaflet_js}</script>",
            '</head><body><div id="sgr-map"></div>',
            f'<script type="application/json" id="sgr-data">{json_for_html(map_data(plan, title))}</script>',
            f"<script>{assets['map_js']}</script>",
            "</body></html>",
        ]
    )
    return page.encode("utf-8")
