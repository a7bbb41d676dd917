"""Peak memory and time of the travel-time matrix and of route_exports at 1,000 / 3,000 / 5,000 stops.

Issue 14: 50,000 stops made travel_time_matrix ask for 18.6 GiB and 5,000 stops took 3.3 GB; the stop limit
(SGROUTE_MAX_STOPS, default 3,000) is sized from these figures. Each measurement runs in its own process so
its peak resident memory (ru_maxrss above the process's resident size just before the step) is that step's
alone:

- matrix: the real ``travel_time_matrix`` asset body, invoked directly with the local travel times (the
  active travel-time model on a fresh SQLite app database, as ``make dev`` has it without OneMap), plus the
  pickle the IO manager writes;
- exports: ``render_exports`` of the synthetic plan of benchmarks/exports_speed.py (every file of the pack).

A matrix is n x n, so its memory is quadratic by nature; the figure that should stay flat is bytes per cell.
Exports should be linear in stops.
Run: .venv/bin/python benchmarks/memory_scaling.py [sizes...]   (default 1000 3000 5000; ~1 min on 2 cores)

Measured 2026-12-01 on the shared 2-core dev machine (benchmarks/results/memory_scaling.txt):
matrix 1,000 / 3,000 / 5,000 stops: 0.5 / 3.8 / 11.5 s, peak 75 / 321 / 846 MiB (about 36 bytes per cell from
3,000 up: the two float64 matrices kept, 16 B, plus the asset's off-diagonal copy for its median and the
model's temporaries); pickled 15 / 138 / 382 MiB. exports: 3.4 / 8.1 / 13.1 s, peak 66 / 83 / 113 MiB (time
linear, memory sublinear). So the per-file limit of 3,000 stops keeps the matrix near 0.3 GiB; 50,000 stops
would need ~85 GiB at the same bytes per cell.
"""

from __future__ import annotations

import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure_matrix(stops: int) -> dict[str, float]:
    import dagster as dg

    from sgroute_assets.domain.stops import GeocodedStop, GeocodedStops
    from sgroute_assets.route_planning.matrix_asset import travel_time_matrix
    from sgroute_assets.route_planning.planning_config import PlanningDayConfig
    from sgroute_resources import migrations
    from sgroute_resources.app_database import AppDatabase
    from sgroute_resources.onemap_travel_times import travel_times_for

    sys.path.insert(0, str(HERE))
    from exports_speed import synthetic_plan

    folder = tempfile.mkdtemp(prefix="sgroute-mem-")
    url = f"sqlite:///{folder}/app.db"
    migrations.upgrade(url)
    travel_times = travel_times_for("local", AppDatabase(url=url))
    plan = synthetic_plan(stops)
    located = [v.stop for r in plan.routes for v in r.visits] + [d.stop for d in plan.dropped]
    geocoded = GeocodedStops(results=[GeocodedStop(stop=s, status="ok", source="file") for s in located])
    config = PlanningDayConfig(plan_date="2026-12-02")
    before = _rss_mib()
    started = time.perf_counter()
    outputs = list(
        travel_time_matrix(
            context=dg.build_asset_context(), config=config, geocoded_stops=geocoded, travel_times=travel_times
        )
    )
    seconds = time.perf_counter() - started
    matrix = outputs[0].value
    pickled = len(pickle.dumps(matrix, protocol=pickle.HIGHEST_PROTOCOL)) / 2**20
    peak = _peak_mib() - before
    cells = matrix.size**2
    return {
        "seconds": seconds,
        "peak_mib": peak,
        "pickle_mib": pickled,
        "bytes_per_cell": peak * 2**20 / cells,
        "nodes": matrix.size,
    }


def measure_exports(stops: int) -> dict[str, float]:
    sys.path.insert(0, str(HERE))
    from exports_speed import synthetic_plan

    from sgroute_assets.domain.exports import render_exports

    plan = synthetic_plan(stops)
    before = _rss_mib()
    started = time.perf_counter()
    files = render_exports(plan)
    seconds = time.perf_counter() - started
    peak = _peak_mib() - before
    return {
        "seconds": seconds,
        "peak_mib": peak,
        "output_mib": sum(len(b) for b in files.values()) / 2**20,
        "kib_per_stop": peak * 1024 / stops,
    }


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] in ("matrix", "exports"):
        kind, stops = sys.argv[1], int(sys.argv[2])
        result = measure_matrix(stops) if kind == "matrix" else measure_exports(stops)
        print(json.dumps(result))
        return 0
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 3000, 5000]
    for kind in ("matrix", "exports"):
        print(f"\n{kind}")
        header = None
        for stops in sizes:
            out = subprocess.run(
                [sys.executable, __file__, kind, str(stops)], check=True, capture_output=True, text=True
            ).stdout
            result = json.loads(out.strip().splitlines()[-1])
            if header is None:
                header = list(result)
                print(f"{'stops':>6} " + " ".join(f"{h:>15}" for h in header))
            print(f"{stops:>6} " + " ".join(f"{result[h]:>15.2f}" for h in header))
    return 0


if __name__ == "__main__":
    sys.exit(main())
