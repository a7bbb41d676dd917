"""Cell formatting shared by the CSV exports, so every file writes times, coordinates and blanks alike."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from ..stop_schema import format_clock

Cell = str | int | float | None


def hhmm(minutes: int | None) -> str:
    """A time window bound in minutes after midnight as HH:MM, blank when the stop has no bound."""
    return format_clock(minutes) or ""


def coord(value: float | None) -> str:
    """Six decimals is about 10 cm: exact enough to navigate, short enough to read."""
    return "" if value is None else f"{value:.6f}"


def text(value: str | None) -> str:
    return value or ""


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """CSV as UTF-8 with a byte-order mark, the one encoding Excel detects on double-click.

    Without the BOM Excel reads the file as the local code page and mangles non-ASCII names. Every cell is
    written as text so identifiers such as postal codes keep their leading zeros in the file itself.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if cell is None else cell for cell in row])
    return buf.getvalue().encode("utf-8-sig")
