"""Property tests: whatever a planner (or a broken export) uploads, the reader never crashes and never
loses a row silently."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sgroute_assets.domain.stops import StopFileError, validate_file
from sgroute_assets.domain.stops.schema import KNOWN_COLUMNS

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_report_accounts_for_every_row(report, expected_rows: set[int] | None = None) -> None:
    rows = [r.row for r in report.rows]
    assert len(rows) == len(set(rows))
    for r in report.rows:
        assert r.valid == (not r.errors and r.stop is not None)
        for issue in r.errors:
            assert issue.row == r.row and issue.message
    if expected_rows is not None:
        assert set(rows) == expected_rows
    assert report.valid_count + report.invalid_count == len(report.rows)


@FUZZ
@given(data=st.binary(max_size=2048), suffix=st.sampled_from([".csv", ".xlsx", ".CSV"]))
def test_arbitrary_bytes_never_crash(data, suffix):
    try:
        report = validate_file("fuzz" + suffix, data)
    except StopFileError as exc:
        assert exc.message
        return
    check_report_accounts_for_every_row(report)


cell_text = st.one_of(
    st.text(max_size=25),
    st.sampled_from(
        [
            "",
            "N/A",
            "079903",
            "9:30",
            "25:00",
            "+65 9123 4567",
            "-1",
            "1.5",
            "1.3",
            "103.8",
            "nan",
            "=SUM(A1)",
            "\u00a0",
            "1e308",
            "0x1F",
            "09:00:00",
        ]
    ),
)


@FUZZ
@given(
    columns=st.lists(st.sampled_from(KNOWN_COLUMNS + ("notes", "Stop_Ref ", "")), min_size=1, max_size=12),
    rows=st.lists(st.lists(cell_text, max_size=14), max_size=15),
)
def test_arbitrary_cells_every_row_accepted_or_reported(columns, rows):
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(row)
    data = buf.getvalue().encode("utf-8")
    try:
        report = validate_file("cells.csv", data)
    except StopFileError as exc:
        assert exc.message
        return
    normalised = {c.strip().lower() for c in columns}
    if "stop_ref" not in normalised or report.file_errors:
        assert report.file_errors
        return
    # Every non-blank data row appears in the report under its spreadsheet row number.
    parsed = list(csv.reader(io.StringIO(buf.getvalue(), newline="")))
    expected = {i for i, cells in enumerate(parsed, start=1) if i > 1 and any(c.strip() for c in cells)}
    check_report_accounts_for_every_row(report, expected)
