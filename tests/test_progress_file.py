"""The day's progress file (issue 18, first part): read and checked like stop, fleet and sequence files. Every
problem names the file, row and column, and an unknown van or stop is named; a picture with a problem is not
used."""

from __future__ import annotations

from sgroute_assets.domain.routing import Fleet, parse_progress_file
from sgroute_assets.domain.routing.fleet import VehicleType
from sgroute_assets.domain.routing.progress import DONE, FAILED, SKIPPED

FLEET = Fleet(
    depot_lat=1.3354,
    depot_lon=103.8879,
    types=(
        VehicleType("Van", 3, 30, 8 * 60, 18 * 60, 9 * 60),
        VehicleType("Lorry", 1, 80, 8 * 60, 18 * 60, 9 * 60),
    ),
)
STOPS = [f"S{i}" for i in range(1, 9)]


def parse(text: str, as_of: int | None = None):
    return parse_progress_file("day.progress.csv", text.encode(), FLEET, STOPS, as_of)


def test_a_picture_of_the_day_at_eleven() -> None:
    day = parse(
        "vehicle,stop_ref,status,time,lat,lon,as_of\n"
        "Van 2,S3,failed,10:05,,,\n"
        "V01,S1,done,09:10,,,11:00\n"
        "van 1,S2,DONE,09:40,,,\n"
        "Van 2,S4,skipped,,,,\n"
        "Van 1,,,10:30,1.3000,103.8500,\n"
        "Van 1,,,10:50,1.3100,103.8600,\n"
        "Lorry,,off,10:15,,,\n"
    )
    assert day.usable, day.issues
    assert day.as_of_min == 11 * 60
    history = [(v.slot.name, v.stop_ref, v.status, v.time_min) for v in day.history()]
    assert history == [("Van 1", "S1", DONE, 550), ("Van 1", "S2", DONE, 580), ("Van 2", "S3", FAILED, 605)]
    assert [v.stop_ref for v in day.visits if v.status == SKIPPED] == ["S4"]
    (position,) = day.positions.values()  # the latest report of Van 1
    assert (position.slot.vehicle_id, position.lat, position.lon, position.time_min) == ("V01", 1.31, 103.86, 650)
    assert day.off == {4: 10 * 60 + 15}  # the Lorry is V04, after the three vans


def test_the_re_plan_time_may_come_from_the_caller() -> None:
    day = parse("vehicle,stop_ref,status,time\nV02,S5,done,10:00\n", as_of=11 * 60)
    assert day.usable and day.as_of_min == 660
    missing = parse("vehicle,stop_ref,status,time\nV02,S5,done,10:00\n")
    assert not missing.usable
    assert missing.issues == ["day.progress.csv: no as_of: give an as_of column (HH:MM) or the re-plan time"]
    clash = parse("vehicle,stop_ref,status,time,as_of\nV02,S5,done,10:00,11:00\n", as_of=12 * 60)
    assert not clash.usable and "as_of 11:00 but the re-plan was asked for at 12:00" in clash.issues[0]


def test_every_problem_is_named_by_row_and_column() -> None:
    day = parse(
        "vehicle,stop_ref,status,time,lat,lon,as_of\n"
        "Van 9,S1,done,09:00,,,11:00\n"  # row 2
        "Van 1,ZZ,done,09:10,,,\n"  # row 3
        "Van 1,S2,done,,,,\n"  # row 4
        "Van 2,S3,done,11:30,,,\n"  # row 5
        "Van 2,S4,delivered,10:00,,,\n"  # row 6
        "Van 3,S5,done,10:00,,,\n"  # row 7
        "Van 1,S5,failed,10:20,,,\n"  # row 8
        "Van 3,,,10:40,1.60,103.76,\n"  # row 9
        "Van 3,,,10:40,,,\n"  # row 10
        ",S6,done,10:00,,,\n"  # row 11
        "Lorry,S7,off,10:00,,,\n"  # row 12
        "Van 1,S8,done,9 am,,,\n"  # row 13
    )
    assert not day.usable
    assert day.issues == [
        "day.progress.csv, row 2, column vehicle: unknown vehicle 'Van 9' (the fleet has V01 · Van 1, V02 · Van 2, "
        "V03 · Van 3, V04 · Lorry)",
        "day.progress.csv, row 3, column stop_ref: unknown stop_ref 'ZZ' (not a stop of this stop file)",
        "day.progress.csv, row 4, column time: a done visit gives its time (HH:MM): it is history, timed as reported",
        "day.progress.csv, row 5, column time: 11:30 is after the picture's as_of 11:00",
        "day.progress.csv, row 6, column status: 'delivered' is not one of done, failed, skipped, off",
        "day.progress.csv, row 8, column stop_ref: stop S5 is already reported (day.progress.csv, row 7)",
        "day.progress.csv, row 9, column lat: '1.60' is not a latitude in Singapore (1.15 to 1.48)",
        "day.progress.csv, row 10, column status: is required (done, failed, skipped, off), or give lat and lon for "
        "where the van is",
        "day.progress.csv, row 11, column vehicle: is required",
        "day.progress.csv, row 12, column stop_ref: an off row names the van only (its stops are re-planned or "
        "dropped)",
        "day.progress.csv, row 13, column time: '9 am' is not a time (HH:MM)",
    ]


def test_a_file_without_a_vehicle_column_or_with_strange_columns_says_so() -> None:
    day = parse("van,stop,status\nV01,S1,done\n", as_of=600)
    assert day.issues == [
        "day.progress.csv: unknown columns van, stop (expected vehicle, stop_ref, status, time, lat, lon, as_of)",
        "day.progress.csv: the header has no vehicle column",
    ]
