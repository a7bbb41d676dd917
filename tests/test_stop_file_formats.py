"""Stop files as planners really send them (issue 14): workbooks of several sheets, formulas Excel never
calculated, title rows, ';' and tab CSVs, files too big to plan, and text that must not break markdown.

Everything runs on real bytes (openpyxl writes the workbooks: a formula it writes has no saved value, exactly
the condition a script-made workbook has) and, where the assets are involved, through the real assets.
"""

from __future__ import annotations

import io
import json
import re

import dagster as dg
import openpyxl
import pytest

from sgroute_assets.domain.stops import StopFileError, max_stops_per_file, too_many_stops, validate_file
from sgroute_assets.domain.stops.reader import HEADER_SEARCH_ROWS
from sgroute_assets.domain.stops.validation import DEFAULT_MAX_STOPS

FAST = {"ops": {"route_plan": {"config": {"solver_time_limit_s": 2.0}}}}


def workbook(sheets: dict[str, list[list[object]]]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def described(report) -> list[str]:
    return [i.describe() for i in report.issues + report.warnings]


NORTH = [
    ["Deliveries north, week 12"],  # a title row above the header
    [],
    ["stop_ref", "lat", "lon", "demand", "notes"],
    ["N1", 1.43, 103.78, 2, "gate code 1234"],
    ["N2", 1.44, 103.80, 1, ""],
    ["N3", 1.42, 103.83, 3, ""],
    ["N4", 1.41, 103.84, "=SUM(2,3)", ""],  # row 7: never calculated
]
SOUTH = [
    ["demand", "stop_ref", "notes", "lon", "lat"],  # same columns, another order
    [4, "S1", "", 103.85, 1.28],
    [1, "S2", "back door", 103.84, 1.27],
]
NOTES = [["Reminder"], ["N2 closes at noon on Fridays"]]


def test_every_sheet_with_a_stop_header_is_read_and_located_by_sheet():
    data = workbook({"North": NORTH, "Notes": NOTES, "South": SOUTH, "Sheet3": []})
    report = validate_file("week12.xlsx", data)

    stops = {s.stop_ref: s for s in report.valid_stops}
    assert sorted(stops) == ["N1", "N2", "N3", "S1", "S2"]
    # South's columns are read by name, not by position.
    assert (stops["S1"].demand, stops["S1"].lat, stops["S1"].lon) == (4, 1.28, 103.85)
    assert stops["S2"].notes == "back door" and stops["S2"].sheet == "South" and stops["S2"].row == 3
    assert stops["N1"].sheet == "North" and stops["N1"].row == 4

    lines = described(report)
    assert any(line.startswith("week12.xlsx, sheet 'North', row 7, column demand: formula =SUM(2,3)") for line in lines)
    # The notes sheet is not read, and said so by name; the empty sheet holds nothing to mention.
    (ignored,) = [w for w in report.file_warnings if "Notes" in w.message]
    assert "sheet 'Notes' has no stop_ref column" in ignored.message
    assert not any("Sheet3" in line for line in lines)
    # The title row is not a stop, and the planner is told where the header was found.
    assert any("the header is on row 3; row 1 above it is read as a title" in line for line in lines)
    assert {r.row for r in report.rows if r.sheet == "North"} == {4, 5, 6, 7}


def test_a_stop_ref_used_in_two_sheets_names_the_other_sheet():
    south = [*SOUTH, [2, "N1", "", 103.86, 1.29]]
    report = validate_file("week12.xlsx", workbook({"North": NORTH[2:4], "South": south}))
    messages = {(i.sheet, i.row): i.message for i in report.issues if i.column == "stop_ref"}
    assert messages == {
        ("North", 2): "stop_ref 'N1' is also used on sheet 'South' row(s) 4",
        ("South", 4): "stop_ref 'N1' is also used on sheet 'North' row(s) 2",
    }


def test_stop_sheets_with_different_columns_are_refused_naming_every_sheet():
    """Merging a sheet without demand or windows would plan its stops as 0 and unconstrained: refuse instead."""
    south = [["stop_ref", "lat", "lon"], ["S1", 1.28, 103.85]]
    with pytest.raises(StopFileError) as info:
        validate_file("week12.xlsx", workbook({"North": NORTH, "South": south}))
    message = str(info.value)
    assert "sheets 'North', 'South'" in message and "lacks demand, notes" in message
    assert "separate files" in message


def test_uncalculated_formulas_are_problems_at_their_cell_never_blanks():
    rows = [
        ["stop_ref", "lat", "lon", "demand", "notes"],
        ["A1", 1.30, 103.85, "=SUM(2,3)", ""],
        ["A2", 1.31, 103.86, 2, '=CONCAT("call ", "ahead")'],
        ["A3", 1.32, 103.87, "#DIV/0!", ""],  # openpyxl stores this as a cached Excel error value
        ["A4", 1.33, 103.88, 1, ""],
    ]
    report = validate_file("formulas.xlsx", workbook({"Stops": rows}))
    by_row = {r.row: r for r in report.rows}
    # A stop column: the row is invalid (the old reader planned this stop with demand 0).
    (problem,) = by_row[2].errors
    assert problem.column == "demand" and by_row[2].stop is None
    assert problem.message == (
        "formula =SUM(2,3) (cell D2) has no saved value; open and save the file in Excel, or type the value"
    )
    # An extra column: the stop is planned and the missing note is a warning at its cell.
    assert by_row[3].valid and [w.column for w in by_row[3].warnings] == ["notes"]
    assert 'formula =CONCAT("call ", "ahead") (cell E3) has no saved value' in by_row[3].warnings[0].message
    assert by_row[4].errors[0].message.startswith("cell D4 shows the Excel error #DIV/0!")
    assert [s.stop_ref for s in report.valid_stops] == ["A2", "A4"]


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_and_tab_separated_csvs_are_read(delimiter):
    text = delimiter.join(["stop_ref", "address", "lat", "lon", "demand"]) + "\n"
    text += delimiter.join(["A1", "1, Fullerton Square", "1,30", "103.85", "2"]) + "\n"
    text += delimiter.join(["A2", "Blk 5", "1.31", "103.86", "1"]) + "\n"
    report = validate_file("euro.csv", text.encode())
    assert not report.file_errors
    assert [s.stop_ref for s in report.valid_stops] == ["A2"]
    assert report.rows[0].stop_ref == "A1" and report.rows[0].errors[0].column == "lat"  # "1,30": decimal comma


def test_title_rows_above_a_csv_header_are_skipped_and_said_so():
    data = b"Week 12 deliveries,,\nPrepared by Ops,,\n\nstop_ref,lat,lon\nA1,1.30,103.85\nA2,1.31,103.86\n"
    report = validate_file("titled.csv", data)
    assert [(s.stop_ref, s.row) for s in report.valid_stops] == [("A1", 5), ("A2", 6)]
    (note,) = report.file_warnings
    assert note.describe() == (
        "titled.csv, row 4: the header is on row 4; rows 1, 2 above it are read as a title, not as stops"
    )


def test_a_header_too_far_down_or_misspelt_is_explained_not_just_missing():
    far = "".join(f"title {i}\n" for i in range(HEADER_SEARCH_ROWS)) + "stop_ref,lat,lon\nA1,1.3,103.85\n"
    message = validate_file("far.csv", far.encode()).file_errors[0].message
    assert f"No row among the first {HEADER_SEARCH_ROWS} has a cell reading exactly 'stop_ref'" in message
    assert "the first row reads: 'title 0'" in message

    misspelt = validate_file("ref.csv", b"Stop Ref;lat;lon\nA1;1.3;103.85\n").file_errors[0].message
    assert "Rename column 'Stop Ref' to stop_ref" in misspelt and "semicolon-separated" in misspelt

    sheets = workbook({"Summary": [["total", 3]], "Lookup": [["zone", "driver"], ["N", "Ali"]]})
    in_book = validate_file("book.xlsx", sheets).file_errors[0].message
    assert "Sheets looked at: 'Summary', 'Lookup'" in in_book


def test_stop_limit_comes_from_the_run_then_the_environment_then_3000():
    assert max_stops_per_file({}) == DEFAULT_MAX_STOPS == 3000
    assert max_stops_per_file({"SGROUTE_MAX_STOPS": "5,000"}) == 5000
    assert max_stops_per_file({"SGROUTE_MAX_STOPS": "5000"}, override=200) == 200
    with pytest.raises(ValueError, match="SGROUTE_MAX_STOPS='lots' must be a whole number"):
        max_stops_per_file({"SGROUTE_MAX_STOPS": "lots"})
    rows = "".join(f"S{i},1.3,103.8{i % 10}\n" for i in range(3001))
    report = validate_file("big.csv", ("stop_ref,lat,lon\n" + rows).encode())
    assert too_many_stops(report, 3001) is None
    message = too_many_stops(report, 3000)
    assert message.startswith("big.csv has 3,001 valid stops; the limit is 3,000 stops per file")
    assert "Split it into 2 files" in message and "SGROUTE_MAX_STOPS" in message


@pytest.fixture
def local_env(make_local_resources, app_db_url: str) -> dict:
    return make_local_resources(app_db_url)


def test_an_oversized_file_is_refused_before_geocoding_with_every_row_reported(
    local_env, tmp_path, materialise, monkeypatch
):
    monkeypatch.setenv("SGROUTE_MAX_STOPS", "5")
    name = "too_many.csv"
    rows = "".join(f"S{i},1.3{i},103.8{i}\n" for i in range(6)) + "BAD,,\n"
    (tmp_path / "inbox" / name).write_text("stop_ref,lat,lon\n" + rows)
    with dg.instance_for_test() as instance:
        result = materialise(instance, local_env, name, FAST)
        assert not result.success
        (limit,) = result.get_asset_check_evaluations()
        assert limit.check_name == "has_valid_stops" and not limit.passed
        assert limit.description.startswith("too_many.csv has 6 valid stops; the limit is 5 stops per file")
        assert "SGROUTE_MAX_STOPS" in limit.description and "Split it into 2 files" in limit.description
        done = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
        assert done == {"stops", "validated_stops"}, "nothing is geocoded or matrixed for a refused file"
        # The refused file's rows are all accounted for in the report the planner gets.
        report = json.loads((tmp_path / "exports" / name / "validation_report.json").read_text())
        assert (report["valid_count"], report["invalid_count"]) == (6, 1)

        # The Launchpad setting lets one run through on purpose.
        run_config = {"ops": {**FAST["ops"], "validated_stops": {"config": {"max_stops": 6}}}}
        assert materialise(instance, local_env, name, run_config).success


def test_a_workbook_of_several_sheets_goes_through_the_real_assets(local_env, tmp_path, materialise):
    """The sheet and per-cell problems survive the step from `stops` to `validated_stops`."""
    name = "week12.xlsx"
    (tmp_path / "inbox" / name).write_bytes(workbook({"North": NORTH, "Notes": NOTES, "South": SOUTH}))
    with dg.instance_for_test() as instance:
        result = materialise(instance, local_env, name, FAST)
        assert result.success
        report = result.asset_value("validated_stops")
        assert sorted(s.stop_ref for s in report.valid_stops) == ["N1", "N2", "N3", "S1", "S2"]
        (bad,) = report.issues
        assert bad.describe().startswith("week12.xlsx, sheet 'North', row 7, column demand: formula =SUM(2,3)")
        plan = result.asset_value("route_plan")
        assert plan.row_counts()["rows"] == 6 and plan.row_counts()["invalid"] == 1
        stops_meta = instance.get_latest_materialization_event(dg.AssetKey("stops")).asset_materialization.metadata
        assert stops_meta["sheets"].value == "North (4 rows), South (2 rows)"
        assert "sheet 'Notes'" in stops_meta["reading_notes"].value
        validated = instance.get_latest_materialization_event(dg.AssetKey("validated_stops")).asset_materialization
        assert "| North | 7 | N4 | demand | error | formula =SUM(2,3)" in validated.metadata["report"].value


HOSTILE = "1 | 2 Road <img src=x onerror=alert(1)>\nline two"


def unescaped_pipes(line: str) -> int:
    """Pipes a GitHub-style table splits on: not preceded by an odd run of backslashes."""
    return sum(1 for m in re.finditer(r"(\\*)\|", line) if len(m.group(1)) % 2 == 0)


def assert_safe_markdown(text: str, where: str) -> None:
    assert "<img" not in text and "<script" not in text, where
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|") and i + 1 < len(lines) and re.fullmatch(r"\|(?:-+:?\|)+", lines[i + 1]):
            columns = unescaped_pipes(line)
            j = i + 2
            while j < len(lines) and lines[j].startswith("|"):
                assert unescaped_pipes(lines[j]) == columns, f"{where}: a cell split the table: {lines[j]!r}"
                j += 1


def test_pipes_html_and_newlines_in_stop_fields_do_not_break_metadata_markdown(local_env, tmp_path, materialise):
    name = "hostile.csv"
    lines = [
        "stop_ref,address,lat,lon,contact_name,notes,phone",
        f'H1,"{HOSTILE}",1.30,103.85,"Ann | <b>boss</b>","[x](javascript:alert(1)) | <script>",91234567',
        f'H2,"{HOSTILE}",,,"",,',  # not located: its address reaches the geocoding table
        'H|3,"",1.31,103.86,"",,"<i>not a phone</i>"',  # a warning quoting the cell
        'H4,"",1.31,103.86,"",,',
        'H4,"",1.32,103.87,"",,',  # duplicate: invalid rows reach the validation table
    ]
    (tmp_path / "inbox" / name).write_text("\n".join(lines) + "\n")
    with dg.instance_for_test() as instance:
        assert materialise(instance, local_env, name, FAST).success
        checked = 0
        for asset in ("stops", "validated_stops", "geocoded_stops", "route_plan", "route_exports"):
            event = instance.get_latest_materialization_event(dg.AssetKey(asset))
            for key, value in event.asset_materialization.metadata.items():
                if isinstance(value, dg.MarkdownMetadataValue):
                    assert_safe_markdown(value.value, f"{asset}.{key}")
                    checked += 1
        preview = instance.get_latest_materialization_event(dg.AssetKey("stops")).asset_materialization.metadata
        assert "&lt;img src=x onerror=alert(1)&gt;" in preview["preview"].value
        assert "1 \\| 2 Road" in preview["preview"].value and "line two" in preview["preview"].value
        summary = instance.get_latest_materialization_event(dg.AssetKey("route_plan")).asset_materialization
        assert "Ann \\| &lt;b&gt;boss&lt;/b&gt;" in summary.metadata["summary"].value
        assert checked >= 6


def test_the_cli_names_sheets_and_what_was_not_read(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    path = tmp_path / "week12.xlsx"
    path.write_bytes(workbook({"North": NORTH, "Notes": NOTES, "South": SOUTH}))
    sgroute = Path(sys.executable).with_name("sgroute")
    proc = subprocess.run([str(sgroute), "validate", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "file warning: week12.xlsx: sheet 'Notes' has no stop_ref column" in proc.stdout
    assert "North!7  N4" in proc.stdout and "South!3  S2" in proc.stdout
    assert "formula =SUM(2,3) (cell D7) has no saved value" in proc.stdout
