"""Planner overrides: pin a stop or correct its address without editing the stop file.

A stop file ``week12.csv`` (or ``week12.xlsx``) may have a sidecar ``week12.overrides.csv`` (or
``week12.overrides.xlsx``) in the same inbox folder / bucket prefix. Columns (case-insensitive, order free):

| column | meaning |
|---|---|
| ``stop_ref`` | required; the stop in the stop file this row overrides |
| ``lat``, ``lon`` | a pin: the stop is placed exactly here, no search (both or neither, inside Singapore) |
| ``address``, ``postal_code`` | a correction: searched instead of the file's address and postal code |
| ``note`` | free text, ignored |

A correction drops the file's coordinates for that stop (the planner says they are wrong), and replaces the
address and postal code together. A row with a pin and an address keeps the pin and shows the address.
Overridden stops show source ``manual``. Rows that cannot be used (unknown stop_ref, bad coordinates,
nothing given) are reported, never half-applied. Pure Python: the asset and the CLI read the file and hand
the bytes here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Protocol

from .geocoding import OK, GeocodedStop, GeocodedStops
from .reader import StopFileError, read_stop_file
from .schema import SG_LAT_MAX, SG_LAT_MIN, SG_LON_MAX, SG_LON_MIN, Stop
from .service_area import outside_message
from .validation import is_null_text, parse_float

OVERRIDES_MARK = ".overrides"
# Every sidecar a planner may put beside a stop file: never a partition of its own, a change re-plans it.
# ``.fleet`` is the vehicle types (domain/routing/fleet_file.py), ``.sequence`` a fixed visit order
# (domain/routing/resequence.py).
# ``.progress`` is the day's progress (domain/routing/progress.py) and ``.add`` urgent stops added to the day
# (domain/stops/added_stops.py).
SIDECAR_MARKS = (OVERRIDES_MARK, ".fleet", ".sequence", ".progress", ".add")
OVERRIDE_SUFFIXES = (".csv", ".xlsx")
MANUAL = "manual"
_POSTAL = re.compile(r"^(?:s|singapore)?\s*\(?\s*(\d{6})\s*\)?$", re.IGNORECASE)


@dataclass(frozen=True)
class StopOverride:
    stop_ref: str
    row: int
    lat: float | None = None
    lon: float | None = None
    address: str | None = None
    postal_code: str | None = None

    @property
    def is_pin(self) -> bool:
        return self.lat is not None and self.lon is not None


@dataclass
class StopOverrides:
    file: str | None = None
    overrides: dict[str, StopOverride] = field(default_factory=dict)
    issues: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.overrides)


def _strip_suffix(name: str) -> tuple[str, str] | None:
    lowered = name.lower()
    for suffix in OVERRIDE_SUFFIXES:
        if lowered.endswith(suffix):
            return name[: -len(suffix)], suffix
    return None


def is_overrides_file(name: str) -> bool:
    """True for ``*.overrides.csv`` / ``*.overrides.xlsx``: sidecars, never stop files of their own."""
    split = _strip_suffix(name)
    return split is not None and split[0].lower().endswith(OVERRIDES_MARK)


def sidecar_kind(name: str) -> str | None:
    """``overrides``, ``fleet``, ``sequence``, ``progress`` or ``add`` for a sidecar file name, else None."""
    split = _strip_suffix(name)
    if split is None:
        return None
    for mark in SIDECAR_MARKS:
        if split[0].lower().endswith(mark):
            return mark[1:]
    return None


def is_sidecar_file(name: str) -> bool:
    return sidecar_kind(name) is not None


def stop_file_names_for(sidecar_name: str) -> list[str]:
    """The stop file names a sidecar may belong to (the inverse of ``sidecar_names_for``)."""
    kind = sidecar_kind(sidecar_name)
    split = _strip_suffix(sidecar_name)
    if kind is None or split is None:
        return []
    stem = split[0][: -len(kind) - 1]
    if _strip_suffix(stem) is not None:  # "orders.csv.fleet.csv": the stop file's whole name, as the README says
        return [stem]
    return [f"{stem}{suffix}" for suffix in OVERRIDE_SUFFIXES]


def sidecar_names_for(stop_file_name: str, mark: str) -> list[str]:
    """The names looked for beside a stop file for one kind of sidecar: ``orders.fleet.csv`` and the literal
    ``orders.csv.fleet.csv`` (what "<stop file name>.fleet.csv" reads as), CSV first."""
    split = _strip_suffix(stop_file_name)
    stem = split[0] if split else stop_file_name
    names = [f"{stem}{mark}{suffix}" for suffix in OVERRIDE_SUFFIXES]
    if split:
        names += [f"{stop_file_name}{mark}{suffix}" for suffix in OVERRIDE_SUFFIXES]
    return names


def overrides_names_for(stop_file_name: str) -> list[str]:
    """The overrides sidecar names looked for beside a stop file, CSV first."""
    return sidecar_names_for(stop_file_name, OVERRIDES_MARK)


def find_sidecar(store: SidecarSource, stop_file_name: str, mark: str) -> tuple[str, bytes] | None:
    """The first sidecar of one kind beside ``stop_file_name`` (one ``stat`` per candidate, one read)."""
    for candidate in sidecar_names_for(stop_file_name, mark):
        if store.stat(candidate) is not None:
            return candidate, store.read(candidate)
    return None


def parse_overrides(name: str, data: bytes) -> StopOverrides:
    """Read an overrides file; every unusable row becomes an issue naming its row (header = row 1)."""
    out = StopOverrides(file=name)
    try:
        table = read_stop_file(name, data)
    except StopFileError as exc:
        out.issues.append(f"{name}: {exc.message}")
        return out
    columns = {h.strip().lower(): i for i, h in enumerate(table.header)}
    if "stop_ref" not in columns:
        out.issues.append(
            f"{name}: the header has no stop_ref column (expected stop_ref, lat, lon, address, postal_code)"
        )
        return out

    def cell(cells: list[str], column: str) -> str:
        i = columns.get(column)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    for raw in table.rows:
        where = f"{name}, row {raw.row}"
        ref = cell(raw.cells, "stop_ref")
        if not ref:
            if any(c.strip() for c in raw.cells):
                out.issues.append(f"{where}: stop_ref is empty")
            continue
        lat_text, lon_text = cell(raw.cells, "lat"), cell(raw.cells, "lon")
        address_text, postal_text = cell(raw.cells, "address"), cell(raw.cells, "postal_code")
        problems: list[str] = []
        lat = lon = None
        if is_null_text(lat_text) != is_null_text(lon_text):
            problems.append("lat and lon must be given together")
        elif not is_null_text(lat_text):
            lat, lon = parse_float(lat_text), parse_float(lon_text)
            if lat is None or lon is None:
                problems.append(f"lat/lon '{lat_text}', '{lon_text}' are not numbers")
            elif not (SG_LAT_MIN <= lat <= SG_LAT_MAX and SG_LON_MIN <= lon <= SG_LON_MAX):
                problems.append(f"lat {lat}, lon {lon} is outside Singapore")
            elif (outside := outside_message(lat, lon)) is not None:
                problems.append(outside)
        postal = None
        if not is_null_text(postal_text):
            match = _POSTAL.match(postal_text)
            if match:
                postal = match.group(1)
            else:
                problems.append(f"postal code '{postal_text}' must be 6 digits")
        address = None if is_null_text(address_text) else " ".join(address_text.split())
        if not problems and lat is None and address is None and postal is None:
            problems.append("give lat/lon to pin the stop, or a corrected address or postal code")
        if ref in out.overrides:
            problems.append(f"stop_ref {ref} is overridden twice (first on row {out.overrides[ref].row})")
        if problems:
            out.issues.append(f"{where} ({ref}): " + "; ".join(problems))
            continue
        out.overrides[ref] = StopOverride(
            stop_ref=ref,
            row=raw.row,
            lat=lat if lon is not None else None,
            lon=lon if lat is not None else None,
            address=address,
            postal_code=postal,
        )
    return out


class SidecarSource(Protocol):
    """What :func:`load_overrides` needs of a stop file store (``StopFileStore`` has both)."""

    def stat(self, name: str) -> object | None: ...

    def read(self, name: str) -> bytes: ...


def load_overrides(store: SidecarSource, stop_file_name: str) -> StopOverrides:
    """The overrides beside ``stop_file_name`` in the store, or empty overrides when there is no sidecar.

    One ``stat`` per candidate name (no listing of the whole inbox or bucket), one read when found.
    """
    found = find_sidecar(store, stop_file_name, OVERRIDES_MARK)
    return parse_overrides(*found) if found else StopOverrides()


def apply_overrides(stops: list[Stop], overrides: StopOverrides) -> tuple[list[Stop], set[str]]:
    """Stops as the geocoder should see them, and the refs that were overridden.

    A pin sets the coordinates (and the address/postal code when the row gives them). A correction replaces
    the address and postal code together and drops the file's coordinates, so the corrected text is searched.
    Overrides for refs not in the file are added to ``overrides.issues``.
    """
    known = {s.stop_ref for s in stops}
    for ref, override in overrides.overrides.items():
        if ref not in known:
            overrides.issues.append(
                f"{overrides.file}, row {override.row}: stop_ref {ref} is not a valid stop of the stop file"
            )
    patched: list[Stop] = []
    applied: set[str] = set()
    for stop in stops:
        override = overrides.overrides.get(stop.stop_ref)
        if override is None:
            patched.append(stop)
            continue
        applied.add(stop.stop_ref)
        if override.is_pin:
            patched.append(
                replace(
                    stop,
                    lat=override.lat,
                    lon=override.lon,
                    address=override.address or stop.address,
                    postal_code=override.postal_code or stop.postal_code,
                )
            )
        else:
            patched.append(
                replace(stop, lat=None, lon=None, address=override.address, postal_code=override.postal_code)
            )
    return patched, applied


def mark_manual(result: GeocodedStops, refs: set[str]) -> GeocodedStops:
    """Overridden stops carry source 'manual' whatever located them; a pin is fully trusted."""
    if not refs:
        return result
    out: list[GeocodedStop] = []
    for r in result.results:
        if r.stop.stop_ref in refs:
            confidence = 1.0 if r.source == "file" and r.status == OK else r.confidence
            r = replace(r, source=MANUAL, confidence=confidence)
        out.append(r)
    return replace(result, results=out)
