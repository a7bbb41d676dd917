"""Geocoding outcomes: which stops have trustworthy coordinates, and why the others do not.

A stop is never given invented coordinates: without a geocoder, a stop the file did not locate is
reported as needing attention and left out of the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .schema import Stop

OK = "ok"
NEEDS_ATTENTION = "needs_attention"
INVALID = "invalid"  # only in the CLI's report: the row failed validation and was never located


@dataclass(frozen=True)
class GeocodedStop:
    stop: Stop
    status: str
    source: str  # file | onemap | cache | manual | none
    confidence: float | None = None
    reason: str | None = None
    # What the geocoder weighed (address, postal, lat, lon, score per place), so a planner can pin the right one.
    candidates: tuple[dict[str, Any], ...] = ()


@dataclass
class GeocodedStops:
    results: list[GeocodedStop] = field(default_factory=list)
    # Set when the geocoding service could not be reached (after retries): those stops need attention
    # for that reason, and the asset's check flags it instead of the run quietly losing stops.
    service_error: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def located(self) -> list[Stop]:
        return [r.stop for r in self.results if r.status == OK]

    @property
    def needs_attention(self) -> list[GeocodedStop]:
        return [r for r in self.results if r.status != OK]

    def sources(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.results:
            counts[r.source] = counts.get(r.source, 0) + 1
        return counts


def from_file_coordinates(stops: list[Stop], fallback_reason: str) -> GeocodedStops:
    """Use the coordinates the planner gave; anything else waits for a real geocoder."""
    out = []
    for stop in stops:
        if stop.has_coordinates:
            out.append(GeocodedStop(stop=stop, status=OK, source="file", confidence=1.0))
        else:
            out.append(GeocodedStop(stop=replace(stop), status=NEEDS_ATTENTION, source="none", reason=fallback_reason))
    return GeocodedStops(results=out)
