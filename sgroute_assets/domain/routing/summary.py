"""What a planner reads in the Dagster UI about a plan: markdown and table rows, built without Dagster.

The page leads with what a dispatcher acts on: the day, every row of the file accounted for, the map, then
one table per route (arrival, waiting, service, departure, contact and notes), then every row not on a route.
All file-sourced text goes through `md_text`, so a pipe or raw HTML in a stop field cannot break the page.
"""

from __future__ import annotations

import base64
import datetime as dt

from ..markdown import md_table, md_text
from ..stops import Stop, ValidationReport, format_clock
from .fleet import VehicleType
from .plan_types import Route, RoutePlan, UnplannedRow, clock

# The summary is stored in Dagster's event log: per-route tables stop after this many visits (CSVs have all).
MAX_SUMMARY_VISITS = 1000


def day_label(plan_date: str | None) -> str | None:
    """2026-12-02 as "Wed 2 Dec 2026", the way a driver reads a date."""
    if not plan_date:
        return None
    try:
        day = dt.date.fromisoformat(plan_date)
    except ValueError:
        return plan_date
    return f"{day:%a} {day.day} {day:%b %Y}"


def vehicle_label(route: Route) -> str:
    """ "V02 · Van 2" when the fleet names its vehicles, else the id alone."""
    return f"{route.vehicle_id} · {route.vehicle_name}" if route.vehicle_name else route.vehicle_id


def plan_title(plan: RoutePlan) -> str:
    """The heading every export carries: "Deliveries on Wed 2 Dec 2026"."""
    day = day_label(plan.plan_date)
    return f"Deliveries on {day}" if day else "Deliveries"


def shift_text(plan: RoutePlan) -> str:
    """The day's working hours: one shift, or from the earliest start to the latest end of a mixed fleet."""
    fleet = plan.fleet
    return f"{format_clock(fleet.shift_start_min)}-{format_clock(fleet.shift_end_min)}"


def vehicle_type_text(t: VehicleType) -> str:
    """ "2 x Van: capacity 20, 08:00-18:00, routes at most 540 min" - one type's own figures."""
    shift = f"{format_clock(t.shift_start_min)}-{format_clock(t.shift_end_min)}"
    text = f"{t.count} x {t.name}: capacity {t.capacity}, {shift}, routes at most {t.max_route_min} min"
    if t.capacity_weight_kg is not None:
        text += f", {t.capacity_weight_kg:g} kg"
    if t.capacity_volume_l is not None:
        text += f", {t.capacity_volume_l:g} L"
    if t.max_stops is not None:
        text += f", at most {t.max_stops} stops"
    if t.max_overtime_min:
        text += f", overtime up to {t.max_overtime_min} min"
    if t.skills:
        text += f", skills {';'.join(t.skills)}"
    return text


def fleet_lines(plan: RoutePlan) -> list[str]:
    """The fleet type by type (a mixed fleet's figures differ per type; no one number speaks for all)."""
    return [vehicle_type_text(t) for t in plan.fleet.vehicle_types]


def load_text(plan: RoutePlan, route: Route) -> str:
    """ "12/20": the route's load against its own vehicle's capacity; then kilograms and litres when the stops
    give them ("12/20 · 85.5/100 kg")."""
    t = plan.vehicle_type_of(route)
    text = f"{route.load}/{t.capacity}"
    for column, cap, unit in (("weight_kg", t.capacity_weight_kg, "kg"), ("volume_l", t.capacity_volume_l, "L")):
        amounts = [getattr(v.stop, column) for v in route.visits if getattr(v.stop, column) is not None]
        if amounts:
            text += f" · {sum(amounts):g}/{'-' if cap is None else f'{cap:g}'} {unit}"
    return text


def accounting_text(plan: RoutePlan) -> str:
    """ "36 rows: 30 served, 2 dropped, 2 invalid, 2 not located" - the numbers add up to the file's rows."""
    c = plan.row_counts()
    return (
        f"{c['rows']} rows: {c['served']} served, {c['dropped']} dropped, {c['invalid']} invalid, "
        f"{c['not_located']} not located"
    )


def eta_source_text(plan: RoutePlan) -> str:
    """Where the ETAs come from, in a dispatcher's words: every export says whether they are road-verified."""
    v = plan.verification
    if v is None:
        return "ETAs from the travel-time model (OneMap not configured: no leg timed on the road network)"
    text = f"ETAs from OneMap road times on {v.legs_onemap} of {v.legs_driven} driven legs"
    if v.legs_onemap < v.legs_driven:
        text += f", the other {v.legs_driven - v.legs_onemap} from the travel-time model"
    if v.repaired_stops:
        text += f"; {len(v.repaired_stops)} stops re-planned to stay on time"
    if v.dropped_stops:
        text += f"; {len(v.dropped_stops)} dropped as late on the road times"
    return text


def window_text(tw_start_min: int | None, tw_end_min: int | None) -> str:
    if tw_start_min is None and tw_end_min is None:
        return ""
    return f"{format_clock(tw_start_min) or ''}-{format_clock(tw_end_min) or ''}"


def stop_windows_text(stop: Stop) -> str:
    """A stop's window, and its second one when it has one: "09:00-11:00 or 14:00-16:00"."""
    first = window_text(stop.tw_start_min, stop.tw_end_min)
    if stop.tw2_start_min is None:
        return first
    return f"{first} or {window_text(stop.tw2_start_min, stop.tw2_end_min)}"


def plan_markdown(plan: RoutePlan, *, title: str | None = None, map_png: bytes | None = None) -> str:
    t = plan.totals()
    heading = title or plan_title(plan)
    lines = [f"## {md_text(heading)}", ""]
    facts = [f"depot {md_text(plan.fleet.depot_name)}", f"shift {shift_text(plan)}"]
    if plan.source_file:
        facts.append(f"file {md_text(plan.source_file)}")
    if plan.plan_id:
        facts.append(f"plan {md_text(plan.plan_id)}")
    lines += [" · ".join(facts), "", f"**{accounting_text(plan)}**"]
    if t["stops_with_warnings"]:
        lines[-1] += f" ({t['stops_with_warnings']} planned with warnings)"
    lines += ["", md_text(eta_source_text(plan)), ""]
    if plan.engine_reason:
        lines += [md_text(f"Planned by {plan.engine_reason}."), ""]
    if map_png:
        lines += [f"![route map](data:image/png;base64,{base64.b64encode(map_png).decode()})", ""]
    lines += md_table(
        ["vehicle", "stops", "load", "leaves", "back", "km", "min"],
        [
            [
                vehicle_label(r),
                len(r.visits),
                load_text(plan, r),
                clock(r.start_s),
                clock(r.end_s),
                f"{r.distance_m / 1000:.1f}",
                f"{r.duration_s / 60:.0f}",
            ]
            for r in plan.routes
        ],
        right=("stops", "load", "km", "min"),
    )
    shown = 0
    for r in plan.routes:
        if shown >= MAX_SUMMARY_VISITS:
            lines += ["", f"... {plan.stops_served - shown} more visits: see planner.csv and the driver sheets."]
            break
        shown += len(r.visits)
        lines += ["", f"### {md_text(vehicle_label(r))}", ""]
        lines += md_table(
            ["#", "ETA", "wait", "service", "leaves", "window", "stop", "address", "contact", "notes", "warnings"],
            [
                [
                    v.sequence,
                    clock(v.arrival_s),
                    f"{round(v.wait_s / 60)} min" if v.wait_s else "",
                    clock(v.service_start_s),
                    clock(v.departure_s),
                    stop_windows_text(v.stop),
                    v.stop.stop_ref + (" (done)" if v.status == "done" else ""),
                    " ".join(x for x in (v.stop.address, v.stop.postal_code) if x),
                    " ".join(x for x in (v.stop.contact_name, v.stop.phone) if x),
                    v.stop.notes,
                    "; ".join(v.stop.warnings),
                ]
                for v in r.visits
            ],
            right=("#",),
        )
    lines += ["", *unplanned_markdown(plan)]
    lines += [
        "",
        f"{t['total_distance_km']} km, {t['total_duration_min']} min on the road (drive {t['total_drive_min']} min, "
        f"waiting {t['total_wait_min']} min) with {t['vehicles_used']} of {t['vehicles_available']} vehicles. "
        f"Solved in {t['solve_time_s']} s ({md_text(t['solver_status'])}, limit {plan.time_limit_s:g} s), "
        f"travel times from `{md_text(plan.matrix_source)}`.",
    ]
    return "\n".join(lines)


def unplanned_markdown(plan: RoutePlan) -> list[str]:
    """Every row of the file that is on no route: dropped, invalid or not located, with the reason."""
    unplanned = plan.unplanned()
    if not unplanned:
        return ["Every row of the file is on a route."]
    lines = [f"### Not on a route ({len(unplanned)})", ""]
    lines += md_table(
        ["file row", "stop", "status", "reason", "why", "address", "contact", "phone"],
        [
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
        ],
        right=("file row",),
    )
    return lines


def unplanned_address(u: UnplannedRow) -> str:
    """Address and postal code of a row on no route, whether or not it became a stop."""
    return ", ".join(x for x in (u.field_text("address"), u.field_text("postal_code")) if x)


def validation_markdown(report: ValidationReport, limit: int = 200) -> str:
    lines = [
        f"**{report.valid_count} valid, {report.invalid_count} invalid rows, {len(report.warnings)} warnings** "
        f"in `{md_text(report.file)}`",
        "",
    ]
    issues = [(i, "error") for i in report.issues] + [(w, "warning") for w in report.warnings]
    if not issues:
        lines.append("No problems found.")
        return "\n".join(lines)
    # In a workbook of several sheets a row number alone is ambiguous: rows are keyed and shown with their sheet.
    sheets = [s for s in dict.fromkeys(r.sheet for r in report.rows) if s]
    order = {s: n for n, s in enumerate(sheets)}
    issues.sort(key=lambda pair: (order.get(pair[0].sheet, -1), pair[0].row or 0, pair[1]))
    refs = {(r.sheet, r.row): r.stop_ref for r in report.rows}
    table = [[i.row or "", refs.get((i.sheet, i.row)), i.column, kind, i.message] for i, kind in issues[:limit]]
    if sheets:
        lines += md_table(
            ["sheet", "row", "stop_ref", "column", "kind", "problem"],
            [[i.sheet or "", *cells] for (i, _), cells in zip(issues[:limit], table, strict=True)],
            right=("row",),
        )
    else:
        lines += md_table(["row", "stop_ref", "column", "kind", "problem"], table, right=("row",))
    if len(issues) > limit:
        lines.append(f"\n... and {len(issues) - limit} more problems (see the validation report export).")
    return "\n".join(lines)
