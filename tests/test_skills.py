"""Skills (issue 19): a stop's ``requires`` against the fleet's ``skills``. Only a vehicle type with every skill
serves a stop; both engines and the independent check obey it; a skill no vehicle has is a validation error at
the row and the requires column; a skilled fleet that is full says so in the drop reason."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from sgroute_assets.domain.routing import Fleet, SolverSettings, VehicleType, missing_skill_issues, plan_routes
from sgroute_assets.domain.routing.feasibility import ClaimedRoute, check_plan
from sgroute_assets.domain.routing.fleet_file import parse_fleet_file
from sgroute_assets.domain.routing.instance import instance_from_stops
from sgroute_assets.domain.stops import Stop, parse_skills, validate_file
from sgroute_assets.domain.travel_times import estimate_matrix

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


def _fleet(chiller_capacity: int = 40) -> Fleet:
    van = VehicleType("Van", 3, 40, 8 * 60, 18 * 60, 600)
    chiller = VehicleType("Chiller", 1, chiller_capacity, 8 * 60, 18 * 60, 600, skills=("chiller", "tailgate"))
    return Fleet(depot_lat=1.3354, depot_lon=103.8879, types=(van, chiller))


def _stops(points: pd.DataFrame, needs: dict[int, tuple[str, ...]], demand: int = 1) -> list[Stop]:
    pts = points.sample(20, random_state=5)
    return [
        Stop(stop_ref=f"S{i:02d}", row=i + 2, lat=float(lat), lon=float(lon), demand=demand, service_time_min=5,
             requires=needs.get(i, ()))
        for i, (lat, lon) in enumerate(zip(pts.lat, pts.lon, strict=True))
    ]  # fmt: skip


def _matrix(fleet: Fleet, stops: list[Stop]):
    ids = ["DEPOT"] + [s.stop_ref for s in stops]
    lats = np.r_[fleet.depot_lat, [s.lat for s in stops]]
    lons = np.r_[fleet.depot_lon, [s.lon for s in stops]]
    return estimate_matrix(ids, lats, lons)


def test_skill_names_are_read_as_planners_write_them() -> None:
    assert parse_skills("Chiller; tailgate") == (("chiller", "tailgate"), [])
    assert parse_skills("chiller,chiller") == (("chiller",), [])
    assert parse_skills("") == ((), [])
    assert parse_skills("chiller; cold room")[1] == ["cold room"]
    report = validate_file("s.csv", b"stop_ref,lat,lon,requires\nA,1.30,103.85,chiller\nB,1.31,103.85,cold room!\n")
    assert report.valid_stops[0].requires == ("chiller",)
    (issue,) = report.issues
    assert (issue.row, issue.column) == (3, "requires") and "'cold room!' is not a skill name" in issue.message


def test_fleet_file_skills_and_their_errors() -> None:
    default = VehicleType("Van", 4, 40, 8 * 60, 18 * 60, 600)
    ok = parse_fleet_file("f.csv", b"name,count,skills\nVan,3,\nChiller,1,chiller;tailgate\n", default)
    assert [t.skills for t in ok.types] == [(), ("chiller", "tailgate")] and not ok.issues
    bad = parse_fleet_file("f.csv", b"name,count,skills\nVan,3,cold store?\n", default)
    assert bad.issues == ["f.csv, row 2, column skills: 'cold store?' is not a skill name (letters, digits, - and _; "
                          "several split by ;)"]  # fmt: skip


@pytest.mark.parametrize("engine", ["pyvrp", "ortools"])
def test_skilled_stops_ride_only_skilled_vehicles_and_the_check_knows(sg_points, engine) -> None:
    fleet = _fleet()
    stops = _stops(sg_points, {0: ("chiller",), 3: ("chiller", "tailgate"), 7: ("tailgate",), 9: ("crane",)})
    plan = plan_routes(fleet, stops, _matrix(fleet, stops), SolverSettings(time_limit_s=1, engine=engine))
    where = {v.stop.stop_ref: r.vehicle_type for r in plan.routes for v in r.visits}
    assert {where[ref] for ref in ("S00", "S03", "S07")} == {"Chiller"}
    (crane,) = [d for d in plan.dropped if d.stop.stop_ref == "S09"]
    assert crane.reason == "skill" and "crane" in crane.message
    assert len(where) == 19

    inst = instance_from_stops(fleet, stops, _matrix(fleet, stops))
    wrong = ClaimedRoute(visits=[1], start=8 * 3600, service_start=[8 * 3600 + 3600], end=8 * 3600 + 7200)
    problems = check_plan(inst, [wrong], [n for n in inst.stop_nodes if n != 1])
    assert any("may not serve" in p for p in problems)


def test_a_skill_no_vehicle_has_is_an_error_at_its_row_and_column(sg_points) -> None:
    fleet = _fleet()
    stops = _stops(sg_points, {2: ("crane",), 4: ("chiller", "crane")})
    issues = missing_skill_issues(fleet, stops, "day.csv")
    assert [(i.row, i.column) for i in issues] == [(4, "requires"), (6, "requires")]
    assert issues[0].message.startswith(
        "no vehicle has crane (the fleet's skills: Van: none, Chiller: chiller;tailgate)"
    )


def test_every_chiller_van_full_is_the_drop_reason(sg_points) -> None:
    fleet = _fleet(chiller_capacity=10)
    stops = _stops(sg_points, {i: ("chiller",) for i in range(6)}, demand=3)  # 18 units of chiller stops, room for 10
    plan = plan_routes(fleet, stops, _matrix(fleet, stops), SolverSettings(time_limit_s=1))
    full = [d for d in plan.dropped if d.stop.requires]
    assert full and all(d.reason == "capacity" and "every vehicle with chiller is full" in d.message for d in full)
    assert not [d for d in plan.dropped if not d.stop.requires]


def test_a_skill_error_reaches_validation_issues_csv(make_local_resources, app_db_url, tmp_path, materialise) -> None:
    resources = make_local_resources(app_db_url)
    name = "orchard_central_deliveries.csv"
    frame = pd.read_csv(DEMO / name, dtype=str)
    frame["requires"] = ""
    frame.loc[0, "requires"] = "chiller"
    frame.loc[1, "requires"] = "crane"
    frame.to_csv(tmp_path / "inbox" / name, index=False)
    (tmp_path / "inbox" / "orchard_central_deliveries.fleet.csv").write_text(
        "name,count,capacity,skills\nVan,3,40,\nChiller,1,40,chiller\n"
    )
    fast = {"ops": {"route_plan": {"config": {"solver_time_limit_s": 1.0}}}}
    with dg.instance_for_test() as instance:
        result = materialise(instance, resources, name, fast)
        assert result.success
        plan = result.asset_value("route_plan")
    where = {v.stop.stop_ref: r.vehicle_type for r in plan.routes for v in r.visits}
    assert where[frame.stop_ref[0]] == "Chiller"
    dropped = {d.stop.stop_ref: d.reason for d in plan.dropped}
    assert dropped[frame.stop_ref[1]] == "skill"
    rows = list(
        csv.DictReader(io.StringIO((tmp_path / "exports" / name / "validation_issues.csv").read_text("utf-8-sig")))
    )
    (error,) = [r for r in rows if r["column"] == "requires"]
    assert error["row"] == "3" and "no vehicle has crane" in error["message"]
    planner = list(csv.DictReader(io.StringIO((tmp_path / "exports" / name / "planner.csv").read_text("utf-8-sig"))))
    assert {r["requires"] for r in planner if r["stop_ref"] == frame.stop_ref[0]} == {"chiller"}
    shutil.rmtree(tmp_path / "exports")
