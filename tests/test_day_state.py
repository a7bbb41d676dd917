"""Where the day stands at as_of (issue 18): the morning plan with the progress file laid over it. History is
kept as reported, each van continues from its latest news, and what is still on board keeps its order."""

from __future__ import annotations

import pytest

from sgroute_assets.domain.routing import RoutePlan, day_state, parse_progress_file, revision_of
from sgroute_assets.domain.routing.day_state import DEPOT, LAST_STOP, POSITION
from sgroute_assets.domain.routing.resequence import vehicle_slots
from sgroute_assets.domain.stops import format_clock


def _minute(seconds: int) -> int:
    return seconds // 60


def test_the_day_at_as_of_from_the_plan_and_its_progress(small_plan: RoutePlan) -> None:
    routes = {r.vehicle: r for r in small_plan.routes if r.visits}
    assert {1, 2} <= set(routes) and len(routes[1].visits) >= 3 and len(routes[2].visits) >= 2
    slots = vehicle_slots(small_plan.fleet)
    assert len(slots) == 3
    first, second = routes[1].visits[0], routes[1].visits[1]
    borrowed = routes[2].visits[1]  # planned on V02, delivered by V01 (the drivers swapped it)
    tried = routes[2].visits[0]
    times = [_minute(v.service_start_s) for v in (first, second, tried)]
    as_of = max(times) + 30
    text = (
        "vehicle,stop_ref,status,time,lat,lon\n"
        f"{slots[0].name},{first.stop.stop_ref},done,{format_clock(times[0])},,\n"
        f"{slots[0].name},{second.stop.stop_ref},done,{format_clock(times[1])},,\n"
        f"{slots[0].name},{borrowed.stop.stop_ref},done,{format_clock(times[1])},,\n"
        f"{slots[1].name},{tried.stop.stop_ref},failed,{format_clock(times[2])},,\n"
        f"{slots[2].vehicle_id},,,{format_clock(as_of - 10)},1.3000,103.8000\n"
    )
    stops = [v.stop for r in small_plan.routes for v in r.visits] + [d.stop for d in small_plan.dropped]
    refs = [s.stop_ref for s in stops]
    progress = parse_progress_file("day.progress.csv", text.encode(), small_plan.fleet, refs, as_of)
    assert progress.usable, progress.issues

    day = day_state(small_plan.fleet, revision_of(small_plan), progress, stops)

    v1, v2, v3 = day.van("V01"), day.van("V02"), day.van("V03")
    assert [h.stop_ref for h in v1.history] == [first.stop.stop_ref, second.stop.stop_ref, borrowed.stop.stop_ref]
    assert v1.continues_from_kind == LAST_STOP
    last = borrowed.stop  # reported at the same time as the second stop, after it in the file
    assert (v1.continues_from.lat, v1.continues_from.lon) == (last.lat, last.lon)
    assert v1.free_at_min == max(as_of, times[1] + last.service_time_min)
    assert v1.on_board == tuple(v.stop.stop_ref for v in routes[1].visits[2:])
    assert v2.on_board == tuple(v.stop.stop_ref for v in routes[2].visits[2:])  # the borrowed stop is done
    assert [h.stop_ref for h in day.failed] == [tried.stop.stop_ref] and v2.history == tuple(day.failed)
    assert day.frozen_refs() == {first.stop.stop_ref, second.stop.stop_ref, borrowed.stop.stop_ref, tried.stop.stop_ref}
    assert v3.continues_from_kind == POSITION and (v3.continues_from.lat, v3.continues_from.lon) == (1.3, 103.8)
    assert v3.free_at_min == as_of and v3.history == ()
    assert v3.on_board == (tuple(v.stop.stop_ref for v in routes[3].visits) if 3 in routes else ())
    assert set(day.unassigned) == {d.stop.stop_ref for d in small_plan.dropped}
    assert all(v.in_service for v in day.vans)


def test_a_van_with_no_news_starts_from_its_depot_and_an_off_van_is_marked(small_plan: RoutePlan) -> None:
    stops = [v.stop for r in small_plan.routes for v in r.visits] + [d.stop for d in small_plan.dropped]
    slots = vehicle_slots(small_plan.fleet)
    text = f"vehicle,status,time,as_of\n{slots[-1].name},off,10:15,11:00\n"
    progress = parse_progress_file("p.csv", text.encode(), small_plan.fleet, [s.stop_ref for s in stops])
    day = day_state(small_plan.fleet, revision_of(small_plan), progress, stops)
    quiet = day.van("V01")
    assert quiet.continues_from_kind == DEPOT and quiet.free_at_min == 11 * 60
    assert (quiet.continues_from.lat, quiet.continues_from.lon) == (
        small_plan.fleet.depot_lat,
        small_plan.fleet.depot_lon,
    )
    assert day.vans[-1].off_at_min == 10 * 60 + 15 and not day.vans[-1].in_service
    assert day.frozen_refs() == set() and day.failed == []


def test_a_picture_with_problems_is_refused(small_plan: RoutePlan) -> None:
    progress = parse_progress_file(
        "p.csv", b"vehicle,stop_ref,status,time\nVan 99,X,done,10:00\n", small_plan.fleet, []
    )
    with pytest.raises(ValueError, match="p.csv has problems"):
        day_state(small_plan.fleet, revision_of(small_plan), progress, [])
