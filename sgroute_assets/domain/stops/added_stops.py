"""Urgent stops for a day already planned: ``<stop file name>.add.csv`` (or ``.xlsx``) beside the stop file.

A dispatcher at 11:00 does not re-export the morning file to add three urgent orders; they drop a small file of
the same columns beside it (issue 18). Its rows join the stop file's as if appended at its end: numbered on from
the stop file's last row (so every row keeps one number through validation, geocoding and the plan's row
accounting) and validated, located and planned like the others, under the day's re-planning mode. A notice says
which rows came from the add file, under their own row numbers there. Columns are matched by name; one the stop
file does not have is named as a problem at the add file's header rather than dropped silently.
"""

from __future__ import annotations

from dataclasses import replace

from .reader import RawRow, RawTable
from .schema import Issue

ADD_MARK = ".add"


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def merge_added_rows(table: RawTable, added: RawTable) -> RawTable:
    """``table`` with ``added``'s rows after its own, re-numbered and re-ordered into ``table``'s columns."""
    position = {_key(h): i for i, h in enumerate(table.header)}
    unknown = [h for h in added.header if h.strip() and _key(h) not in position]
    notices = list(table.notices)
    for name in unknown:
        notices.append(
            Issue(
                added.file, added.header_row, name,
                f"column '{name}' is not a column of {table.file}; its cells are not used",
            )
        )  # fmt: skip
    last = max([r.row for r in table.rows] + [table.header_row])
    rows = list(table.rows)
    moved = []
    for k, raw in enumerate((r for r in added.rows if any(c.strip() for c in r.cells)), start=1):
        cells = [""] * len(table.header)
        problems = {}
        for i, name in enumerate(added.header):
            target = position.get(_key(name))
            if target is None:
                continue
            cells[target] = raw.cells[i] if i < len(raw.cells) else ""
            if i in raw.problems:
                problems[target] = raw.problems[i]
        rows.append(RawRow(row=last + k, cells=cells, sheet=raw.sheet if table.sheet else None, problems=problems))
        moved.append((last + k, raw.row))
    if moved:
        first, last_new = moved[0][0], moved[-1][0]
        span = f"row {first}" if first == last_new else f"rows {first}-{last_new}"
        source = f"row {moved[0][1]}" if len(moved) == 1 else f"rows {moved[0][1]}-{moved[-1][1]}"
        notices.append(Issue(table.file, None, None, f"{span} are {source} of {added.file} (urgent stops added)"))
    return replace(table, rows=rows, notices=notices)
