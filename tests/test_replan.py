"""Re-planning a day already on the road (issue 18): history kept verbatim, each van continuing from where it is,
loaded stops kept on their van as the mode says, urgent stops served or explained, a van off, a failed visit
retried, and changes.csv's rows exact. Real solves on real Singapore points, both engines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sgroute_assets.domain.routing import (
    Fleet,
    ReplanOptions,
    RoutePlan,
    SolverSettings,
    day_state,
    parse_progress_file,
    plan_changes,
    plan_routes,
    replan_day,
    revision_of,
    van_points,
)
from sgroute_assets.domain.routing.engines.pyvrp_engine import AllowedTypeLoads
from sgroute_assets.domain.routing.feasibility import check_plan
from sgroute_assets.domain.routing.instance import VehicleSpec, VrptwInstance
from sgroute_assets.domain.stops import Stop, format_clock
from sgroute_assets.domain.travel_times import estimate_matrix

AS_OF = 11 * 60


def _stops(points: pd.DataFrame, n: int, prefix: str = "S", first_row: int = 2) -> list[Stop]:
    rng = np.random.default_rng(11)
    out = []
    for i, (lat, lon) in enumerate(zip(points.lat, points.lon, strict=True)):
        if i == n:
            break
        tw = None if i % 4 else int(rng.integers(9 * 60, 14 * 60))
        out.append(
            Stop(
                stop_ref=f"{prefix}{i:03d}",
                row=first_row + i,
                address=f"{i} Road",
                lat=float(lat),
                lon=float(lon),
                demand=int(rng.integers(1, 4)),
                service_time_min=8,
                tw_start_min=tw,
                tw_end_min=None if tw is None else tw + 120,
            )
        )
    return out


def _matrix(fleet: Fleet, stops: list[Stop], extra=()):
    ids = ["DEPOT"] + [s.stop_ref for s in stops] + [node for node, _ in extra]
    lats = np.r_[fleet.depot_lat, [s.lat for s in stops], [p.lat for _, p in extra]]
    lons = np.r_[fleet.depot_lon, [s.lon for s in stops], [p.lon for _, p in extra]]
    return estimate_matrix(ids, lats, lons)


@pytest.fixture(scope="module")
def morning(sg_points: pd.DataFrame) -> tuple[Fleet, list[Stop], RoutePlan]:
    pts = sg_points.sample(60, random_state=3)
    stops = _stops(pts, 40)
    fleet = Fleet(
        depot_lat=1.3354, depot_lon=103.8879, vehicles=4, capacity=40, shift_start_min=8 * 60,
        shift_end_min=19 * 60, max_route_min=10 * 60,
    )  # fmt: skip
    plan = plan_routes(fleet, stops, _matrix(fleet, stops), SolverSettings(time_limit_s=2))
    assert not plan.dropped and len(plan.routes) >= 3
    return fleet, stops, plan


def _progress_text(plan: RoutePlan, *, failed_ref: str | None = None, off: str | None = None, where=None) -> str:
    """Every visit whose ETA is before 10:45 done at its ETA (one of them failed), as drivers would report."""
    lines = ["vehicle,stop_ref,status,time,lat,lon,as_of"]
    for route in plan.routes:
        for v in route.visits:
            if v.service_start_s // 60 < AS_OF - 15:
                status = "failed" if v.stop.stop_ref == failed_ref else "done"
                lines.append(
                    f"{route.vehicle_name},{v.stop.stop_ref},{status},{format_clock(v.service_start_s // 60)},,,"
                )
    if off:
        lines.append(f"{off},,off,10:30,,,")
    if where:
        name, lat, lon = where
        lines.append(f"{name},,,10:55,{lat},{lon},")
    lines[1] += format_clock(AS_OF)
    return "\n".join(lines) + "\n"


def _replan(fleet, stops, plan, text, mode="assign_new", retry=None, engine="auto"):
    refs = [s.stop_ref for s in stops]
    progress = parse_progress_file("day.progress.csv", text.encode(), fleet, refs)
    assert progress.usable, progress.issues
    previous = revision_of(plan)
    day = day_state(fleet, previous, progress, stops)
    matrix = _matrix(fleet, stops, van_points(day))
    options = ReplanOptions(mode=mode, retry_after_min=retry, progress_source="day.progress.csv")
    new = replan_day(fleet, stops, matrix, previous, day, options, SolverSettings(time_limit_s=2, engine=engine))
    return day, new


def _where(plan: RoutePlan) -> dict[str, tuple[int, int, str]]:
    return {v.stop.stop_ref: (r.vehicle, v.service_start_s, v.status) for r in plan.routes for v in r.visits}


@pytest.mark.parametrize("engine", ["auto", "ortools"])
def test_a_day_at_11_keeps_history_starts_each_van_where_it_is_and_places_urgent_stops(morning, sg_points, engine):
    fleet, stops, plan = morning
    busy = max(plan.routes, key=lambda r: len(r.visits))
    position = (busy.vehicle_name, 1.3521, 103.8198)
    urgent = [
        Stop(stop_ref=f"U{i}", row=100 + i, lat=float(lat), lon=float(lon), demand=1, service_time_min=5,
             tw_start_min=11 * 60, tw_end_min=15 * 60)
        for i, (lat, lon) in enumerate(zip(sg_points.lat[-3:], sg_points.lon[-3:], strict=True))
    ]  # fmt: skip
    urgent.append(
        Stop(stop_ref="U_LATE", row=110, lat=1.30, lon=103.80, demand=1, tw_start_min=9 * 60, tw_end_min=10 * 60)
    )
    all_stops = stops + urgent
    day, new = _replan(fleet, all_stops, plan, _progress_text(plan, where=position), engine=engine)

    before, after = _where(plan), _where(new)
    done = {h.stop_ref: h for v in day.vans for h in v.history}
    assert done, "the fixture day has deliveries before 10:45"
    for ref, report in done.items():  # history verbatim: same van, reported time, status done, once
        vehicle, eta, status = after[ref]
        assert (vehicle, eta, status) == (report.slot.number, report.time_min * 60, "done")
        assert before[ref][0] == vehicle
    served = [v.stop.stop_ref for r in new.routes for v in r.visits]
    assert len(served) == len(set(served))
    for route in new.routes:
        statuses = [v.status for v in route.visits]
        assert statuses == sorted(statuses)  # "done" before "planned": history first
        van = day.van(route.vehicle_name)
        ahead = [v for v in route.visits if v.status == "planned"]
        if ahead:
            assert ahead[0].arrival_s >= van.free_at_min * 60
        if route.vehicle_name == busy.vehicle_name and ahead:
            expected = _matrix(fleet, all_stops, [("van", van.continues_from)])
            node = [s.stop_ref for s in all_stops].index(ahead[0].stop.stop_ref) + 1
            assert ahead[0].travel_s == int(round(expected.duration_s[-1, node]))
    for van in day.vans:  # assign_new: every loaded stop keeps its van (or is dropped)
        for ref in van.on_board:
            assert ref not in after or after[ref][0] == van.slot.number
    dropped = {d.stop.stop_ref: d for d in new.dropped}
    for s in urgent:
        assert (s.stop_ref in after) != (s.stop_ref in dropped)
    assert dropped["U_LATE"].reason == "time_window"
    assert sum(s.stop_ref in after for s in urgent) >= 2
    assert new.replan.frozen == len(done) and new.replan.new_served == sum(s.stop_ref in after for s in urgent)
    assert new.replan.kept_vehicle + new.replan.new_served + new.replan.frozen == len(after)


def test_a_van_going_off_hands_its_stops_to_others_or_drops_them_naming_it(morning):
    fleet, stops, plan = morning
    gone = plan.routes[0]
    text = _progress_text(plan, off=gone.vehicle_name)
    day, new = _replan(fleet, stops, plan, text, mode="assign_new")
    after = _where(new)
    loaded = day.van(gone.vehicle_name).on_board
    assert loaded
    ahead = [v for r in new.routes if r.vehicle == gone.vehicle for v in r.visits if v.status == "planned"]
    assert ahead == []  # nothing more for the van that is off; its history stays
    assert all(ref in after for ref in loaded), "free vans can take an off van's stops in this day"
    assert new.replan.moved == len(loaded) and new.replan.vans_off == (gone.vehicle_name,)

    _, kept = _replan(fleet, stops, plan, text, mode="resequence")
    reasons = {d.stop.stop_ref: d for d in kept.dropped}
    for ref in loaded:
        assert reasons[ref].reason == "van_off" and gone.vehicle_name in reasons[ref].message


def test_a_failed_visit_is_retried_by_its_van_after_the_wait_or_dropped(morning):
    fleet, stops, plan = morning
    route = next(r for r in plan.routes if sum(v.service_start_s // 60 < AS_OF - 15 for v in r.visits) >= 2)
    tried = route.visits[1]
    text = _progress_text(plan, failed_ref=tried.stop.stop_ref)
    _, no_retry = _replan(fleet, stops, plan, text)
    dropped = {d.stop.stop_ref: d for d in no_retry.dropped}
    assert dropped[tried.stop.stop_ref].reason == "failed_attempt"
    assert route.vehicle_name in dropped[tried.stop.stop_ref].message

    _, retried = _replan(fleet, stops, plan, text, retry=30)
    vehicle, eta, status = _where(retried)[tried.stop.stop_ref]
    assert vehicle == route.vehicle and status == "planned"
    assert eta >= tried.service_start_s + 30 * 60


def test_resequence_only_reorders_each_vans_stops(morning):
    fleet, stops, plan = morning
    day, new = _replan(fleet, stops, plan, _progress_text(plan), mode="resequence")
    before, after = _where(plan), _where(new)
    assert set(after) == set(before) - {d.stop.stop_ref for d in new.dropped}
    assert all(after[ref][0] == before[ref][0] for ref in after)
    assert new.replan.moved == 0


def test_changes_are_exact(morning):
    fleet, stops, plan = morning
    gone = plan.routes[-1]
    _, new = _replan(fleet, stops, plan, _progress_text(plan, off=gone.vehicle_name))
    old_rev, new_rev = revision_of(plan), revision_of(new, number=2)
    changes = {c.stop_ref: c for c in plan_changes(old_rev, new_rev)}
    expected = set()
    for ref, a in old_rev.stops.items():
        b = new_rev.stops.get(ref)
        if b is None or a.vehicle != b.vehicle or a.position != b.position or abs(b.eta_s - a.eta_s) > 300:
            expected.add(ref)
    expected |= set(new_rev.stops) - set(old_rev.stops)
    assert set(changes) == expected
    for ref in expected & set(new_rev.stops) & set(old_rev.stops):
        c, a, b = changes[ref], old_rev.stops[ref], new_rev.stops[ref]
        assert (c.old_vehicle, c.new_vehicle, c.old_position, c.new_position) == (
            a.vehicle_name, b.vehicle_name, a.position, b.position,
        )  # fmt: skip
        assert c.eta_moved_min == round((b.eta_s - a.eta_s) / 60)
        assert c.old_eta == format_clock(a.eta_s / 60) and c.new_eta == format_clock(b.eta_s / 60)
    for ref in changes:
        if ref in old_rev.stops and old_rev.stops[ref].vehicle == gone.vehicle and ref in new_rev.stops:
            assert changes[ref].old_vehicle == gone.vehicle_name != changes[ref].new_vehicle


def test_allowed_types_as_load_dimensions_shut_every_other_type():
    inst = VrptwInstance(
        node_ids=[str(k) for k in range(8)], travel=np.zeros((8, 8), dtype=np.int64), distance=np.zeros((8, 8)),
        demand=[0] * 8, service=[0] * 8, tw_open=[0] * 8, tw_close=[100] * 8,
        vehicle_types=[VehicleSpec(f"V{k}", 1, 10, 0, 100, 100) for k in range(5)],
        allowed_types={1: frozenset({0}), 2: frozenset({3}), 3: frozenset({4}), 4: frozenset({1, 2})},
    )  # fmt: skip
    loads = AllowedTypeLoads(inst, list(range(1, 8)))
    assert loads.dimensions == 2 * 3 + 1
    for node in range(1, 8):
        for k in range(5):
            fits = all(d == 0 or c > 0 for d, c in zip(loads.delivery(node), loads.capacity(k), strict=True))
            assert fits == inst.allows(node, k), (node, k)


def test_the_independent_check_refuses_a_stop_on_a_van_it_is_not_bound_to():
    from sgroute_assets.domain.routing.feasibility import ClaimedRoute

    inst = VrptwInstance(
        node_ids=["D", "A"], travel=np.zeros((2, 2), dtype=np.int64), distance=np.zeros((2, 2)), demand=[0, 1],
        service=[0, 0], tw_open=[0, 0], tw_close=[100, 100],
        vehicle_types=[VehicleSpec("Van 1", 1, 10, 0, 100, 100), VehicleSpec("Van 2", 1, 10, 0, 100, 100)],
        allowed_types={1: frozenset({0})},
    )  # fmt: skip
    wrong = ClaimedRoute(visits=[1], start=0, service_start=[0], end=0, vehicle_type=1)
    assert any("may not serve" in p for p in check_plan(inst, [wrong], []))
    right = ClaimedRoute(visits=[1], start=0, service_start=[0], end=0, vehicle_type=0)
    assert check_plan(inst, [right], []) == []


def test_a_van_that_dropped_its_own_stop_gets_it_back_alone_and_the_plan_stays_checked(morning):
    """repair_bound_drops: a stop bound to a van and left out by the fleet-wide search is served by that van's own
    search when it fits, and nothing the van served before is lost."""
    from dataclasses import replace

    from sgroute_assets.domain.routing.instance import instance_from_stops
    from sgroute_assets.domain.routing.plan import SolvedInstance, solve_instance
    from sgroute_assets.domain.routing.replan import repair_bound_drops
    from sgroute_assets.domain.routing.schedule import schedule_route

    fleet, stops, _ = morning
    base = instance_from_stops(fleet, stops, _matrix(fleet, stops))
    inst = replace(base, vehicle_types=[replace(base.vehicle_types[0], count=1, name=f"Van {k}") for k in range(4)])
    first = solve_instance(inst, SolverSettings(time_limit_s=1))
    bound = {n: frozenset({t}) for visits, t in zip(first.routes, first.route_types, strict=True) for n in visits}
    inst = replace(inst, allowed_types=bound)
    longest = max(range(len(first.routes)), key=lambda k: len(first.routes[k]))
    taken = first.routes[longest][1]
    routes = [[n for n in r if n != taken] for r in first.routes]
    schedules = [schedule_route(inst, r, t) for r, t in zip(routes, first.route_types, strict=True)]
    broken = SolvedInstance(first.result, routes, first.route_types, schedules, [taken], {}, [])
    repaired = repair_bound_drops(inst, broken, SolverSettings(time_limit_s=1), 1.0, set())
    assert repaired.dropped == [] and repaired.violations == []
    served = {n for r in repaired.routes for n in r}
    assert served == {n for r in first.routes for n in r}
    t = first.route_types[longest]
    assert taken in repaired.routes[repaired.route_types.index(t)]
