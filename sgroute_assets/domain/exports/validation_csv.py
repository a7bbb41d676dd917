"""`validation_issues.csv`: every error and warning validation found, by file, row and column.

It is written twice from this one function: by `validated_stops` as soon as the file is read (so a file with
no valid row still has it, with this run's plan id), and again with the plan's exports, where it carries the
day, depot and shift like every other CSV of the plan.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..routing import RoutePlan
from ..stops import Issue
from ._format import PLAN_COLUMNS, csv_bytes, plan_values

VALIDATION_COLUMNS: tuple[str, ...] = ("file", "row", "column", "message", "kind", *PLAN_COLUMNS)


def validation_issues_csv(
    lines: Iterable[tuple[str, Issue]],
    *,
    plan: RoutePlan | None = None,
    plan_id: str = "",
    data_version: str | None = None,
) -> bytes:
    """One row per (kind, issue); the plan columns from ``plan``, or only its id and version before it exists."""
    on_plan = plan_values(plan) if plan is not None else ("", "", "", plan_id, data_version or "")
    return csv_bytes(VALIDATION_COLUMNS, [(i.file, i.row, i.column, i.message, kind, *on_plan) for kind, i in lines])


def plan_validation_csv(plan: RoutePlan) -> bytes:
    return validation_issues_csv(plan.validation_issues, plan=plan)
