"""plan.html: the page a dispatcher opens for one plan, with nothing behind a button.

The Dagster UI shows a plan as asset metadata; a dispatcher wants one page: the day, the depot, every row
accounted for, the interactive map (route_map.html beside it, framed), one table per route and every row not
on a route with its reason and the customer's contact, and links to the driver sheets and the PDF. Every value
from the stop file is escaped as text: the page runs no script of its own and turns no note into a link.
"""

from __future__ import annotations

from html import escape

from ..routing import (
    Route,
    RoutePlan,
    accounting_text,
    clock,
    day_label,
    eta_source_text,
    fleet_lines,
    load_text,
    plan_title,
    stop_windows_text,
    unplanned_address,
    vehicle_label,
)
from .colors import vehicle_color

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;margin:0;color:#1d2430}
header{background:#2f3b4c;color:#fff;padding:14px 22px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:2px 0;font-size:14px;opacity:.9}main{padding:12px 22px 40px}
nav a{margin-right:14px}iframe{width:100%;height:560px;border:1px solid #c8cdd5;border-radius:4px}
table{border-collapse:collapse;width:100%;margin:6px 0 18px;font-size:13px}
th{background:#2f3b4c;color:#fff;text-align:left;padding:5px 6px;font-weight:600}
td{padding:4px 6px;border-bottom:1px solid #e1e4ea;vertical-align:top}tr:nth-child(even) td{background:#f5f6f8}
td.n{text-align:right;white-space:nowrap}h2{margin:22px 0 4px;font-size:18px}.swatch{display:inline-block;
width:12px;height:12px;border-radius:2px;margin-right:6px;vertical-align:-1px}.warn{color:#9a3412}
.counts{font-size:15px;font-weight:600;margin:10px 0}
""".strip()


def _e(value: object) -> str:
    return escape("" if value is None else str(value))


def _table(headers: list[str], rows: list[list[object]], numeric: tuple[str, ...] = ()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{_e(c)}</td>' if h in numeric else f"<td>{_e(c)}</td>"
                         for h, c in zip(headers, row, strict=True)) + "</tr>"
        for row in rows
    )  # fmt: skip
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _route_section(plan: RoutePlan, route: Route) -> str:
    color = vehicle_color(route.vehicle)
    facts = (
        f"{len(route.visits)} stops · load {load_text(plan, route)} · leaves {clock(route.start_s)} · "
        f"back {clock(route.end_s)} · {route.distance_m / 1000:.1f} km"
    )
    if route.break_start_s is not None:
        facts += f" · break {clock(route.break_start_s)}-{clock(route.break_end_s)}"
    rows = [
        [
            v.sequence,
            clock(v.arrival_s),
            round(v.wait_s / 60) or "",
            clock(v.service_start_s),
            stop_windows_text(v.stop),
            v.stop.stop_ref,
            ", ".join(x for x in (v.stop.address, v.stop.postal_code) if x),
            v.stop.contact_name,
            v.stop.phone,
            v.stop.notes,
            v.stop.priority if v.stop.priority != "normal" else "",
            "; ".join([*v.stop.warnings, *v.violations]),
        ]
        for v in route.visits
    ]
    table = _table(
        ["#", "ETA", "wait min", "service", "window", "stop", "address", "contact", "phone", "notes", "priority",
         "warnings"],
        rows,
        numeric=("#", "wait min"),
    )  # fmt: skip
    driver = f"drivers/{route.vehicle_id}.csv"
    return (
        f'<h2 id="{_e(route.vehicle_id)}"><span class="swatch" style="background:{_e(color)}"></span>'
        f'{_e(vehicle_label(route))}</h2><p>{_e(facts)} · <a href="{_e(driver)}">driver sheet</a></p>{table}'
    )


def _unplanned_section(plan: RoutePlan) -> str:
    unplanned = plan.unplanned()
    if not unplanned:
        return "<h2>Not on a route</h2><p>Every row of the file is on a route.</p>"
    rows = [
        [
            u.row,
            u.stop_ref or "",
            u.status.replace("_", " "),
            u.reason,
            u.message,
            unplanned_address(u),
            u.field_text("contact_name"),
            u.field_text("phone"),
        ]
        for u in unplanned
    ]
    table = _table(["row", "stop", "status", "reason", "why", "address", "contact", "phone"], rows, ("row",))
    return f'<h2 id="unplanned">Not on a route ({len(unplanned)})</h2>{table}'


def _changes_section(plan: RoutePlan) -> str:
    """A re-plan's page opens with what changed since the previous revision (the dispatcher's calls to make)."""
    if plan.revision <= 1:
        return ""
    head = f'<h2 id="changes">Revision {plan.revision}: {_e(plan.revision_reason)}</h2>'
    if not plan.changes:
        return head + "<p>No stop changed van, place or ETA by more than 5 minutes.</p>"
    headers = ["stop_ref", "old van", "new van", "old #", "new #", "old ETA", "new ETA", "moved (min)", "why"]
    rows = [list(c.row().values()) for c in plan.changes]
    note = f'<p>{len(rows)} stop(s) changed; <a href="changes.csv">changes.csv</a> has them all.</p>'
    return head + note + _table(headers, rows, numeric=("old #", "new #", "moved (min)"))


def plan_page_html(plan: RoutePlan, *, title: str | None = None) -> str:
    """The page, with links relative to the plan's export folder (the files render_exports writes beside it)."""
    title = title or plan_title(plan)
    facts = [f"Depot {plan.fleet.depot_name}"]
    if plan.source_file:
        facts.append(f"file {plan.source_file}")
    if plan.plan_id:
        facts.append(f"plan {plan.plan_id}")
    links = [
        ("driver_pack.pdf", "Driver pack (PDF)"),
        ("planner.csv", "Planner CSV"),
        ("unplanned_stops.csv", "Rows not on a route (CSV)"),
        ("routes.geojson", "GeoJSON"),
        ("route_map.html", "Map, full screen"),
    ]
    nav = "".join(f'<a href="{_e(href)}">{_e(label)}</a>' for href, label in links)
    vehicles = " · ".join(f'<a href="#{_e(r.vehicle_id)}">{_e(r.vehicle_id)}</a>' for r in plan.routes) or "no routes"
    day = day_label(plan.plan_date)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # No script, no remote anything: the map is the sibling route_map.html, which draws offline.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'none'; object-src 'none'; "
        "base-uri 'none'\">",
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>",
        f"<header><h1>{_e(title)}</h1><p>{_e(' · '.join(facts))}</p>",
        f"<p>{_e(day or 'no delivery day given')}</p></header><main>",
        f"<nav>{nav}</nav>",
        _changes_section(plan),
        f'<p class="counts">{_e(accounting_text(plan))}</p>',
        f"<p>{_e(eta_source_text(plan))}</p>",
        f"<p>Fleet: {_e('; '.join(fleet_lines(plan)))}</p>",
        f'<p>Vehicles: {vehicles} · <a href="#unplanned">rows not on a route</a></p>',
        '<iframe src="route_map.html" title="Route map"></iframe>',
        *(_route_section(plan, r) for r in plan.routes),
        _unplanned_section(plan),
        "</main></body></html>",
    ]
    return "\n".join(parts)
