"""`sgroute geocode FILE [--json]`: validate and geocode a stop file before dropping it in the inbox.

It uses the geocoder the assets use in this environment (``geocoder_for``: OneMap with the app-database
cache when configured, file coordinates otherwise) and the overrides file beside FILE, so what it prints is
what the partition will get; answers it fetches are cached and the run after the drop reuses them.

Exit codes: 0 when the file was read (even with invalid rows or stops needing attention), 2 when the file
cannot be read or the app database is not set up.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

from sgroute_assets.cli.validate import EXIT_UNREADABLE, validate_path
from sgroute_assets.domain.stops import (
    INVALID,
    GeocodedStops,
    Stop,
    StopOverrides,
    ValidationReport,
    apply_overrides,
    mark_manual,
    overrides_names_for,
    parse_overrides,
)


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``geocode`` subcommand to the ``sgroute`` parser."""
    parser = subparsers.add_parser(
        "geocode", help="validate and geocode a stop file with the configured geocoder (OneMap when set up)"
    )
    parser.add_argument("file")
    parser.add_argument("--json", action="store_true", help="machine-readable report")
    parser.add_argument(
        "--overrides", default=None, help="overrides file (default: FILE's <name>.overrides.csv/.xlsx beside it)"
    )
    parser.set_defaults(func=cmd_geocode)
    return parser


def _read_overrides(path: Path, explicit: str | None) -> StopOverrides:
    candidates = [Path(explicit)] if explicit else [path.with_name(n) for n in overrides_names_for(path.name)]
    for candidate in candidates:
        if candidate.is_file():
            return parse_overrides(candidate.name, candidate.read_bytes())
    if explicit:
        return StopOverrides(file=explicit, issues=[f"{explicit}: no such file"])
    return StopOverrides()


def configured_geocode(stops: list[Stop]) -> GeocodedStops:
    """Geocode with this environment's geocoder resource, initialised as Dagster would (EnvVars resolved)."""
    import dagster as dg

    from sgroute_resources.app_database import AppDatabase, database_url_for
    from sgroute_resources.environment import current_env
    from sgroute_resources.onemap_geocoder import OneMapGeocoder, geocoder_for

    env = current_env()
    url = database_url_for(env)
    geocoder = geocoder_for(env, AppDatabase(url=url))
    if isinstance(geocoder, OneMapGeocoder) and env == "local":
        from sgroute_resources import migrations

        migrations.upgrade(url)  # the embedded default's SQLite cache, by migration like everywhere
    with dg.build_resources({"geocoder": geocoder}) as built:
        return built.geocoder.geocode(stops)


def report_json(report: ValidationReport, result: GeocodedStops, overrides: StopOverrides) -> dict[str, Any]:
    by_ref = {r.stop.stop_ref: r for r in result.results}
    rows: list[dict[str, Any]] = []
    for row in report.rows:
        if row.valid and row.stop is not None and row.stop.stop_ref in by_ref:
            r = by_ref[row.stop.stop_ref]
            rows.append(
                {
                    "stop_ref": r.stop.stop_ref,
                    "row": row.row,
                    "lat": r.stop.lat,
                    "lon": r.stop.lon,
                    "address": r.stop.address,
                    "postal_code": r.stop.postal_code,
                    "source": r.source,
                    "confidence": r.confidence,
                    "status": r.status,
                    "reason": r.reason,
                    "candidates": list(r.candidates) if r.status != "ok" else [],
                }
            )
        else:
            rows.append(
                {
                    "stop_ref": row.stop_ref,
                    "row": row.row,
                    "lat": None,
                    "lon": None,
                    "address": None,
                    "postal_code": None,
                    "source": None,
                    "confidence": None,
                    "status": INVALID,
                    "reason": "; ".join(f"{e.column or 'row'}: {e.message}" for e in row.errors),
                    "candidates": [],
                }
            )
    return {
        "file": report.file,
        "stops": rows,
        "file_errors": [i.message for i in report.file_errors],
        "overrides": {"file": overrides.file, "applied": len(overrides), "issues": overrides.issues},
        "service_error": result.service_error,
        "calls": result.stats,
    }


def _print_table(out: dict[str, Any]) -> None:
    counts: dict[str, int] = {}
    for s in out["stops"]:
        counts[s["status"]] = counts.get(s["status"], 0) + 1
    print(f"{out['file']}: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    if out["service_error"]:
        print(f"  geocoding service failed: {out['service_error']}")
    for issue in out["overrides"]["issues"]:
        print(f"  override not applied: {issue}")
    header = f"{'row':>5}  {'stop_ref':<16} {'status':<16} {'source':<7} {'conf':>5}  {'lat,lon':<20} reason"
    print(header)
    print("-" * len(header))
    for s in out["stops"]:
        where = f"{s['lat']:.5f},{s['lon']:.5f}" if s["lat"] is not None else ""
        conf = f"{s['confidence']:.2f}" if s["confidence"] is not None else ""
        print(
            f"{s['row']:>5}  {(s['stop_ref'] or '')[:16]:<16} {s['status']:<16} {s['source'] or '':<7} {conf:>5}  "
            f"{where:<20} {s['reason'] or ''}"
        )


def cmd_geocode(args: argparse.Namespace) -> int:
    from sgroute_resources.app_database import DatabaseConfigError

    path = Path(args.file)
    report = validate_path(path)
    if report is None:
        return EXIT_UNREADABLE
    overrides = _read_overrides(path, args.overrides)
    stops, overridden = apply_overrides(report.valid_stops, overrides)
    try:
        result = mark_manual(configured_geocode(stops), overridden)
    except DatabaseConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_UNREADABLE
    out = report_json(report, result, overrides)
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        _print_table(out)
    return 0


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore", module=r"dagster(\..*)?")
    warnings.filterwarnings("ignore", message=r".*(beta|preview).*", category=Warning)
    parser = argparse.ArgumentParser(prog="sgroute", description="Singapore delivery route planning")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
