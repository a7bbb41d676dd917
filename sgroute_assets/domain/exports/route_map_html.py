"""route_map.html: the plan on OneMap's basemap, one colour per route, numbered stops with what a driver needs.

folium writes the Leaflet page; Leaflet itself (vendor/leaflet, BSD-2) is inlined instead of linked from a CDN,
so the routes, stops and legend draw in a van without signal or in CI, and only the basemap tiles need the
network. Every file-sourced text is HTML-escaped before it reaches a popup, tooltip or the legend.
"""

from __future__ import annotations

import html
from functools import lru_cache
from importlib import resources

import folium
from branca.element import Element

from ..routing import RoutePlan, accounting_text, clock, plan_title, shift_text, vehicle_label, window_text
from ..stops import Stop
from .colors import DEPOT_COLOR, DROPPED_COLOR, vehicle_color
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

_STYLE = """
<script>
/* folium hands popup HTML to $(...)[0]; this page ships Leaflet alone (no jQuery), so parse it with a template. */
window.$ = window.$ || function (markup) {
  var t = document.createElement("template"); t.innerHTML = markup.trim(); return [t.content.firstElementChild];
};
</script>
<style>
.sgr-pin{border-radius:50%;color:#fff;font:bold 11px/20px sans-serif;text-align:center;width:20px;height:20px;
  border:1.5px solid #fff;box-shadow:0 0 2px rgba(0,0,0,.6)}
.sgr-depot{background:#000;color:#fff;font:bold 12px/22px sans-serif;text-align:center;width:22px;height:22px;
  border:2px solid #fff;box-shadow:0 0 3px rgba(0,0,0,.7)}
.sgr-dropped{color:#8C8C8C;font:bold 20px/20px sans-serif;text-align:center;width:20px;height:20px;
  text-shadow:0 0 2px #fff}
.sgr-legend{position:fixed;z-index:9999;bottom:24px;left:12px;background:rgba(255,255,255,.94);padding:8px 10px;
  font:12px/1.45 sans-serif;border-radius:6px;box-shadow:0 1px 4px rgba(0,0,0,.35);max-width:360px;
  max-height:60vh;overflow:auto}
.sgr-legend h4{margin:0 0 4px;font-size:14px}
.sgr-swatch{display:inline-block;width:14px;height:4px;margin:0 6px 3px 0;vertical-align:middle}
.sgr-popup td{padding:0 6px 0 0;vertical-align:top}
</style>
"""


@lru_cache(maxsize=1)
def _leaflet() -> tuple[str, str]:
    vendor = resources.files("sgroute_assets.domain.exports") / "vendor" / "leaflet"
    return (vendor / "leaflet.js").read_text(encoding="utf-8"), (vendor / "leaflet.css").read_text(encoding="utf-8")


def _e(value: object) -> str:
    """HTML-escaped, and "$" as an entity: folium puts popups in JS template literals, where ${...} would run."""
    return html.escape("" if value is None else str(value)).replace("$", "&#36;")


def _popup_table(rows: list[tuple[str, object]]) -> str:
    cells = "".join(f"<tr><td><b>{_e(k)}</b></td><td>{_e(v)}</td></tr>" for k, v in rows if v not in (None, ""))
    return f'<table class="sgr-popup">{cells}</table>'


def _stop_rows(stop: Stop) -> list[tuple[str, object]]:
    return [
        ("window", window_text(stop.tw_start_min, stop.tw_end_min)),
        ("address", " ".join(x for x in (stop.address, stop.postal_code) if x)),
        ("contact", " ".join(x for x in (stop.contact_name, stop.phone) if x)),
        ("notes", stop.notes),
        ("warnings", "; ".join(stop.warnings)),
    ]


def _bounds(plan: RoutePlan) -> list[list[float]]:
    points = [(plan.fleet.depot_lat, plan.fleet.depot_lon)]
    points += [(p.lat, p.lon) for r in plan.routes for p in (plan.start_point(r), plan.end_point(r))]
    stops = [v.stop for r in plan.routes for v in r.visits] + [d.stop for d in plan.dropped]
    points += [(s.lat, s.lon) for s in stops if s.lat is not None and s.lon is not None]
    lats, lons = [p[0] for p in points], [p[1] for p in points]
    pad = 0.004
    return [[min(lats) - pad, min(lons) - pad], [max(lats) + pad, max(lons) + pad]]


def route_map_html(plan: RoutePlan, *, title: str | None = None) -> bytes:
    title = title or plan_title(plan)
    fleet = plan.fleet
    numbered = plan.stops_served <= MAX_NUMBERED_STOPS
    fmap = folium.Map(location=[fleet.depot_lat, fleet.depot_lon], zoom_start=12, tiles=None, control_scale=True)
    fmap.default_js = [("leaflet", "leaflet.js")]  # replaced by the inlined copy below
    fmap.default_css = [("leaflet_css", "leaflet.css")]
    folium.TileLayer(ONEMAP_TILES, attr=ONEMAP_ATTRIBUTION, name="OneMap", min_zoom=11, max_zoom=19).add_to(fmap)

    roads = has_roads(plan)
    for route in plan.routes:
        color = vehicle_color(route.vehicle)
        label = f"{vehicle_label(route)} · {len(route.visits)} stops · {route.distance_m / 1000:.1f} km"
        group = folium.FeatureGroup(name=f'<span style="color:{color}">&#9632;</span> {_e(label)}')
        legs = route_legs(plan, route)
        if not roads:  # no leg has a road line (no OneMap): straight legs, drawn as they always were
            folium.PolyLine(joined(legs), color=color, weight=4, opacity=0.85, tooltip=_e(route.vehicle_id),
                            class_name=f"sgr-route sgr-route-{route.vehicle_id}").add_to(group)  # fmt: skip
        else:
            # OneMap's roads solid; a leg without road geometry as a dashed straight segment, said so.
            road = [leg.points for leg in legs if leg.road]
            straight = [leg.points for leg in legs if not leg.road]
            vid = route.vehicle_id
            if road:
                folium.PolyLine(
                    road,
                    color=color,
                    weight=4,
                    opacity=0.85,
                    tooltip=_e(vid),
                    class_name=f"sgr-route sgr-road sgr-route-{vid}",
                ).add_to(group)
            if straight:
                folium.PolyLine(
                    straight,
                    color=color,
                    weight=3,
                    opacity=0.85,
                    dash_array="6 6",
                    tooltip=_e(f"{vid}: straight line, no road geometry for this leg"),
                    class_name=f"sgr-route sgr-straight sgr-route-{vid}",
                ).add_to(group)
        for v in route.visits:
            stop = v.stop
            if stop.lat is None or stop.lon is None:
                continue
            rows = [
                ("stop", f"{route.vehicle_id} #{v.sequence} · {stop.stop_ref}"),
                ("arrival (ETA)", clock(v.arrival_s)),
                ("ETA from", "OneMap road times" if v.eta_source == "onemap" else "travel-time model"),
                ("wait", f"{round(v.wait_s / 60)} min" if v.wait_s >= 60 else ""),
                ("service", f"{clock(v.service_start_s)}-{clock(v.departure_s)}"),
                *_stop_rows(stop),
            ]
            popup = folium.Popup(_popup_table(rows), max_width=320)
            tooltip = _e(f"{route.vehicle_id} #{v.sequence} {stop.stop_ref} · ETA {clock(v.arrival_s)}")
            if numbered:
                icon = folium.DivIcon(
                    html=f'<div class="sgr-pin" style="background:{color}">{v.sequence}</div>',
                    icon_size=(20, 20),
                    icon_anchor=(10, 10),
                    class_name="sgr-stop",
                )
                folium.Marker([stop.lat, stop.lon], icon=icon, popup=popup, tooltip=tooltip).add_to(group)
            else:
                folium.CircleMarker([stop.lat, stop.lon], radius=4, color=color, fill=True, fill_opacity=0.9,
                                    popup=popup, tooltip=tooltip).add_to(group)  # fmt: skip
        group.add_to(fmap)

    if plan.dropped:
        dropped = folium.FeatureGroup(name=f"&#10005; dropped ({len(plan.dropped)})")
        for d in plan.dropped:
            stop = d.stop
            if stop.lat is None or stop.lon is None:
                continue
            rows = [("dropped", stop.stop_ref), ("reason", d.reason), ("why", d.message), *_stop_rows(stop)]
            icon = folium.DivIcon(html='<div class="sgr-dropped">&#10005;</div>', icon_size=(20, 20),
                                  icon_anchor=(10, 10), class_name="sgr-dropped-stop")  # fmt: skip
            folium.Marker([stop.lat, stop.lon], icon=icon, popup=folium.Popup(_popup_table(rows), max_width=320),
                          tooltip=_e(f"dropped {stop.stop_ref}: {d.reason}")).add_to(dropped)  # fmt: skip
        dropped.add_to(fmap)

    depot_icon = folium.DivIcon(html='<div class="sgr-depot">D</div>', icon_size=(22, 22), icon_anchor=(11, 11),
                                class_name="sgr-depot-marker")  # fmt: skip
    folium.Marker(
        [fleet.depot_lat, fleet.depot_lon],
        icon=depot_icon,
        tooltip=_e(f"depot · {fleet.depot_name}"),
        popup=folium.Popup(_popup_table([("depot", fleet.depot_name), ("shift", shift_text(plan))]), max_width=300),
    ).add_to(fmap)
    # Vehicle types' own start/end points some route uses: depot markers of their own.
    own = {p for r in plan.routes for p in (plan.start_point(r), plan.end_point(r))} - {fleet.depot}
    for point in sorted(own, key=lambda p: p.name):
        popup = folium.Popup(_popup_table([("depot", point.name)]), max_width=300)
        folium.Marker([point.lat, point.lon], icon=depot_icon, tooltip=_e(f"depot · {point.name}"),
                      popup=popup).add_to(fmap)  # fmt: skip
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.fit_bounds(_bounds(plan))
    fmap.get_root().header.add_child(Element(_STYLE))
    fmap.get_root().html.add_child(Element(_legend(plan, title)))
    return _inline_leaflet(fmap.get_root().render()).encode("utf-8")


def _legend(plan: RoutePlan, title: str) -> str:
    lines = [f"<h4>{_e(title)}</h4>", f"<div>{_e(plan.fleet.depot_name)} · shift {_e(shift_text(plan))}</div>"]
    lines.append(f"<div><b>{_e(accounting_text(plan))}</b></div>")
    for route in plan.routes:
        color = vehicle_color(route.vehicle)
        lines.append(
            f'<div class="sgr-legend-route"><span class="sgr-swatch" style="background:{color}"></span>'
            f"{_e(vehicle_label(route))} · {len(route.visits)} stops · {clock(route.start_s)}-{clock(route.end_s)}"
            + (
                f" · break {clock(route.break_start_s)}-{clock(route.break_end_s)}"
                if route.break_start_s is not None
                else ""
            )
            + "</div>"
        )
    lines.append(f"<div>ETAs from {_e(_eta_text(plan))}</div>")
    lines.append(
        f'<div><span class="sgr-swatch" style="background:{DEPOT_COLOR}"></span>D = depot · '
        f'<span style="color:{DROPPED_COLOR}">&#10005;</span> = dropped</div>'
    )
    off_map = [u for u in plan.unplanned() if u.stop is None or not u.stop.has_coordinates]
    if off_map:
        lines.append(f"<div><b>Not on the map ({len(off_map)})</b></div><ul style='margin:0;padding-left:16px'>")
        lines += [
            f"<li>row {u.row} {_e(u.stop_ref or '')}: {_e(u.status.replace('_', ' '))} - {_e(u.message)}</li>"
            for u in off_map
        ]
        lines.append("</ul>")
    return f'<div class="sgr-legend" id="sgr-legend">{"".join(lines)}</div>'


def _eta_text(plan: RoutePlan) -> str:
    v = plan.verification
    if v is None or v.legs_onemap == 0:
        return "the travel-time model"
    if v.legs_onemap == v.legs_driven:
        return "OneMap road times (every driven leg); dashed = straight line, no road geometry"
    return f"OneMap road times for {v.legs_onemap} of {v.legs_driven} legs, the model for the rest"


def _inline_leaflet(page: str) -> str:
    js, css = _leaflet()
    script_tag = '<script src="leaflet.js"></script>'
    css_tag = '<link rel="stylesheet" href="leaflet.css"/>'
    if script_tag not in page or css_tag not in page:
        raise RuntimeError("folium no longer links leaflet as expected; cannot inline it")
    # A "</script>" inside the library would end the inline script early; Leaflet has none, keep it that way.
    page = page.replace(script_tag, "<script>" + js.replace("</script", "<\\/script") + "</script>", 1)
    return page.replace(css_tag, "<style>" + css + "</style>", 1)
