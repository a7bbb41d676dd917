"""Uploaded trip logs (actual drive times): read, check every row, keep the good ones, report the rest.

Columns (case-insensitive, any order, others ignored): ``origin_lat, origin_lon, dest_lat, dest_lon,
actual_duration_s`` required; ``route_distance_m`` and ``timestamp_iso`` optional. Like the stop validator,
each row collects all its problems, located by spreadsheet row (header = row 1) and column, so a dispatcher
fixes a file in one pass. A bad row is reported and never loaded: one mistyped duration (minutes instead of
seconds, a swapped lat/lon) would otherwise teach the model, and trip the drift check, for months.

Plausibility rules beyond "is a number": coordinates inside Singapore, origin and destination apart,
duration between 10 s and 6 h, straight-line speed at most 40 m/s (144 km/h: anything faster is a unit
or coordinate mistake), a route distance not shorter than 90 % of the straight line, and no timestamp in
the future. Naive timestamps are Singapore time.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..stops import SG_LAT_MAX, SG_LAT_MIN, SG_LON_MAX, SG_LON_MIN, Issue
from .features import haversine_m
from .observations import SG_TZ, Observations

REQUIRED_COLUMNS = ("origin_lat", "origin_lon", "dest_lat", "dest_lon", "actual_duration_s")
OPTIONAL_COLUMNS = ("route_distance_m", "timestamp_iso")
MIN_DURATION_S = 10.0
MAX_DURATION_S = 6 * 3600.0
MAX_STRAIGHT_SPEED_MS = 40.0
MIN_SEPARATION_M = 20.0
MIN_ROUTE_FACTOR = 0.9
MAX_ROWS = 1_000_000
_NULL = {"", "n/a", "na", "nan", "none", "null", "-"}


@dataclass(frozen=True)
class TripLogRow:
    """One valid leg, as loaded into ``observed_travel_times``."""

    row: int
    origin_lat: float
    origin_lon: float
    dest_lat: float
    dest_lon: float
    duration_s: float
    distance_m: float | None
    observed_at: dt.datetime | None


@dataclass
class TripLogReport:
    file: str
    rows: list[TripLogRow] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)  # row-level problems (a row may have several)
    file_errors: list[Issue] = field(default_factory=list)
    data_rows: int = 0
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def valid_count(self) -> int:
        return len(self.rows)

    @property
    def invalid_rows(self) -> list[int]:
        return sorted({i.row for i in self.issues if i.row is not None})

    @property
    def invalid_count(self) -> int:
        return len(self.invalid_rows)

    @property
    def readable(self) -> bool:
        return not self.file_errors

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "data_rows": self.data_rows,
            "valid_rows": self.valid_count,
            "invalid_rows": self.invalid_count,
            "file_errors": [i.message for i in self.file_errors],
            "ignored_columns": self.ignored_columns,
            "issues": [{"row": i.row, "column": i.column, "message": i.message} for i in self.issues],
        }

    def to_observations(self) -> Observations:
        """The valid rows as model observations (departure hour/weekday from the timestamp, SGT)."""
        rows = self.rows
        hour = [np.nan if r.observed_at is None else _clock_hour(r.observed_at) for r in rows]
        dow = [np.nan if r.observed_at is None else r.observed_at.astimezone(SG_TZ).weekday() for r in rows]
        return Observations(
            origin_lat=[r.origin_lat for r in rows],
            origin_lon=[r.origin_lon for r in rows],
            dest_lat=[r.dest_lat for r in rows],
            dest_lon=[r.dest_lon for r in rows],
            duration_s=[r.duration_s for r in rows],
            distance_m=[np.nan if r.distance_m is None else r.distance_m for r in rows],
            depart_hour=hour,
            day_of_week=dow,
        )


def _clock_hour(when: dt.datetime) -> float:
    local = when.astimezone(SG_TZ)
    return local.hour + local.minute / 60.0 + local.second / 3600.0


def parse_trip_log(name: str, data: bytes, now: dt.datetime | None = None) -> TripLogReport:
    """Check a trip-log CSV. Never raises for content problems: they are in the report."""
    report = TripLogReport(file=name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        report.file_errors.append(
            Issue(name, None, None, f"the file is not UTF-8 text (byte {exc.start}); save it as CSV UTF-8")
        )
        return report
    if not text.strip():
        report.file_errors.append(Issue(name, None, None, "the file is empty"))
        return report
    reader = csv.reader(io.StringIO(text, newline=""), dialect=_dialect(text))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        report.file_errors.append(Issue(name, 1, None, f"cannot read the header: {exc}"))
        return report
    columns = [h.strip().lower() for h in header]
    index: dict[str, int] = {}
    for i, col in enumerate(columns):
        if col in index:
            report.file_errors.append(Issue(name, 1, header[i], f"column '{col}' appears twice in the header"))
        elif col:
            index[col] = i
    missing = [c for c in REQUIRED_COLUMNS if c not in index]
    if missing:
        report.file_errors.append(
            Issue(
                name,
                1,
                ", ".join(missing),
                f"missing required column(s) {', '.join(missing)}; expected "
                f"{', '.join(REQUIRED_COLUMNS)} and optionally {', '.join(OPTIONAL_COLUMNS)}",
            )
        )
    if report.file_errors:
        return report
    report.ignored_columns = [c for c in columns if c and c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    now = now or dt.datetime.now(dt.UTC)
    row_number = 1
    try:
        for cells in reader:
            row_number += 1
            if not any(c.strip() for c in cells):
                continue  # blank line: not a trip
            report.data_rows += 1
            if report.data_rows > MAX_ROWS:
                report.file_errors.append(Issue(name, row_number, None, f"more than {MAX_ROWS} rows; split the file"))
                break
            row, problems = _check_row(name, row_number, cells, index, now)
            if problems:
                report.issues.extend(problems)
            else:
                report.rows.append(row)
    except csv.Error as exc:
        report.file_errors.append(Issue(name, row_number, None, f"broken CSV: {exc}"))
    return report


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        return csv.excel


def _cell(cells: list[str], index: dict[str, int], column: str) -> str:
    i = index.get(column)
    if i is None or i >= len(cells):
        return ""
    return cells[i].strip()


def _number(name: str, row: int, column: str, text: str, problems: list[Issue]) -> float | None:
    if text.lower() in _NULL:
        problems.append(Issue(name, row, column, "required value is missing"))
        return None
    try:
        value = float(text)
    except ValueError:
        problems.append(Issue(name, row, column, f"not a number: '{text[:40]}'"))
        return None
    if not math.isfinite(value):
        problems.append(Issue(name, row, column, f"not a finite number: '{text[:40]}'"))
        return None
    return value


def _check_row(
    name: str, row: int, cells: list[str], index: dict[str, int], now: dt.datetime
) -> tuple[TripLogRow | None, list[Issue]]:
    problems: list[Issue] = []
    values = {c: _number(name, row, c, _cell(cells, index, c), problems) for c in REQUIRED_COLUMNS}
    for column, lo, hi in (
        ("origin_lat", SG_LAT_MIN, SG_LAT_MAX),
        ("dest_lat", SG_LAT_MIN, SG_LAT_MAX),
        ("origin_lon", SG_LON_MIN, SG_LON_MAX),
        ("dest_lon", SG_LON_MIN, SG_LON_MAX),
    ):
        v = values[column]
        if v is not None and not lo <= v <= hi:
            problems.append(Issue(name, row, column, f"{v:g} is outside Singapore ({lo} to {hi}); lat/lon swapped?"))
            values[column] = None
    duration = values["actual_duration_s"]
    if duration is not None and not MIN_DURATION_S <= duration <= MAX_DURATION_S:
        problems.append(
            Issue(
                name,
                row,
                "actual_duration_s",
                f"{duration:g} s is outside {MIN_DURATION_S:g} s to {MAX_DURATION_S:g} s (6 h); seconds expected",
            )
        )
        duration = None
    distance: float | None = None
    text = _cell(cells, index, "route_distance_m")
    if text.lower() not in _NULL:
        distance = _number(name, row, "route_distance_m", text, problems)
        if distance is not None and distance <= 0:
            problems.append(Issue(name, row, "route_distance_m", f"{distance:g} m is not a positive distance"))
            distance = None
    observed_at: dt.datetime | None = None
    text = _cell(cells, index, "timestamp_iso")
    if text.lower() not in _NULL:
        observed_at = _timestamp(text)
        if observed_at is None:
            problems.append(
                Issue(
                    name, row, "timestamp_iso", f"not an ISO 8601 timestamp: '{text[:40]}' (e.g. 2026-03-02T08:15:00)"
                )
            )
        elif observed_at > now + dt.timedelta(days=1):
            problems.append(Issue(name, row, "timestamp_iso", f"{text} is in the future"))
    coords = [values[c] for c in ("origin_lat", "origin_lon", "dest_lat", "dest_lon")]
    if all(v is not None for v in coords):
        straight = float(haversine_m(*coords))
        if straight < MIN_SEPARATION_M:
            problems.append(
                Issue(name, row, "dest_lat", f"origin and destination are {straight:.0f} m apart: not a drive")
            )
        else:
            if duration is not None and straight / duration > MAX_STRAIGHT_SPEED_MS:
                problems.append(
                    Issue(
                        name,
                        row,
                        "actual_duration_s",
                        f"{duration:g} s for {straight / 1000:.1f} km in a straight line is faster than "
                        f"{MAX_STRAIGHT_SPEED_MS * 3.6:.0f} km/h: minutes instead of seconds?",
                    )
                )
            if distance is not None and distance < MIN_ROUTE_FACTOR * straight:
                problems.append(
                    Issue(
                        name,
                        row,
                        "route_distance_m",
                        f"{distance:g} m is shorter than the {straight:.0f} m straight line; metres expected",
                    )
                )
    if problems:
        return None, problems
    return (
        TripLogRow(
            row=row,
            origin_lat=coords[0],
            origin_lon=coords[1],
            dest_lat=coords[2],
            dest_lon=coords[3],
            duration_s=float(duration),
            distance_m=distance,
            observed_at=observed_at,
        ),
        [],
    )


def _timestamp(text: str) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=SG_TZ)
    return when
