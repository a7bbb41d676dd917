"""`sgroute replan FILE --progress PROGRESS [--at HH:MM] [--mode M] [--json]`: re-plan a day on the road.

The progress file is copied beside the stop file in the inbox as ``<stop file>.progress.csv`` (or ``.xlsx``),
and the rest is what the daemon does with it: stop_file_sensor's tick sees the sidecar and asks for a run of the
file's partition, route_planning_job re-plans from the picture over the newest revision
(sgroute_assets/route_planning/replanning.py) and publishes revision N's exports. A stop file that was never
planned is planned first (revision 1), as `sgroute plan` would. The same picture asked for twice makes one
revision: the second call reports it.

``--json`` prints the re-plan's figures first, then the fields of `sgroute plan --json`.
Exit codes as `sgroute plan`: 0 re-planned, 1 the run failed (the reason is printed), 2 a file cannot be read.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from sgroute_assets.cli.plan import plan_summary, watchdog
from sgroute_assets.cli.validate import EXIT_UNREADABLE

REPLAN_KEYS = (
    "partition",
    "revision",
    "as_of",
    "mode",
    "frozen",
    "kept_vehicle",
    "moved",
    "new_served",
    "dropped",
    "changes",
)
MODES = ("resequence", "assign_new", "free")


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "replan",
        help="re-plan a stop file's day from a progress file (done, failed, where the vans are) through the "
        "sensor, partition and job the daemon uses",
    )
    parser.add_argument("file", help="the stop file (planned before, or planned now as revision 1)")
    parser.add_argument("--progress", required=True, help="the progress file: vehicle, stop_ref, status, time ...")
    parser.add_argument("--at", default=None, help="when the picture was taken, HH:MM (if the file gives no as_of)")
    parser.add_argument("--mode", choices=MODES, default=None, help="how stops may move (default assign_new)")
    parser.add_argument("--retry-after", type=int, default=None, help="retry failed visits after this many minutes")
    parser.add_argument("--time-limit", type=float, default=None, help="solver seconds")
    parser.add_argument("--json", action="store_true", help="print the revision's summary as JSON")
    parser.add_argument("--timeout", type=float, default=None, help="as `sgroute plan --timeout`")
    parser.set_defaults(func=cmd_replan)
    return parser


def _run_config(args: argparse.Namespace) -> dict:
    config = {
        key: value
        for key, value in (
            ("replan_mode", args.mode),
            ("replan_at", args.at),
            ("retry_after_min", args.retry_after),
            ("solver_time_limit_s", args.time_limit),
        )
        if value is not None
    }
    return {"ops": {"route_plan": {"config": config}}} if config else {}


def cmd_replan(args: argparse.Namespace) -> int:
    source, progress = Path(args.file), Path(args.progress)
    for path in (source, progress):
        if not path.is_file():
            print(f"{path}: no such file", file=sys.stderr)
            return EXIT_UNREADABLE
    stop_watchdog = watchdog(source.name, args.timeout or 600.0 + 8 * (args.time_limit or 60.0))
    try:
        return _replan(args, source, progress)
    finally:
        stop_watchdog()


def _replan(args: argparse.Namespace, source: Path, progress: Path) -> int:
    from sgroute_assets.cli.home import ensure_dagster_home, upgrade_app_database

    ensure_dagster_home()
    upgrade_app_database()

    import dagster as dg

    from sgroute_assets.cli.demo import describe, run_sensor_and_jobs
    from sgroute_assets.cli.partition_runs import copy_to_inbox, partition_key_for, run_partition
    from sgroute_assets.definitions import defs
    from sgroute_assets.domain.routing import PROGRESS_MARK
    from sgroute_assets.domain.stops import sidecar_names_for
    from sgroute_resources.plan_revisions import latest_revision

    store = defs.resources["stop_file_store"]
    inbox = copy_to_inbox(store, source).parent
    with dg.DagsterInstance.get() as instance:
        key = partition_key_for(defs, instance, source.name)
        with defs.resources["app_db"].session() as session:
            planned = latest_revision(session, key) is not None
        if not planned:  # the morning plan first: a re-plan lays the picture over a revision
            limit = {"solver_time_limit_s": args.time_limit} if args.time_limit is not None else {}
            first = {"ops": {"route_plan": {"config": limit}}} if limit else {}
            outcomes = run_sensor_and_jobs(defs, instance, first, partition_keys={key})
            if not outcomes or not outcomes[0].success:
                print(f"{source.name}: not planned, so not re-planned: see `sgroute plan {source}`", file=sys.stderr)
                return 1 if outcomes else EXIT_UNREADABLE
        suffix = ".xlsx" if progress.suffix.lower() == ".xlsx" else ".csv"
        name = next(n for n in sidecar_names_for(source.name, PROGRESS_MARK) if n.endswith(suffix))
        for other in sidecar_names_for(source.name, PROGRESS_MARK):  # one picture beside the file
            if other != name:
                (inbox / other).unlink(missing_ok=True)
        shutil.copyfile(progress, inbox / name)
        settings = _run_config(args)
        outcomes = run_sensor_and_jobs(defs, instance, settings, partition_keys={key}, reuse_earlier=False)
        if not outcomes:  # the tick took nothing new for this file: run its partition as the sensor would
            tags = {"sgroute/source_name": source.name, "sgroute/progress": name}
            outcomes = [run_partition(defs, instance, key, tags, settings, None, reuse_earlier=False)]
        (outcome,) = outcomes
        if outcome.success and outcome.plan is None:  # the same picture again: the revision it made stands
            outcome.plan = defs.load_asset_value("route_plan", partition_key=key, instance=instance)
    exports_dir = Path(store.exports_dir) / key
    if args.json:
        print(json.dumps(replan_summary(outcome, exports_dir), indent=1))
    else:
        print(describe(outcome))
        if outcome.plan is not None and outcome.plan.replan is not None:
            summary = replan_summary(outcome, exports_dir)
            print(
                f"   revision {summary['revision']} at {summary['as_of']} ({summary['mode']}): "
                f"{summary['frozen']} done, {summary['kept_vehicle']} kept their van, {summary['moved']} moved, "
                f"{summary['new_served']} newly served, {summary['dropped']} dropped; changes in {summary['changes']}"
            )
    if not outcome.success:
        if args.json:
            print(f"{source.name}: not re-planned: {outcome.error or 'the run failed'}", file=sys.stderr)
        return 1
    return 0


def replan_summary(outcome, exports_dir: Path) -> dict:
    """The re-plan's figures, then `sgroute plan --json`'s fields (the partition once, first)."""
    plan = outcome.plan
    replan = plan.replan.summary() if plan is not None and plan.replan is not None else {}
    changes = exports_dir / "changes.csv"
    head = {
        "partition": outcome.partition_key,
        "revision": plan.revision if plan is not None else None,
        "as_of": replan.get("as_of"),
        "mode": replan.get("mode"),
        "frozen": replan.get("frozen", 0),
        "kept_vehicle": replan.get("kept_vehicle", 0),
        "moved": replan.get("moved", 0),
        "new_served": replan.get("new_served", 0),
        "dropped": replan.get("dropped", len(plan.dropped) if plan is not None else 0),
        "changes": str(changes.resolve()) if changes.is_file() else None,
    }
    rest = plan_summary(outcome, exports_dir)
    return {**{k: head[k] for k in REPLAN_KEYS}, **{k: v for k, v in rest.items() if k not in head}}
