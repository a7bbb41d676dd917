"""Stops outside Singapore are errors (issue 23): a real land outline, not a latitude/longitude box. Johor
Bahru passed the box and was routed first; Sentosa, Jurong Island and the checkpoints stay valid."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from sgroute_assets.domain.stops import validate_file
from sgroute_assets.domain.stops.service_area import (
    COAST_TOLERANCE_M,
    distance_outside_m,
    distances_outside_m,
    in_service_area,
)

INSIDE = {
    "Sentosa": (1.2494, 103.8303),
    "Jurong Island": (1.2660, 103.6990),
    "Woodlands checkpoint": (1.4457, 103.7694),
    "Tuas checkpoint": (1.3483, 103.6369),
    "Changi Airport T3": (1.3559, 103.9866),
    "Marina Bay Sands": (1.2834, 103.8607),
    "Pulau Ubin": (1.4044, 103.9625),
}
OUTSIDE = {
    "Johor Bahru City Square": (1.4615, 103.7640),
    "Batam": (1.1300, 104.0500),
    "Singapore Strait, 2 km off East Coast Park": (1.2850, 103.9300),
}


@pytest.mark.parametrize("name", sorted(INSIDE))
def test_places_in_singapore_are_in(name: str) -> None:
    assert in_service_area(*INSIDE[name]), name


@pytest.mark.parametrize("name", sorted(OUTSIDE))
def test_places_outside_singapore_are_out(name: str) -> None:
    assert not in_service_area(*OUTSIDE[name]), (name, distance_outside_m(*OUTSIDE[name]))


def test_near_the_coast_is_in_and_well_offshore_is_out() -> None:
    # East Coast Park's beach and points south of it, over the sea.
    assert in_service_area(1.3000, 103.9150)
    assert in_service_area(1.2990, 103.9150)  # ~100 m off the beach
    assert not in_service_area(1.2800, 103.9150)  # ~2 km out


def test_every_real_singapore_location_is_in(shared_dir) -> None:
    points = pd.read_csv(shared_dir / "data" / "sg_points.csv")
    legs = pd.read_csv(shared_dir / "data" / "onemap_drive_times.csv")
    lats = pd.concat([points.lat, legs.origin_lat, legs.dest_lat])
    lons = pd.concat([points.lon, legs.origin_lon, legs.dest_lon])
    started = time.perf_counter()
    distances = distances_outside_m(lats, lons)
    assert time.perf_counter() - started < 0.5  # ~4,600 points in one vectorised look
    assert (distances <= COAST_TOLERANCE_M).all(), distances.max()


def test_a_stop_file_with_a_johor_bahru_row_reports_that_row() -> None:
    data = b"stop_ref,lat,lon\nSG1,1.3000,103.8500\nJB1,1.4615,103.7640\nSEN,1.2494,103.8303\n"
    report = validate_file("mixed.csv", data)
    assert [s.stop_ref for s in report.valid_stops] == ["SG1", "SEN"]
    (issue,) = [i for i in report.issues if i.row == 3]
    assert issue.column == "lat" and "outside Singapore (about 1.2 km from the nearest Singapore land)" in issue.message
