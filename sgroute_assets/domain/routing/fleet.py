"""The fleet a plan is made for: one or more vehicle types sharing a depot (each may start/end elsewhere).

A type with its own start or end point gets a travel-matrix node after the stops (``depot:<type>:start``,
``depot:<type>:end``); node 0 stays the plan's depot and nodes 1..n the stops.

A fleet built with only the scalar fields (``vehicles``, ``capacity``, shift, ...) is one vehicle type, the
environment's default; a fleet file or the Launchpad gives several ``VehicleType``s, and then the scalar
fields summarise them (total vehicles, largest capacity, earliest start, latest end) for reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_TYPE_NAME = "Van"
# Travel-matrix nodes of the vehicle types' own start/end points come after the stops, named like this so
# the matrix, the instance and the plan agree on which is which without a second index.
DEPOT_NODE_PREFIX = "depot:"
# Sane maxima: far above any Singapore depot's fleet, far below what breaks the solver (a fleet file with
# 10,000,000 vehicles ran it out of memory; capacity 1e20 overflowed its integers). A file past them gets a
# row error instead.
MAX_VEHICLES_PER_TYPE = 1_000
MAX_VEHICLES = 2_000
MAX_CAPACITY = 1_000_000
MAX_ROUTE_MIN = 48 * 60
MAX_STOPS_PER_ROUTE = 10_000


@dataclass(frozen=True)
class DepotPoint:
    """Where a route starts or ends: the plan's depot or a vehicle type's own point."""

    name: str
    lat: float
    lon: float


class FleetError(ValueError):
    """Fleet settings that cannot describe a real shift (planner input, reported as is)."""


@dataclass(frozen=True)
class VehicleBreak:
    """A driver's break: it starts between ``earliest_min`` and ``latest_min`` (minutes of the day)."""

    earliest_min: int
    latest_min: int
    minutes: int


@dataclass(frozen=True)
class VehicleType:
    name: str
    count: int
    capacity: int
    shift_start_min: int
    shift_end_min: int
    max_route_min: int
    fixed_cost_min: float = 0.0  # what using one more vehicle is worth, in minutes of paid time
    start_lat: float | None = None  # None: the plan's depot
    start_lon: float | None = None
    end_lat: float | None = None
    end_lon: float | None = None
    break_: VehicleBreak | None = None
    max_stops: int | None = None  # most stops one route of this type serves (None: no limit)
    # What one vehicle carries in kilograms and litres (None: not limited in that unit); capacity is parcels.
    capacity_weight_kg: float | None = None
    capacity_volume_l: float | None = None
    # The shift may run over by up to this much, each hour over costing overtime_cost_per_hour minutes of paid
    # time (30: time and a half); overtime is route time beyond max_route_min or the shift's length.
    max_overtime_min: int = 0
    overtime_cost_per_hour: float = 0.0
    skills: tuple[str, ...] = ()  # what its vehicles have ("chiller", "tailgate"): stops that require one need it

    def problems(self) -> list[str]:
        out = []
        if not self.name.strip():
            out.append("a vehicle type needs a name")
        if self.count < 1:
            out.append(f"{self.name}: count must be at least 1")
        elif self.count > MAX_VEHICLES_PER_TYPE:
            out.append(f"{self.name}: count {self.count:,} is above the maximum of {MAX_VEHICLES_PER_TYPE:,}")
        if self.capacity < 0:
            out.append(f"{self.name}: capacity must not be negative")
        elif self.capacity > MAX_CAPACITY:
            out.append(f"{self.name}: capacity {self.capacity:,} is above the maximum of {MAX_CAPACITY:,}")
        if not 0 <= self.shift_start_min < self.shift_end_min <= 48 * 60:
            out.append(f"{self.name}: the shift must start before it ends (times of day, HH:MM)")
        if not 0 < self.max_route_min <= MAX_ROUTE_MIN:
            out.append(f"{self.name}: maximum route duration must be positive and at most {MAX_ROUTE_MIN} min")
        if self.max_stops is not None and not 1 <= self.max_stops <= MAX_STOPS_PER_ROUTE:
            out.append(f"{self.name}: max_stops must be between 1 and {MAX_STOPS_PER_ROUTE:,}")
        amounts = (("capacity_weight_kg", self.capacity_weight_kg), ("capacity_volume_l", self.capacity_volume_l))
        for label, value in amounts:
            if value is not None and not 0 <= value <= MAX_CAPACITY:
                out.append(f"{self.name}: {label} must not be negative nor above {MAX_CAPACITY:,}")
        if not 0 <= self.max_overtime_min <= MAX_ROUTE_MIN:
            out.append(f"{self.name}: max_overtime_min must be between 0 and {MAX_ROUTE_MIN}")
        if self.overtime_cost_per_hour < 0:
            out.append(f"{self.name}: overtime_cost_per_hour must not be negative")
        if self.fixed_cost_min < 0:
            out.append(f"{self.name}: fixed cost must not be negative")
        for label, lat, lon in (("start", self.start_lat, self.start_lon), ("end", self.end_lat, self.end_lon)):
            if (lat is None) != (lon is None):
                out.append(f"{self.name}: give both {label} latitude and longitude, or neither")
            elif lat is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
                out.append(f"{self.name}: {label} depot coordinates are not a latitude/longitude")
        b = self.break_
        if b is not None:
            if b.minutes <= 0:
                out.append(f"{self.name}: break minutes must be positive")
            if not self.shift_start_min <= b.earliest_min <= b.latest_min <= self.shift_end_min:
                out.append(f"{self.name}: the break must start within the shift, earliest before latest")
        return out

    @property
    def start_node_id(self) -> str | None:
        """The travel-matrix node of this type's own start point, None when it starts at the plan's depot."""
        return None if self.start_lat is None else f"{DEPOT_NODE_PREFIX}{self.name}:start"

    @property
    def end_node_id(self) -> str | None:
        return None if self.end_lat is None else f"{DEPOT_NODE_PREFIX}{self.name}:end"

    def vehicle_names(self) -> list[str]:
        """What drivers and dispatchers call each vehicle of this type."""
        if self.count == 1:
            return [self.name]
        return [f"{self.name} {k}" for k in range(1, self.count + 1)]


@dataclass(frozen=True)
class Fleet:
    depot_lat: float
    depot_lon: float
    vehicles: int = 0
    capacity: int = 0
    shift_start_min: int = 0
    shift_end_min: int = 0
    max_route_min: int = 0
    depot_name: str = "Depot"
    vehicle_fixed_cost_s: int = 0
    types: tuple[VehicleType, ...] = field(default=())

    def __post_init__(self) -> None:
        problems = []
        if not (-90 <= self.depot_lat <= 90 and -180 <= self.depot_lon <= 180):
            problems.append("depot coordinates are not a latitude/longitude")
        if self.types:
            names = [t.name for t in self.types]
            if len(set(names)) != len(names):
                problems.append("vehicle type names must be unique")
            for t in self.types:
                problems += t.problems()
            total = sum(t.count for t in self.types)
            if total > MAX_VEHICLES:
                problems.append(f"{total:,} vehicles in all is above the maximum of {MAX_VEHICLES:,}")
            if not problems:
                # The scalar fields summarise the types for reports and older readers.
                object.__setattr__(self, "vehicles", sum(t.count for t in self.types))
                object.__setattr__(self, "capacity", max(t.capacity for t in self.types))
                object.__setattr__(self, "shift_start_min", min(t.shift_start_min for t in self.types))
                object.__setattr__(self, "shift_end_min", max(t.shift_end_min for t in self.types))
                object.__setattr__(self, "max_route_min", max(t.max_route_min for t in self.types))
        else:
            if not 1 <= self.vehicles <= MAX_VEHICLES:
                problems.append(f"vehicles must be at least 1 and at most {MAX_VEHICLES:,}")
            if not 0 <= self.capacity <= MAX_CAPACITY:
                problems.append(f"capacity must not be negative nor above {MAX_CAPACITY:,}")
            if not 0 <= self.shift_start_min < self.shift_end_min <= 48 * 60:
                problems.append("the shift must start before it ends (times of day, HH:MM)")
            if not 0 < self.max_route_min <= MAX_ROUTE_MIN:
                problems.append(f"maximum route duration must be positive and at most {MAX_ROUTE_MIN} min")
        if problems:
            raise FleetError("; ".join(problems))

    @property
    def vehicle_types(self) -> tuple[VehicleType, ...]:
        if self.types:
            return self.types
        return (
            VehicleType(
                name=DEFAULT_TYPE_NAME,
                count=self.vehicles,
                capacity=self.capacity,
                shift_start_min=self.shift_start_min,
                shift_end_min=self.shift_end_min,
                max_route_min=self.max_route_min,
                fixed_cost_min=self.vehicle_fixed_cost_s / 60,
            ),
        )

    @property
    def depot(self) -> DepotPoint:
        return DepotPoint(self.depot_name, self.depot_lat, self.depot_lon)

    def depot_points(self) -> list[tuple[str, DepotPoint]]:
        """The vehicle types' own start/end points as (matrix node id, point), in fleet order; the main depot
        (node 0) is not among them."""
        out = []
        for t in self.vehicle_types:
            if t.start_lat is not None:
                out.append((t.start_node_id, DepotPoint(f"{t.name} start", t.start_lat, t.start_lon)))
            if t.end_lat is not None:
                out.append((t.end_node_id, DepotPoint(f"{t.name} end", t.end_lat, t.end_lon)))
        return out

    def start_point(self, vehicle_type: str) -> DepotPoint:
        """Where routes of ``vehicle_type`` leave from (the depot unless the type has its own start)."""
        t = next((t for t in self.vehicle_types if t.name == vehicle_type), None)
        if t is None or t.start_lat is None:
            return self.depot
        return DepotPoint(f"{t.name} start", t.start_lat, t.start_lon)

    def end_point(self, vehicle_type: str) -> DepotPoint:
        t = next((t for t in self.vehicle_types if t.name == vehicle_type), None)
        if t is None or t.end_lat is None:
            return self.depot
        return DepotPoint(f"{t.name} end", t.end_lat, t.end_lon)

    def skilled_types(self, requires: tuple[str, ...]) -> frozenset[int]:
        """The vehicle types (indices) with every skill in ``requires``."""
        need = set(requires)
        return frozenset(k for k, t in enumerate(self.vehicle_types) if need <= set(t.skills))

    def skills(self) -> set[str]:
        return {s for t in self.vehicle_types for s in t.skills}

    @property
    def shift_minutes(self) -> int:
        return self.shift_end_min - self.shift_start_min
