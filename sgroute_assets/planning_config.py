"""Launchpad settings for a plan; defaults come from the environment so each site sets its own fleet."""

from __future__ import annotations

import os

import dagster as dg

from sgroute_assets.domain.stop_validation import parse_clock


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def clock_minutes(text: str, field: str) -> int:
    minutes = parse_clock(text.strip())
    if minutes is None:
        raise dg.Failure(description=f"{field} '{text}' is not a time of day like 08:00")
    return minutes


class DepotConfig(dg.Config):
    """Where every route starts and ends (the travel matrix is built around it)."""

    depot_name: str = _env("SGROUTE_DEPOT_NAME", "Tai Seng depot")
    depot_lat: float = float(_env("SGROUTE_DEPOT_LAT", "1.3354"))
    depot_lon: float = float(_env("SGROUTE_DEPOT_LON", "103.8879"))


class FleetConfig(dg.Config):
    """The fleet and shift for this plan."""

    vehicles: int = int(_env("SGROUTE_VEHICLES", "4"))
    capacity: int = int(_env("SGROUTE_VEHICLE_CAPACITY", "40"))
    shift_start: str = _env("SGROUTE_SHIFT_START", "08:00")
    shift_end: str = _env("SGROUTE_SHIFT_END", "18:00")
    max_route_minutes: int = int(_env("SGROUTE_MAX_ROUTE_MIN", "600"))
    vehicle_fixed_cost_min: int = int(_env("SGROUTE_VEHICLE_FIXED_COST_MIN", "30"))
    solver_time_limit_s: float | None = None
