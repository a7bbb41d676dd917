"""Stops left out of the plan, with the row of the uploaded file so the planner can find and fix them."""

from __future__ import annotations

from ..route_plan import RoutePlan
from ._format import csv_bytes, hhmm, text

DROPPED_COLUMNS: tuple[str, ...] = (
    "stop_ref",
    "row",
    "reason",
    "message",
    "address",
    "postal_code",
    "tw_start",
    "tw_end",
    "demand",
)


def dropped_csv(plan: RoutePlan) -> bytes:
    """Always has the header, even with nothing dropped, so downstream readers see the same columns."""
    rows = [
        (
            d.stop.stop_ref,
            d.stop.row,
            d.reason,
            d.message,
            text(d.stop.address),
            text(d.stop.postal_code),
            hhmm(d.stop.tw_start_min),
            hhmm(d.stop.tw_end_min),
            d.stop.demand,
        )
        for d in plan.dropped
    ]
    return csv_bytes(DROPPED_COLUMNS, rows)
