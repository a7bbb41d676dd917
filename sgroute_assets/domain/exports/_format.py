"""Cell formatting shared by the CSV exports, so every file writes times, coordinates and blanks alike."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

from ..routing import RoutePlan
from ..stops import Stop, format_clock

Cell = str | int | float | None

# OWASP "CSV injection": a cell starting with one of these is run as a formula by Excel/LibreOffice/Sheets.
_FORMULA_LEAD = ("=", "+", "-", "@", "\t", "\r", "\n")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")

BOM = "\ufeff".encode()  # what csv_bytes starts every file with

# Every export says which plan and which day it belongs to, so a sheet found in a van can be matched.
PLAN_COLUMNS: tuple[str, ...] = ("plan_date", "depot", "shift", "plan_id", "data_version")


def hhmm(minutes: int | None) -> str:
    """A time window bound in minutes after midnight as HH:MM, blank when the stop has no bound."""
    return format_clock(minutes) or ""


def coord(value: float | None) -> str:
    """Six decimals is about 10 cm: exact enough to navigate, short enough to read."""
    return "" if value is None else f"{value:.6f}"


def amount(value: float | None) -> str:
    """Kilograms or litres as the planner wrote them (12.5, 3), blank when not given."""
    return "" if value is None else f"{value:g}"


def text(value: str | None) -> str:
    return value or ""


def neutralise(value: str) -> str:
    """Prefix a formula-leading cell with ' (OWASP), so a spreadsheet shows it as text instead of running it.

    Plain numbers (-5, +6591234567) cannot be formulas and stay as they are.
    """
    if value.startswith(_FORMULA_LEAD) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def plan_values(plan: RoutePlan) -> tuple[str, ...]:
    fleet = plan.fleet
    shift = f"{format_clock(fleet.shift_start_min)}-{format_clock(fleet.shift_end_min)}"
    return (plan.plan_date or "", fleet.depot_name, shift, plan.plan_id, plan.data_version or "")


def extra_columns(stops: Iterable[Stop]) -> list[str]:
    """Columns the planner added (beyond notes, which every export shows), in first-seen order: passed through."""
    seen: dict[str, None] = {}
    for stop in stops:
        for name in stop.extra:
            if name != "notes":
                seen.setdefault(name, None)
    return list(seen)


def warnings_text(stop: Stop) -> str:
    return "; ".join(stop.warnings)


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """CSV as UTF-8 with a byte-order mark, the one encoding Excel detects on double-click.

    Without the BOM Excel reads the file as the local code page and mangles non-ASCII names. Every cell is
    written as text so identifiers such as postal codes keep their leading zeros in the file itself, and every
    text cell (header included: extra columns come from the file) is neutralised against formula injection.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([neutralise(str(h)) for h in header])
    for row in rows:
        writer.writerow(["" if cell is None else neutralise(cell) if isinstance(cell, str) else cell for cell in row])
    return buf.getvalue().encode("utf-8-sig")
