"""What has happened on the road since the morning plan: ``<stop file name>.progress.csv`` (or ``.xlsx``).

A re-plan during the day (issue 18) starts from this picture: which visits are history (done, or attempted
and failed), which were skipped, where each van is now, and which vans have left service. This module reads
and checks the picture; it plans nothing. Like stop, fleet and sequence files, every problem names the file,
row and column, and a picture with any problem is not used (a re-plan from half a picture would move parcels
that are already delivered).

Columns (case-insensitive, order free):

| column | meaning |
|---|---|
| ``vehicle`` | a van by name ("Van 2") or number (``V02``), as in sequence files; required on every row |
| ``stop_ref`` | a stop of the stop file (visit rows) |
| ``status`` | ``done``, ``failed`` (attempted, not delivered), ``skipped``, or ``off`` (the van left service) |
| ``time`` | when it happened, HH:MM; required for done and failed (they are history, timed as reported) |
| ``lat``, ``lon`` | where the van is (a position row: no stop_ref, no status) |
| ``as_of`` | when the picture was taken, HH:MM; every row that gives it must agree |

``as_of`` may instead come from the caller (the Launchpad's ``replan_at``, ``sgroute replan --at``); the file's
own value wins when both are given and they differ, as a problem, not silently.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..stops import (
    SG_LAT_MAX,
    SG_LAT_MIN,
    SG_LON_MAX,
    SG_LON_MIN,
    SidecarRow,
    StopFileError,
    format_clock,
    parse_clock,
    parse_float,
    read_stop_file,
    sidecar_columns,
    sidecar_rows,
)
from .fleet import Fleet
from .resequence import VehicleSlot, fleet_hint, resolve_vehicle, vehicle_slots

PROGRESS_MARK = ".progress"
DONE, FAILED, SKIPPED, OFF = "done", "failed", "skipped", "off"
VISIT_STATUSES = (DONE, FAILED, SKIPPED)
COLUMNS = ("vehicle", "stop_ref", "status", "time", "lat", "lon", "as_of")
REQUIRED = ("vehicle",)
CONFIG_SOURCE = "config (progress)"


@dataclass(frozen=True)
class VisitReport:
    """A stop the driver reported: delivered, attempted and failed, or skipped."""

    slot: VehicleSlot
    stop_ref: str
    status: str  # DONE | FAILED | SKIPPED
    time_min: int | None  # minutes after midnight; None only for a skipped stop reported without a time
    where: str  # "day.progress.csv, row 4": for messages about this report later on


@dataclass(frozen=True)
class VanPosition:
    slot: VehicleSlot
    lat: float
    lon: float
    time_min: int  # when the van was there (as_of when the row gives no time)
    where: str


@dataclass
class DayProgress:
    """The checked picture of the day at ``as_of_min``; ``issues`` non-empty means it must not be used."""

    source: str
    as_of_min: int | None = None
    visits: list[VisitReport] = field(default_factory=list)
    positions: dict[int, VanPosition] = field(default_factory=dict)  # vehicle number -> latest position
    off: dict[int, int] = field(default_factory=dict)  # vehicle number -> when it left service
    issues: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return not self.issues and self.as_of_min is not None

    def history(self) -> list[VisitReport]:
        """Done and failed visits: never moved by a re-plan, timed as reported, in each van's order."""
        kept = [v for v in self.visits if v.status in (DONE, FAILED)]
        return sorted(kept, key=lambda v: (v.slot.number, v.time_min or 0))

    def visits_of(self, slot: VehicleSlot) -> list[VisitReport]:
        return [v for v in self.history() if v.slot == slot]


def parse_progress_file(
    name: str, data: bytes, fleet: Fleet, stop_refs: Iterable[str], as_of_min: int | None = None
) -> DayProgress:
    """The picture in a progress file, checked against the fleet (vans by name or number) and the stop file."""
    try:
        table = read_stop_file(name, data)
    except StopFileError as exc:
        return DayProgress(source=name, issues=[f"{name}: {exc.message}"])
    columns, issues = sidecar_columns(name, table, COLUMNS, REQUIRED)
    if issues:
        return DayProgress(source=name, issues=issues)
    rows, unreadable = sidecar_rows(name, table, columns)
    out = check_progress(name, rows, fleet, stop_refs, as_of_min)
    out.issues = unreadable + out.issues
    return out


def progress_from_config(
    rows: Iterable[dict[str, str]], fleet: Fleet, stop_refs: Iterable[str], as_of_min: int | None
) -> DayProgress:
    """The same picture given as rows in the Launchpad (``progress[2], column vehicle: ...`` in problems)."""
    checked = [
        SidecarRow(f"config progress[{i}]", {c: str(row.get(c) or "").strip() for c in COLUMNS})
        for i, row in enumerate(rows)
    ]
    return check_progress(CONFIG_SOURCE, checked, fleet, stop_refs, as_of_min)


def check_progress(
    source: str, rows: list[SidecarRow], fleet: Fleet, stop_refs: Iterable[str], as_of_min: int | None
) -> DayProgress:
    out = DayProgress(source=source)
    slots = vehicle_slots(fleet)
    known = set(stop_refs)
    out.as_of_min = _as_of(out, rows, as_of_min)
    reported: dict[str, VisitReport] = {}
    for row in rows:
        problems: list[str] = []

        def bad(column: str, message: str, row: SidecarRow = row, problems: list[str] = problems) -> None:
            problems.append(f"{row.where}, column {column}: {message}")

        text = row.cells.get
        slot = _vehicle(text("vehicle", ""), slots, bad)
        status = text("status", "").lower()
        ref = text("stop_ref", "")
        when = _clock(text("time", ""), "time", bad)
        if when is not None and out.as_of_min is not None and when > out.as_of_min:
            bad("time", f"{format_clock(when)} is after the picture's as_of {format_clock(out.as_of_min)}")
        if status and status not in (*VISIT_STATUSES, OFF):
            bad("status", f"'{text('status')}' is not one of done, failed, skipped, off")
        elif status in VISIT_STATUSES:
            if not ref:
                bad("stop_ref", f"a {status} row names its stop")
            elif ref not in known:
                bad("stop_ref", f"unknown stop_ref '{ref}' (not a stop of this stop file)")
            elif ref in reported:
                bad("stop_ref", f"stop {ref} is already reported ({reported[ref].where})")
            if status in (DONE, FAILED) and when is None and not text("time"):
                bad("time", f"a {status} visit gives its time (HH:MM): it is history, timed as reported")
        elif status == OFF:
            if ref:
                bad("stop_ref", "an off row names the van only (its stops are re-planned or dropped)")
        position = None
        if not status:
            position = _position(row, slot, when, out.as_of_min, bad)
        if problems:
            out.issues += problems
            continue
        if slot is None:
            continue
        if status in VISIT_STATUSES:
            reported[ref] = VisitReport(slot, ref, status, when, row.where)
            out.visits.append(reported[ref])
        elif status == OFF:
            out.off[slot.number] = when if when is not None else (out.as_of_min or 0)
        elif position is not None:
            latest = out.positions.get(slot.number)
            if latest is None or position.time_min >= latest.time_min:  # the latest report of the van wins
                out.positions[slot.number] = position
    return out


def _as_of(out: DayProgress, rows: list[SidecarRow], given: int | None) -> int | None:
    """The picture's time: the file's as_of cells (all equal), else the caller's."""
    found: dict[int, str] = {}
    for row in rows:
        text = row.cells.get("as_of", "")
        if not text:
            continue
        value = parse_clock(text)
        if value is None:
            out.issues.append(f"{row.where}, column as_of: '{text}' is not a time (HH:MM)")
        else:
            found.setdefault(value, row.where)
    if len(found) > 1:
        times = ", ".join(f"{format_clock(t)} ({where})" for t, where in found.items())
        out.issues.append(f"{out.source}: as_of differs between rows: {times}; one picture has one time")
        return None
    if found:
        (value,) = found
        if given is not None and given != value:
            out.issues.append(
                f"{out.source}: the file says as_of {format_clock(value)} but the re-plan was asked for at "
                f"{format_clock(given)}; drop one of them"
            )
        return value
    if given is None:
        out.issues.append(f"{out.source}: no as_of: give an as_of column (HH:MM) or the re-plan time")
    return given


def _vehicle(text: str, slots: list[VehicleSlot], bad) -> VehicleSlot | None:
    if not text:
        bad("vehicle", "is required")
        return None
    slot = resolve_vehicle(text, slots)
    if slot is None:
        bad("vehicle", f"unknown vehicle '{text}' ({fleet_hint(slots)})")
    return slot


def _clock(text: str, column: str, bad) -> int | None:
    if not text:
        return None
    value = parse_clock(text)
    if value is None:
        bad(column, f"'{text}' is not a time (HH:MM)")
    return value


def _position(
    row: SidecarRow, slot: VehicleSlot | None, when: int | None, as_of: int | None, bad
) -> VanPosition | None:
    """A row with no status: where a van is. Both coordinates, inside Singapore's box."""
    lat_text, lon_text = row.cells.get("lat", ""), row.cells.get("lon", "")
    if not lat_text and not lon_text:
        bad("status", "is required (done, failed, skipped, off), or give lat and lon for where the van is")
        return None
    lat, lon = parse_float(lat_text), parse_float(lon_text)
    if lat is None or not SG_LAT_MIN <= lat <= SG_LAT_MAX:
        bad("lat", f"'{lat_text}' is not a latitude in Singapore ({SG_LAT_MIN} to {SG_LAT_MAX})")
        return None
    if lon is None or not SG_LON_MIN <= lon <= SG_LON_MAX:
        bad("lon", f"'{lon_text}' is not a longitude in Singapore ({SG_LON_MIN} to {SG_LON_MAX})")
        return None
    at = when if when is not None else as_of
    if slot is None or at is None:
        return None
    return VanPosition(slot, lat, lon, at, row.where)
