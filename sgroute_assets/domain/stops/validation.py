"""Validation rules for stop files.

Every rule reports into the row it concerns and a row collects all its problems, so a planner fixes a
file in one pass instead of one error per upload.
"""

from __future__ import annotations

import math
import os
import re
from collections import defaultdict
from collections.abc import Mapping

import phonenumbers

from .loads import MAX_LOAD
from .reader import RawRow, RawTable, read_stop_file
from .schema import (
    KNOWN_COLUMNS,
    PRIORITIES,
    REQUIRED_COLUMN,
    SG_LAT_MAX,
    SG_LAT_MIN,
    SG_LON_MAX,
    SG_LON_MIN,
    Issue,
    RowResult,
    Stop,
    ValidationReport,
    format_clock,
)
from .service_area import COAST_TOLERANCE_M, distances_outside_m, outside_message

_NULL_TEXT = {"", "n/a", "na", "nan", "none", "null", "<na>", "-", "--", "nil"}
_POSTAL = re.compile(r"^(?:s|singapore)?\s*\(?\s*(\d{6})\s*\)?$", re.IGNORECASE)
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_INTEGER = re.compile(r"^[+-]?\d+(?:\.0+)?$")
MAX_STOP_REF_LENGTH = 100
MAX_SERVICE_MIN = 24 * 60
# No single delivery is a million parcels, kilograms or units; beyond this it is a typo or a corrupt cell, and
# the number would overflow the database's integers and the solver's arithmetic.
MAX_DEMAND = 1_000_000
# Stops per file: the travel matrix and the solver grow with the square of the stops. At 3,000 the matrix
# peaks near 0.3 GiB and builds in ~4 s on this 2-core machine (benchmarks/memory_scaling.py); 5,000 took
# 7.3 min and 3.3 GB end to end in issue 14, and 50,000 asked for 18.6 GiB.
MAX_STOPS_ENV = "SGROUTE_MAX_STOPS"
DEFAULT_MAX_STOPS = 3000


def max_stops_per_file(environ: Mapping[str, str] = os.environ, override: int | None = None) -> int:
    """The stop limit: a run's own setting, else SGROUTE_MAX_STOPS, else 3,000. Read at run time, not import."""
    if override is not None:
        if override < 1:
            raise ValueError(f"max_stops {override} must be at least 1")
        return override
    text = environ.get(MAX_STOPS_ENV, "").strip().replace(",", "").replace("_", "")
    if not text:
        return DEFAULT_MAX_STOPS
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{MAX_STOPS_ENV}='{environ.get(MAX_STOPS_ENV)}' must be a whole number of stops, e.g. 3000")
    return int(text)


def too_many_stops(report: ValidationReport, limit: int) -> str | None:
    """Why this file is refused before any travel time is computed, in words a planner can act on; None if not."""
    count = report.valid_count
    if count <= limit:
        return None
    parts = -(-count // limit)
    return (
        f"{report.file} has {count:,} valid stops; the limit is {limit:,} stops per file, so it is not planned "
        f"(no travel times computed, every row is in the validation report). Split it into {parts} files of at "
        f"most {limit:,} stops, or raise the limit with {MAX_STOPS_ENV} (or max_stops in the validated_stops "
        "run config) if this machine has the memory: the travel matrix and the solver grow with the square of "
        "the stops."
    )


def why_not_planned(report: ValidationReport, limit: int) -> str | None:
    """Why no plan can be made from this file (no valid row, or over the stop limit), as the plain sentence a
    failed run opens on; None when it can be planned."""
    refused = too_many_stops(report, limit)
    if refused or report.valid_count:
        return refused
    reasons = [i.describe() for i in report.issues[:5]]
    return f"{report.file} has no valid stop row; first problems: " + " | ".join(reasons or ["the file has no rows"])


def validate_file(name: str, data: bytes) -> ValidationReport:
    """Read and validate in one go; StopFileError propagates for unreadable files."""
    return validate_table(read_stop_file(name, data))


def validate_table(table: RawTable) -> ValidationReport:
    columns = [h.strip().lower() for h in table.header]
    file_errors: list[Issue] = []
    seen: dict[str, int] = {}
    for idx, col in enumerate(columns):
        if not col:
            continue
        if col in seen:
            file_errors.append(
                Issue(
                    table.file,
                    table.header_row,
                    table.header[idx],
                    f"column '{col}' appears twice in the header",
                    sheet=table.sheet,
                )
            )
        else:
            seen[col] = idx
    if REQUIRED_COLUMN not in seen:
        message = "the header has no stop_ref column; expected columns: " + ", ".join(KNOWN_COLUMNS)
        if table.header_hint:
            message += ". " + table.header_hint
        file_errors.append(Issue(table.file, table.header_row, REQUIRED_COLUMN, message, sheet=table.sheet))
        return ValidationReport(file=table.file, rows=[], file_errors=file_errors, file_warnings=list(table.notices))

    extra_columns = {name: i for name, i in seen.items() if name not in KNOWN_COLUMNS}
    rows = [_validate_row(table.file, raw, seen, extra_columns, len(columns), columns) for raw in table.rows]
    _flag_outside_singapore(table.file, rows)
    _flag_duplicates(table.file, rows)
    return ValidationReport(file=table.file, rows=rows, file_errors=file_errors, file_warnings=list(table.notices))


def _cell(cells: list[str], index: dict[str, int], column: str) -> str:
    i = index.get(column)
    if i is None or i >= len(cells):
        return ""
    value = cells[i]
    return value.strip() if isinstance(value, str) else str(value).strip()


def is_null_text(text: str) -> bool:
    """Blank, N/A and friends: what planners type for "nothing here"."""
    return text.strip().lower() in _NULL_TEXT


def _validate_row(
    file: str,
    raw: RawRow,
    index: dict[str, int],
    extra_columns: dict[str, int],
    header_len: int,
    columns: list[str],
) -> RowResult:
    row, cells, sheet = raw.row, raw.cells, raw.sheet
    errors: list[Issue] = []
    warnings: list[Issue] = []

    def err(column: str | None, message: str) -> None:
        errors.append(Issue(file, row, column, message, sheet=sheet))

    def warn(column: str | None, message: str) -> None:
        warnings.append(Issue(file, row, column, message, sheet=sheet))

    # Cells the reader could not trust (an uncalculated formula, an Excel error) are never read as blank:
    # in a stop column the row is invalid; in an extra column (notes...) the stop is planned without it.
    for i, problem in sorted(raw.problems.items()):
        column = columns[i] if i < header_len else ""
        if column in KNOWN_COLUMNS:
            err(column, problem)
        elif column:
            warn(column, problem + "; the stop is planned without it")

    overflow = [c for c in cells[header_len:] if c.strip()]
    if overflow:
        warn(
            None,
            f"row has {header_len + len(overflow)} filled cells but the header has {header_len} columns; "
            "the cells beyond the header are ignored",
        )

    stop_ref = _cell(cells, index, "stop_ref")
    if not stop_ref:
        err("stop_ref", "stop_ref is empty: every stop needs a reference")
    elif len(stop_ref) > MAX_STOP_REF_LENGTH:
        err("stop_ref", f"stop_ref is {len(stop_ref)} characters long; the limit is {MAX_STOP_REF_LENGTH}")

    address_text = _cell(cells, index, "address")
    address = None if is_null_text(address_text) else " ".join(address_text.split())

    postal_problems: list[tuple[str, str]] = []
    postal_code = _postal_code(_cell(cells, index, "postal_code"), lambda c, m: postal_problems.append((c, m)))
    lat, lon = _coordinates(_cell(cells, index, "lat"), _cell(cells, index, "lon"), err)
    # A malformed postal code only matters when nothing else locates the stop; otherwise it is a warning.
    located_otherwise = bool(address) or (lat is not None and lon is not None)
    for column, message in postal_problems:
        if located_otherwise:
            warn(column, message + "; ignored, the stop is located by its " + ("lat/lon" if lat else "address"))
        else:
            err(column, message)
    demand = _non_negative_int(_cell(cells, index, "demand"), "demand", "demand", err)
    parcels = _non_negative_int(_cell(cells, index, "parcels"), "parcels", "parcels", err)
    if parcels is not None and demand is not None and parcels != demand:
        err("parcels", f"parcels {parcels} and demand {demand} differ: parcels is demand's other name; give one")
    elif parcels is not None:
        demand = parcels
    weight = parse_amount(_cell(cells, index, "weight_kg"), "weight_kg", err)
    setup = _non_negative_int(_cell(cells, index, "setup_min"), "setup_min", "setup time (minutes)", err)
    if setup is not None and setup > MAX_SERVICE_MIN:
        err("setup_min", f"setup time of {setup} minutes is longer than a day")
    volume = parse_amount(_cell(cells, index, "volume_l"), "volume_l", err)
    if demand is not None and demand > MAX_DEMAND:
        err("demand", f"demand {demand:,} is above the maximum of {MAX_DEMAND:,} per stop")
        demand = None
    service = _non_negative_int(
        _cell(cells, index, "service_time_min"), "service_time_min", "service time (minutes)", err
    )
    if service is not None and service > MAX_SERVICE_MIN:
        err("service_time_min", f"service time of {service} minutes is longer than a day")
    tw_start, tw_end = _time_window(_cell(cells, index, "tw_start"), _cell(cells, index, "tw_end"), err)
    tw2_start, tw2_end = _second_window(cells, index, tw_end, err)
    late_ok = _non_negative_int(_cell(cells, index, "late_ok_min"), "late_ok_min", "minutes late allowed", err)
    late_cost = parse_amount(_cell(cells, index, "lateness_cost_per_min"), "lateness_cost_per_min", err)
    if late_ok and tw_end is None:
        err("late_ok_min", "lateness is allowed past a window's end: give tw_start and tw_end too")
    elif late_ok and tw2_start is not None:
        err("late_ok_min", "lateness with a second window is not supported; give one window, or no late_ok_min")
    # A phone number is contact detail, not a reason to leave a delivery out: problems are warnings.
    phone = _phone(_cell(cells, index, "phone"), warn)
    contact_text = _cell(cells, index, "contact_name")
    contact = None if is_null_text(contact_text) else contact_text
    priority_text = _cell(cells, index, "priority").strip().lower()
    priority = "normal" if is_null_text(priority_text) else priority_text
    if priority not in PRIORITIES:
        err("priority", f"priority '{priority_text}' is not one of {', '.join(PRIORITIES)}")

    requires, bad_skills = parse_skills(_cell(cells, index, "requires"))
    if bad_skills:
        err("requires", f"'{bad_skills[0]}' is not a skill name (letters, digits, - and _; several split by ;)")

    has_location = bool(address) or postal_code is not None or (lat is not None and lon is not None)
    location_given = any(not is_null_text(_cell(cells, index, c)) for c in ("address", "postal_code", "lat", "lon"))
    if not has_location and not location_given:
        err("address", "no location: give an address, a postal code or a lat/lon pair")

    extra = {name: _cell(cells, extra_columns, name) for name in extra_columns}
    stop = None
    if not errors:
        stop = Stop(
            stop_ref=stop_ref,
            row=row,
            address=address,
            postal_code=postal_code,
            lat=lat,
            lon=lon,
            demand=demand or 0,
            service_time_min=service or 0,
            tw_start_min=tw_start,
            tw_end_min=tw_end,
            tw2_start_min=tw2_start,
            tw2_end_min=tw2_end,
            late_ok_min=late_ok or 0,
            lateness_cost_per_min=late_cost or 0.0,
            phone=phone,
            contact_name=contact,
            priority=priority,
            requires=requires,
            weight_kg=weight,
            setup_min=setup or 0,
            volume_l=volume,
            extra=extra,
            warnings=tuple(f"{w.column or 'row'}: {w.message}" for w in warnings),
            sheet=sheet,
        )
    fields = {name: cells[i] for i, name in enumerate(columns[:header_len]) if name and i < len(cells)}
    return RowResult(
        row=row, stop_ref=stop_ref or None, errors=errors, stop=stop, warnings=warnings, sheet=sheet, fields=fields
    )


def _postal_code(text: str, err) -> str | None:
    if is_null_text(text):
        return None
    match = _POSTAL.match(text)
    if not match:
        digits = re.sub(r"\D", "", text)
        hint = ""
        if digits and len(digits) < 6:
            hint = " (a leading zero may have been lost: format the column as text)"
        err("postal_code", f"postal code '{text}' must be 6 digits{hint}")
        return None
    return match.group(1)


_SKILL = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def parse_skills(text: str) -> tuple[tuple[str, ...], list[str]]:
    """Skills as planners write them ("chiller; tailgate", "Chiller,Tailgate"): lower-case names, sorted, once
    each; and the words that are not a skill name (letters, digits, - and _)."""
    if is_null_text(text):
        return (), []
    words = [w.strip().lower() for w in re.split(r"[;,|/]", text) if w.strip()]
    bad = [w for w in words if not _SKILL.match(w)]
    return tuple(sorted({w for w in words if _SKILL.match(w)})), bad


def parse_float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _coordinates(lat_text: str, lon_text: str, err) -> tuple[float | None, float | None]:
    lat_blank, lon_blank = is_null_text(lat_text), is_null_text(lon_text)
    if lat_blank and lon_blank:
        return None, None
    if lat_blank or lon_blank:
        missing = "lat" if lat_blank else "lon"
        err(missing, "lat and lon must be given together (or both left empty)")
        return None, None
    lat, lon = parse_float(lat_text), parse_float(lon_text)
    if lat is None:
        err("lat", f"lat '{lat_text}' is not a number")
    if lon is None:
        err("lon", f"lon '{lon_text}' is not a number")
    if lat is None or lon is None:
        return None, None
    if SG_LON_MIN <= lat <= SG_LON_MAX and SG_LAT_MIN <= lon <= SG_LAT_MAX:
        err("lat", f"lat {lat} and lon {lon} look swapped")
        return None, None
    ok = True
    if not SG_LAT_MIN <= lat <= SG_LAT_MAX:
        err("lat", f"lat {lat} is outside Singapore ({SG_LAT_MIN} to {SG_LAT_MAX})")
        ok = False
    if not SG_LON_MIN <= lon <= SG_LON_MAX:
        err("lon", f"lon {lon} is outside Singapore ({SG_LON_MIN} to {SG_LON_MAX})")
        ok = False
    return (lat, lon) if ok else (None, None)


def parse_amount(text: str, column: str, err) -> float | None:
    """A non-negative decimal amount (kg or litres, domain/stops/loads.py), None when blank."""
    if is_null_text(text):
        return None
    value = parse_float(text)
    if value is None or not math.isfinite(value) or value < 0:
        err(column, f"'{text}' is not an amount (a number of 0 or more)")
        return None
    if value > MAX_LOAD:
        err(column, f"{value:,.0f} is above the maximum of {MAX_LOAD:,.0f} per stop")
        return None
    return value


def _non_negative_int(text: str, column: str, label: str, err) -> int | None:
    if is_null_text(text):
        return None
    cleaned = text.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+", text) else text
    if not _INTEGER.match(cleaned):
        err(column, f"{label} '{text}' must be a whole number")
        return None
    value = int(float(cleaned)) if "." in cleaned else int(cleaned)
    if value < 0:
        err(column, f"{label} {value} must not be negative")
        return None
    return value


def parse_clock(text: str) -> int | None:
    """Minutes after midnight from H:MM, HH:MM, HH:MM:SS or an Excel day fraction; None if unreadable."""
    match = _CLOCK.match(text)
    if match:
        hours, minutes = int(match.group(1)), int(match.group(2))
        seconds = int(match.group(3) or 0)
        if minutes > 59 or seconds > 59 or hours > 24 or (hours == 24 and (minutes or seconds)):
            return None
        return hours * 60 + minutes
    fraction = parse_float(text)
    if fraction is not None and 0 <= fraction < 1 and "." in text:
        return int(round(fraction * 24 * 60))
    return None


def _time_window(
    start_text: str, end_text: str, err, names: tuple[str, str] = ("tw_start", "tw_end")
) -> tuple[int | None, int | None]:
    first, last = names
    start_blank, end_blank = is_null_text(start_text), is_null_text(end_text)
    start = end = None
    bad = False
    if not start_blank:
        start = parse_clock(start_text)
        if start is None:
            err(first, f"{first} '{start_text}' is not a time of day like 09:30")
            bad = True
    if not end_blank:
        end = parse_clock(end_text)
        if end is None:
            err(last, f"{last} '{end_text}' is not a time of day like 17:00")
            bad = True
    if bad:
        return None, None
    if start_blank != end_blank:
        missing = last if end_blank else first
        err(missing, f"give both {first} and {last}, or leave both empty")
        return None, None
    if start is not None and end is not None and start >= end:
        err(last, f"time window ends ({end_text}) before or when it starts ({start_text})")
        return None, None
    return start, end


def _second_window(cells, index, tw_end: int | None, err) -> tuple[int | None, int | None]:
    """The other window a customer accepts ("09:00-11:00 or 14:00-16:00"): after the first, which it needs."""
    texts = _cell(cells, index, "tw2_start"), _cell(cells, index, "tw2_end")
    start, end = _time_window(*texts, err, ("tw2_start", "tw2_end"))
    if start is None:
        return None, None
    if tw_end is None:
        err("tw2_start", "a second window needs the first one (tw_start, tw_end) too")
        return None, None
    if start <= tw_end:
        err("tw2_start", f"the second window must start after the first ends ({format_clock(tw_end)})")
        return None, None
    return start, end


def _phone(text: str, warn) -> str | None:
    """E.164 for a Singapore number; anything else is kept as written (a driver may still use it) and warned."""
    if is_null_text(text):
        return None
    kept = " ".join(text.split())
    if re.search(r"[A-Za-z]", text):
        warn("phone", f"phone '{text}' contains letters; kept as written")
        return kept
    try:
        number = phonenumbers.parse(text, "SG")
    except phonenumbers.NumberParseException:
        warn("phone", f"phone '{text}' is not a phone number; kept as written")
        return kept
    region = phonenumbers.region_code_for_number(number)
    if region != "SG":
        where = f" ({region})" if region else ""
        if region and phonenumbers.is_valid_number(number):
            warn("phone", f"phone '{text}' is not a Singapore number{where}")
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        warn("phone", f"phone '{text}' is not a Singapore number{where}; kept as written")
        return kept
    if not phonenumbers.is_valid_number(number):
        warn(
            "phone",
            f"phone '{text}' is not a valid Singapore number (8 digits starting 3, 6, 8 or 9); kept as written",
        )
        return kept
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _flag_outside_singapore(file: str, rows: list[RowResult]) -> None:
    """Coordinates in the lat/lon box but off Singapore's land (Johor Bahru, Batam, the open sea) make the row
    invalid: one vectorised look at the outline for the whole file (service_area.py)."""
    located = [r for r in rows if r.stop is not None and r.stop.lat is not None and r.stop.lon is not None]
    if not located:
        return
    distances = distances_outside_m([r.stop.lat for r in located], [r.stop.lon for r in located])
    for r, distance in zip(located, distances, strict=True):
        if distance > COAST_TOLERANCE_M:
            r.errors.append(Issue(file, r.row, "lat", outside_message(r.stop.lat, r.stop.lon), sheet=r.sheet))
            r.stop = None


def _flag_duplicates(file: str, rows: list[RowResult]) -> None:
    """A repeated stop_ref makes every copy invalid: keeping the first would be a guess."""
    by_ref: dict[str, list[RowResult]] = defaultdict(list)
    for r in rows:
        if r.stop_ref:
            by_ref[r.stop_ref].append(r)
    for ref, group in by_ref.items():
        if len(group) < 2:
            continue
        for g in group:
            g.errors.append(
                Issue(file, g.row, "stop_ref", f"stop_ref '{ref}' is also used on {_others(group, g)}", sheet=g.sheet)
            )
            g.stop = None


def _others(group: list[RowResult], this: RowResult) -> str:
    """The other rows with this stop_ref; rows of other sheets are named with their sheet."""
    by_sheet: dict[str | None, list[str]] = defaultdict(list)
    for o in group:
        if o is not this:
            by_sheet[o.sheet].append(str(o.row))
    parts = [f"row(s) {', '.join(by_sheet.pop(this.sheet))}"] if this.sheet in by_sheet else []
    parts += [f"sheet '{sheet}' row(s) {', '.join(rows)}" for sheet, rows in by_sheet.items()]
    return "; ".join(parts)
