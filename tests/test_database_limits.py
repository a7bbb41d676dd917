"""Database limits never fail a file (issue 24): on PostgreSQL a long phone or contact name, a long invalid
stop_ref and an absurd demand are stored whole or reported on their row, and the rest of the file is planned;
a refused statement's message carries no row values."""

from __future__ import annotations

import dagster as dg
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DataError

from sgroute_resources import migrations
from sgroute_resources.app_database import AppDatabase, engine_for
from sgroute_resources.app_tables import StopRecord, ValidationIssue

FAST = {"ops": {"route_plan": {"config": {"solver_time_limit_s": 1.0}}}}
LONG_NAME = ("Madam " + "Tan Siew Lan " * 25).strip()  # ~330 characters
LONG_REF = "R" * 140
PHONE = "9123 4567 (after 6pm)"
FILE = (
    "stop_ref,address,postal_code,lat,lon,demand,phone,contact_name\n"
    f"A1,,,1.3001,103.8501,2,{PHONE},Ann\n"
    f"A2,,,1.3101,103.8601,1,91234567,{LONG_NAME}\n"
    f"{LONG_REF},,,1.3201,103.8701,1,91234567,Bob\n"
    "A4,,,1.3301,103.8801,3000000000,91234567,Cai\n"
    "A5,,,1.3401,103.8901,1,91234567,Dev\n"
)


@pytest.fixture
def pg_url(pg_database) -> str:
    migrations.upgrade(pg_database["app_url"])
    return pg_database["app_url"]


def test_one_file_with_every_limit_payload_is_planned_on_postgres(pg_url, make_local_resources, materialise, tmp_path):
    resources = make_local_resources(pg_url)
    (tmp_path / "inbox" / "limits.csv").write_text(FILE)
    with dg.instance_for_test() as instance:
        result = materialise(instance, resources, "limits.csv", FAST)
        assert result.success, [e.message for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        report = result.asset_value("validated_stops")
        plan = result.asset_value("route_plan")
    assert report.valid_count == 3 and report.invalid_count == 2
    demand = [i for i in report.issues if i.row == 5]
    assert demand and demand[0].column == "demand" and "above the maximum of 1,000,000" in demand[0].message
    long_ref = [i for i in report.issues if i.row == 4]
    assert long_ref and long_ref[0].column == "stop_ref"
    assert plan.stops_served + len(plan.dropped) == 3
    with engine_for(pg_url).connect() as conn:
        stops = {r.stop_ref: r for r in conn.execute(select(StopRecord)).all()}
        issues = conn.execute(select(ValidationIssue.stop_ref, ValidationIssue.column_name)).all()
    assert stops["A1"].phone is not None and "6pm" in (stops["A1"].phone + str(stops["A1"].extra))
    assert stops["A2"].contact_name == LONG_NAME  # stored whole
    assert (LONG_REF, "stop_ref") in [(i.stop_ref, i.column_name) for i in issues]


def test_a_refused_statement_names_the_problem_not_the_values(pg_url):
    db = AppDatabase(url=pg_url)
    with engine_for(pg_url).begin() as conn:
        conn.execute(text("CREATE TABLE narrow (phone varchar(5))"))
    with pytest.raises(DataError) as caught:  # the same error class, for callers that handle it
        with db.session() as session:
            session.execute(text("INSERT INTO narrow (phone) VALUES (:phone)"), {"phone": "+65 9123 4567 Ann Lim"})
    message = str(caught.value)
    assert "value too long" in message and "22001" in message
    assert "9123" not in message and "Ann Lim" not in message


def test_fleet_counts_and_capacities_have_sane_maxima() -> None:
    from sgroute_assets.domain.routing import Fleet, FleetError, VehicleType, parse_fleet_file

    default = VehicleType("Van", 1, 20, 8 * 60, 18 * 60, 9 * 60)
    data = b"name,count,capacity\nVan,10000000,20\nLorry,2,100000000000000000000\nBike,3,5\n"
    fleet_file = parse_fleet_file("orders.fleet.csv", data, default)
    issues = "\n".join(fleet_file.issues)
    assert "row 2: Van: count 10,000,000 is above the maximum of 1,000" in issues, issues
    assert "row 3: Lorry: capacity 100,000,000,000,000,000,000 is above the maximum of 1,000,000" in issues, issues
    assert "Bike" not in issues
    with pytest.raises(FleetError, match="2,400 vehicles in all is above the maximum of 2,000"):
        Fleet(
            depot_lat=1.3, depot_lon=103.8, types=tuple(VehicleType(f"T{k}", 800, 10, 480, 1080, 540) for k in range(3))
        )
    with pytest.raises(FleetError, match="vehicles must be at least 1 and at most 2,000"):
        Fleet(depot_lat=1.3, depot_lon=103.8, vehicles=10**7, capacity=10, shift_start_min=480, shift_end_min=1080,
              max_route_min=540)  # fmt: skip
