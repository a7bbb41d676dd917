"""Turns the bytes of a CSV or XLSX stop file into rows of text cells.

Every cell is read as text (the system this replaces read postal codes as floats and lost leading zeros).
Excel cells keep what the planner saw: time cells become ``HH:MM:SS``, whole numbers lose their ``.0``.

What planners really upload is found rather than assumed: the header is the first row (of the first
``HEADER_SEARCH_ROWS`` non-blank ones) that has a ``stop_ref`` cell, so a title row above it is skipped and
said so; a CSV's delimiter is the one that yields such a header (Excel in many locales saves ``;``);
every worksheet with a stop header is read, other non-empty sheets are named in a warning. Cells whose
text cannot be trusted (a formula Excel never calculated, an Excel error value) are recorded per cell so
validation reports them at their row and column instead of reading them as blank.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .file_limits import CellBudget, FileTooLarge, check_csv_cells, check_sheet_dimensions, check_workbook_zip
from .schema import REQUIRED_COLUMN, Issue

SUPPORTED_SUFFIXES = (".csv", ".xlsx")
MAX_FILE_BYTES = 20 * 1024 * 1024
HEADER_SEARCH_ROWS = 10  # title rows above the header: how far down the header is looked for
CSV_DELIMITERS = (",", ";", "\t", "|")  # in order of preference when several yield a header
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


class StopFileError(Exception):
    """The file cannot be read as a stop file at all (wrong type, not UTF-8, corrupt workbook...)."""

    def __init__(self, file: str, message: str):
        super().__init__(f"{file}: {message}")
        self.file = file
        self.message = message


@dataclass
class RawRow:
    row: int  # 1-based spreadsheet row number as the sheet shows it
    cells: list[str]
    sheet: str | None = None  # the worksheet, when the workbook has more than one
    # Cell index (in header order) -> why that cell's text cannot be trusted; validation reports it there.
    problems: dict[int, str] = field(default_factory=dict)


@dataclass
class RawTable:
    file: str
    header: list[str]
    rows: list[RawRow]
    header_row: int = 1  # where the header was found (title rows above it are not stops)
    sheet: str | None = None  # the header's worksheet, when the workbook has more than one
    # File-level warnings from reading: title rows skipped, sheets not read, hidden sheets read.
    notices: list[Issue] = field(default_factory=list)
    # When no row has a stop_ref cell: what the reader saw, for the "no stop_ref column" message.
    header_hint: str | None = None


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
        return _csv_table(name, data)
    return _xlsx_table(name, data)


Grid = list[tuple[int, list[str]]]


def is_stop_header(cells: Iterable[str]) -> bool:
    return any(isinstance(c, str) and c.strip().lower() == REQUIRED_COLUMN for c in cells)


def _non_blank(grid: Iterable[tuple[int, list[str]]]) -> Iterator[tuple[int, list[str]]]:
    return ((n, cells) for n, cells in grid if any(c.strip() for c in cells))


def _find_header(grid: Iterable[tuple[int, list[str]]]) -> tuple[int, list[str]] | None:
    """The first of the first HEADER_SEARCH_ROWS non-blank rows with a stop_ref cell, or None."""
    for i, (n, cells) in enumerate(_non_blank(grid)):
        if i >= HEADER_SEARCH_ROWS:
            return None
        if is_stop_header(cells):
            return n, cells
    return None


def _csv_rows(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    return ((i, row) for i, row in enumerate(reader, start=1))


def _csv_table(name: str, data: bytes) -> RawTable:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StopFileError(
            name, f"not UTF-8 text (byte {exc.start}); save it as 'CSV UTF-8' and upload again"
        ) from None
    if "\x00" in text:
        raise StopFileError(name, "contains NUL bytes: this is not a text CSV file")
    try:
        # The delimiter is the one whose parse has a stop_ref header soonest (ties: the usual comma first).
        found: list[tuple[int, int, str]] = []
        for rank, delimiter in enumerate(CSV_DELIMITERS):
            header = _find_header(_csv_rows(text, delimiter))
            if header is not None:
                found.append((header[0], rank, delimiter))
        delimiter = min(found)[2] if found else _sniff_delimiter(text)
        check_csv_cells(data, delimiter)  # before the rows are materialised
        grid = list(_csv_rows(text, delimiter))
    except FileTooLarge as exc:
        raise StopFileError(name, str(exc)) from None
    except csv.Error as exc:
        raise StopFileError(name, f"not a readable CSV file ({exc})") from None
    table = _to_table(name, grid)
    if table.header_hint is not None:
        table.header_hint += _delimiter_hint(grid, delimiter)
    return table


def _sniff_delimiter(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text[:8192], delimiters="".join(CSV_DELIMITERS)).delimiter
    except csv.Error:
        return ","


def _delimiter_hint(grid: Grid, delimiter: str) -> str:
    """When no header was found: say how the file was split, and which other delimiter its first row holds."""
    first = next(_non_blank(grid), None)
    if first is None:
        return ""
    joined = delimiter.join(first[1])
    others = [d for d in CSV_DELIMITERS if d != delimiter and joined.count(d) >= 2]
    hint = f" The file was read as {_DELIMITER_NAMES[delimiter]}-separated."
    if others and len(first[1]) <= 2:
        hint += (
            f" Its first row holds {_DELIMITER_NAMES[others[0]]}s ('{others[0]}'): if that is the separator, "
            "check that the stop_ref column is spelt exactly so."
        )
    return hint


def _to_table(name: str, grid: Grid, *, sheet: str | None = None) -> RawTable:
    """One sheet (or CSV) as a table: the header is found, title rows above it reported, blank rows dropped."""
    non_blank = list(_non_blank(grid))
    if not non_blank:
        raise StopFileError(name, "the file is empty: expected a header row and at least one stop")
    found = _find_header(non_blank)
    hint = None
    if found is None:
        # No stop header: keep the first row as the header so validation says what is missing, with a hint.
        found = non_blank[0]
        hint = _header_hint(found[1])
    header_row, header = found
    header = _trim_header(header)
    rows = [RawRow(row=n, cells=list(cells), sheet=sheet) for n, cells in non_blank if n > header_row]
    table = RawTable(file=name, header=header, rows=rows, header_row=header_row, sheet=sheet, header_hint=hint)
    titles = [n for n, _ in non_blank if n < header_row]
    if titles:
        table.notices.append(_title_notice(name, titles, header_row, sheet))
    return table


def _trim_header(header: list[str]) -> list[str]:
    header = [h.strip() for h in header]
    while header and not header[-1]:
        header.pop()
    return header


def _title_notice(name: str, titles: list[int], header_row: int, sheet: str | None) -> Issue:
    which = f"row {titles[0]}" if len(titles) == 1 else f"rows {', '.join(str(t) for t in titles)}"
    return Issue(
        name,
        header_row,
        None,
        f"the header is on row {header_row}; {which} above it {'is' if len(titles) == 1 else 'are'} read as a "
        "title, not as stops",
        sheet=sheet,
    )


def _header_hint(first_row: list[str]) -> str:
    cells = [c.strip() for c in first_row if c.strip()]
    shown = ", ".join(f"'{c[:40]}'" for c in cells[:6]) + (", ..." if len(cells) > 6 else "")
    hint = (
        f"No row among the first {HEADER_SEARCH_ROWS} has a cell reading exactly 'stop_ref'; "
        f"the first row reads: {shown}."
    )
    near = [c for c in cells if re.sub(r"[^a-z]", "", c.lower()) in ("stopref", "stopreference", "ref")]
    if near:
        hint += f" Rename column '{near[0]}' to stop_ref."
    return hint


def _xlsx_table(name: str, data: bytes) -> RawTable:
    """A workbook's stop sheets as one table. Any failure inside a valid zip (bad sheet XML, a parser error)
    is a StopFileError, so a damaged workbook is quarantined with its report like any unreadable file."""
    try:
        check_workbook_zip(data)
        return _xlsx_table_unchecked(name, data)
    except StopFileError:
        raise
    except FileTooLarge as exc:
        raise StopFileError(name, str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - openpyxl and the XML parsers raise a zoo of errors
        raise StopFileError(name, f"the workbook is damaged and cannot be read ({type(exc).__name__})") from None


def _xlsx_table_unchecked(name: str, data: bytes) -> RawTable:
    workbook = _open_workbook(name, data, data_only=True)
    try:
        worksheets = list(workbook.worksheets)
        if not worksheets:
            raise StopFileError(name, "the workbook has no worksheet")
        several = len(worksheets) > 1
        stop_tables: list[tuple[object, RawTable]] = []
        ignored: list[str] = []
        fallback: RawTable | None = None  # the first non-empty sheet, to explain a workbook without a stop header
        for ws in worksheets:
            grid, problems = _sheet_grid(ws)
            try:
                table = _to_table(name, grid, sheet=ws.title if several else None)
            except StopFileError:  # an empty sheet holds nothing to lose
                continue
            fallback = fallback or table
            if table.header_hint is None:
                _attach_problems(table, problems)
                stop_tables.append((ws, table))
            else:
                ignored.append(ws.title)
    finally:
        workbook.close()
    if fallback is None:
        raise StopFileError(name, "the file is empty: expected a header row and at least one stop")
    if not stop_tables:
        # No sheet has a stop header: the first non-empty sheet stands in so validation explains what is missing.
        if several:
            fallback.header_hint = (fallback.header_hint or "") + (
                " Sheets looked at: " + ", ".join(f"'{t}'" for t in ignored) + "."
            )
        return fallback
    if _has_formulas(data):
        _report_unsaved_formulas(name, data, stop_tables)
    merged = _merge_sheets(name, [t for _, t in stop_tables])
    for title in ignored:
        merged.notices.append(
            Issue(
                name,
                None,
                None,
                f"sheet '{title}' has no stop_ref column in its first {HEADER_SEARCH_ROWS} rows and is not read "
                "(notes or a lookup table?); if it holds stops, give it the same header as the stop sheets",
            )
        )
    for ws, table in stop_tables:
        if getattr(ws, "sheet_state", "visible") != "visible":
            merged.notices.append(
                Issue(name, None, None, f"sheet '{ws.title}' is hidden; its {len(table.rows)} rows are read too")
            )
    return merged


def _open_workbook(name: str, data: bytes, *, data_only: bool):
    import openpyxl  # imported lazily: CSV-only callers should not pay for it

    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=data_only)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, IndexError, EOFError) as exc:
        raise StopFileError(name, f"not a readable Excel .xlsx workbook ({type(exc).__name__})") from None
    except Exception as exc:  # openpyxl raises a zoo of parser errors on corrupt workbooks
        raise StopFileError(name, f"not a readable Excel .xlsx workbook ({type(exc).__name__})") from None


def _sheet_grid(ws) -> tuple[Grid, dict[tuple[int, int], str]]:
    """Every row as text, and the cells (row, column index) showing an Excel error instead of a value.

    A sheet without a stop header in its first HEADER_SEARCH_ROWS non-blank rows is read no further.
    """
    grid: Grid = []
    problems: dict[tuple[int, int], str] = {}
    non_blank, header_seen = 0, False
    check_sheet_dimensions(ws.title, ws.max_row, ws.max_column)
    budget = CellBudget(ws.title)
    for row in ws.iter_rows():
        budget.add(len(row))
        cells = [_excel_cell_text(c.value, getattr(c, "number_format", None)) for c in row]
        row_number = next((c.row for c in row if getattr(c, "row", None)), len(grid) + 1)
        if not header_seen and any(c.strip() for c in cells):
            if non_blank >= HEADER_SEARCH_ROWS:
                break  # not a stop sheet (a lookup table, say): its first rows are all a warning needs
            non_blank += 1
            header_seen = is_stop_header(cells)
        for i, c in enumerate(row):
            if getattr(c, "data_type", None) == "e":
                problems[(row_number, i)] = (
                    f"cell {_cell_ref(row_number, i)} shows the Excel error {c.value}; fix the formula or type "
                    "the value"
                )
        grid.append((row_number, cells))
    return grid, problems


def _cell_ref(row: int, index: int) -> str:
    from openpyxl.utils import get_column_letter

    return f"{get_column_letter(index + 1)}{row}"


def _attach_problems(table: RawTable, problems: dict[tuple[int, int], str]) -> None:
    rows = {raw.row: raw for raw in table.rows}
    for (row, index), message in problems.items():
        if row in rows:
            rows[row].problems[index] = message


_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")


def _has_formulas(data: bytes) -> bool:
    """Whether any worksheet holds a formula, so formula-free workbooks are parsed once, not twice."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                    with archive.open(info) as part:
                        tail = b""
                        while chunk := part.read(1 << 20):
                            if _FORMULA_TAG.search(tail + chunk):
                                return True
                            tail = chunk[-16:]
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError):
        return True  # cannot tell cheaply: let the formula pass decide
    return False


def _report_unsaved_formulas(name: str, data: bytes, stop_tables: list[tuple[object, RawTable]]) -> None:
    """A formula cell openpyxl reads as blank (Excel never saved a value) becomes a per-cell problem.

    Workbooks written by scripts (openpyxl, pandas) and never opened in Excel carry formulas without
    results; read as blank, a ``=SUM(2,3)`` demand was planned as 0.
    """
    formulas = _open_workbook(name, data, data_only=False)
    try:
        by_title = {ws.title: ws for ws in formulas.worksheets}
        for ws, table in stop_tables:
            sheet = by_title.get(ws.title)
            if sheet is None:
                continue
            rows = {raw.row: raw for raw in table.rows}
            for row in sheet.iter_rows(min_row=table.header_row + 1):
                for i, c in enumerate(row):
                    if getattr(c, "data_type", None) != "f":
                        continue
                    raw = rows.get(c.row)
                    if raw is None:  # a row blank apart from uncalculated formulas still holds a stop
                        raw = RawRow(row=c.row, cells=[""] * (i + 1), sheet=table.sheet)
                        rows[c.row] = raw
                        table.rows.append(raw)
                    if i < len(raw.cells) and raw.cells[i].strip():
                        continue  # Excel saved a value: that is what the planner saw
                    formula = str(getattr(c.value, "text", c.value))
                    shown = formula if len(formula) <= 60 else formula[:57] + "..."
                    raw.problems[i] = (
                        f"formula {shown} (cell {_cell_ref(c.row, i)}) has no saved value; open and save the file "
                        "in Excel, or type the value"
                    )
            table.rows.sort(key=lambda r: r.row)
    finally:
        formulas.close()


def _merge_sheets(name: str, tables: list[RawTable]) -> RawTable:
    """Stops from every stop sheet, in the first stop sheet's column order.

    Sheets with different columns are refused rather than merged: a sheet lacking ``demand`` or the time
    windows would plan its stops as 0 and unconstrained, a guess a planner should make, not the reader.
    """
    first = tables[0]
    if len(tables) == 1:
        return first
    base = [h.strip().lower() for h in first.header]
    base_set = {h for h in base if h}
    for other in tables[1:]:
        cols = [h.strip().lower() for h in other.header]
        named = [h for h in cols if h]
        if set(named) != base_set or len(named) != len(set(named)):
            missing = sorted(base_set - set(named))
            extra = sorted(set(named) - base_set)
            twice = sorted({h for h in named if named.count(h) > 1})
            parts = [f"lacks {', '.join(missing)}"] * bool(missing) + [f"adds {', '.join(extra)}"] * bool(extra)
            parts += [f"repeats {', '.join(twice)}"] * bool(twice)
            names = ", ".join(f"'{t.sheet}'" for t in tables)
            raise StopFileError(
                name,
                f"sheets {names} all have a stop_ref header but not the same columns (sheet '{other.sheet}' "
                f"{'; '.join(parts)} compared with sheet '{first.sheet}'); give every stop sheet the same columns "
                "or upload the sheets as separate files",
            )
    merged = RawTable(
        file=name, header=first.header, rows=list(first.rows), header_row=first.header_row, sheet=first.sheet
    )
    merged.notices.extend(first.notices)
    width = len(first.header)
    for other in tables[1:]:
        cols = [h.strip().lower() for h in other.header]
        position = {h: i for i, h in enumerate(cols) if h}
        order = [position.get(h) for h in base]  # base column -> this sheet's column index (None: blank header)
        back = {src: dst for dst, src in enumerate(order) if src is not None}
        for raw in other.rows:
            cells = [raw.cells[src] if src is not None and src < len(raw.cells) else "" for src in order]
            cells += raw.cells[len(other.header) :]
            problems = {
                back[i] if i in back else width + i - len(other.header): m
                for i, m in raw.problems.items()
                if i in back or i >= len(other.header)
            }
            merged.rows.append(RawRow(row=raw.row, cells=cells, sheet=raw.sheet, problems=problems))
        merged.notices.extend(other.notices)
    return merged


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
