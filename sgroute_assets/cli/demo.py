"""The demo behind `make demo`: drop the shipped stop files in the inbox and run what the sensor asks for.

It goes through the real sensor, partitions, job and resources of `defs`, on the instance in DAGSTER_HOME,
so what it prints is what the daemon would have produced.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from sgroute_assets.cli.sensor_state import daemon_cursor, store_cursor
from sgroute_assets.domain.routing import RoutePlan, accounting_text, plan_title
from sgroute_assets.domain.stops import ValidationReport
from sgroute_assets.operations import plain_reason
from sgroute_assets.stop_intake.assets import SOURCE_NAME_TAG
from sgroute_resources.stop_file_store import LocalStopFileStore, inbox_copies_complete, repo_root

DEMO_DIR = repo_root() / "data" / "demo"

CLI_LOG_LEVEL_ENV = "SGROUTE_CLI_LOG_LEVEL"  # Dagster's console log in `sgroute plan`/`demo`; default CRITICAL


@dataclass
class PartitionOutcome:
    partition_key: str
    success: bool
    report: ValidationReport | None
    plan: RoutePlan | None
    exports: dict[str, str] | None
    error: str | None


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
) -> list[PartitionOutcome]:
    """Tick stop_file_sensor and run what it requests with route_planning_job, as the daemon would.

    ``partition_keys`` limits the runs (and the partitions added) to those keys: `sgroute plan` plans one file.
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
        outcomes.append(run_partition(defs, instance, request.partition_key or "", request.tags, run_config))
    return outcomes


IN_FLIGHT = (
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
)


def wait_for_partition(instance: dg.DagsterInstance, key: str, poll_s: float = 1.0, say=None) -> None:
    """Wait until no other run of partition ``key`` is queued or running: the CLI's in-process run takes the
    partition as the daemon's queue does (one run per partition, `dagster/partition` in deploy/dagster.yaml),
    and the queue sees the CLI's run in the instance in turn. Bounded by `sgroute plan --timeout`."""
    said = False
    while True:
        runs = instance.get_runs(filters=dg.RunsFilter(statuses=list(IN_FLIGHT), tags={"dagster/partition": key}))
        if not runs:
            return
        if not said:  # on stderr: `sgroute plan --json` keeps stdout for its JSON
            message = f"waiting for run {runs[0].run_id[:8]} of {key} to finish (one run per file at a time)"
            (say or (lambda text: print(text, file=sys.stderr, flush=True)))(message)
            said = True
        time.sleep(poll_s)


def run_partition(
    defs: dg.Definitions, instance: dg.DagsterInstance, key: str, tags: dict[str, str], run_config: dict | None
) -> PartitionOutcome:
    """One run of route_planning_job for a partition, in this process, as the daemon would launch it, once no
    other run of the partition is in flight."""
    wait_for_partition(instance, key)
    job = defs.resolve_job_def("route_planning_job")
    # The summary printed afterwards is the output, a failure's plain reason included; Dagster's step log (a
    # stack trace under every failed step, even a dg.Failure) would bury it. SGROUTE_CLI_LOG_LEVEL=ERROR (or
    # INFO) shows it; the run's whole log is in the instance either way.
    level = os.environ.get(CLI_LOG_LEVEL_ENV, "").strip().upper() or "CRITICAL"
    quiet = {"loggers": {"console": {"config": {"log_level": level}}}}
    run = job.execute_in_process(
        instance=instance,
        partition_key=key,
        run_config={**quiet, **(run_config or {})},
        tags={k: v for k, v in tags.items() if not k.startswith("dagster/")},
        raise_on_error=False,
    )
    return _outcome(key, run)


def _value(run: dg.ExecuteInProcessResult, key: str):
    try:
        return run.asset_value(key)
    except Exception:  # a step that did not run has no value; the run's failure says why
        return None


def _outcome(key: str, run: dg.ExecuteInProcessResult) -> PartitionOutcome:
    error = None
    if not run.success:
        failures = [e for e in run.all_events if e.event_type_value in ("STEP_FAILURE", "ASSET_CHECK_EVALUATION")]
        messages: list[str] = []
        for event in failures:
            if event.event_type_value == "STEP_FAILURE":
                # A dg.Failure's description, without the class path Dagster puts before it.
                messages.append(plain_reason(event.step_failure_data.error, event.message or "")[0])
            else:
                # The event's data is the AssetCheckEvaluation itself.
                evaluation = event.event_specific_data
                if evaluation is not None and not evaluation.passed:
                    messages.append(evaluation.description or f"check {evaluation.check_name} failed")
        # A failed blocking check also fails its step with Dagster's generic error: the check's own reason says it.
        plain = [m for m in messages if m and "blocking asset check" not in m.lower()]
        error = " | ".join(dict.fromkeys(plain or [m for m in messages if m])) or "run failed"
    return PartitionOutcome(
        partition_key=key,
        success=run.success,
        report=_value(run, "validated_stops"),
        plan=_value(run, "route_plan"),
        exports=_value(run, "route_exports"),
        error=error,
    )


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
