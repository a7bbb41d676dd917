"""Launchpad settings for a plan; defaults come from the environment so each site sets its own fleet."""

from __future__ import annotations

import os

import dagster as dg
from pydantic import Field

from sgroute_assets.domain.stops import parse_clock


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def clock_minutes(text: str, field: str) -> int:
    minutes = parse_clock(text.strip())
    if minutes is None:
        raise dg.Failure(description=f"{field} '{text}' is not a time of day like 08:00")
    return minutes


class PlanningDayConfig(dg.Config):
    """The depot and the shift being planned: travel times depend on where and when legs are driven, and the
    route plan takes its shift from the matrix so the two always agree."""

    depot_name: str = Field(
        default=_env("SGROUTE_DEPOT_NAME", "Tai Seng depot"),
        description="Depot name printed on every export (SGROUTE_DEPOT_NAME).",
    )
    depot_lat: float = Field(
        default=float(_env("SGROUTE_DEPOT_LAT", "1.3354")), description="Depot latitude (SGROUTE_DEPOT_LAT)."
    )
    depot_lon: float = Field(
        default=float(_env("SGROUTE_DEPOT_LON", "103.8879")), description="Depot longitude (SGROUTE_DEPOT_LON)."
    )
    shift_start: str = Field(
        default=_env("SGROUTE_SHIFT_START", "08:00"), description="Earliest departure, HH:MM (SGROUTE_SHIFT_START)."
    )
    shift_end: str = Field(
        default=_env("SGROUTE_SHIFT_END", "18:00"), description="Latest return, HH:MM (SGROUTE_SHIFT_END)."
    )
    plan_date: str | None = Field(
        default=None,
        description="Delivery day, YYYY-MM-DD; default tomorrow in Singapore. Printed on every export and used "
        "by the travel-time model's weekday terms.",
    )


def plan_day_of_week(plan_date: str | None) -> tuple[str, int]:
    """The delivery date and its weekday (0 = Monday); the old system used the day the plan was *run*."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    if plan_date:
        try:
            day = dt.date.fromisoformat(plan_date)
        except ValueError:
            raise dg.Failure(description=f"plan_date '{plan_date}' is not a date like 2026-11-24") from None
    else:
        day = dt.datetime.now(ZoneInfo("Asia/Singapore")).date() + dt.timedelta(days=1)
    return day.isoformat(), day.weekday()


class VehicleTypeConfig(dg.Config):
    """One vehicle type of the fleet. Blank optional fields take the default single type's value."""

    name: str = Field(
        description="What dispatchers call this type (unique), e.g. Van or Lorry; vehicles become Van 1, Van 2."
    )
    count: int = Field(description="Vehicles of this type available.")
    capacity: int | None = Field(default=None, description="Demand units one vehicle carries.")
    shift_start: str | None = Field(default=None, description="Shift start, HH:MM (default: the plan's shift).")
    shift_end: str | None = Field(default=None, description="Shift end, HH:MM (default: the plan's shift).")
    max_route_minutes: int | None = Field(default=None, description="Longest route, depot to depot, waiting included.")
    fixed_cost_min: float | None = Field(
        default=None, description="What using one more vehicle of this type costs, in minutes of paid time."
    )
    start_lat: float | None = Field(default=None, description="Where its routes start (blank: the depot).")
    start_lon: float | None = Field(default=None, description="Where its routes start (blank: the depot).")
    end_lat: float | None = Field(default=None, description="Where its routes end (blank: the depot).")
    end_lon: float | None = Field(default=None, description="Where its routes end (blank: the depot).")
    break_earliest: str | None = Field(default=None, description="Driver break: earliest start, HH:MM.")
    break_latest: str | None = Field(default=None, description="Driver break: latest start, HH:MM.")
    break_minutes: int | None = Field(default=None, description="Driver break length in minutes.")
    skills: str = Field(default="", description="What its vehicles have, e.g. chiller;tailgate.")
    max_stops: int | None = Field(default=None, description="Most stops one route of this type serves.")
    capacity_weight_kg: float | None = Field(default=None, description="What one vehicle carries in kg.")
    capacity_volume_l: float | None = Field(default=None, description="What one vehicle carries in litres.")
    max_overtime_min: int = Field(default=0, description="How far past the shift a route may run.")
    overtime_cost_per_hour: float = Field(
        default=0.0, description="What one hour over costs, in minutes of paid time (30: time and a half)."
    )


class SequenceRouteConfig(dg.Config):
    """One route in the planner's own order: timed as given, never re-optimised (see domain/routing/resequence.py)."""

    vehicle: str = Field(
        description="The vehicle driving it: its name (Van 2, Lorry) or number V01.. (the fleet's vehicles counted "
        "type by type)."
    )
    stops: list[str] = Field(description="The stop_refs it visits, in visit order.")


class ProgressRowConfig(dg.Config):
    """One row of the day's progress, as a progress file has it (domain/routing/progress.py)."""

    vehicle: str = Field(description="The van: its name (Van 2) or number V02.")
    stop_ref: str = Field(default="", description="The stop, for done, failed and skipped rows.")
    status: str = Field(default="", description="done, failed, skipped or off; empty for a position row.")
    time: str = Field(default="", description="When, HH:MM.")
    lat: str = Field(default="", description="Where the van is (a position row).")
    lon: str = Field(default="", description="Where the van is (a position row).")


class FleetConfig(dg.Config):
    """The fleet for this plan and how it is optimised (the shift is set with the travel matrix, see
    PlanningDayConfig). The scalar fields are the default single vehicle type, from the environment."""

    vehicles: int = Field(
        default=int(_env("SGROUTE_VEHICLES", "4")), description="Vehicles available (SGROUTE_VEHICLES)."
    )
    capacity: int = Field(
        default=int(_env("SGROUTE_VEHICLE_CAPACITY", "40")),
        description="Demand units one vehicle carries (SGROUTE_VEHICLE_CAPACITY).",
    )
    max_route_minutes: int = Field(
        default=int(_env("SGROUTE_MAX_ROUTE_MIN", "600")),
        description="Longest route, depot to depot, waiting included (SGROUTE_MAX_ROUTE_MIN).",
    )
    vehicle_fixed_cost_min: int = Field(
        default=int(_env("SGROUTE_VEHICLE_FIXED_COST_MIN", "30")),
        description="What using one more vehicle costs, in minutes of paid time (SGROUTE_VEHICLE_FIXED_COST_MIN).",
    )
    vehicle_types: list[VehicleTypeConfig] = Field(
        default=[],
        description="Several vehicle types for this run only; empty: the stop file's <name>.fleet.csv if there is "
        "one, else the single type above. A new upload of the file plans with its fleet file or the defaults, not "
        "with this: to keep a fleet for the file, put it in <name>.fleet.csv beside it.",
    )
    sequence: list[SequenceRouteConfig] = Field(
        default=[],
        description="Routes in the planner's own order, re-timed as given (lateness, capacity and shift violations "
        "are reported per stop, not refused); the other stops are optimised on the other vehicles. Empty: the stop "
        "file's <name>.sequence.csv if there is one, else every route is optimised.",
    )
    solver_time_limit_s: float | None = Field(
        default=None, description="Longest the solver may search, seconds; default from the solver resource."
    )
    solver_engine: str | None = Field(
        default=None,
        description="auto (PyVRP; OR-Tools for driver breaks), pyvrp or ortools; default from the solver resource.",
    )
    travel_weight: float = Field(
        default=float(_env("SGROUTE_TRAVEL_WEIGHT", "1.0")),
        description="Cost of one second of driving (fuel, wear), relative to paid time (SGROUTE_TRAVEL_WEIGHT).",
    )
    paid_time_weight: float = Field(
        default=float(_env("SGROUTE_PAID_TIME_WEIGHT", "1.0")),
        description="Cost of one second of route duration, waiting included: driver wages (SGROUTE_PAID_TIME_WEIGHT).",
    )
    vehicles_first: bool = Field(
        default=_env("SGROUTE_VEHICLES_FIRST", "false").lower() in ("1", "true", "yes"),
        description="Use as few vehicles as possible first, then minimise cost (SGROUTE_VEHICLES_FIRST).",
    )
    replan_mode: str = Field(
        default=_env("SGROUTE_REPLAN_MODE", "assign_new"),
        description="How a re-plan from the day's progress file may move stops: resequence (each stop keeps its "
        "van), assign_new (loaded stops keep their van, new ones go anywhere) or free (before loading) "
        "(SGROUTE_REPLAN_MODE).",
    )
    balance: str = Field(
        default=_env("SGROUTE_BALANCE", "none"),
        description="Even out the routes: none, duration (longest to shortest route time) or stops (per route), "
        "at most balance_max_cost_increase_pct dearer (SGROUTE_BALANCE).",
    )
    balance_max_cost_increase_pct: float = Field(
        default=3.0, description="How much more a balanced plan may cost than the cheapest one, in percent."
    )
    progress: list[ProgressRowConfig] = Field(
        default=[],
        description="The day's progress for a re-plan, instead of <stop file>.progress.csv (the same fields); "
        "give replan_at for its time.",
    )
    replan_at: str = Field(
        default="",
        description="When the progress picture was taken, HH:MM, if the progress file gives no as_of.",
    )
    retry_after_min: int | None = Field(
        default=int(_env("SGROUTE_RETRY_AFTER_MIN", "-1")) if _env("SGROUTE_RETRY_AFTER_MIN", "") else None,
        description="Retry a failed delivery this many minutes after the attempt, by the same van, when it still "
        "fits; empty: failed visits are dropped as failed_attempt (SGROUTE_RETRY_AFTER_MIN).",
    )
