"""The header and row names every sidecar table (fleet, sequence, progress) reports problems with.

Each sidecar reads its file with the stop file reader and then checks its own columns; the words for a wrong
header and for where a row is are the same in all of them, so a planner meets one wording.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .reader import RawRow, RawTable
from .validation import is_null_text


@dataclass(frozen=True)
class SidecarRow:
    """One row of a sidecar table: where it is (for problems) and its cells by column, blank or null-looking
    text as ""."""

    where: str
    cells: dict[str, str]


def sidecar_columns(
    name: str, table: RawTable, known: Sequence[str], required: Sequence[str]
) -> tuple[dict[str, int], list[str]]:
    """The header's columns (lower case -> index) and its problems: columns not in ``known``, then each
    ``required`` column that is missing."""
    columns = {h.strip().lower(): i for i, h in enumerate(table.header)}
    problems = []
    unknown = [h for h in columns if h and h not in known]
    if unknown:
        problems.append(f"{name}: unknown columns {', '.join(unknown)} (expected {', '.join(known)})")
    problems += [f"{name}: the header has no {c} column" for c in required if c not in columns]
    return columns, problems


def row_place(name: str, raw: RawRow) -> str:
    """Where a row is, as problems name it: "week12.sequence.csv, row 3" (with its sheet in a workbook)."""
    return f"{name}, sheet {raw.sheet}, row {raw.row}" if raw.sheet else f"{name}, row {raw.row}"


def sidecar_rows(name: str, table: RawTable, columns: dict[str, int]) -> tuple[list[SidecarRow], list[str]]:
    """Every non-empty row's cells by column, and the cells the reader could not trust (an Excel error, a formula
    never calculated), each named by row and column; a row with such a cell is left out of the rows."""
    rows, unreadable = [], []
    for raw in table.rows:
        if not any(c.strip() for c in raw.cells):
            continue
        where = row_place(name, raw)
        bad = [f"{where}, column {c}: {raw.problems[i]}" for c, i in columns.items() if i in raw.problems]
        if bad:
            unreadable += bad
            continue
        cells = {}
        for column, i in columns.items():
            text = raw.cells[i].strip() if i < len(raw.cells) else ""
            cells[column] = "" if is_null_text(text) else text
        rows.append(SidecarRow(where, cells))
    return rows, unreadable
