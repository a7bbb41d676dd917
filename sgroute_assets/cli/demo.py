"""The demo behind `make demo`: drop the shipped stop files in the inbox and run what the sensor asks for.

It goes through the real sensor, partitions, job and resources of `defs`, on the instance in DAGSTER_HOME,
so what it prints is what the daemon would have produced.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg

from sgroute_assets.cli.partition_runs import PartitionOutcome, run_partition
from sgroute_assets.cli.sensor_state import daemon_cursor, store_cursor
from sgroute_assets.domain.routing import accounting_text, plan_title
from sgroute_assets.stop_intake.assets import SOURCE_NAME_TAG
from sgroute_resources.stop_file_store import LocalStopFileStore, inbox_copies_complete, repo_root

DEMO_DIR = repo_root() / "data" / "demo"


def drop_demo_files(store: LocalStopFileStore, demo_dir: Path = DEMO_DIR) -> list[str]:
    inbox = Path(store.inbox)
    inbox.mkdir(parents=True, exist_ok=True)
    names = []
    for source in sorted(demo_dir.iterdir()):
        if source.suffix.lower() in (".csv", ".xlsx"):
            shutil.copyfile(source, inbox / source.name)
            names.append(source.name)
    return names


def run_sensor_and_jobs(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    run_config: dict | None = None,
    partition_keys: set[str] | None = None,
    reuse_earlier: bool = True,
) -> list[PartitionOutcome]:
    """Tick stop_file_sensor and run what it requests with route_planning_job, as the daemon would.

    ``partition_keys`` limits the runs (and the partitions added) to those keys: `sgroute plan` plans one file.
    A file version a run already planned (the daemon's, racing this tick) is reported, not planned again, unless
    ``reuse_earlier`` is False (`sgroute plan` with its own settings).
    """
    sensor = defs.resolve_sensor_def("stop_file_sensor")
    # The CLI copied its files into the inbox itself, whole, just before: no need to wait for them to settle.
    # It ticks from the daemon's cursor and stores what it handled there (cli/sensor_state.py), so `make dev`
    # does not plan the same files again.
    with (
        inbox_copies_complete(),
        dg.build_sensor_context(
            instance=instance,
            instance_ref=instance.get_ref(),
            cursor=daemon_cursor(instance),
            resources=defs.resources,
            definitions=defs,
        ) as context,
    ):
        result = sensor.evaluate_tick(context)
    planned_names = None
    if partition_keys is not None:
        planned_names = {
            r.tags.get(SOURCE_NAME_TAG, "") for r in result.run_requests or [] if r.partition_key in partition_keys
        }
    store_cursor(instance, result.cursor, only_names=planned_names)
    for request in result.dynamic_partitions_requests or []:
        keys = [k for k in request.partition_keys or [] if partition_keys is None or k in partition_keys]
        if keys:
            instance.add_dynamic_partitions(request.partitions_def_name, keys)
    outcomes = []
    for request in result.run_requests or []:
        if partition_keys is not None and request.partition_key not in partition_keys:
            continue
        outcomes.append(
            run_partition(
                defs, instance, request.partition_key or "", request.tags, run_config, request.run_key, reuse_earlier
            )
        )
    return outcomes


def describe(outcome: PartitionOutcome) -> str:
    lines = [f"== partition {outcome.partition_key}: {'OK' if outcome.success else 'FAILED'}"]
    if outcome.report is not None:
        lines.append(f"   stops: {outcome.report.valid_count} valid, {outcome.report.invalid_count} invalid")
        for issue in outcome.report.issues:
            lines.append(f"     - row {issue.row}, {issue.column}: {issue.message}")
    if outcome.plan is not None:
        t = outcome.plan.totals()
        lines.append(f"   {plan_title(outcome.plan)}: {accounting_text(outcome.plan)}")
        lines.append(
            f"   vehicles used: {t['vehicles_used']}/{t['vehicles_available']}, distance {t['total_distance_km']} km, "
            f"on the road {t['total_duration_min']} min, served {t['stops_served']}, dropped {t['stops_dropped']}"
        )
        for r in outcome.plan.routes:
            refs = " ".join(v.stop.stop_ref for v in r.visits)
            lines.append(f"     {r.vehicle_id}: {len(r.visits)} stops, {r.distance_m / 1000:.1f} km: {refs}")
        for u in outcome.plan.unplanned():
            lines.append(f"     {u.status.replace('_', ' ')} {u.stop_ref or ''} (row {u.row}): {u.reason}: {u.message}")
        for stop in outcome.plan.warned_stops:
            lines.append(f"     warning {stop.stop_ref} (row {stop.row}): {'; '.join(stop.warnings)}")
    if outcome.exports:
        folder = Path(outcome.exports["planner.csv"]).parent
        lines.append(f"   exports: {folder} ({len(outcome.exports)} files)")
    if outcome.error:
        lines.append(f"   error: {outcome.error}")
    return "\n".join(lines)
