"""What a planner reads in the Dagster UI about a plan: markdown and table rows, built without Dagster."""

from __future__ import annotations

import base64

from .route_plan import RoutePlan, clock
from .stop_schema import ValidationReport, format_clock


def _cell(value: object) -> str:
    return str(value if value is not None else "").replace("|", "\\|").replace("\n", " ")


def plan_markdown(plan: RoutePlan, *, title: str, map_png: bytes | None = None) -> str:
    t = plan.totals()
    lines = [f"## {title}", ""]
    if map_png:
        lines += [f"![route map](data:image/png;base64,{base64.b64encode(map_png).decode()})", ""]
    lines += [
        f"**{t['stops_served']} stops served, {t['stops_dropped']} dropped** with {t['vehicles_used']} of "
        f"{t['vehicles_available']} vehicles; {t['total_distance_km']} km, {t['total_duration_min']} min on the road "
        f"(drive {t['total_drive_min']} min, waiting {t['total_wait_min']} min). Solved in {t['solve_time_s']} s "
        f"({t['solver_status']}, limit {plan.time_limit_s:g} s), travel times from `{plan.matrix_source}`.",
        "",
        "| vehicle | stops | load | leaves | back | km | min |",
        "|---|---:|---:|---|---|---:|---:|",
    ]
    for r in plan.routes:
        lines.append(
            f"| {r.vehicle_id} | {len(r.visits)} | {r.load}/{plan.fleet.capacity} | {clock(r.start_s)} | "
            f"{clock(r.end_s)} | {r.distance_m / 1000:.1f} | {r.duration_s / 60:.0f} |"
        )
    lines.append("")
    lines += dropped_markdown(plan)
    for r in plan.routes:
        lines += [
            "",
            f"### {r.vehicle_id}",
            "",
            "| # | ETA | window | stop | address | demand |",
            "|---:|---|---|---|---|---:|",
        ]
        for v in r.visits:
            s = v.stop
            window = (
                f"{format_clock(s.tw_start_min)}-{format_clock(s.tw_end_min)}" if s.tw_start_min is not None else ""
            )
            address = " ".join(x for x in (s.address, s.postal_code) if x)
            lines.append(
                f"| {v.sequence} | {clock(v.service_start_s)} | {window} | {_cell(s.stop_ref)} | {_cell(address)} | "
                f"{s.demand} |"
            )
    return "\n".join(lines)


def dropped_markdown(plan: RoutePlan) -> list[str]:
    if not plan.dropped:
        return ["No stop was dropped."]
    lines = ["### Dropped stops", "", "| stop | file row | reason | why |", "|---|---:|---|---|"]
    for d in plan.dropped:
        lines.append(f"| {_cell(d.stop.stop_ref)} | {d.stop.row} | {d.reason} | {_cell(d.message)} |")
    return lines


def validation_markdown(report: ValidationReport, limit: int = 200) -> str:
    lines = [f"**{report.valid_count} valid, {report.invalid_count} invalid rows** in `{report.file}`", ""]
    issues = report.issues
    if not issues:
        lines.append("No problems found.")
        return "\n".join(lines)
    lines += ["| row | stop_ref | column | problem |", "|---:|---|---|---|"]
    refs = {r.row: r.stop_ref for r in report.rows}
    for issue in issues[:limit]:
        ref = _cell(refs.get(issue.row or -1))
        lines.append(f"| {issue.row or ''} | {ref} | {_cell(issue.column)} | {_cell(issue.message)} |")
    if len(issues) > limit:
        lines.append(f"\n... and {len(issues) - limit} more problems (see the validation report export).")
    return "\n".join(lines)
