"""The header and row names every sidecar table (fleet, sequence, progress) reports problems with.

Each sidecar reads its file with the stop file reader and then checks its own columns; the words for a wrong
header and for where a row is are the same in all of them, so a planner meets one wording.
"""

from __future__ import annotations

from collections.abc import Sequence

from .reader import RawRow, RawTable


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
