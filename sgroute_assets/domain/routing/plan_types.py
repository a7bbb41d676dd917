"""The plan's own types: routes, visits, drops, the rows not planned and what the road-time check found.

One module that the solver's assembly (plan.py), the resequencer and the leg verifier all import, so none of
them needs another's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..stops import Issue, Stop, format_clock
from .fleet import DepotPoint, Fleet, VehicleType


@dataclass
class Visit:
    sequence: int
    stop: Stop
    arrival_s: int
    service_start_s: int  # the ETA a customer is given
    departure_s: int
    travel_s: int  # from the previous point
    distance_m: float
    # What a planner-fixed order breaks at this stop (late, over capacity, past the shift): reported, not
    # refused, because the planner chose the order (domain/routing/resequence.py). Always empty on optimised routes.
    violations: list[str] = field(default_factory=list)
    break_s: int = 0  # the driver's break taken here between arriving and starting service (not waiting)
    # What the ETA rests on: "onemap" when every leg up to here was timed by OneMap, else "model"
    # (domain/routing/leg_verification.py), and OneMap's road polyline of the leg into this stop, if it sent one.
    eta_source: str = "model"
    road_geometry: str | None = None
    # "done": delivered before a re-plan, timed as the driver reported and never moved again (replan.py);
    # "planned": still ahead of the van.
    status: str = "planned"
    setup_s: int = 0  # parking and access paid on arriving at this place (in the leg's time, not driving)
    late_s: int = 0  # service past the soft end of the window (late_ok_min allows it, at its cost)

    @property
    def wait_s(self) -> int:
        return self.service_start_s - self.arrival_s - self.break_s


@dataclass
class Route:
    vehicle: int  # 1-based, as drivers count
    start_s: int
    end_s: int
    visits: list[Visit]
    return_travel_s: int
    return_distance_m: float
    vehicle_type: str = "Van"  # the fleet's vehicle type this route is driven with
    vehicle_name: str = ""  # what dispatchers and drivers call the vehicle ("Van 2", "Lorry")
    # The driver's break when taken on the road (None: no break, or it falls before leaving / after return),
    # and how many visits come before it (0: on the way to the first stop; len(visits): on the way back).
    break_start_s: int | None = None
    break_end_s: int | None = None
    break_after: int | None = None
    # Where the route leaves from and ends (None: the plan's depot; RoutePlan.start_point/end_point resolve it).
    start_depot: DepotPoint | None = None
    end_depot: DepotPoint | None = None
    return_geometry: str | None = None  # OneMap's road polyline of the way back, if verified and sent
    overtime_s: int = 0  # route time past its type's regular duration (fleet.py's max_overtime_min allows it)

    @property
    def vehicle_id(self) -> str:
        return f"V{self.vehicle:02d}"

    @property
    def load(self) -> int:
        return sum(v.stop.demand for v in self.visits)

    @property
    def distance_m(self) -> float:
        return sum(v.distance_m for v in self.visits) + self.return_distance_m

    @property
    def travel_s(self) -> int:
        return sum(v.travel_s for v in self.visits) + self.return_travel_s

    @property
    def service_s(self) -> int:
        return sum(v.departure_s - v.service_start_s for v in self.visits)

    @property
    def wait_s(self) -> int:
        return sum(v.wait_s for v in self.visits)

    @property
    def duration_s(self) -> int:
        return self.end_s - self.start_s

    @property
    def break_s(self) -> int:
        return 0 if self.break_start_s is None else self.break_end_s - self.break_start_s


@dataclass
class DroppedStop:
    stop: Stop
    reason: str
    message: str


SERVED, DROPPED, INVALID, NOT_LOCATED = "served", "dropped", "invalid", "not_located"


@dataclass(frozen=True)
class UnplannedRow:
    """A row of the stop file that is on no route, and why: dropped by the solver, invalid, or not located."""

    row: int
    stop_ref: str | None
    status: str  # DROPPED | INVALID | NOT_LOCATED
    reason: str  # a short code (capacity, time_window, ..., invalid, needs_attention)
    message: str
    stop: Stop | None = None  # None for invalid rows: they never became a stop
    fields: dict[str, str] = field(default_factory=dict)  # an invalid row's cells as typed, header -> text

    def field_text(self, name: str) -> str:
        """A stop field as the dispatcher should see it: the stop's own value, else the invalid row's cell."""
        if self.stop is not None:
            value = getattr(self.stop, name, None)
            return "" if value is None else str(value)
        return self.fields.get(name, "").strip()


@dataclass(frozen=True)
class ReplanSummary:
    """What a re-plan during the day started from and did (domain/routing/replan.py), for ``sgroute replan
    --json``, the route_plan page and the revision record."""

    as_of_min: int
    mode: str  # resequence | assign_new | free
    progress_source: str  # the progress file's name (or config)
    frozen: int  # done visits, kept as reported
    kept_vehicle: int  # stops still ahead that stayed on the van of the previous revision
    moved: int  # stops still ahead that changed van
    new_served: int  # stops served now that no van carried in the previous revision
    dropped: int
    vans_off: tuple[str, ...] = ()
    fingerprint: str = ""  # what the re-plan was made from: the same inputs make no new revision
    reasons: tuple[tuple[str, str], ...] = ()  # (stop_ref, why) for changes the re-plan itself explains

    def summary(self) -> dict:
        return {
            "as_of": format_clock(self.as_of_min),
            "mode": self.mode,
            "progress": self.progress_source,
            "frozen": self.frozen,
            "kept_vehicle": self.kept_vehicle,
            "moved": self.moved,
            "new_served": self.new_served,
            "dropped": self.dropped,
            "vans_off": list(self.vans_off),
        }


@dataclass
class RoutePlan:
    fleet: Fleet
    routes: list[Route]
    dropped: list[DroppedStop]
    solver_status: str
    objective: int
    solve_time_s: float
    time_limit_s: float
    matrix_source: str
    checks: list[str] = field(default_factory=list)  # feasibility violations (always empty when stored)
    engine: str = ""  # pyvrp | ortools: which engine produced the routes
    engine_reason: str = ""  # why that engine: asked for, or what in the plan needs it
    stop_reason: str = ""  # time_limit | stalled | engine_finished | nothing_to_plan
    best_found_s: float | None = None  # when the search reached the returned plan
    # Identity and day, set by the route_plan asset and printed on every export so a driver's sheet can be
    # matched to the plan it came from (see domain/routing/row_accounting.py for the rows not planned).
    plan_id: str = ""
    plan_date: str | None = None  # YYYY-MM-DD, the delivery day
    source_file: str = ""
    data_version: str | None = None  # the stop file version (generation or content hash) planned from
    # When the run that made this plan was requested (epoch seconds): of two plans of one partition, the later
    # request is the one published, whichever finishes last (the app tables and exports check it).
    requested_at: float | None = None
    file_rows: int | None = None  # rows in the stop file; None when the plan was made from stops alone
    not_planned: list[UnplannedRow] = field(default_factory=list)  # invalid and not-located rows
    # The file's validation errors and warnings, (kind, issue), so validation_issues.csv is published with the
    # plan and carries its columns. A tuple: plans pickled before this field unpickle with it empty.
    validation_issues: tuple[tuple[str, Issue], ...] = ()
    # Every visit's violations on planner-fixed routes, one readable line each (domain/routing/resequence.py).
    violations: list[str] = field(default_factory=list)
    # The verification pass on OneMap's road times (domain/routing/leg_verification.py); None: none ran, every ETA
    # comes from the travel-time model.
    verification: PlanVerification | None = None
    # The plan's place in its partition's day: revision 1 is the first plan, each re-plan one more
    # (domain/routing/revisions.py); ``replan`` says what a re-plan during the day kept and moved, ``changes``
    # every stop that moved since the previous revision (changes.csv).
    balance: dict | None = None  # what balancing did (domain/routing/balance.py): ratios before and after, cost
    revision: int = 1
    revision_reason: str = "initial"
    replan: ReplanSummary | None = None
    changes: tuple = ()

    @property
    def eta_source(self) -> str:
        """onemap (every driven leg timed by OneMap), mixed, or model (no road times: the embedded default)."""
        return "model" if self.verification is None else self.verification.eta_source

    def start_point(self, route: Route) -> DepotPoint:
        """Where ``route`` leaves from: its own start depot, its vehicle type's, or the plan's depot."""
        return route.start_depot or self.fleet.start_point(route.vehicle_type)

    def end_point(self, route: Route) -> DepotPoint:
        return route.end_depot or self.fleet.end_point(route.vehicle_type)

    def vehicle_type_of(self, route: Route) -> VehicleType:
        """The type ``route`` is driven with: its capacity, shift and limits are the ones to show for it (the
        fleet's scalar fields are the largest over types, wrong for every smaller vehicle of a mixed fleet)."""
        types = self.fleet.vehicle_types
        return next((t for t in types if t.name == route.vehicle_type), types[0])

    @property
    def stops_served(self) -> int:
        return sum(len(r.visits) for r in self.routes)

    @property
    def vehicles_used(self) -> int:
        return len(self.routes)

    @property
    def total_distance_m(self) -> float:
        return sum(r.distance_m for r in self.routes)

    @property
    def total_duration_s(self) -> int:
        return sum(r.duration_s for r in self.routes)

    @property
    def invalid_rows(self) -> list[UnplannedRow]:
        return [u for u in self.not_planned if u.status == INVALID]

    @property
    def not_located(self) -> list[UnplannedRow]:
        return [u for u in self.not_planned if u.status == NOT_LOCATED]

    def unplanned(self) -> list[UnplannedRow]:
        """Every row on no route (dropped, invalid, not located), in the file's row order."""
        dropped = [
            UnplannedRow(d.stop.row, d.stop.stop_ref, DROPPED, d.reason, d.message, d.stop) for d in self.dropped
        ]
        return sorted(dropped + list(self.not_planned), key=lambda u: u.row)

    def row_counts(self) -> dict[str, int]:
        """rows = served + dropped + invalid + not located: every row of the file is accounted for."""
        served, dropped = self.stops_served, len(self.dropped)
        invalid, not_located = len(self.invalid_rows), len(self.not_located)
        rows = self.file_rows if self.file_rows is not None else served + dropped + invalid + not_located
        return {"rows": rows, SERVED: served, DROPPED: dropped, INVALID: invalid, NOT_LOCATED: not_located}

    @property
    def warned_stops(self) -> list[Stop]:
        return [v.stop for r in self.routes for v in r.visits if v.stop.warnings] + [
            d.stop for d in self.dropped if d.stop.warnings
        ]

    @property
    def setup_saved_s(self) -> int:
        """What paying setup once per place saved against paying it at every stop (the old model)."""
        return sum(v.stop.setup_min * 60 - v.setup_s for r in self.routes for v in r.visits)

    def totals(self) -> dict[str, float | int | str]:
        counts = self.row_counts()
        return {
            "rows": counts["rows"],
            "vehicles_used": self.vehicles_used,
            "vehicles_available": self.fleet.vehicles,
            "stops_served": self.stops_served,
            "stops_dropped": len(self.dropped),
            "stops_invalid": counts[INVALID],
            "stops_not_located": counts[NOT_LOCATED],
            "stops_with_warnings": len(self.warned_stops),
            "total_distance_km": round(self.total_distance_m / 1000, 2),
            "total_duration_min": round(self.total_duration_s / 60, 1),
            "total_drive_min": round(sum(r.travel_s for r in self.routes) / 60, 1),
            "total_wait_min": round(sum(r.wait_s for r in self.routes) / 60, 1),
            "solve_time_s": round(self.solve_time_s, 2),
            "solver_status": self.solver_status,
            "solver_engine": self.engine,
            "solver_stop_reason": self.stop_reason,
            "solver_engine_reason": self.engine_reason,
            **({"setup_saved_min": round(self.setup_saved_s / 60, 1)} if self.setup_saved_s else {}),
            **({f"balance_{k}": v for k, v in self.balance.items() if k != "balance"} if self.balance else {}),
            **(
                {"late_min": round(sum(v.late_s for r in self.routes for v in r.visits) / 60, 1)}
                if any(v.late_s for r in self.routes for v in r.visits)
                else {}
            ),
            **(
                {"overtime_min": round(sum(r.overtime_s for r in self.routes) / 60, 1)}
                if any(r.overtime_s for r in self.routes)
                else {}
            ),
        }


def clock(seconds: int) -> str:
    return format_clock(seconds / 60) or ""


@dataclass(frozen=True)
class FallbackLeg:
    origin: str
    destination: str
    reason: str


@dataclass(frozen=True)
class RouteEtaChange:
    """How far a route's ETAs moved between the model's legs and the exact ones (positive: later)."""

    vehicle: str
    vehicle_name: str
    legs: int
    legs_onemap: int
    max_eta_change_min: float  # the largest change, with its sign
    mean_eta_change_min: float  # mean absolute change over the route's stops


@dataclass
class PlanVerification:
    """What the verification pass did and found, for the plan's metadata, exports and ``sgroute plan --json``."""

    eta_source: str  # onemap (every driven leg exact) | model (none) | mixed
    legs_driven: int
    legs_onemap: int  # timed by OneMap, asked in this pass or from the OD cache
    legs_from_cache: int
    onemap_calls: int  # legs asked from OneMap in this pass
    budget: int | None
    rounds: int
    resolves: int
    time_s: float
    routes: list[RouteEtaChange] = field(default_factory=list)
    repaired_stops: list[str] = field(default_factory=list)  # late on the exact legs at first, on time now
    dropped_stops: list[str] = field(default_factory=list)  # dropped because the exact legs made them late
    fallback_legs: list[FallbackLeg] = field(default_factory=list)

    @property
    def share_onemap(self) -> float:
        return round(self.legs_onemap / self.legs_driven, 4) if self.legs_driven else 1.0

    def summary(self) -> dict:
        """Plain JSON: the figures the asset's metadata and the CLI print."""
        return {
            "eta_source": self.eta_source,
            "legs_driven": self.legs_driven,
            "legs_onemap": self.legs_onemap,
            "share_legs_onemap": self.share_onemap,
            "legs_from_cache": self.legs_from_cache,
            "onemap_calls": self.onemap_calls,
            "budget": self.budget,
            "rounds": self.rounds,
            "resolves": self.resolves,
            "time_s": round(self.time_s, 2),
            "routes": [r.__dict__ for r in self.routes],
            "repaired_stops": list(self.repaired_stops),
            "dropped_stops": list(self.dropped_stops),
            "fallback_legs": [f.__dict__ for f in self.fallback_legs],
        }
