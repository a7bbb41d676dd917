"""A partition's plans as numbered revisions, and what changed from one to the next (issue 18).

A dispatcher re-plans during the day (progress at 11:00, urgent stops, a van off sick); drivers already hold
the morning's sheets. Each plan is therefore kept as a revision: who carries which stop, in which place, at
what ETA. ``Revision`` is that picture in plain data (it is what the app tables keep per revision and what the
next re-plan starts from), and ``plan_changes`` lists every stop whose van or place changed, or whose ETA moved
by more than five minutes, with the old and new values and why: ``changes.csv``, the driver files' first line
and the route_plan page all read it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from ..stops import format_clock
from .plan_types import RoutePlan

ETA_TOLERANCE_S = 5 * 60  # an ETA that moved by this much or less is not a change a driver must hear about
PLANNED, DONE = "planned", "done"
INITIAL = "initial"


@dataclass(frozen=True)
class PlannedStop:
    """Where one stop stands in a revision: its van, its place on the van's route, its ETA, done or planned."""

    stop_ref: str
    vehicle: int  # the fleet vehicle's number (V01 is 1)
    vehicle_name: str
    position: int  # 1-based place on the route, done visits included
    eta_s: int  # service start, seconds after midnight
    status: str = PLANNED  # PLANNED | DONE


@dataclass
class Revision:
    """One plan of a partition as the day's record keeps it."""

    number: int
    plan_id: str
    reason: str
    stops: dict[str, PlannedStop] = field(default_factory=dict)
    dropped: dict[str, str] = field(default_factory=dict)  # stop_ref -> drop reason code
    mode: str | None = None  # the re-planning mode, None for a plan from scratch
    as_of_min: int | None = None
    route_starts: dict[int, int] = field(default_factory=dict)  # vehicle number -> when its route left, s

    def on_vehicle(self, vehicle: int) -> list[str]:
        """The stop_refs of one van's route in visit order (done visits first, as driven)."""
        mine = [p for p in self.stops.values() if p.vehicle == vehicle]
        return [p.stop_ref for p in sorted(mine, key=lambda p: p.position)]

    def vehicles(self) -> list[int]:
        return sorted({p.vehicle for p in self.stops.values()})

    def to_json(self) -> dict:
        return {
            "number": self.number,
            "plan_id": self.plan_id,
            "reason": self.reason,
            "mode": self.mode,
            "as_of_min": self.as_of_min,
            "stops": [asdict(p) for p in self.stops.values()],
            "dropped": dict(self.dropped),
            "route_starts": {str(k): v for k, v in self.route_starts.items()},
        }

    @classmethod
    def from_json(cls, data: dict) -> Revision:
        stops = {p["stop_ref"]: PlannedStop(**p) for p in data.get("stops", [])}
        return cls(
            number=int(data["number"]),
            plan_id=str(data.get("plan_id", "")),
            reason=str(data.get("reason", "")),
            stops=stops,
            dropped=dict(data.get("dropped", {})),
            mode=data.get("mode"),
            as_of_min=data.get("as_of_min"),
            route_starts={int(k): int(v) for k, v in data.get("route_starts", {}).items()},
        )


def revision_of(plan: RoutePlan, number: int | None = None, reason: str | None = None) -> Revision:
    """The plan as a revision (its own number and reason unless given)."""
    stops = {}
    for route in plan.routes:
        for visit in route.visits:
            stops[visit.stop.stop_ref] = PlannedStop(
                stop_ref=visit.stop.stop_ref,
                vehicle=route.vehicle,
                vehicle_name=route.vehicle_name or route.vehicle_id,
                position=visit.sequence,
                eta_s=visit.service_start_s,
                status=visit.status,
            )
    replan = plan.replan
    return Revision(
        number=plan.revision if number is None else number,
        plan_id=plan.plan_id,
        reason=plan.revision_reason if reason is None else reason,
        stops=stops,
        dropped={d.stop.stop_ref: d.reason for d in plan.dropped},
        mode=replan.mode if replan is not None else None,
        as_of_min=replan.as_of_min if replan is not None else None,
        route_starts={r.vehicle: r.start_s for r in plan.routes},
    )


@dataclass(frozen=True)
class StopChange:
    """One stop that moved between two revisions; empty old or new values mean it was not on a route then."""

    stop_ref: str
    old_vehicle: str
    new_vehicle: str
    old_position: int | None
    new_position: int | None
    old_eta: str
    new_eta: str
    eta_moved_min: int | None  # new minus old, whole minutes; None when either is not on a route
    why: str

    def row(self) -> dict[str, str]:
        """The changes.csv row."""
        return {
            "stop_ref": self.stop_ref,
            "old_vehicle": self.old_vehicle,
            "new_vehicle": self.new_vehicle,
            "old_position": "" if self.old_position is None else str(self.old_position),
            "new_position": "" if self.new_position is None else str(self.new_position),
            "old_eta": self.old_eta,
            "new_eta": self.new_eta,
            "eta_moved_min": "" if self.eta_moved_min is None else f"{self.eta_moved_min:+d}",
            "why": self.why,
        }


CHANGE_COLUMNS = tuple(StopChange("", "", "", None, None, "", "", None, "").row())


def _clock(seconds: int) -> str:
    return format_clock(seconds / 60) or ""


def plan_changes(old: Revision, new: Revision, why: dict[str, str] | None = None) -> list[StopChange]:
    """Every stop whose van or place changed, or whose ETA moved by more than ``ETA_TOLERANCE_S``, or that is
    newly served or newly dropped, in stop_ref order. ``why`` gives a stop's own reason (the re-plan knows it:
    its van went off, it is an urgent stop, it was dropped for ...); otherwise the kind of change says it."""
    why = why or {}
    out = []
    for ref in sorted(set(old.stops) | set(new.stops) | set(new.dropped)):
        a, b = old.stops.get(ref), new.stops.get(ref)
        if a is None and b is None:
            if ref in new.dropped and ref not in old.dropped:
                out.append(
                    StopChange(ref, "", "", None, None, "", "", None, why.get(ref, f"dropped ({new.dropped[ref]})"))
                )
            continue
        if a is not None and b is not None:
            moved = b.eta_s - a.eta_s
            if a.vehicle == b.vehicle and a.position == b.position and abs(moved) <= ETA_TOLERANCE_S:
                continue
            if a.vehicle != b.vehicle:
                kind = f"moved from {a.vehicle_name} to {b.vehicle_name}"
            elif a.position != b.position:
                kind = "new place on the route"
            else:
                kind = f"ETA {'later' if moved > 0 else 'earlier'} by {round(abs(moved) / 60)} min"
            out.append(
                StopChange(
                    ref, a.vehicle_name, b.vehicle_name, a.position, b.position, _clock(a.eta_s), _clock(b.eta_s),
                    round(moved / 60), why.get(ref, kind),
                )
            )  # fmt: skip
        elif a is None:
            assert b is not None
            out.append(
                StopChange(
                    ref, "", b.vehicle_name, None, b.position, "", _clock(b.eta_s), None,
                    why.get(ref, "newly planned"),
                )
            )  # fmt: skip
        else:
            reason = new.dropped.get(ref, "not in the stop file any more")
            out.append(
                StopChange(
                    ref, a.vehicle_name, "", a.position, None, _clock(a.eta_s), "", None,
                    why.get(ref, f"dropped ({reason})"),
                )
            )  # fmt: skip
    return out


def changed_vehicles(changes: list[StopChange]) -> set[str]:
    """The vans whose drivers must hear of a change: every van a changed stop leaves or joins."""
    return {v for c in changes for v in (c.old_vehicle, c.new_vehicle) if v}


def numbered(plan: RoutePlan, previous: Revision | None) -> RoutePlan:
    """``plan`` as the revision after ``previous`` (revision 1 when there is none), with its changes since it;
    a re-plan's own reasons (a van off, an urgent stop, a retry) say why where they apply."""
    number = 1 if previous is None else previous.number + 1
    plan = replace(plan, revision=number)
    if previous is None:
        return replace(plan, changes=())
    why = dict(plan.replan.reasons) if plan.replan is not None else {}
    return replace(plan, changes=tuple(plan_changes(previous, revision_of(plan), why)))
