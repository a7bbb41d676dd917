"""A stop file and a fleet file using every new column of issue 19, planned through the real assets: the stored
plan (it passed the independent check) keeps every constraint, the exports carry the new fields, and every row
is accounted for."""

from __future__ import annotations

import csv
import io

import dagster as dg
import numpy as np
import pandas as pd

from sgroute_assets.domain.routing import RoutePlan

FAST = {"ops": {"route_plan": {"config": {"solver_time_limit_s": 2.0}}}}


def _files(sg_points: pd.DataFrame) -> tuple[str, str]:
    rng = np.random.default_rng(3)
    pts = sg_points.sample(40, random_state=31)
    rows = ["stop_ref,lat,lon,postal_code,parcels,weight_kg,volume_l,requires,tw_start,tw_end,tw2_start,tw2_end,"
            "setup_min,service_time_min,late_ok_min,lateness_cost_per_min,phone,contact_name"]  # fmt: skip
    for i, (lat, lon) in enumerate(zip(pts.lat, pts.lon, strict=True)):
        kind = i % 5
        window = {0: ("09:00", "10:30", "14:00", "15:30"), 1: ("10:00", "13:00", "", "")}.get(kind, ("", "", "", ""))
        late = ("20", "1.5") if kind == 1 else ("", "")
        rows.append(
            f"R{i:02d},{lat:.6f},{lon:.6f},{520000 + i // 4},{int(rng.integers(1, 4))},{rng.integers(5, 80)}.5,"
            f"{int(rng.integers(10, 200))},{'chiller' if i % 3 == 0 else ''},{','.join(window)},"
            f"{5 if i % 4 == 0 else ''},6,{','.join(late)},+65 9123 {4000 + i},Customer {i}"
        )
    fleet = (
        "name,count,capacity_parcels,capacity_weight_kg,capacity_volume_l,skills,max_stops,max_overtime_min,"
        "overtime_cost_per_hour\nVan,3,40,400,3000,,10,60,30\nChiller,2,30,300,2500,chiller,9,60,30\n"
    )
    return "\n".join(rows) + "\n", fleet


def test_a_file_using_every_new_column_plans_within_every_constraint(
    make_local_resources, app_db_url, tmp_path, materialise, sg_points
):
    resources = make_local_resources(app_db_url)
    stops_text, fleet_text = _files(sg_points)
    (tmp_path / "inbox" / "real.csv").write_text(stops_text)
    (tmp_path / "inbox" / "real.fleet.csv").write_text(fleet_text)
    with dg.instance_for_test() as instance:
        result = materialise(instance, resources, "real.csv", FAST)
        assert result.success
        plan: RoutePlan = result.asset_value("route_plan")
    assert plan.engine == "ortools" and "lateness" in plan.engine_reason  # late_ok_min is OR-Tools' to plan
    counts = plan.row_counts()
    assert counts["rows"] == 40 == counts["served"] + counts["dropped"] + counts["invalid"] + counts["not_located"]
    assert counts["invalid"] == 0 and counts["served"] >= 30
    limits = {"Van": (40, 400.0, 3000.0, 10, ()), "Chiller": (30, 300.0, 2500.0, 9, ("chiller",))}
    for route in plan.routes:
        parcels, kg, litres, most, skills = limits[route.vehicle_type]
        assert sum(v.stop.demand for v in route.visits) <= parcels
        assert sum(v.stop.weight_kg for v in route.visits) <= kg
        assert sum(v.stop.volume_l for v in route.visits) <= litres
        assert len(route.visits) <= most
        assert route.duration_s <= (600 + 60) * 60 and route.end_s <= 19 * 3600
        for v in route.visits:
            assert set(v.stop.requires) <= set(skills)
            at, s = v.service_start_s // 60, v.stop
            if s.tw_start_min is not None:
                in_first = s.tw_start_min <= at <= s.tw_end_min + s.late_ok_min
                in_second = s.tw2_start_min is not None and s.tw2_start_min <= at <= s.tw2_end_min
                assert in_first or in_second, (s.stop_ref, at)
    exports = tmp_path / "exports" / "real.csv"
    planner = list(csv.DictReader(io.StringIO((exports / "planner.csv").read_text("utf-8-sig"))))
    assert {"weight_kg", "volume_l", "requires", "tw2_start", "late_min"} <= set(planner[0])
    notices = list(csv.DictReader(io.StringIO((exports / "customer_notifications.csv").read_text("utf-8-sig"))))
    assert len(notices) == counts["served"] and all(n["phone"].startswith("+65") for n in notices)
    for name in (p for p in (exports / "drivers").iterdir()):
        rows = list(csv.DictReader(io.StringIO(name.read_text("utf-8-sig"))))
        assert all(r["google_maps"].startswith("https://www.google.com/maps/dir/") for r in rows if r["lat"])
