"""The stop file schema: which columns a planner may give and what a validated stop looks like.

Kept free of Dagster and pandas so the CLI, the assets and the tests share one definition.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

REQUIRED_COLUMN = "stop_ref"
KNOWN_COLUMNS: tuple[str, ...] = (
    "stop_ref",
    "address",
    "postal_code",
    "lat",
    "lon",
    "demand",
    "service_time_min",
    "tw_start",
    "tw_end",
    "phone",
    "contact_name",
    "priority",
    "requires",
    "parcels",
    "weight_kg",
    "volume_l",
    "setup_min",
    "tw2_start",
    "tw2_end",
    "late_ok_min",
    "lateness_cost_per_min",
)
PRIORITIES = ("normal", "high")  # a high-priority stop is dropped last when not every stop fits

# Singapore's bounding box with a small margin for offshore islands (Pulau Tekong, Jurong Island).
SG_LAT_MIN, SG_LAT_MAX = 1.15, 1.48
SG_LON_MIN, SG_LON_MAX = 103.59, 104.10


@dataclass(frozen=True)
class Issue:
    """One problem found in a stop file, located the way a spreadsheet user would look for it."""

    file: str
    row: int | None  # 1-based as a spreadsheet shows it (header = row 1); None for file-level problems
    column: str | None
    message: str
    sheet: str | None = None  # the worksheet, when the workbook has more than one

    def describe(self) -> str:
        where = self.file
        if self.sheet:
            where += f", sheet '{self.sheet}'"
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Stop:
    """A validated, normalised stop. Times are minutes after midnight so the solver needs no parsing."""

    stop_ref: str
    row: int
    address: str | None = None
    postal_code: str | None = None
    lat: float | None = None
    lon: float | None = None
    demand: int = 0
    service_time_min: int = 0
    tw_start_min: int | None = None
    tw_end_min: int | None = None
    phone: str | None = None
    contact_name: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    priority: str = "normal"  # normal | high
    # Problems that do not stop planning (a foreign phone, a malformed postal code beside good coordinates):
    # the stop is planned and every report shows them next to it, as "column: message".
    warnings: tuple[str, ...] = ()
    sheet: str | None = None  # the worksheet of ``row``, when the workbook has more than one
    # Skills the vehicle must have ("chiller", "tailgate"): only a vehicle type with all of them serves it.
    requires: tuple[str, ...] = ()
    weight_kg: float | None = None  # loads in kilograms and litres (domain/stops/loads.py); demand is parcels
    volume_l: float | None = None
    # Parking, the lift, the security desk: paid once per place the driver arrives at (domain/stops/places.py).
    setup_min: int = 0
    # A second window the customer accepts, after the first (served in one or the other).
    tw2_start_min: int | None = None
    tw2_end_min: int | None = None
    # Arriving up to late_ok_min after the window closes is allowed, each minute late costing
    # lateness_cost_per_min minutes of paid time (a soft window: OR-Tools plans it, PyVRP 0.14 cannot).
    late_ok_min: int = 0
    lateness_cost_per_min: float = 0.0

    @property
    def has_coordinates(self) -> bool:
        return self.lat is not None and self.lon is not None

    @property
    def notes(self) -> str | None:
        """The planner's free-text instructions for the driver ("Loading bay B4", "call on arrival")."""
        return (self.extra.get("notes") or "").strip() or None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tw_start"] = format_clock(self.tw_start_min)
        data["tw_end"] = format_clock(self.tw_end_min)
        return data


@dataclass
class RowResult:
    row: int
    stop_ref: str | None
    errors: list[Issue]
    stop: Stop | None
    warnings: list[Issue] = field(default_factory=list)  # reported, but the stop is still planned
    sheet: str | None = None  # the worksheet of ``row``, when the workbook has more than one
    # The row as the planner typed it, header -> cell: an invalid row never becomes a Stop, and the dispatcher
    # still needs its address, contact and phone to call the customer.
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors and self.stop is not None


@dataclass
class ValidationReport:
    """Everything a planner needs to fix a file: every row, valid or not, and file-level problems."""

    file: str
    rows: list[RowResult]
    file_errors: list[Issue] = field(default_factory=list)
    # Where the file was read from, set by the asset and stored with the plan that used it.
    source_uri: str | None = None
    content_hash: str | None = None
    generation: str | None = None
    # Reading notes that concern no one row: a title row skipped, a sheet not read, a hidden sheet read.
    file_warnings: list[Issue] = field(default_factory=list)
    max_stops: int | None = None  # the stop limit the run applied (SGROUTE_MAX_STOPS or its run config)

    @property
    def source_version(self) -> str | None:
        """The stop file version planned from: its object generation in a bucket, else its content hash."""
        return self.generation or self.content_hash

    @property
    def warnings(self) -> list[Issue]:
        return list(self.file_warnings) + [w for r in self.rows for w in r.warnings]

    @property
    def valid_stops(self) -> list[Stop]:
        return [r.stop for r in self.rows if r.valid and r.stop is not None]

    @property
    def invalid_rows(self) -> list[RowResult]:
        return [r for r in self.rows if not r.valid]

    @property
    def valid_count(self) -> int:
        return len(self.valid_stops)

    @property
    def invalid_count(self) -> int:
        return len(self.invalid_rows)

    @property
    def issues(self) -> list[Issue]:
        out = list(self.file_errors)
        for r in self.rows:
            out.extend(r.errors)
        return out

    def issue_lines(self) -> list[tuple[str, Issue]]:
        """Errors, then warnings, each with its kind ("error" | "warning"): what validation_issues.csv lists."""
        return [("error", i) for i in self.issues] + [("warning", w) for w in self.warnings]

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "valid_count": self.valid_count,
            "invalid_count": self.invalid_count,
            "warning_count": len(self.warnings),
            "file_errors": [{"column": i.column, "message": i.message} for i in self.file_errors],
            "file_warnings": [
                {"sheet": i.sheet, "row": i.row, "column": i.column, "message": i.message} for i in self.file_warnings
            ],
            "rows": [
                {
                    "row": r.row,
                    "sheet": r.sheet,
                    "stop_ref": r.stop_ref,
                    "valid": r.valid,
                    "errors": [{"column": i.column, "message": i.message} for i in r.errors],
                    "warnings": [{"column": i.column, "message": i.message} for i in r.warnings],
                    "stop": r.stop.to_dict() if r.stop is not None else None,
                }
                for r in self.rows
            ],
        }


def format_clock(minutes: int | float | None) -> str | None:
    """Minutes after midnight as HH:MM (past midnight shows as 24:xx rather than wrapping silently)."""
    if minutes is None:
        return None
    total = int(round(minutes))
    return f"{total // 60:02d}:{total % 60:02d}"
