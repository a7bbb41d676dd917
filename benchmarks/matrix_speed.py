"""Travel-matrix build time and memory for real Singapore points, against a per-pair loop in the same process.

The per-pair loop is how the system this replaces built its matrix (one estimate per OD pair); it is
timed on a 150 x 150 subset and scaled per cell.
Run: .venv/bin/python benchmarks/matrix_speed.py
"""

from __future__ import annotations

import functools
import math
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from sgroute_assets.domain.travel_times import estimate_matrix
from sgroute_assets.domain.travel_times.features import EARTH_RADIUS_M
from sgroute_assets.domain.travel_times.matrix import DURATION_EXPONENT, DURATION_LOG_INTERCEPT

SHARED = Path(__file__).resolve().parents[2] / "shared"


def per_pair(lats: list[float], lons: list[float]) -> list[list[float]]:
    out = []
    for la1, lo1 in zip(lats, lons, strict=True):
        row = []
        for la2, lo2 in zip(lats, lons, strict=True):
            p1, p2 = math.radians(la1), math.radians(la2)
            h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lo2 - lo1) / 2) ** 2
            d = 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))
            row.append(math.exp(DURATION_LOG_INTERCEPT) * d**DURATION_EXPONENT if d > 0 else 0.0)
        out.append(row)
    return out


def main() -> int:
    pts = pd.read_csv(SHARED / "data" / "sg_points.csv")
    print(f"{'n':>6} {'vectorised s':>13} {'per-pair s (scaled)':>20} {'speed-up':>9} {'peak MiB':>9}")
    for n in (100, 500, 1000, 2000):
        sample = pts.sample(n, random_state=n, replace=n > len(pts))
        lats, lons = sample.lat.to_numpy(), sample.lon.to_numpy()
        ids = [str(i) for i in range(n)]
        estimate_matrix(ids, lats, lons)  # warm-up
        best = min(_timed(functools.partial(estimate_matrix, ids, lats, lons)) for _ in range(3))
        tracemalloc.start()
        estimate_matrix(ids, lats, lons)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        m = min(n, 150)
        ref = _timed(functools.partial(per_pair, list(lats[:m]), list(lons[:m]))) * (n * n) / (m * m)
        print(f"{n:>6} {best:>13.4f} {ref:>20.3f} {ref / best:>8.0f}x {peak:>9.1f}")
    full = estimate_matrix([str(i) for i in range(1000)], pts.lat[:1000].to_numpy(), pts.lon[:1000].to_numpy())
    assert np.isfinite(full.duration_s).all()
    return 0


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
