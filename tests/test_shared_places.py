"""Shared addresses (issue 19): stops at one place (same postal code and unit, or within 30 m) pay their setup once
and their own service after it; both engines, the schedule and the check count the setup alike, and the saving
against paying it at every stop is reported."""

from __future__ import annotations

import numpy as np
import pytest

from sgroute_assets.domain.routing import Fleet, SolverSettings, plan_routes
from sgroute_assets.domain.routing.instance import instance_from_stops
from sgroute_assets.domain.stops import Stop, shared_places, unit_of, validate_file
from sgroute_assets.domain.travel_times import estimate_matrix

BLOCK = (1.372150, 103.949480)  # one HDB block in Tampines: every unit geocodes to this point


def _fleet() -> Fleet:
    return Fleet(depot_lat=1.3354, depot_lon=103.8879, vehicles=1, capacity=100, shift_start_min=8 * 60,
                 shift_end_min=18 * 60, max_route_min=600, depot_name="Tai Seng")  # fmt: skip


def _block(setup: int) -> list[Stop]:
    return [
        Stop(stop_ref=f"B{k:02d}", row=k + 2, address=f"Blk 201 Tampines St 21 #0{k % 9 + 1}-{100 + k}",
             postal_code="520201", lat=BLOCK[0] + (k % 3) * 1e-5, lon=BLOCK[1], demand=1, service_time_min=2,
             setup_min=setup)
        for k in range(12)
    ]  # fmt: skip


def _plan(stops, engine="auto"):
    fleet = _fleet()
    ids = ["DEPOT"] + [s.stop_ref for s in stops]
    lats = np.r_[fleet.depot_lat, [s.lat for s in stops]]
    lons = np.r_[fleet.depot_lon, [s.lon for s in stops]]
    m = estimate_matrix(ids, lats, lons)
    plan = plan_routes(fleet, stops, m, SolverSettings(time_limit_s=1, engine=engine))
    return plan, instance_from_stops(fleet, stops, m)


def test_places_group_by_postal_code_and_unit_or_30_m():
    a = Stop(stop_ref="A", row=2, address="10 Anson Rd #05-12", postal_code="079903", lat=1.2760, lon=103.8455)
    b = Stop(stop_ref="B", row=3, address="10 Anson Road #5-12", postal_code="079903", lat=1.2790, lon=103.8455)
    c = Stop(stop_ref="C", row=4, address="elsewhere", lat=1.2762, lon=103.8456)  # 25 m from A
    d = Stop(stop_ref="D", row=5, address="far", lat=1.2800, lon=103.8500)
    assert unit_of(a.address) == unit_of(b.address) == "05-12"
    places = shared_places([a, b, c, d])
    assert places[0] == places[1] == places[2] != places[3]


@pytest.mark.parametrize("engine", ["pyvrp", "ortools"])
def test_a_block_of_12_pays_its_setup_once(engine):
    with_setup, inst = _plan(_block(10), engine)
    (route,) = with_setup.routes
    assert len(route.visits) == 12
    assert sum(v.setup_s for v in route.visits) == 10 * 60  # parked once
    assert with_setup.setup_saved_s == 11 * 10 * 60  # against paying 10 min at each of the 12 stops
    old_model = [Stop(**{**s.__dict__, "setup_min": 0, "service_time_min": 12}) for s in _block(0)]
    before, _ = _plan(old_model, engine)
    saved = before.routes[0].duration_s - route.duration_s
    assert saved == 11 * 10 * 60
    assert inst.setup_on(0, 1) == 600 and inst.setup_on(1, 2) == 0


def test_setup_min_is_validated_by_row_and_column():
    report = validate_file("s.csv", b"stop_ref,lat,lon,setup_min\nA,1.30,103.85,5\nB,1.31,103.85,-1\n")
    assert report.valid_stops[0].setup_min == 5
    assert [(i.row, i.column) for i in report.issues] == [(3, "setup_min")]
