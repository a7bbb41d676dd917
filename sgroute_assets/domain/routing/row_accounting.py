"""Every row of a stop file accounted for in the plan: served, dropped, invalid or not located, with why.

A dispatcher reads the plan's totals as the whole file; a row that silently vanished between validation,
geocoding and the solver is a delivery nobody makes. The plan therefore carries the rows that never reached
the solver (invalid rows, stops without a location) next to the ones it dropped, and the counts add up to
the file's rows.
"""

from __future__ import annotations

from dataclasses import replace

from ..stops import GeocodedStops, ValidationReport
from .plan_types import INVALID, NOT_LOCATED, RoutePlan, UnplannedRow


def _problems(errors) -> str:
    return "; ".join(f"{e.column or 'row'}: {e.message}" for e in errors)


def account_rows(
    plan: RoutePlan,
    report: ValidationReport,
    geocoded: GeocodedStops,
    *,
    plan_id: str = "",
    plan_date: str | None = None,
) -> RoutePlan:
    """The plan with its file's invalid and not-located rows, identity and day attached."""
    not_planned = [
        UnplannedRow(
            row=r.row,
            stop_ref=r.stop_ref,
            status=INVALID,
            reason="invalid",
            message=_problems(r.errors),
            fields=dict(r.fields),
        )
        for r in report.invalid_rows
    ]
    not_planned += [
        UnplannedRow(
            row=g.stop.row,
            stop_ref=g.stop.stop_ref,
            status=NOT_LOCATED,
            reason=g.status,
            message=g.reason or "no coordinates",
            stop=g.stop,
        )
        for g in geocoded.needs_attention
    ]
    accounted = replace(
        plan,
        plan_id=plan_id or plan.plan_id,
        plan_date=plan_date or plan.plan_date,
        source_file=report.file,
        data_version=report.source_version,
        file_rows=len(report.rows),
        not_planned=sorted(not_planned, key=lambda u: u.row),
        validation_issues=tuple(report.issue_lines()),
    )
    counts = accounted.row_counts()
    parts = counts["served"] + counts["dropped"] + counts["invalid"] + counts["not_located"]
    if parts != counts["rows"]:
        raise ValueError(f"{report.file}: {counts['rows']} rows but {parts} accounted for ({counts})")
    return accounted
