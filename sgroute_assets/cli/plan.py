"""`sgroute plan FILE [--vehicles N] [--capacity C] [--time-limit S] [--json]`: plan one stop file now.

The file is copied into the inbox and goes through what the daemon runs: stop_file_sensor's tick (which claims
it, or quarantines it), its `stop_files` partition, route_planning_job and the resources of `defs` on the
embedded default (DAGSTER_HOME). Running it again with other settings re-plans that partition; the exports are
replaced as a whole.

Exit codes: 0 planned, 1 the run failed (the reason is printed), 2 the file cannot be read or planned at all.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sgroute_assets.cli.validate import EXIT_UNREADABLE

JSON_KEYS = (
    "partition",
    "plan_date",
    "rows",
    "served",
    "dropped",
    "invalid",
    "not_located",
    "vehicles_used",
    "exports_dir",
    "exports",
)
# After the keys above (which stay as they are): what the ETAs rest on and the road-time verification's figures
# (null when none ran: no OneMap configured, the embedded default).
VERIFICATION_KEYS = ("eta_source", "verification")
# After those: the plan's id, as every export prints it (null when no plan was made).
PLAN_KEYS = ("plan_id",)


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "plan", help="plan one stop file through the sensor, partition and job the daemon uses, and print the plan"
    )
    parser.add_argument("file")
    parser.add_argument("--vehicles", type=int, default=None, help="vehicles available (default SGROUTE_VEHICLES)")
    parser.add_argument("--capacity", type=int, default=None, help="capacity per vehicle")
    parser.add_argument("--time-limit", type=float, default=None, help="solver seconds")
    parser.add_argument("--json", action="store_true", help="print the plan's summary as JSON")
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="stop with exit code 124 when no result after this many seconds (default: 600 + 4 x the solver's "
        "limit); bounds a database or OneMap that stops answering",
    )
    parser.set_defaults(func=cmd_plan)
    return parser


def _run_config(args: argparse.Namespace) -> dict:
    fleet = {
        key: value
        for key, value in (
            ("vehicles", args.vehicles),
            ("capacity", args.capacity),
            ("solver_time_limit_s", args.time_limit),
        )
        if value is not None
    }
    return {"ops": {"route_plan": {"config": fleet}}} if fleet else {}


def cmd_plan(args: argparse.Namespace) -> int:
    source = Path(args.file)
    if not source.is_file():
        print(f"{source}: no such file", file=sys.stderr)
        return EXIT_UNREADABLE
    stop_watchdog = watchdog(source.name, args.timeout or 600.0 + 4 * (args.time_limit or 60.0))
    try:
        return _plan(args, source)
    finally:
        stop_watchdog()


def watchdog(name: str, seconds: float):
    """End the process if the plan has not finished in ``seconds``: a frozen database holds a statement past its
    own statement_timeout (the server is what enforces it), and only the daemon's run monitoring would end it."""
    import os
    import threading

    def expire() -> None:
        print(
            f"{name}: no result within {seconds:g} s (--timeout); stopped. The database or OneMap may not be "
            "answering: `sgroute db current` checks the database.",
            file=sys.stderr,
            flush=True,
        )
        os._exit(124)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    return timer.cancel


def _plan(args: argparse.Namespace, source: Path) -> int:
    from sgroute_assets.cli.home import ensure_dagster_home, upgrade_app_database

    ensure_dagster_home()
    upgrade_app_database()

    import dagster as dg

    from sgroute_assets.cli.demo import describe, run_sensor_and_jobs
    from sgroute_assets.cli.partition_runs import copy_to_inbox, partition_key_for, run_partition
    from sgroute_assets.definitions import defs
    from sgroute_assets.stop_intake.assets import SOURCE_NAME_TAG
    from sgroute_assets.stop_intake.claimed_file import VERSION_TAG
    from sgroute_assets.stop_intake.stop_file_sensor import version_run_key

    store = defs.resources["stop_file_store"]
    target = copy_to_inbox(store, source)
    with dg.DagsterInstance.get() as instance:
        key = partition_key_for(defs, instance, source.name)
        settings = _run_config(args)
        outcomes = run_sensor_and_jobs(defs, instance, settings, partition_keys={key}, reuse_earlier=not settings)
        if not outcomes and target.exists() and key in instance.get_dynamic_partitions("stop_files"):
            # The sensor already took this version of the file. With new settings: plan it again, as asked.
            # Without: report the plan of the run that planned this version (the daemon's), if it succeeded.
            stored = store.stat(source.name)
            tags = {SOURCE_NAME_TAG: source.name, "sgroute/source": stored.uri if stored else str(target)}
            run_key = None
            if stored is not None:
                tags[VERSION_TAG] = stored.version
                run_key = version_run_key(key, stored.version)
            outcomes = [run_partition(defs, instance, key, tags, settings, run_key, reuse_earlier=not settings)]
    reports = store.quarantine_reports(source.name)
    unreadable = not target.exists() and reports
    if not outcomes or (unreadable and not outcomes[0].success):
        problem = reports[-1].get("problem") if reports else None
        print(f"{source.name}: not planned: {problem or 'the sensor did not take the file'}", file=sys.stderr)
        return EXIT_UNREADABLE
    (outcome,) = outcomes
    if args.json:
        print(json.dumps(plan_summary(outcome, Path(store.exports_dir) / key), indent=1))
    else:
        print(describe(outcome))
    if not outcome.success:
        if args.json:  # the describe() text above already says it otherwise
            print(f"{source.name}: not planned: {outcome.error or 'the run failed'}", file=sys.stderr)
        return 1
    return 0


def plan_summary(outcome, exports_dir: Path) -> dict:
    plan = outcome.plan
    counts = plan.row_counts() if plan is not None else {}
    report = outcome.report
    files = sorted(p.relative_to(exports_dir).as_posix() for p in exports_dir.rglob("*") if p.is_file())
    summary = {
        "partition": outcome.partition_key,
        "plan_date": plan.plan_date if plan is not None else None,
        "rows": counts.get("rows", len(report.rows) if report is not None else 0),
        "served": counts.get("served", 0),
        "dropped": counts.get("dropped", 0),
        "invalid": counts.get("invalid", report.invalid_count if report is not None else 0),
        "not_located": counts.get("not_located", 0),
        "vehicles_used": plan.vehicles_used if plan is not None else 0,
        "exports_dir": str(exports_dir.resolve()),
        "exports": files if outcome.exports else [],
        "eta_source": plan.eta_source if plan is not None else None,
        "verification": plan.verification.summary() if plan is not None and plan.verification is not None else None,
        "plan_id": plan.plan_id if plan is not None else None,
    }
    return {k: summary[k] for k in (*JSON_KEYS, *VERIFICATION_KEYS, *PLAN_KEYS)}
