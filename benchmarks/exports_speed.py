"""Export rendering time and memory for large plans, each file timed, against a 500-stop plan in the same run.

Issue 14 measured 357 s in route_exports for 5,000 stops. The plan here is synthetic but realistic: real
Singapore points (shared/data/sg_points.csv, sampled with replacement), 50 routes of 100 stops with windows,
notes and contacts, a few dozen dropped stops; times come from a straight-line schedule, as exports only read
them. Reports seconds per file and peak traced memory; the ratio 5,000 / 500 shows how close to linear it is.
Run: .venv/bin/python benchmarks/exports_speed.py [stops]

Measured 2026-12-01 on the shared 2-core dev machine: 500 stops 3.5 s, 5,000 stops 10.6 s in all (PDF 5.7 s,
HTML map 3.3 s, PNG map 0.6 s, CSVs and GeoJSON 0.2 s, UI metadata 0.7 s), ratio 3.0 for 10x the stops; peak
traced memory of render_exports 29 MiB vs 112 MiB. Before (issue 14): 357 s for 5,000 stops, mostly the PNG
map's label placement (every label against every drawn box) and paragraph layout of every PDF cell.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from sgroute_assets.domain.exports import (
    driver_csvs,
    driver_pack_pdf,
    dropped_csv,
    planner_csv,
    render_exports,
    route_geojson_bytes,
    route_map_html,
    route_map_png,
    unplanned_csv,
)
from sgroute_assets.domain.routing import Fleet, Route, RoutePlan
from sgroute_assets.domain.routing.plan_types import DroppedStop, Visit
from sgroute_assets.domain.stops import Stop
from sgroute_assets.route_planning.plan_metadata import plan_metadata

SHARED = Path(__file__).resolve().parents[2] / "shared"
STOPS_PER_ROUTE = 100


def synthetic_plan(stops: int, seed: int = 11) -> RoutePlan:
    points = pd.read_csv(SHARED / "data" / "sg_points.csv").sample(stops, replace=True, random_state=seed)
    rng = np.random.default_rng(seed)
    fleet = Fleet(
        depot_lat=1.3354,
        depot_lon=103.8879,
        vehicles=max(1, stops // STOPS_PER_ROUTE),
        capacity=10_000,
        shift_start_min=8 * 60,
        shift_end_min=20 * 60,
        max_route_min=12 * 60,
        depot_name="Tai Seng depot",
    )
    all_stops = [
        Stop(
            stop_ref=f"S{i:05d}", row=i + 2, address=f"{i} Benchmark Road #0{i % 9}-{i % 97:02d}",
            postal_code=f"{(i * 7919) % 1000000:06d}", lat=float(lat), lon=float(lon), demand=int(rng.integers(1, 5)),
            service_time_min=5, tw_start_min=9 * 60 if i % 4 == 0 else None, tw_end_min=17 * 60 if i % 4 == 0 else None,
            phone="+6591234567", contact_name=f"Contact {i}", extra={"notes": "Loading bay B4, call on arrival"},
        )
        for i, (lat, lon) in enumerate(zip(points.lat, points.lon, strict=True))
    ]  # fmt: skip
    dropped_count = max(1, stops // 100)
    served, dropped = all_stops[:-dropped_count], all_stops[-dropped_count:]
    routes = []
    for number, start in enumerate(range(0, len(served), STOPS_PER_ROUTE), start=1):
        t = 8 * 3600
        visits = []
        for seq, stop in enumerate(served[start : start + STOPS_PER_ROUTE], start=1):
            t += 240
            visits.append(Visit(seq, stop, t, t, t + 300, 240, 2000.0))
            t += 300
        routes.append(Route(number, 8 * 3600, t + 600, visits, 600, 3000.0))
    return RoutePlan(
        fleet=fleet, routes=routes, dropped=[DroppedStop(s, "capacity", "every vehicle is full") for s in dropped],
        solver_status="benchmark", objective=0, solve_time_s=0.0, time_limit_s=0.0, matrix_source="benchmark",
        plan_id="bench", plan_date="2026-12-02", file_rows=stops,
    )  # fmt: skip


def measure(stops: int) -> dict[str, float]:
    plan = synthetic_plan(stops)
    map_png = route_map_png(plan)  # render_exports draws it once for the file and the PDF
    parts = {
        "planner.csv": lambda: planner_csv(plan),
        "drivers/*.csv": lambda: driver_csvs(plan),
        "dropped+unplanned csv": lambda: (dropped_csv(plan), unplanned_csv(plan)),
        "routes.geojson": lambda: route_geojson_bytes(plan),
        "route_map.png": lambda: route_map_png(plan),
        "route_map.html": lambda: route_map_html(plan),
        "driver_pack.pdf": lambda: driver_pack_pdf(plan, map_png=map_png),
        "UI metadata (summary + preview map)": lambda: plan_metadata(plan),
    }
    out: dict[str, float] = {}
    started = time.perf_counter()
    for name, fn in parts.items():
        t0 = time.perf_counter()
        fn()
        out[name] = time.perf_counter() - t0
        print(f"  {stops} stops: {name} {out[name]:.2f} s", file=sys.stderr, flush=True)
    out["total"] = time.perf_counter() - started
    # Memory separately: tracemalloc slows Python code several times, so it must not run under the timings.
    tracemalloc.start()
    render_exports(plan)
    out["peak_mib (render_exports)"] = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return out


def main() -> None:
    big = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    reference = measure(500)
    result = measure(big)
    print(f"{'part':<40}{'500 stops':>12}{f'{big} stops':>14}{'ratio':>8}")
    for name in result:
        unit = " MiB" if name.startswith("peak") else " s"
        ratio = result[name] / reference[name] if reference[name] else float("nan")
        print(f"{name:<40}{reference[name]:>10.2f}{unit}{result[name]:>12.2f}{unit}{ratio:>8.1f}")


if __name__ == "__main__":
    main()
