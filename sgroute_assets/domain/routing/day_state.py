"""Where the day stands at ``as_of``: the morning plan with the progress file laid over it (issue 18).

A re-plan during the day must not move what already happened, and must start each van where it really is.
This module derives exactly that, per van, from the previous plan and a checked `DayProgress`; it plans
nothing, so every re-planning mode starts from the same picture:

- **history**: the van's done and failed visits, timed as reported, in time order; never moved again;
- **where it continues from**: its reported position when that is its latest news, else the last stop it
  reported (done or failed), else its start depot (a van with no news is taken as not yet on the road);
- **from when**: ``as_of``, or later when its latest news ends later (the service of the last stop reported);
- **on board**: the stops the previous plan gave the van that are not done or failed (by any van), in the
  previous order; a skipped stop stays on board;
- **off**: when the van left service (its stops then go to other vans or are dropped, by mode).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..stops import Stop, format_clock
from .fleet import DepotPoint
from .plan_types import RoutePlan
from .progress import FAILED, DayProgress, VisitReport
from .resequence import VehicleSlot, vehicle_slots

POSITION, LAST_STOP, DEPOT = "reported position", "last reported stop", "start depot"


@dataclass(frozen=True)
class VanState:
    slot: VehicleSlot
    history: tuple[VisitReport, ...]
    continues_from: DepotPoint
    continues_from_kind: str  # POSITION | LAST_STOP | DEPOT
    free_at_min: int  # minutes after midnight: as_of, or later
    on_board: tuple[str, ...]  # stop_refs, in the previous plan's order
    off_at_min: int | None = None

    @property
    def in_service(self) -> bool:
        return self.off_at_min is None


@dataclass
class DayState:
    as_of_min: int
    vans: list[VanState]
    failed: list[VisitReport] = field(default_factory=list)  # attempted, not delivered: retried or dropped
    # Stops of the stop file on no van's board: dropped by the previous plan, or new since.
    unassigned: list[str] = field(default_factory=list)

    def van(self, name_or_id: str) -> VanState:
        return next(v for v in self.vans if name_or_id in (v.slot.name, v.slot.vehicle_id))

    def frozen_refs(self) -> set[str]:
        """Every stop whose visit is history: no re-plan may visit it again."""
        return {h.stop_ref for v in self.vans for h in v.history}


def day_state(plan: RoutePlan, progress: DayProgress, stops: list[Stop]) -> DayState:
    """The day at ``progress.as_of_min`` for ``plan``'s fleet; ``stops`` are the stop file's located stops now
    (a re-upload may have added some). ``progress`` must be usable (checked against the same fleet)."""
    if not progress.usable or progress.as_of_min is None:
        raise ValueError(f"{progress.source} has problems and cannot be used: " + "; ".join(progress.issues[:5]))
    as_of = progress.as_of_min
    by_ref = {s.stop_ref: s for s in stops}
    for route in plan.routes:
        for visit in route.visits:
            by_ref.setdefault(visit.stop.stop_ref, visit.stop)
    history = progress.history()
    closed = {h.stop_ref for h in history}
    planned = {r.vehicle: r for r in plan.routes}
    vans = []
    for slot in vehicle_slots(plan.fleet):
        mine = tuple(h for h in history if h.slot == slot)
        route = planned.get(slot.number)
        type_name = plan.fleet.vehicle_types[slot.type_index].name
        depot = plan.start_point(route) if route is not None else plan.fleet.start_point(type_name)
        where, kind, free_at = depot, DEPOT, as_of
        last = mine[-1] if mine else None
        if last is not None:
            stop = by_ref[last.stop_ref]
            where, kind = DepotPoint(f"{stop.stop_ref} (last reported)", stop.lat, stop.lon), LAST_STOP
            free_at = max(as_of, (last.time_min or 0) + (stop.service_time_min or 0))
        position = progress.positions.get(slot.number)
        if position is not None and (last is None or position.time_min >= (last.time_min or 0)):
            where = DepotPoint(f"{slot.name} at {format_clock(position.time_min)}", position.lat, position.lon)
            kind, free_at = POSITION, max(as_of, position.time_min)
        board = tuple(v.stop.stop_ref for v in route.visits if v.stop.stop_ref not in closed) if route else ()
        vans.append(VanState(slot, mine, where, kind, free_at, board, progress.off.get(slot.number)))
    on_board = {ref for v in vans for ref in v.on_board}
    unassigned = [ref for ref in by_ref if ref not in on_board and ref not in closed]
    failed = [h for h in history if h.status == FAILED]
    return DayState(as_of, vans, failed, unassigned)
