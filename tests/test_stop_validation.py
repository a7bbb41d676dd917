"""Validation rules one by one, on real bytes through the real reader."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from sgroute_assets.domain.stops import StopFileError, validate_file

HEADER = "stop_ref,address,postal_code,lat,lon,demand,service_time_min,tw_start,tw_end,phone,contact_name"


def csv_report(*rows: str, header: str = HEADER, name: str = "stops.csv"):
    return validate_file(name, ("\n".join([header, *rows]) + "\n").encode())


def errors_of(report, row: int) -> dict[str, str]:
    result = next(r for r in report.rows if r.row == row)
    return {e.column: e.message for e in result.errors}


def warnings_of(report, row: int) -> dict[str, str]:
    result = next(r for r in report.rows if r.row == row)
    return {e.column: e.message for e in result.warnings}


def test_leading_zero_postal_code_is_kept_as_text():
    report = csv_report("A1,1 Fullerton Square,049178,,,1,5,,,,", "A2,,079903,,,,,,,,")
    assert [s.postal_code for s in report.valid_stops] == ["049178", "079903"]


@pytest.mark.parametrize("postal", ["79903", "1234567", "ABCDEF", "0799O3"])
def test_postal_code_must_be_six_digits(postal):
    report = csv_report(f"A1,,{postal},,,,,,,,")
    assert "postal_code" in errors_of(report, 2)
    assert report.valid_count == 0


@pytest.mark.parametrize("located_by", ["Somewhere,{postal},,", ",{postal},1.30,103.85"])
def test_bad_postal_code_beside_another_location_is_a_warning(located_by):
    """Only what prevents planning removes a stop: the address or lat/lon still locate it."""
    report = csv_report("A1," + located_by.format(postal="51845") + ",,,,,91234567,Ann")
    assert report.valid_count == 1 and report.invalid_count == 0
    assert "leading zero" in warnings_of(report, 2)["postal_code"]
    stop = report.valid_stops[0]
    assert stop.postal_code is None
    assert any(w.startswith("postal_code:") for w in stop.warnings)


def test_postal_code_with_singapore_prefix_is_normalised():
    report = csv_report("A1,,S(018956),,,,,,,,", "A2,,Singapore 238801,,,,,,,,")
    assert [s.postal_code for s in report.valid_stops] == ["018956", "238801"]


def test_every_duplicate_is_reported_with_the_other_rows():
    report = csv_report("A1,x,018956,,,,,,,,", "B1,x,018956,,,,,,,,", "A1,y,018956,,,,,,,,", "A1,z,018956,,,,,,,,")
    assert report.valid_count == 1
    assert errors_of(report, 2)["stop_ref"] == "stop_ref 'A1' is also used on row(s) 4, 5"
    assert errors_of(report, 5)["stop_ref"] == "stop_ref 'A1' is also used on row(s) 2, 4"


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("91234567", "+6591234567"),
        ("+65 6123 4567", "+6561234567"),
        ("6123 4567", "+6561234567"),
        ("(+65) 8123-4567", "+6581234567"),
        ("", None),
        ("N/A", None),
        ("n/a", None),
    ],
)
def test_phone_forms_normalise_to_e164(raw, expected):
    report = csv_report(f"A1,x,018956,,,,,,,{raw},")
    assert report.valid_count == 1
    assert report.valid_stops[0].phone == expected


@pytest.mark.parametrize("raw", ["+44 20 7946 0958", "123", "9123456", "912345678", "CALL ME", "+1 212 555 0100"])
def test_bad_or_foreign_phone_is_a_warning_and_the_stop_is_planned(raw):
    report = csv_report(f'A1,x,018956,,,,,,,"{raw}",')
    assert "phone" in warnings_of(report, 2) and not errors_of(report, 2)
    stop = report.valid_stops[0]
    assert stop.phone and stop.warnings and stop.warnings[0].startswith("phone:")


def test_foreign_phone_message_names_the_country():
    report = csv_report('A1,x,018956,,,,,,,"+44 20 7946 0958",')
    assert "not a Singapore number (GB)" in warnings_of(report, 2)["phone"]
    assert report.valid_stops[0].phone == "+442079460958"


@pytest.mark.parametrize(
    "start,end,minutes",
    [
        ("09:00", "10:30", (540, 630)),
        ("9:00", "9:45", (540, 585)),
        ("08:00:00", "12:00:00", (480, 720)),
        ("0.375", "0.5", (540, 720)),
    ],
)
def test_time_window_forms(start, end, minutes):
    report = csv_report(f"A1,x,018956,,,,,{start},{end},,")
    stop = report.valid_stops[0]
    assert (stop.tw_start_min, stop.tw_end_min) == minutes


@pytest.mark.parametrize(
    "start,end,column",
    [
        ("10:00", "09:00", "tw_end"),
        ("10:00", "10:00", "tw_end"),
        ("09:00", "", "tw_end"),
        ("", "17:00", "tw_start"),
        ("25:00", "26:00", "tw_start"),
        ("9am", "5pm", "tw_start"),
        ("09:60", "10:00", "tw_start"),
    ],
)
def test_bad_time_windows(start, end, column):
    report = csv_report(f"A1,x,018956,,,,,{start},{end},,")
    assert column in errors_of(report, 2)


@pytest.mark.parametrize("value", ["-1", "1.5", "two", "1e3"])
def test_demand_and_service_must_be_non_negative_integers(value):
    report = csv_report(f"A1,x,018956,,,{value},{value},,,,")
    errs = errors_of(report, 2)
    assert "demand" in errs and "service_time_min" in errs


def test_whole_number_written_as_decimal_is_accepted():
    report = csv_report("A1,x,018956,,,3.0,15,,,,")
    assert report.valid_stops[0].demand == 3


@pytest.mark.parametrize(
    "lat,lon,column",
    [
        ("1.3", "", "lon"),
        ("", "103.8", "lat"),
        ("51.5", "-0.12", "lat"),
        ("1.30", "105.0", "lon"),
        ("103.85", "1.29", "lat"),
        ("abc", "103.8", "lat"),
    ],
)
def test_coordinates_both_or_neither_and_inside_singapore(lat, lon, column):
    report = csv_report(f"A1,x,,{lat},{lon},,,,,,")
    assert column in errors_of(report, 2)


def test_a_row_needs_some_location():
    report = csv_report("A1,,,,,2,5,,,91234567,Ann")
    assert "address" in errors_of(report, 2)


def test_all_problems_of_a_row_are_reported_together():
    report = csv_report("A1,x,123,1.3,,-2,abc,10:00,09:00,+44 20 7946 0958,")
    assert set(errors_of(report, 2)) == {"lon", "demand", "service_time_min", "tw_end"}
    assert set(warnings_of(report, 2)) == {"postal_code", "phone"}


def test_missing_stop_ref_reports_the_spreadsheet_row():
    report = csv_report("A1,x,018956,,,,,,,,", ",y,018956,,,,,,,,")
    issue = report.invalid_rows[0].errors[0]
    assert (issue.file, issue.row, issue.column) == ("stops.csv", 3, "stop_ref")
    assert issue.describe().startswith("stops.csv, row 3, column stop_ref:")


def test_columns_are_case_insensitive_and_unknown_columns_pass_through():
    report = csv_report("A1,x,018956,Gate 3", header=" Stop_Ref , ADDRESS,Postal_Code,Notes")
    stop = report.valid_stops[0]
    assert stop.address == "x" and stop.extra == {"notes": "Gate 3"}


def test_missing_stop_ref_column_is_a_file_error():
    report = csv_report("x,018956", header="address,postal_code")
    assert report.valid_count == 0 and report.file_errors[0].column == "stop_ref"


def test_bom_is_ignored():
    data = ("\ufeff" + HEADER + "\nA1,x,018956,,,,,,,,\n").encode("utf-8")
    assert validate_file("bom.csv", data).valid_count == 1


@pytest.mark.parametrize(
    "name,data,message",
    [
        ("stops.txt", b"stop_ref\nA1\n", "unsupported file type"),
        ("stops.csv", "stop_ref\nCaf\xe9\n".encode("latin-1"), "not UTF-8"),
        ("stops.csv", b"", "empty"),
        ("stops.xlsx", b"PK\x03\x04 not really a workbook", "not a readable Excel"),
        ("stops.csv", b"stop_ref\x00,a\n", "NUL"),
    ],
)
def test_unreadable_files_raise_a_clear_error(name, data, message):
    with pytest.raises(StopFileError) as info:
        validate_file(name, data)
    assert message in str(info.value) and name in str(info.value)


def _xlsx(rows: list[list[object]], formats: dict[str, str] | None = None) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    for cell, fmt in (formats or {}).items():
        ws[cell].number_format = fmt
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_excel_cells_time_numbers_and_zero_padded_postal_codes():
    data = _xlsx(
        [
            ["stop_ref", "postal_code", "demand", "service_time_min", "tw_start", "tw_end", "phone", "lat", "lon"],
            ["X1", 79903, 3, 10.0, dt.time(9, 30), dt.time(11, 0), 91234567, 1.28, 103.85],
            [
                "X2",
                "018956",
                2,
                5,
                dt.datetime(1899, 12, 30, 13, 0),
                dt.datetime(1899, 12, 30, 14, 0),
                None,
                None,
                None,
            ],
            ["X3", 79903, 1, 5, None, None, None, None, None],
        ],
        formats={"B2": "000000"},
    )
    report = validate_file("stops.xlsx", data)
    stops = {s.stop_ref: s for s in report.valid_stops}
    assert stops["X1"].postal_code == "079903"
    assert (stops["X1"].tw_start_min, stops["X1"].tw_end_min) == (570, 660)
    assert stops["X1"].phone == "+6591234567" and stops["X1"].service_time_min == 10
    assert (stops["X2"].tw_start_min, stops["X2"].tw_end_min) == (780, 840)
    # A postal code Excel stored as a plain number lost its zero: reported, not guessed.
    assert "leading zero" in errors_of(report, 4)["postal_code"]


def test_shipped_demo_files_validate_as_documented():
    from pathlib import Path

    demo = Path(__file__).resolve().parents[1] / "data" / "demo"
    central = validate_file("c.csv", (demo / "orchard_central_deliveries.csv").read_bytes())
    tight = validate_file("t.csv", (demo / "east_west_tight_windows.csv").read_bytes())
    assert central.valid_count >= 30 and central.invalid_count == 0
    assert tight.valid_count >= 30 and tight.invalid_count == 2
    assert {c for r in tight.invalid_rows for c in errors_of(tight, r.row)} == {"tw_end", "demand"}
    # A foreign phone and a malformed postal code beside good coordinates are warnings: those stops are planned.
    assert {w.column for w in tight.warnings} == {"phone", "postal_code"}
