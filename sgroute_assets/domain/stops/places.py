"""Stops at one place (issue 19): the same postal code and unit, or within 30 m of each other.

Twelve parcels for one HDB block used to pay twelve full service times, although the driver parks once and takes
the lift once. A stop's ``setup_min`` (parking, the lift, the security desk) is therefore paid once per place a
driver arrives at, and each stop's own ``service_time_min`` after it: the routing model adds a stop's setup to
every leg into it from another place (routing/instance.py), so every engine, the schedule and the check count
it alike. Places are groups linked by 30 m steps (an HDB block's units geocode to one point) or by an equal
postal code and unit number.
"""

from __future__ import annotations

import math
import re

from .schema import Stop

SAME_PLACE_M = 30.0
_UNIT = re.compile(r"#\s*(\d{1,3})\s*-\s*(\d{1,5})")
_M_PER_DEG = 111_320.0


def unit_of(address: str | None) -> str | None:
    """The unit number of a Singapore address ("#05-12"), None when it has none."""
    found = _UNIT.search(address or "")
    return f"{int(found.group(1)):02d}-{found.group(2)}" if found else None


def shared_places(stops: list[Stop], within_m: float = SAME_PLACE_M) -> list[int]:
    """A place number per stop (stops at one place share it), in stop order; numbers are 0, 1, 2 ..."""
    parent = list(range(len(stops)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i: int, j: int) -> None:
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)

    by_address: dict[tuple[str, str | None], int] = {}
    for i, s in enumerate(stops):
        if s.postal_code:
            key = (s.postal_code, unit_of(s.address))
            if key in by_address:
                join(i, by_address[key])
            else:
                by_address[key] = i
    # Neighbours within ``within_m``: a grid of that size, each stop against its own and the eight cells around.
    cells: dict[tuple[int, int], list[int]] = {}
    for i, s in enumerate(stops):
        if s.lat is None or s.lon is None:
            continue
        x = s.lon * _M_PER_DEG * math.cos(math.radians(s.lat))
        y = s.lat * _M_PER_DEG
        cell = (int(x // within_m), int(y // within_m))
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for j in cells.get((cell[0] + dx, cell[1] + dy), []):
                    o = stops[j]
                    ox = o.lon * _M_PER_DEG * math.cos(math.radians(o.lat))
                    if math.hypot(ox - x, o.lat * _M_PER_DEG - y) <= within_m:
                        join(i, j)
        cells.setdefault(cell, []).append(i)
    roots: dict[int, int] = {}
    return [roots.setdefault(find(i), len(roots)) for i in range(len(stops))]
