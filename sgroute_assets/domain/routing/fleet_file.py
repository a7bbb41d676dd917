"""A planner's fleet for one stop file: ``<stop file name>.fleet.csv`` (or ``.xlsx``) beside it.

One row per vehicle type. Columns (case-insensitive, order free; blank = the default single type's value
from the environment / Launchpad):

| column | meaning |
|---|---|
| ``name`` | required, unique: what dispatchers call the type ("Van", "Lorry"); vehicles are "Van 1", "Van 2" |
| ``count`` | required: vehicles of this type available |
| ``capacity`` (or ``capacity_parcels``) | demand units (parcels) one vehicle carries |
| ``capacity_weight_kg``, ``capacity_volume_l`` | what one vehicle carries in kilograms and litres (blank: no limit) |
| ``shift_start``, ``shift_end`` | HH:MM |
| ``max_route_minutes`` | longest route, depot to depot, waiting included |
| ``fixed_cost_min`` | what using one more vehicle of this type costs, in minutes of paid time |
| ``start_lat``, ``start_lon``, ``end_lat``, ``end_lon`` | where its routes start / end (blank: the depot) |
| ``break_earliest``, ``break_latest``, ``break_minutes`` | a driver break starting in that window (HH:MM) |
| ``max_overtime_min`` | how far past the shift (or the longest route) a route may run |
| ``overtime_cost_per_hour`` | what an hour over costs, in minutes of paid time (30: time and a half) |
| ``max_stops`` | most stops one route of this type serves |
| ``skills`` | what its vehicles have, e.g. ``chiller;tailgate``: a stop's ``requires`` picks the types that serve it |

Every problem names the file, row and column, like stop files; a fleet file with any problem is not used
(the plan fails with the list rather than run with half a fleet).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..stops import (
    StopFileError,
    is_null_text,
    parse_amount,
    parse_clock,
    parse_float,
    parse_skills,
    read_stop_file,
    sidecar_columns,
)
from .fleet import FleetError, VehicleBreak, VehicleType

FLEET_MARK = ".fleet"
COLUMNS = (
    "name",
    "count",
    "capacity",
    "shift_start",
    "shift_end",
    "max_route_minutes",
    "fixed_cost_min",
    "start_lat",
    "start_lon",
    "end_lat",
    "end_lon",
    "break_earliest",
    "break_latest",
    "break_minutes",
    "skills",
    "max_stops",
    "capacity_parcels",
    "capacity_weight_kg",
    "capacity_volume_l",
    "max_overtime_min",
    "overtime_cost_per_hour",
)


@dataclass
class FleetFile:
    file: str | None = None
    types: list[VehicleType] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return self.file is not None and bool(self.types) and not self.issues


def _whole(text: str) -> int | None:
    value = parse_float(text)
    if value is None or value != int(value):
        return None
    return int(value)


class _Row:
    """One fleet file row's cells, read with problems that name the file, row and column."""

    def __init__(self, file: str, row: int, cells: list[str], columns: dict[str, int]):
        self.file, self.row, self.cells, self.columns = file, row, cells, columns
        self.problems: list[str] = []

    def bad(self, column: str, message: str) -> None:
        self.problems.append(f"{self.file}, row {self.row}, column {column}: {message}")

    def cell(self, column: str) -> str:
        i = self.columns.get(column)
        text = self.cells[i].strip() if i is not None and i < len(self.cells) else ""
        return "" if is_null_text(text) else text

    def whole(self, column: str, fallback: int | None, minimum: int = 0) -> int | None:
        text = self.cell(column)
        if not text:
            if fallback is None:
                self.bad(column, "is required")
            return fallback
        value = _whole(text)
        if value is None or value < minimum:
            self.bad(column, f"'{text}' is not a whole number of at least {minimum}")
            return fallback
        return value

    def clock(self, column: str, fallback: int | None) -> int | None:
        text = self.cell(column)
        if not text:
            return fallback
        value = parse_clock(text)
        if value is None:
            self.bad(column, f"'{text}' is not a time of day like 08:00")
            return fallback
        return value

    def coord(self, column: str, low: float, high: float) -> float | None:
        text = self.cell(column)
        if not text:
            return None
        value = parse_float(text)
        if value is None or not low <= value <= high:
            self.bad(column, f"'{text}' is not a coordinate in Singapore")
            return None
        return value


def parse_fleet_file(name: str, data: bytes, default: VehicleType) -> FleetFile:
    """Vehicle types from a fleet file; blank cells take ``default``'s values."""
    out = FleetFile(file=name)
    try:
        table = read_stop_file(name, data)
    except StopFileError as exc:
        out.issues.append(f"{name}: {exc.message}")
        return out
    columns, header_problems = sidecar_columns(name, table, COLUMNS, ("name", "count"))
    out.issues += header_problems
    if out.issues:
        return out

    for raw in table.rows:
        if not any(c.strip() for c in raw.cells):
            continue
        row = _Row(name, raw.row, raw.cells, columns)
        cell, whole, clock, coord, bad, problems = row.cell, row.whole, row.clock, row.coord, row.bad, row.problems

        def amount(column: str, row: _Row = row) -> float | None:
            return parse_amount(row.cell(column), column, row.bad)

        type_name = cell("name")
        if not type_name:
            bad("name", "is required")
        count = whole("count", None, minimum=1)
        capacity = whole("capacity", default.capacity)
        if cell("capacity_parcels"):
            parcels = whole("capacity_parcels", default.capacity)
            if cell("capacity") and parcels != capacity:
                bad("capacity_parcels", f"{parcels} differs from capacity {capacity}: it is capacity's other name")
            capacity = parcels
        weight_cap = amount("capacity_weight_kg")
        overtime = whole("max_overtime_min", 0) if cell("max_overtime_min") else 0
        overtime_cost = amount("overtime_cost_per_hour") or 0.0
        volume_cap = amount("capacity_volume_l")
        shift_start = clock("shift_start", default.shift_start_min)
        shift_end = clock("shift_end", default.shift_end_min)
        max_route = whole("max_route_minutes", default.max_route_min, minimum=1)
        fixed_text = cell("fixed_cost_min")
        fixed = default.fixed_cost_min
        if fixed_text:
            value = parse_float(fixed_text)
            if value is None or value < 0:
                bad("fixed_cost_min", f"'{fixed_text}' is not a number of minutes (0 or more)")
            else:
                fixed = value
        start_lat, start_lon = coord("start_lat", 1.1, 1.5), coord("start_lon", 103.5, 104.1)
        end_lat, end_lon = coord("end_lat", 1.1, 1.5), coord("end_lon", 103.5, 104.1)
        b_early, b_late = clock("break_earliest", None), clock("break_latest", None)
        b_minutes = whole("break_minutes", 0) if cell("break_minutes") else None
        brk = None
        if any(v is not None for v in (b_early, b_late, b_minutes)):
            if b_early is None or b_late is None or not b_minutes:
                bad("break_minutes", "a break needs break_earliest, break_latest and break_minutes (over 0)")
            else:
                brk = VehicleBreak(earliest_min=b_early, latest_min=b_late, minutes=b_minutes)
        max_stops = whole("max_stops", 0, minimum=1) if cell("max_stops") else None
        skills, bad_skills = parse_skills(cell("skills"))
        if bad_skills:
            bad("skills", f"'{bad_skills[0]}' is not a skill name (letters, digits, - and _; several split by ;)")
        if problems or type_name is None or count is None:
            out.issues += problems
            continue
        vehicle_type = replace(
            default,
            name=type_name,
            count=count,
            capacity=capacity,
            shift_start_min=shift_start,
            shift_end_min=shift_end,
            max_route_min=max_route,
            fixed_cost_min=fixed,
            start_lat=start_lat,
            start_lon=start_lon,
            end_lat=end_lat,
            end_lon=end_lon,
            break_=brk,
            skills=skills,
            max_stops=max_stops,
            capacity_weight_kg=weight_cap,
            capacity_volume_l=volume_cap,
            max_overtime_min=overtime or 0,
            overtime_cost_per_hour=overtime_cost,
        )
        out.issues += [f"{name}, row {raw.row}: {p}" for p in vehicle_type.problems()]
        out.types.append(vehicle_type)
    names = [t.name for t in out.types]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        out.issues.append(f"{name}: vehicle type {dup} appears more than once; names must be unique")
    if not out.types and not out.issues:
        out.issues.append(f"{name}: no vehicle types (one row per type: name, count, capacity, ...)")
    return out


def fleet_error(fleet_file: FleetFile) -> FleetError:
    return FleetError("fleet file problems: " + "; ".join(fleet_file.issues[:20]))
