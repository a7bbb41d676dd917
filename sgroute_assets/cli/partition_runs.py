"""How the CLI runs one partition so that it and the daemon of `make dev` share one queue and one claim.

- One run per partition at a time: the CLI waits while another run of the file is queued or running, as the
  daemon's queue does (`dagster/partition` limit in deploy/dagster.yaml), and its own run is in the instance
  for the queue to see in turn.
- One plan per file version: a run the sensor asks for has a run key (partition and file version). The CLI's
  run carries it with the sensor's name, exactly as the daemon tags the runs it launches, so the daemon skips a
  version the CLI planned (Dagster's run-key check); and the CLI does not plan again a version a run with that
  key already planned, it reports that run's plan. Asking for other settings (`--vehicles`...) is a deliberate
  re-plan and always runs.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster import DagsterEventType

from sgroute_assets.domain.routing import RoutePlan
from sgroute_assets.domain.stops import ValidationReport
from sgroute_assets.operations import plain_reason

CLI_LOG_LEVEL_ENV = "SGROUTE_CLI_LOG_LEVEL"  # Dagster's console log in `sgroute plan`/`demo`; default CRITICAL
RUN_KEY_TAG = "dagster/run_key"  # what the daemon's sensor loop tags its runs with, and checks before launching
SENSOR_NAME_TAG = "dagster/sensor_name"
SENSOR = "stop_file_sensor"
IN_FLIGHT = (
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
)


@dataclass
class PartitionOutcome:
    partition_key: str
    success: bool
    report: ValidationReport | None
    plan: RoutePlan | None
    exports: dict[str, str] | None
    error: str | None
    run_id: str = ""
    reused: bool = False  # True: an earlier run (the daemon's) had planned this file version; nothing re-ran


def copy_to_inbox(store, source: Path) -> Path:
    """``source`` copied whole into the store's inbox (unless it is that file already): how `sgroute plan` and
    `sgroute replan` hand a file to the sensor. Returns where it is now."""
    inbox = Path(store.inbox)
    inbox.mkdir(parents=True, exist_ok=True)
    target = inbox / source.name
    if source.resolve() != target.resolve():
        shutil.copyfile(source, target)
    return target


def partition_key_for(defs: dg.Definitions, instance: dg.DagsterInstance, name: str) -> str:
    """The key the sensor will use for file ``name``: the stored one for this name, or a new one no other file
    holds."""
    from sgroute_resources.partition_key_map import assign_keys

    with defs.resources["app_db"].session() as session:
        return assign_keys(session, [name], instance.get_dynamic_partitions("stop_files"))[name]


def wait_for_partition(instance: dg.DagsterInstance, key: str, poll_s: float = 1.0, say=None) -> None:
    """Wait until no other run of partition ``key`` is queued or running. Bounded by `sgroute plan --timeout`."""
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


def planned_by(instance: dg.DagsterInstance, run_key: str) -> dg.DagsterRun | None:
    """The newest successful run of stop_file_sensor's ``run_key`` (this file version), whoever launched it."""
    runs = instance.get_runs(
        filters=dg.RunsFilter(
            tags={RUN_KEY_TAG: run_key, SENSOR_NAME_TAG: SENSOR}, statuses=[dg.DagsterRunStatus.SUCCESS]
        ),
        limit=1,
    )
    return runs[0] if runs else None


def run_partition(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    key: str,
    tags: dict[str, str],
    run_config: dict | None,
    run_key: str | None = None,
    reuse_earlier: bool = True,
) -> PartitionOutcome:
    """One run of route_planning_job for a partition, in this process, as the daemon would launch it, once no
    other run of the partition is in flight. With ``run_key`` (the file version the sensor asked for), the run
    claims that version for the daemon too, and none starts when a run already planned it (unless
    ``reuse_earlier`` is False: new settings asked for a re-plan)."""
    wait_for_partition(instance, key)
    claim: dict[str, str] = {}
    if run_key is not None:
        earlier = planned_by(instance, run_key) if reuse_earlier else None
        if earlier is not None:
            return stored_outcome(defs, instance, key, earlier)
        claim = {RUN_KEY_TAG: run_key, SENSOR_NAME_TAG: SENSOR}
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
        tags={**{k: v for k, v in tags.items() if not k.startswith("dagster/")}, **claim},
        raise_on_error=False,
    )
    return PartitionOutcome(
        partition_key=key,
        success=run.success,
        report=_value(lambda: run.asset_value("validated_stops")),
        plan=_value(lambda: run.asset_value("route_plan")),
        exports=_value(lambda: run.asset_value("route_exports")),
        error=None if run.success else failure_text(run.all_events),
        run_id=run.run_id,
    )


def stored_outcome(
    defs: dg.Definitions, instance: dg.DagsterInstance, key: str, run: dg.DagsterRun
) -> PartitionOutcome:
    """What an earlier run of the partition produced, read back through the IO manager and its event log."""
    success = run.status == dg.DagsterRunStatus.SUCCESS
    events = [
        r.event_log_entry.dagster_event
        for r in instance.get_records_for_run(
            run.run_id, of_type={DagsterEventType.STEP_FAILURE, DagsterEventType.ASSET_CHECK_EVALUATION}
        ).records
    ]

    def stored(asset: str):
        return _value(lambda: defs.load_asset_value(asset, partition_key=key, instance=instance))

    return PartitionOutcome(
        partition_key=key,
        success=success,
        report=stored("validated_stops"),
        plan=stored("route_plan"),
        exports=stored("route_exports"),
        error=None if success else failure_text([e for e in events if e is not None]),
        run_id=run.run_id,
        reused=True,
    )


def failure_text(events) -> str:
    """The plain reasons of a failed run: each failed step's message without Dagster's class path, and each
    failed check's description (the same sentence twice is said once)."""
    messages: list[str] = []
    for event in events:
        if event.event_type_value == "STEP_FAILURE":
            messages.append(plain_reason(event.step_failure_data.error, event.message or "")[0])
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data  # the AssetCheckEvaluation itself
            if evaluation is not None and not evaluation.passed:
                messages.append(evaluation.description or f"check {evaluation.check_name} failed")
    return " | ".join(dict.fromkeys(m for m in messages if m)) or "run failed"


def _value(read):
    try:
        return read()
    except Exception:  # a step that did not run has no value; the run's failure says why
        return None
