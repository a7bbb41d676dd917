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
from .fleet import DepotPoint, Fleet
from .progress import DONE, FAILED, DayProgress, VisitReport
from .resequence import VehicleSlot, vehicle_slots
from .revisions import Revision

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


def day_state(fleet: Fleet, previous: Revision, progress: DayProgress, stops: list[Stop]) -> DayState:
    """The day at ``progress.as_of_min`` for ``fleet`` after revision ``previous``; ``stops`` are the stop file's
    located stops now (a re-upload may have added some). ``progress`` must be usable (checked against the same
    fleet). A visit an earlier revision already holds as done stays history even when the latest progress file
    no longer lists it: the file is a picture, and a delivery does not come undone."""
    if not progress.usable or progress.as_of_min is None:
        raise ValueError(f"{progress.source} has problems and cannot be used: " + "; ".join(progress.issues[:5]))
    as_of = progress.as_of_min
    by_ref = {s.stop_ref: s for s in stops}
    slots = vehicle_slots(fleet)
    history = progress.history()
    reported = {h.stop_ref for h in history} | {v.stop_ref for v in progress.visits}
    for p in previous.stops.values():
        if p.status == DONE and p.stop_ref not in reported and 1 <= p.vehicle <= len(slots):
            where = f"revision {previous.number}"
            history.append(VisitReport(slots[p.vehicle - 1], p.stop_ref, DONE, p.eta_s // 60, where))
    history.sort(key=lambda v: (v.slot.number, v.time_min or 0))
    closed = {h.stop_ref for h in history}
    vans = []
    for slot in slots:
        mine = tuple(h for h in history if h.slot == slot)
        type_name = fleet.vehicle_types[slot.type_index].name
        where, kind, free_at = fleet.start_point(type_name), DEPOT, as_of
        last = mine[-1] if mine else None
        if last is not None and last.stop_ref in by_ref:
            stop = by_ref[last.stop_ref]
            where, kind = DepotPoint(f"{stop.stop_ref} (last reported)", stop.lat, stop.lon), LAST_STOP
            free_at = max(as_of, (last.time_min or 0) + (stop.service_time_min or 0))
        position = progress.positions.get(slot.number)
        if position is not None and (last is None or position.time_min >= (last.time_min or 0)):
            where = DepotPoint(f"{slot.name} at {format_clock(position.time_min)}", position.lat, position.lon)
            kind, free_at = POSITION, max(as_of, position.time_min)
        board = tuple(ref for ref in previous.on_vehicle(slot.number) if ref not in closed and ref in by_ref)
        vans.append(VanState(slot, mine, where, kind, free_at, board, progress.off.get(slot.number)))
    on_board = {ref for v in vans for ref in v.on_board}
    unassigned = [ref for ref in by_ref if ref not in on_board and ref not in closed]
    failed = [h for h in history if h.status == FAILED]
    return DayState(as_of, vans, failed, unassigned)
