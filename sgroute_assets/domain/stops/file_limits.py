"""How big a stop file may get once read, decided before pandas or openpyxl expand it.

A 20 MB CSV of one-character cells is ten million cells; a 1.3 MB workbook can declare a million rows of twenty
columns. Read naively, either takes gigabytes and minutes and the run dies without a quarantine. The byte limit
(reader.MAX_FILE_BYTES) does not bound that, so these bounds count cells: a CSV's delimiters and line ends are
counted in its bytes, a workbook's zip members are sized before opening, its sheets' declared dimensions are
checked, and rows are counted while they stream. Whatever passes stays well under a gigabyte in memory
(benchmarks/refused_file_memory.py measures it).
"""

from __future__ import annotations

import zipfile
from io import BytesIO

# 10,000 stops (the largest day a carrier plans in one file) with 100 columns each, and room beyond.
MAX_CELLS = 2_000_000
MAX_ROWS = 100_000
# An .xlsx is a zip of XML: its members may not unpack to more than this, nor at a ratio a real sheet never has.
MAX_UNPACKED_BYTES = 400 * 1024 * 1024
MAX_PACK_RATIO = 200


class FileTooLarge(ValueError):
    """The file would expand past the cell or size limits; the message says by how much."""


def check_csv_cells(data: bytes, delimiter: str) -> None:
    """Refuse a CSV whose cell count (delimiters plus line ends, an upper bound) or row count is over the limits."""
    lines = data.count(b"\n") + 1
    cells = data.count(delimiter.encode()) + lines
    if cells > MAX_CELLS:
        raise FileTooLarge(
            f"about {cells:,} cells ({lines:,} rows); the limit is {MAX_CELLS:,} cells: "
            "remove empty columns or split the file"
        )
    if lines > MAX_ROWS:
        raise FileTooLarge(f"about {lines:,} rows; the limit is {MAX_ROWS:,} (split the file)")


def check_workbook_zip(data: bytes) -> None:
    """Refuse a workbook whose members unpack to too much, before any XML is parsed (a zip bomb, say)."""
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return  # not a zip: the workbook reader says so in its own words
    if unpacked > MAX_UNPACKED_BYTES or (data and unpacked / len(data) > MAX_PACK_RATIO):
        raise FileTooLarge(
            f"the workbook unpacks to {unpacked:,} bytes from {len(data):,}; the limit is {MAX_UNPACKED_BYTES:,} "
            f"bytes and a ratio of {MAX_PACK_RATIO}"
        )


def check_sheet_dimensions(sheet: str, rows: int | None, columns: int | None) -> None:
    """Refuse a sheet whose declared dimensions (its <dimension ref>) are over the limits."""
    if rows and rows > MAX_ROWS:
        raise FileTooLarge(f"sheet '{sheet}' declares {rows:,} rows; the limit is {MAX_ROWS:,} (split the file)")
    if rows and columns and rows * columns > MAX_CELLS:
        raise FileTooLarge(
            f"sheet '{sheet}' declares {rows:,} rows x {columns:,} columns = {rows * columns:,} cells; "
            f"the limit is {MAX_CELLS:,}"
        )


class CellBudget:
    """Counts cells as rows stream, for sheets whose declared dimensions are missing or wrong."""

    def __init__(self, sheet: str) -> None:
        self.sheet, self.cells, self.rows = sheet, 0, 0

    def add(self, row_cells: int) -> None:
        self.rows += 1
        self.cells += row_cells
        if self.rows > MAX_ROWS or self.cells > MAX_CELLS:
            raise FileTooLarge(
                f"sheet '{self.sheet}' holds more than {MAX_ROWS:,} rows or {MAX_CELLS:,} cells (read so far: "
                f"{self.rows:,} rows, {self.cells:,} cells)"
            )
