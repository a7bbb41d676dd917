"""`sgroute eta ...`: evaluate and train the travel-time model from CSV files, outside Dagster.

* ``sgroute eta evaluate --train TRAIN.csv --test TEST.csv [--json]`` fits on TRAIN with the shipped
  training code (from scratch: the shipped default is *not* used as a prior, because it has seen the shared
  file and would leak test rows) and prints the error on TEST.
* ``sgroute eta train --data FILE --out MODEL.json`` fits a model (with its 5-fold CV) and writes the
  parameters-only JSON: this is how ``sgroute_assets/domain/travel_times/models/travel_time_default.json`` is made.

Both files use the trip-log columns (``origin_lat, origin_lon, dest_lat, dest_lon, actual_duration_s`` and
optionally ``route_distance_m, timestamp_iso``; others ignored); bad rows are reported on stderr and left
out, a file that cannot be read exits with code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sgroute_assets.cli.validate import EXIT_UNREADABLE


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eta`` with its subcommands to the ``sgroute`` parser."""
    eta = subparsers.add_parser("eta", help="travel-time model: evaluate on CSV files, train a model file")
    eta_sub = eta.add_subparsers(dest="eta_command", required=True)
    evaluate = eta_sub.add_parser("evaluate", help="fit on TRAIN, report MAPE / median APE / MAE on TEST")
    evaluate.add_argument("--train", required=True, help="CSV of observed legs to fit on")
    evaluate.add_argument("--test", required=True, help="CSV of observed legs to measure on")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.set_defaults(func=cmd_evaluate)
    train = eta_sub.add_parser("train", help="fit a model on a CSV (with 5-fold CV) and write its JSON")
    train.add_argument("--data", required=True, help="CSV of observed legs")
    train.add_argument("--out", required=True, help="where to write the model JSON")
    train.add_argument("--version", default=None, help="version label (default: derived from the fit)")
    train.add_argument("--folds", type=int, default=5)
    train.add_argument("--json", action="store_true", help="print the summary as JSON")
    train.set_defaults(func=cmd_train)


def _read(path_text: str):
    """Observations from a CSV, or None after explaining on stderr why the file is unusable."""
    from sgroute_assets.domain.travel_times import parse_trip_log

    path = Path(path_text)
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"{path}: cannot read the file ({exc.strerror})", file=sys.stderr)
        return None
    report = parse_trip_log(path.name, data)
    for issue in report.file_errors:
        print(issue.describe(), file=sys.stderr)
    if not report.readable:
        return None
    if report.issues:
        print(f"{path}: {report.invalid_count} invalid rows left out:", file=sys.stderr)
        for issue in report.issues[:20]:
            print(f"  {issue.describe()}", file=sys.stderr)
        if len(report.issues) > 20:
            print(f"  ... and {len(report.issues) - 20} more problems", file=sys.stderr)
    if report.valid_count == 0:
        print(f"{path}: no valid rows", file=sys.stderr)
        return None
    return report.to_observations()


def cmd_evaluate(args: argparse.Namespace) -> int:
    from sgroute_assets.domain.travel_times import baseline_predictions, error_summary, fit_model

    train = _read(args.train)
    test = _read(args.test)
    if train is None or test is None:
        return EXIT_UNREADABLE
    if len(train) < 10:
        print(f"{args.train}: {len(train)} valid rows; at least 10 are needed to fit", file=sys.stderr)
        return EXIT_UNREADABLE
    model = fit_model(train, cv_folds=None)
    predicted, _ = model.predict_pairs(
        test.origin_lat, test.origin_lon, test.dest_lat, test.dest_lon, test.depart_hour, test.day_of_week
    )
    summary = error_summary(test.duration_s, predicted)
    out = {
        "n_train": len(train),
        "n_test": len(test),
        "mape": summary["mape"],
        "median_ape": summary["median_ape"],
        "mae_s": summary["mae_s"],
    }
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"fitted on {out['n_train']} legs, measured on {out['n_test']} legs")
    rows = [("model", summary)] + [
        (kind, error_summary(test.duration_s, baseline_predictions(test, kind)))
        for kind in ("haversine_9ms", "haversine_x1.2_8.33ms")
    ]
    for label, s in rows:
        print(f"  {label:<24} MAPE {s['mape']:6.2f} %  median APE {s['median_ape']:6.2f} %  MAE {s['mae_s']:7.1f} s")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from sgroute_assets.domain.travel_times import fit_model

    data = _read(args.data)
    if data is None:
        return EXIT_UNREADABLE
    model = fit_model(
        data,
        cv_folds=args.folds,
        version=args.version,
        notes={"trained_from": Path(args.data).name, "sources": {"csv": len(data)}},
    )
    path = model.save(args.out)
    summary = {"version": model.version, "n_train": model.n_train, "cv": model.cv, "out": str(path)}
    if args.json:
        print(json.dumps(summary))
    else:
        cv = model.cv
        print(
            f"{model.version}: {model.n_train} legs, {cv.get('folds')}-fold CV MAPE {cv.get('mape')} % "
            f"(median APE {cv.get('median_ape')} %), written to {path} ({path.stat().st_size} bytes)"
        )
    return 0
