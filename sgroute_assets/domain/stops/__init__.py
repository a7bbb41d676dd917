"""Stop files in, validated and located stops out: reading, schema, validation, overrides and other
sidecars, partition keys, geocoding and address matching.

What other rooms, the assets, resources and CLI may use; everything else is the room's own."""

from . import matching
from .added_stops import ADD_MARK, merge_added_rows
from .geocoding import INVALID, NEEDS_ATTENTION, OK, GeocodedStop, GeocodedStops, from_file_coordinates
from .loads import LOAD_SCALE, LOAD_UNITS, VOLUME, WEIGHT, LoadUnit
from .overrides import (
    SidecarSource,
    StopOverrides,
    apply_overrides,
    find_sidecar,
    load_overrides,
    mark_manual,
    overrides_names_for,
    parse_overrides,
    sidecar_kind,
    sidecar_names_for,
    stop_file_names_for,
)
from .partition_keys import partition_key_for, unique_partition_key
from .places import SAME_PLACE_M, shared_places, unit_of
from .reader import MAX_FILE_BYTES, RawRow, RawTable, StopFileError, read_stop_file, suffix_of
from .schema import SG_LAT_MAX, SG_LAT_MIN, SG_LON_MAX, SG_LON_MIN, Issue, Stop, ValidationReport, format_clock
from .sidecar_table import SidecarRow, row_place, sidecar_columns, sidecar_rows
from .validation import (
    MAX_STOPS_ENV,
    is_null_text,
    max_stops_per_file,
    parse_amount,
    parse_clock,
    parse_float,
    parse_skills,
    too_many_stops,
    validate_file,
    validate_table,
    why_not_planned,
)

__all__ = [
    "ADD_MARK",
    "SidecarRow",
    "sidecar_rows",
    "SAME_PLACE_M",
    "shared_places",
    "unit_of",
    "LOAD_SCALE",
    "LOAD_UNITS",
    "LoadUnit",
    "VOLUME",
    "WEIGHT",
    "parse_amount",
    "merge_added_rows",
    "GeocodedStop",
    "GeocodedStops",
    "INVALID",
    "Issue",
    "MAX_FILE_BYTES",
    "MAX_STOPS_ENV",
    "NEEDS_ATTENTION",
    "OK",
    "RawRow",
    "SG_LAT_MAX",
    "SG_LAT_MIN",
    "SG_LON_MAX",
    "SG_LON_MIN",
    "RawTable",
    "SidecarSource",
    "Stop",
    "StopFileError",
    "StopOverrides",
    "ValidationReport",
    "apply_overrides",
    "find_sidecar",
    "format_clock",
    "from_file_coordinates",
    "is_null_text",
    "load_overrides",
    "mark_manual",
    "matching",
    "max_stops_per_file",
    "overrides_names_for",
    "parse_clock",
    "parse_float",
    "parse_overrides",
    "partition_key_for",
    "read_stop_file",
    "row_place",
    "sidecar_columns",
    "sidecar_kind",
    "sidecar_names_for",
    "parse_skills",
    "stop_file_names_for",
    "suffix_of",
    "too_many_stops",
    "why_not_planned",
    "unique_partition_key",
    "validate_file",
    "validate_table",
]
