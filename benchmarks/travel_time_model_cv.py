"""5-fold cross-validated error of the travel-time model and simple baselines on the shared OneMap file,
and the time of a 1000 x 1000 matrix prediction.

    .venv/bin/python benchmarks/travel_time_model_cv.py [--seeds 42,1,2] [--nodes 1000] [--json]

Every fold refits the whole training procedure (calibration included) from scratch on 4/5 of the rows and
predicts the held-out 1/5: no test row reaches the model, and the shipped default (fitted on the whole file)
is not used. The log-log fit is cross-validated the same way; the two fixed-speed baselines need no fit.
Several shuffles are reported so that no number rests on one lucky split.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sgroute_assets.domain.travel_times import (  # noqa: E402
    Observations,
    baseline_predictions,
    error_summary,
    load_default_model,
)
from sgroute_assets.domain.travel_times.baselines import loglog_cv  # noqa: E402
from sgroute_assets.domain.travel_times.drift import percentage_errors  # noqa: E402
from sgroute_assets.domain.travel_times.fitting import cross_validate  # noqa: E402

SHARED = Path(os.environ.get("SGROUTE_SHARED", REPO.parent / "shared"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="42,1,2", help="comma-separated CV shuffle seeds")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--nodes", type=int, default=1000, help="matrix size for the timing")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    obs = Observations.from_frame(pd.read_csv(SHARED / "data" / "onemap_drive_times.csv"))

    results: dict[str, list[dict]] = {"model": [], "loglog": []}
    started = time.perf_counter()
    out_of_fold = []
    for seed in seeds:
        cv = cross_validate(obs, folds=args.folds, seed=seed)
        out_of_fold.append(cv.predicted)
        results["model"].append(cv.summary())
        results["loglog"].append(loglog_cv(obs, folds=args.folds, seed=seed).summary())
    cv_seconds = time.perf_counter() - started
    fixed = {
        kind: error_summary(obs.duration_s, baseline_predictions(obs, kind))
        for kind in ("haversine_9ms", "haversine_x1.2_8.33ms")
    }

    model = load_default_model()
    points = pd.read_csv(SHARED / "data" / "sg_points.csv").sample(args.nodes, random_state=0)
    lats, lons = points.lat.to_numpy(), points.lon.to_numpy()
    model.predict_matrix(lats[:10], lons[:10])  # builds the raster once, as the first real call would
    timings = []
    for _ in range(5):
        t0 = time.perf_counter()
        model.predict_matrix(lats, lons, depart_hour=8.5, day_of_week=1)
        timings.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    model.predict_plan_matrix(lats, lons, shift_start_min=8 * 60, day_of_week=1, vehicles=10)
    plan_seconds = time.perf_counter() - t0

    bands = error_by_band(obs, out_of_fold)
    summary = {
        "rows": len(obs),
        "folds": args.folds,
        "seeds": seeds,
        "model_mape_per_seed": [r["mape"] for r in results["model"]],
        "model_mape_mean": round(float(np.mean([r["mape"] for r in results["model"]])), 3),
        "model_median_ape_mean": round(float(np.mean([r["median_ape"] for r in results["model"]])), 3),
        "model_mae_s_mean": round(float(np.mean([r["mae_s"] for r in results["model"]])), 2),
        "loglog_mape_per_seed": [r["mape"] for r in results["loglog"]],
        "loglog_mape_mean": round(float(np.mean([r["mape"] for r in results["loglog"]])), 3),
        "haversine_9ms": fixed["haversine_9ms"],
        "haversine_x1.2_8.33ms": fixed["haversine_x1.2_8.33ms"],
        "cv_seconds": round(cv_seconds, 2),
        "matrix_nodes": args.nodes,
        "matrix_seconds_best": round(min(timings), 4),
        "matrix_seconds_median": round(float(np.median(timings)), 4),
        "plan_matrix_seconds": round(plan_seconds, 4),
        "default_model": {"version": model.version, "cv": model.cv},
        "model_error_by_band": bands,
    }
    if args.json:
        print(json.dumps(summary, indent=1))
        return 0
    print(f"shared file: {len(obs)} OneMap drive times, {args.folds}-fold CV, shuffles {seeds}")
    print(f"{'predictor':<32}{'MAPE %':>10}{'median APE %':>14}{'MAE s':>9}   per shuffle")
    for name, key in (("travel-time model", "model"), ("log-log fit", "loglog")):
        rows = results[key]
        per_seed = ", ".join(f"{r['mape']:.2f}" for r in rows)
        print(
            f"{name:<32}{np.mean([r['mape'] for r in rows]):>10.2f}{np.mean([r['median_ape'] for r in rows]):>14.2f}"
            f"{np.mean([r['mae_s'] for r in rows]):>9.1f}   {per_seed}"
        )
    for kind, s in fixed.items():
        print(f"{kind + ' (no fit)':<32}{s['mape']:>10.2f}{s['median_ape']:>14.2f}{s['mae_s']:>9.1f}")
    print("where the model's error is (out-of-fold, all shuffles):")
    for band in bands["bands"]:
        print(
            f"  straight line {band['band']:<10} {band['rows']:>5} rows  MAPE {band['mape']:>6.2f} %"
            f"  {band['share_of_mape']:>5.1f} % of the total"
        )
    print(
        f"  worst 5 % of rows: APE >= {bands['worst_5pct_min_ape']:.1f} %, {bands['worst_5pct_share']:.1f} % of the "
        f"total; MAPE without them {bands['mape_without_worst_5pct']:.2f} %"
    )
    print(
        f"matrix {args.nodes}x{args.nodes}: best {min(timings):.3f} s, median {np.median(timings):.3f} s "
        f"(durations + distances); plan matrix with departure buckets {plan_seconds:.3f} s"
    )
    return 0


BANDS_KM = ((1, 2), (2, 4), (4, 8), (8, 15), (15, 60))


def error_by_band(obs: Observations, predictions: list[np.ndarray]) -> dict:
    """Where the MAPE comes from: by straight-line distance and from the worst rows (pooled over shuffles)."""
    ape = percentage_errors(np.tile(obs.duration_s, len(predictions)), np.concatenate(predictions))
    h_km = np.tile(obs.haversine_m, len(predictions)) / 1000.0
    total = float(ape.sum())
    bands = []
    for lo, hi in BANDS_KM:
        inside = (h_km >= lo) & (h_km < hi)
        if inside.any():
            bands.append(
                {
                    "band": f"{lo}-{hi} km",
                    "rows": int(inside.sum() // len(predictions)),
                    "mape": round(float(ape[inside].mean()), 2),
                    "share_of_mape": round(float(ape[inside].sum() / total * 100.0), 1),
                }
            )
    ordered = np.sort(ape)[::-1]
    worst = max(1, int(round(ordered.size * 0.05)))
    return {
        "bands": bands,
        "worst_5pct_min_ape": round(float(ordered[worst - 1]), 1),
        "worst_5pct_share": round(float(ordered[:worst].sum() / total * 100.0), 1),
        "mape_without_worst_5pct": round(float(ordered[worst:].mean()), 2),
    }


if __name__ == "__main__":
    sys.exit(main())
