"""The fleet a plan is made for: one depot, identical vehicles, one shift."""

from __future__ import annotations

from dataclasses import dataclass


class FleetError(ValueError):
    """Fleet settings that cannot describe a real shift (planner input, reported as is)."""


@dataclass(frozen=True)
class Fleet:
    depot_lat: float
    depot_lon: float
    vehicles: int
    capacity: int
    shift_start_min: int
    shift_end_min: int
    max_route_min: int
    depot_name: str = "Depot"
    vehicle_fixed_cost_s: int = 0

    def __post_init__(self) -> None:
        problems = []
        if self.vehicles < 1:
            problems.append("vehicles must be at least 1")
        if self.capacity < 0:
            problems.append("capacity must not be negative")
        if not 0 <= self.shift_start_min < self.shift_end_min <= 48 * 60:
            problems.append("the shift must start before it ends (times of day, HH:MM)")
        if self.max_route_min <= 0:
            problems.append("maximum route duration must be positive")
        if not (-90 <= self.depot_lat <= 90 and -180 <= self.depot_lon <= 180):
            problems.append("depot coordinates are not a latitude/longitude")
        if problems:
            raise FleetError("; ".join(problems))

    @property
    def shift_minutes(self) -> int:
        return self.shift_end_min - self.shift_start_min
