"""Where sgroute delivers: Singapore's land area, a real outline rather than a latitude/longitude box.

The old check was a box (SG_LAT_MIN..SG_LON_MAX in schema.py), and Johor Bahru (1.46, 103.76) lies inside it:
a stop there passed validation and a van was sent across the Causeway first. The outline is OpenStreetMap's
land border of Singapore as published by @geo-maps/countries-land-100m (npm, 0.6.0; 17 polygons, 100 m
absolute error; data (c) OpenStreetMap contributors, ODbL), outer rings only, shipped in data/ (7 kB). It
covers Sentosa, Jurong Island, Tuas and Changi's reclaimed land and the checkpoints at Woodlands and Tuas.

A point counts as in Singapore when it is inside the outline or within COAST_TOLERANCE_M of it: the outline's
own 100 m error plus ~200 m for jetties, piers and land reclaimed since the map was made. Johor Bahru City
Square is 1.2 km out; the Johor Strait is over a kilometre wide at the Causeway.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from importlib import resources

import numpy as np
from matplotlib.path import Path as PolygonPath

COAST_TOLERANCE_M = 300.0
_M_PER_DEG_LAT = 111_320.0
_M_PER_DEG_LON = _M_PER_DEG_LAT * math.cos(math.radians(1.35))  # Singapore spans 0.3 degrees of latitude


@lru_cache(maxsize=1)
def _outline() -> tuple[list[PolygonPath], list[np.ndarray]]:
    """The outline's polygons (for containment) and their rings in metres (for distances)."""
    source = resources.files("sgroute_assets.domain.stops") / "data" / "singapore_land.geojson"
    geometry = json.loads(source.read_text(encoding="utf-8"))["features"][0]["geometry"]
    rings = [np.asarray(polygon[0], dtype=float) for polygon in geometry["coordinates"]]
    paths = [PolygonPath(ring) for ring in rings]
    metres = [np.c_[ring[:, 0] * _M_PER_DEG_LON, ring[:, 1] * _M_PER_DEG_LAT] for ring in rings]
    return paths, metres


def distances_outside_m(lats, lons) -> np.ndarray:
    """Metres from each point to Singapore's land outline; 0 inside it. NaN coordinates give NaN."""
    lat = np.atleast_1d(np.asarray(lats, dtype=float))
    lon = np.atleast_1d(np.asarray(lons, dtype=float))
    paths, rings = _outline()
    points = np.c_[lon, lat]
    inside = np.zeros(len(points), dtype=bool)
    for path in paths:
        inside |= path.contains_points(points)
    px, py = (lon * _M_PER_DEG_LON)[:, None], (lat * _M_PER_DEG_LAT)[:, None]
    best = np.full(len(points), np.inf)
    for ring in rings:
        ax, ay, bx, by = ring[:-1, 0], ring[:-1, 1], ring[1:, 0], ring[1:, 1]
        dx, dy = bx - ax, by - ay
        t = np.clip(((px - ax) * dx + (py - ay) * dy) / np.maximum(dx * dx + dy * dy, 1e-9), 0.0, 1.0)
        best = np.minimum(best, np.hypot(px - (ax + t * dx), py - (ay + t * dy)).min(axis=1))
    out = np.where(inside, 0.0, best)
    return np.where(np.isnan(lat) | np.isnan(lon), np.nan, out)


def distance_outside_m(lat: float, lon: float) -> float:
    return float(distances_outside_m([lat], [lon])[0])


def in_service_area(lat: float, lon: float) -> bool:
    """Inside Singapore's land outline, or within COAST_TOLERANCE_M of it."""
    return distance_outside_m(lat, lon) <= COAST_TOLERANCE_M


def outside_message(lat: float, lon: float) -> str | None:
    """Why a point is not in Singapore, for a validation issue; None when it is."""
    distance = distance_outside_m(lat, lon)
    if not distance > COAST_TOLERANCE_M:
        return None
    far = f"{distance / 1000:.1f} km" if distance >= 1000 else f"{distance:.0f} m"
    return f"{lat}, {lon} is outside Singapore (about {far} from the nearest Singapore land)"
