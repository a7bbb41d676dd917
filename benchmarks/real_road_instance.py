"""Write an asymmetric real-road VRPTW instance (VRPLIB EXPLICIT / FULL_MATRIX) for benchmarks/vrptw.py.

Stops are a seeded sample of ``shared/data/sg_points.csv`` (real Singapore addresses); travel times are the
project's shipped travel-time model (``load_default_model().predict_matrix``) for a 10:00 Tuesday departure,
in whole seconds, so the matrix is asymmetric like real roads. Depot: Tai Seng. 5-minute service, demands
1-3, capacity 30; half the stops have a 2-hour window inside the 08:00-18:00 shift (time 0 = 08:00).
Run: .venv/bin/python benchmarks/real_road_instance.py [N] [SEED]  -> benchmarks/instances/sg_real_N.vrp
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from sgroute_assets.domain.travel_times import load_default_model

ROOT = Path(__file__).resolve().parent
POINTS = ROOT.parents[1] / "shared" / "data" / "sg_points.csv"
DEPOT = (1.3354, 103.8879)
HORIZON = 10 * 3600


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    rng = np.random.default_rng(seed)
    points = pd.read_csv(POINTS).sample(n=n, random_state=seed)
    lats = np.r_[DEPOT[0], points["lat"].to_numpy()]
    lons = np.r_[DEPOT[1], points["lon"].to_numpy()]
    duration, _ = load_default_model().predict_matrix(lats, lons, depart_hour=10.0, day_of_week=1)
    matrix = np.rint(duration).astype(int)
    np.fill_diagonal(matrix, 0)
    asym = np.abs(matrix - matrix.T).mean() / matrix[matrix > 0].mean()
    demand = [0, *rng.integers(1, 4, n).tolist()]
    windows = [(0, HORIZON)]
    for _ in range(n):
        if rng.random() < 0.5:
            start = int(rng.integers(0, HORIZON - 2 * 3600) // 900 * 900)
            windows.append((start, start + 2 * 3600))
        else:
            windows.append((0, HORIZON))
    service = [0] + [300] * n
    name = f"sg_real_{n}"
    lines = [
        f"NAME : {name}",
        f"COMMENT : sg_points.csv sample seed {seed}, shipped travel-time model 10:00 Tue, asymmetry {asym:.1%}",
        "TYPE : VRPTW",
        f"DIMENSION : {n + 1}",
        f"VEHICLES : {max(5, n // 8)}",
        "CAPACITY : 30",
        "EDGE_WEIGHT_TYPE : EXPLICIT",
        "EDGE_WEIGHT_FORMAT : FULL_MATRIX",
        "EDGE_WEIGHT_SECTION",
        *(" ".join(map(str, row)) for row in matrix.tolist()),
        "DEMAND_SECTION",
        *(f"{i + 1} {d}" for i, d in enumerate(demand)),
        "SERVICE_TIME_SECTION",
        *(f"{i + 1} {s}" for i, s in enumerate(service)),
        "TIME_WINDOW_SECTION",
        *(f"{i + 1} {a} {b}" for i, (a, b) in enumerate(windows)),
        "DEPOT_SECTION",
        "1",
        "-1",
        "EOF",
    ]
    out = ROOT / "instances" / f"{name}.vrp"
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out} ({n} stops, mean |t_ij - t_ji| / mean t = {asym:.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
