"""`sgroute validate FILE [--json]`: read and check a stop file, every problem by row and column.

Its own module because `geocode` and the main parser both read files this way (no import circle).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sgroute_assets.domain.stops import StopFileError, ValidationReport, format_clock, validate_file

EXIT_UNREADABLE = 2


def _print_table(report: ValidationReport) -> None:
    print(
        f"{report.file}: {report.valid_count} valid, {report.invalid_count} invalid rows, "
        f"{len(report.warnings)} warnings"
    )
    for issue in report.file_errors:
        print(f"  file: {issue.message}")
    for notice in report.file_warnings:  # a sheet not read, a title row skipped: never silent
        print(f"  file warning: {notice.describe()}")
    header = f"{'row':>5}  {'stop_ref':<16} {'status':<8} {'window':<11} {'postal':<7} details"
    print(header)
    print("-" * len(header))
    for r in report.rows:
        row = f"{r.sheet}!{r.row}" if r.sheet else r.row  # a workbook of several sheets: Excel's Sheet!row
        if r.valid and r.stop is not None:
            s = r.stop
            window = (
                f"{format_clock(s.tw_start_min)}-{format_clock(s.tw_end_min)}" if s.tw_start_min is not None else ""
            )
            where = f"{s.lat:.5f},{s.lon:.5f}" if s.has_coordinates else (s.address or "")
            if r.warnings:
                where += "  WARNING " + "; ".join(f"{w.column or 'row'}: {w.message}" for w in r.warnings)
            status = "warning" if r.warnings else "ok"
            print(f"{row:>5}  {(r.stop_ref or '')[:16]:<16} {status:<8} {window:<11} {s.postal_code or '':<7} {where}")
        else:
            details = "; ".join(f"{e.column or 'row'}: {e.message}" for e in r.errors)
            print(f"{row:>5}  {(r.stop_ref or '')[:16]:<16} {'INVALID':<8} {'':<11} {'':<7} {details}")


def validate_path(path: Path) -> ValidationReport | None:
    """Read and validate a stop file; None, after saying why on stderr, when it cannot be read at all."""
    try:
        return validate_file(path.name, path.read_bytes())
    except OSError as exc:
        print(f"{path}: cannot read the file ({exc.strerror})", file=sys.stderr)
    except StopFileError as exc:
        print(str(exc), file=sys.stderr)
    return None


def cmd_validate(args: argparse.Namespace) -> int:
    report = validate_path(Path(args.file))
    if report is None:
        return EXIT_UNREADABLE
    if args.json:
        print(json.dumps(report.to_json(), indent=1))
    else:
        _print_table(report)
    return 0
