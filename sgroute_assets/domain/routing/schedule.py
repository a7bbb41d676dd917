"""Times along a route, recomputed from the visit order alone.

The solver's cumul values place waiting wherever it likes (a defect of the system this replaces); here the
vehicle leaves its start depot as late as it can without making anything later, so ETAs are what a driver
sees, and it ends at its type's end depot.

A driver's break (a vehicle type's ``break_window`` and ``break_duration``) starts inside its window and never
overlaps a visit. It may fall off the road: after the vehicle is back (the route ends before the latest
break start) or before it leaves (the route can leave once a break taken at the earliest start is over);
then the route carries no break. Otherwise it is taken on the road, in the gap between two points of the
route: the driver drives on until the window opens (or sets off after the break when it already has),
breaks, and drives the rest of the leg, so the break pushes every later visit by whatever waiting does not
absorb. Every gap is tried (in O(n) together, from the earliest plain run) and the route that is back
earliest is kept, with the break at its earliest start among those; leaving only after a break at the
window's opening wins a tie. This is the same freedom OR-Tools' break intervals have, so its routes
schedule here too.
"""

from __future__ import annotations

from dataclasses import dataclass

from .instance import VrptwInstance


@dataclass
class RouteTimes:
    start: int  # departure from the start depot
    arrival: list[int]  # when the vehicle reaches each stop
    service_start: list[int]
    departure: list[int]
    end: int  # at the end depot
    break_start: int | None = None  # the driver's break, when taken on the route
    break_end: int | None = None
    break_after: int | None = None  # visits served before the break (0: on the way to the first stop)

    @property
    def waiting(self) -> list[int]:
        """Idle time at each stop before its service; a break taken there is not waiting."""
        return [s - a - self.break_at(k) for k, (a, s) in enumerate(zip(self.arrival, self.service_start, strict=True))]

    def break_at(self, k: int) -> int:
        """Break seconds spent at the k-th stop (0-based) between arriving and starting service."""
        if self.break_start is None or self.break_after != k:
            return 0
        return max(0, min(self.break_end, self.service_start[k]) - max(self.break_start, self.arrival[k]))


def _forward(
    inst: VrptwInstance, visits: list[int], depart: int, vehicle_type: int, gap: int | None = None
) -> RouteTimes | None:
    """Earliest times leaving at ``depart``, the break in gap ``gap`` (None: no break on the road). None when
    that gap opens only after the latest break start."""
    spec = inst.vehicle_types[vehicle_type]
    arrival, start, leave = [], [], []
    clock, prev = depart, spec.start_depot
    brk = None
    for k, node in enumerate([*visits, spec.end_depot]):
        leg = int(inst.travel[prev, node])
        arrive = clock + leg
        ready = arrive
        if gap == k:
            earliest, latest = spec.break_window
            b = max(earliest, clock)
            if b > latest:
                return None
            brk = b
            if arrive <= b:  # there before the break starts: the break is taken at the stop
                ready = b + spec.break_duration
            else:  # the break interrupts the leg
                arrive += spec.break_duration
                ready = arrive
        if k == len(visits):
            end = ready
            break
        begin = inst.service_start_at(node, ready)
        arrival.append(arrive)
        start.append(begin)
        clock = begin + int(inst.service[node])
        leave.append(clock)
        prev = node
    return RouteTimes(
        start=depart,
        arrival=arrival,
        service_start=start,
        departure=leave,
        end=end,
        break_start=brk,
        break_end=None if brk is None else brk + spec.break_duration,
        break_after=gap if brk is not None else None,
    )


def _late(inst: VrptwInstance, visits: list[int], times: RouteTimes, vehicle_type: int) -> RouteTimes:
    """The same route leaving as late as possible without coming back later or missing a window it met."""
    spec = inst.vehicle_types[vehicle_type]
    if times.break_after is None:
        # Closed form without a break on the road: forward time slack, capped at the total waiting so the
        # return time (and so the shift end) stays where it was.
        slack = spec.shift_end - times.start
        waited = 0
        for node, arrive, begin in zip(visits, times.arrival, times.service_start, strict=True):
            waited += begin - arrive
            slack = min(slack, waited + inst.close_for(node, begin) - begin)
        delay = max(0, min(slack, waited))
        return _forward(inst, visits, times.start + delay, vehicle_type) if delay else times
    # With a break on the road the slack is not additive (the window can absorb a delay): search for the
    # latest departure that keeps the end and every window the earliest schedule keeps.
    bound = [max(inst.close_for(n, s), s) for n, s in zip(visits, times.service_start, strict=True)]

    def keeps(depart: int) -> RouteTimes | None:
        t = _forward(inst, visits, depart, vehicle_type, times.break_after)
        if t is None or t.end != times.end or any(s > b for s, b in zip(t.service_start, bound, strict=True)):
            return None
        return t

    # Leaving later than the route's idle time (its duration beyond driving, service and the break) would
    # have to make it end later; that bounds the search.
    path = [spec.start_depot, *visits, spec.end_depot]
    work = sum(int(inst.travel[a, b]) for a, b in zip(path, path[1:], strict=False)) + spec.break_duration
    work += sum(int(inst.service[n]) for n in visits)
    idle = max(0, times.end - times.start - work)
    low, high, best = times.start, min(spec.shift_end, times.start + idle), times
    while low < high:
        mid = (low + high + 1) // 2
        found = keeps(mid)
        if found is not None:
            low, best = mid, found
        else:
            high = mid - 1
    return best


def _gap_ranks(inst: VrptwInstance, visits: list[int], base: RouteTimes, vehicle_type: int) -> list[tuple]:
    """(infeasible, end, break start, gap) of a break in each gap, all in O(n) from the earliest plain run.

    A break in gap g delays the next service by some ``delay``; later visits absorb it with their waiting, so
    it reaches visit i as ``delay`` minus the waiting in between. ``slack[j]`` is the most delay visit j can
    take without any window from j on being missed, ``waits[j]`` the waiting after j that a delay can use.
    """
    spec = inst.vehicle_types[vehicle_type]
    earliest, latest = spec.break_window
    rest = spec.break_duration
    k = len(visits)
    close = [inst.close_for(n, s) for n, s in zip(visits, base.service_start, strict=True)]
    wait = [s - a for a, s in zip(base.arrival, base.service_start, strict=True)]
    slack, waits = [0] * k, [0] * k
    for i in range(k - 1, -1, -1):
        slack[i] = close[i] - base.service_start[i]
        if i + 1 < k:
            slack[i] = min(slack[i], wait[i + 1] + slack[i + 1])
            waits[i] = wait[i + 1] + waits[i + 1]
    out = []
    prefix_ok = True
    prev = spec.start_depot
    for g in range(k + 1):
        clock = base.start if g == 0 else base.departure[g - 1]
        b = max(earliest, clock)
        node = visits[g] if g < k else spec.end_depot
        if b <= latest:
            arrive = clock + int(inst.travel[prev, node])
            ready = b + rest if arrive <= b else arrive + rest
            if g < k:
                delay = inst.service_start_at(node, ready) - base.service_start[g]
                ok = prefix_ok and delay <= slack[g]
                end = base.end + max(0, delay - waits[g])
            else:
                ok, end = prefix_ok, ready
            out.append((not (ok and end <= spec.shift_end), end, b, g))
        if g < k:
            prefix_ok = prefix_ok and base.service_start[g] <= close[g]
            prev = node
    return out


def _violations(inst: VrptwInstance, visits: list[int], times: RouteTimes, vehicle_type: int) -> int:
    spec = inst.vehicle_types[vehicle_type]
    late = sum(1 for n, s in zip(visits, times.service_start, strict=True) if not inst.in_window(n, s))
    return late + (times.end > spec.shift_end) + (times.end - times.start > spec.max_route)


def schedule_route(inst: VrptwInstance, visits: list[int], vehicle_type: int = 0) -> RouteTimes:
    """The schedule a driver follows: earliest service, departure delayed by the waiting that can be removed,
    the break (if the type has one) where the route is back earliest, then at its earliest start. Infeasible
    orders still get their best times, so callers can say what breaks."""
    spec = inst.vehicle_types[vehicle_type]
    if not visits:
        return RouteTimes(start=spec.shift_start, arrival=[], service_start=[], departure=[], end=spec.shift_start)
    base = _forward(inst, visits, spec.shift_start, vehicle_type)
    plain = _late(inst, visits, base, vehicle_type)
    if spec.break_window is None:
        return plain
    earliest, latest = spec.break_window
    if plain.end <= latest or plain.start >= earliest + spec.break_duration:
        return plain  # the break falls off the road: after the return or before leaving
    ranked = sorted(_gap_ranks(inst, visits, base, vehicle_type))
    first = earliest + spec.break_duration
    if first <= spec.shift_end:
        # Leave once a break at the window's opening is over: preferred on a tie (the driver is not yet out).
        after = _late(inst, visits, _forward(inst, visits, first, vehicle_type), vehicle_type)
        bad = _violations(inst, visits, after, vehicle_type) > 0
        if not ranked or (bad, after.end) <= ranked[0][:2]:
            return after
    if not ranked:  # the route leaves after the latest break start and before a break could end
        return plain
    best = None
    for rank in ranked:
        if rank[:2] != ranked[0][:2]:
            break
        t = _late(inst, visits, _forward(inst, visits, spec.shift_start, vehicle_type, rank[3]), vehicle_type)
        if t.end - t.start <= spec.max_route:
            return t
        best = best or t
    return best
