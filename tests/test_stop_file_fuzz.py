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


# --- hostile files: a seeded corpus and the probe's expansion bombs (issue 24) ------------------------------


def test_a_corpus_of_hostile_files_reads_or_is_refused_with_a_reason() -> None:
    from fuzz_corpus import corpus

    outcomes = {"read": 0, "refused": 0}
    for name, data in corpus(300):
        try:
            report = validate_file(name, data)
        except StopFileError as exc:
            assert exc.message and name in str(exc) or exc.message, name
            outcomes["refused"] += 1
            continue
        check_report_accounts_for_every_row(report)
        outcomes["read"] += 1
    assert outcomes["read"] > 50 and outcomes["refused"] > 20, outcomes


def test_damaged_sheet_xml_inside_a_valid_zip_is_a_stop_file_error() -> None:
    import random

    from fuzz_corpus import _workbook, damaged_workbook

    rng = random.Random(7)
    refused = 0
    for _ in range(40):
        data = damaged_workbook(_workbook(rng), rng)
        try:
            validate_file("damaged.xlsx", data)
        except StopFileError as exc:
            refused += 1
            assert "damaged" in exc.message or "not a readable" in exc.message or "declares" in exc.message, exc
    assert refused >= 20


def test_a_csv_of_ten_million_one_character_cells_is_refused_before_reading() -> None:
    import time

    from fuzz_corpus import one_character_cells_csv

    data = one_character_cells_csv()
    started = time.perf_counter()
    try:
        validate_file("bomb.csv", data)
    except StopFileError as exc:
        assert "cells" in exc.message and "the limit is 2,000,000 cells" in exc.message, exc.message
    else:
        raise AssertionError("a 10-million-cell CSV was read")
    assert time.perf_counter() - started < 10  # refused from a count of its bytes, not after parsing them


def test_workbooks_that_expand_past_the_limits_are_refused() -> None:
    from fuzz_corpus import streamed_rows_workbook

    cases = {
        "deflated.xlsx": (streamed_rows_workbook(1_000_000, compress=True), "unpacks to"),
        "declared.xlsx": (streamed_rows_workbook(1_000, compress=False, declared_rows=1_000_000), "declares 1,000,000"),
        "streamed.xlsx": (streamed_rows_workbook(150_000, compress=False), "more than 100,000 rows"),
    }
    for name, (data, expected) in cases.items():
        try:
            validate_file(name, data)
        except StopFileError as exc:
            assert expected in exc.message, (name, exc.message)
        else:
            raise AssertionError(f"{name} was read")
    small = streamed_rows_workbook(1_000, compress=False, declared_rows=1_001)  # the same sheet, honest: it reads
    assert len(validate_file("small.xlsx", small).rows) == 1_000
