"""Turns the bytes of a CSV or XLSX stop file into rows of text cells.

Every cell is read as text (the system this replaces read postal codes as floats and lost leading zeros).
Excel cells keep what the planner saw: time cells become ``HH:MM:SS``, whole numbers lose their ``.0``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass

SUPPORTED_SUFFIXES = (".csv", ".xlsx")
MAX_FILE_BYTES = 20 * 1024 * 1024


class StopFileError(Exception):
    """The file cannot be read as a stop file at all (wrong type, not UTF-8, corrupt workbook...)."""

    def __init__(self, file: str, message: str):
        super().__init__(f"{file}: {message}")
        self.file = file
        self.message = message


@dataclass
class RawRow:
    row: int  # 1-based spreadsheet row number, header = 1
    cells: list[str]


@dataclass
class RawTable:
    file: str
    header: list[str]
    rows: list[RawRow]


def suffix_of(name: str) -> str:
    lowered = name.lower()
    for suffix in SUPPORTED_SUFFIXES:
        if lowered.endswith(suffix):
            return suffix
    return ""


def read_stop_file(name: str, data: bytes) -> RawTable:
    """Read a stop file; raise StopFileError for anything that is not a readable CSV/XLSX table."""
    suffix = suffix_of(name)
    if not suffix:
        raise StopFileError(name, "unsupported file type: upload a .csv or .xlsx file")
    if len(data) > MAX_FILE_BYTES:
        raise StopFileError(name, f"file is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}")
    if suffix == ".csv":
        grid = _csv_grid(name, data)
    else:
        grid = _xlsx_grid(name, data)
    return _to_table(name, grid)


def _csv_grid(name: str, data: bytes) -> list[tuple[int, list[str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StopFileError(
            name, f"not UTF-8 text (byte {exc.start}); save it as 'CSV UTF-8' and upload again"
        ) from None
    if "\x00" in text:
        raise StopFileError(name, "contains NUL bytes: this is not a text CSV file")
    try:
        reader = csv.reader(io.StringIO(text, newline=""), strict=False)
        return [(i, row) for i, row in enumerate(reader, start=1)]
    except csv.Error as exc:
        raise StopFileError(name, f"not a readable CSV file ({exc})") from None


def _xlsx_grid(name: str, data: bytes) -> list[tuple[int, list[str]]]:
    import openpyxl  # imported lazily: CSV-only callers should not pay for it

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, IndexError, EOFError) as exc:
        raise StopFileError(name, f"not a readable Excel .xlsx workbook ({type(exc).__name__})") from None
    except Exception as exc:  # openpyxl raises a zoo of parser errors on corrupt workbooks
        raise StopFileError(name, f"not a readable Excel .xlsx workbook ({type(exc).__name__})") from None
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise StopFileError(name, "the workbook has no worksheet")
        grid: list[tuple[int, list[str]]] = []
        for row in sheet.iter_rows():
            cells = [_excel_cell_text(c.value, getattr(c, "number_format", None)) for c in row]
            row_number = next((c.row for c in row if getattr(c, "row", None)), len(grid) + 1)
            grid.append((row_number, cells))
        return grid
    finally:
        workbook.close()


_ZERO_PADDED_FORMAT = re.compile(r"^0+$")


def _excel_cell_text(value: object, number_format: str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        # Excel stores a time-only cell as a datetime on its epoch day.
        if value.date() in (dt.date(1899, 12, 30), dt.date(1899, 12, 31), dt.date(1900, 1, 1)):
            return value.strftime("%H:%M:%S")
        return value.isoformat(sep=" ")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, dt.timedelta):
        seconds = int(value.total_seconds())
        return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    if isinstance(value, int):
        # A '000000' number format is how Excel shows a postal code typed as a number: keep its zeros.
        if number_format and _ZERO_PADDED_FORMAT.match(number_format):
            return str(value).zfill(len(number_format))
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            if number_format and _ZERO_PADDED_FORMAT.match(number_format):
                return str(int(value)).zfill(len(number_format))
            return str(int(value))
        return repr(value)
    return str(value)


def _to_table(name: str, grid: list[tuple[int, list[str]]]) -> RawTable:
    non_blank = [(n, cells) for n, cells in grid if any(c.strip() for c in cells)]
    if not non_blank:
        raise StopFileError(name, "the file is empty: expected a header row and at least one stop")
    header_row, header = non_blank[0]
    header = [h.strip() for h in header]
    while header and not header[-1]:
        header.pop()
    rows = [RawRow(row=n, cells=[c for c in cells]) for n, cells in non_blank[1:] if n > header_row]
    return RawTable(file=name, header=header, rows=rows)
