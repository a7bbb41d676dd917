"""Trip-log CSVs: good rows kept, every bad row reported by row and column, unreadable files explained."""

from __future__ import annotations

import datetime as dt

import numpy as np

from sgroute_assets.domain.travel_times import parse_trip_log

HEADER = "origin_lat,origin_lon,dest_lat,dest_lon,actual_duration_s,route_distance_m,timestamp_iso\n"
NOW = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)


def parse(text: str, name: str = "trips.csv"):
    return parse_trip_log(name, text.encode("utf-8"), now=NOW)


def test_good_rows_are_kept_with_optional_columns_and_sgt_timestamps():
    report = parse(
        HEADER
        + "1.3000,103.8500,1.3500,103.9000,900,9000,2026-03-02T08:15:00\n"
        + "1.3100,103.8000,1.3600,103.7500,1200,,2026-03-02T01:00:00Z\n"
        + "1.2900,103.8400,1.3300,103.8700,700,,\n"
    )
    assert report.readable and report.invalid_count == 0 and report.valid_count == 3
    first, second, third = report.rows
    assert first.row == 2 and first.distance_m == 9000.0
    assert first.observed_at.utcoffset() == dt.timedelta(hours=8)  # naive = Singapore time
    assert second.distance_m is None and third.observed_at is None
    obs = report.to_observations()
    # 08:15 SGT, 01:00 UTC = 09:00 SGT, unknown; 2026-03-02 is a Monday.
    assert np.allclose(obs.depart_hour[:2], [8.25, 9.0]) and np.isnan(obs.depart_hour[2])
    assert list(obs.day_of_week[:2]) == [0, 0] and np.isnan(obs.distance_m[1])


def test_every_problem_is_reported_by_spreadsheet_row_and_column_and_bad_rows_are_not_loaded():
    report = parse(
        HEADER
        + "1.3000,103.8500,1.3500,103.9000,900,9000,2026-03-02T08:15:00\n"  # row 2 ok
        + "103.85,1.30,1.3500,103.9000,900,,\n"  # row 3: lat/lon swapped
        + "1.3000,103.8500,1.3500,103.9000,15,,\n"  # row 4: minutes, not seconds (and too fast)
        + "1.3000,103.8500,1.3500,103.9000,abc,,\n"  # row 5: not a number
        + "\n"  # row 6: blank line, skipped but counted like a spreadsheet
        + "1.3000,103.8500,1.3500,103.9000,900,500,not-a-date\n"  # row 7: distance < straight line, bad date
        + "1.3000,103.8500,1.3000,103.8500,300,,\n"  # row 8: same point
        + "1.3000,103.8500,1.3500,103.9000,900,,2027-01-01T00:00:00\n"  # row 9: future
        + "1.3000,103.8500,1.3500,103.9000,,,\n"  # row 10: missing duration
    )
    assert report.valid_count == 1 and report.rows[0].row == 2
    assert report.invalid_rows == [3, 4, 5, 7, 8, 9, 10]
    by_row: dict[int, set[str]] = {}
    for issue in report.issues:
        by_row.setdefault(issue.row, set()).add(issue.column)
    assert by_row[3] == {"origin_lat", "origin_lon"}
    assert by_row[4] == {"actual_duration_s"}
    assert by_row[5] == {"actual_duration_s"}
    assert by_row[7] == {"route_distance_m", "timestamp_iso"}
    assert by_row[8] == {"dest_lat"}
    assert by_row[9] == {"timestamp_iso"}
    assert by_row[10] == {"actual_duration_s"}
    messages = " ".join(i.message for i in report.issues)
    assert "swapped" in messages and "minutes instead of seconds" in messages and "in the future" in messages
    assert report.to_json()["invalid_rows"] == 7


def test_header_is_case_insensitive_extra_columns_ignored_bom_and_semicolons_accepted():
    text = "\ufeffTRIP_ID;Origin_Lat;ORIGIN_LON;dest_lat;dest_lon;Actual_Duration_S\nT1;1,30;103,85;1,35;103,90;900\n"
    report = parse(
        text.replace("1,30", "1.30").replace("103,85", "103.85").replace("1,35", "1.35").replace("103,90", "103.90")
    )
    assert report.readable and report.valid_count == 1
    assert report.ignored_columns == ["trip_id"]


def test_files_that_cannot_be_used_say_why():
    missing = parse("origin_lat,origin_lon,dest_lat,dest_lon\n1.3,103.8,1.35,103.9\n")
    assert not missing.readable and missing.file_errors[0].row == 1
    assert "actual_duration_s" in missing.file_errors[0].message
    latin1 = parse_trip_log("t.csv", (HEADER + "1.3,103.85,1.35,103.9,900,,caf\xe9\n").encode("latin-1"))
    assert not latin1.readable and "UTF-8" in latin1.file_errors[0].message
    assert not parse("").readable
    duplicated = parse("origin_lat,origin_lat,origin_lon,dest_lat,dest_lon,actual_duration_s\n")
    assert "twice" in duplicated.file_errors[0].message
