"""Every failed run of this code location, in the app table ``failed_runs`` and one JSON log line.

Dagster's own run history is per instance and gets purged; operators want "which files failed last week, at
which step, why" from the app database, and an alert from the log. The sensor runs in the code server (the
daemon asks it on each tick), so the JSON line lands in that pod's log, where Cloud Logging turns it into
fields (``severity``, ``run_id``, ``partition``...) an alerting policy can match on.
"""

import datetime as dt
import json
import sys
from dataclasses import asdict, dataclass

import dagster as dg
from dagster._utils.error import SerializableErrorInfo
from sqlalchemy import select

from sgroute_resources.app_database import AppDatabase
from sgroute_resources.app_tables import FailedRun

LOG_EVENT = "sgroute.run_failed"
MAX_REASON_CHARS = 2000
REASON_TAG = "sgroute/failure"
REASON_TAG_CHARS = 200
# Dagster wraps what a step raised in these; the reason an operator needs is the innermost user error.
WRAPPERS = {"DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError", "DagsterExecutionLoadInputError"}


@dataclass(frozen=True)
class RunFailure:
    run_id: str
    job_name: str
    partition_key: str | None
    step_key: str | None
    reason: str
    error_type: str | None
    failed_at: dt.datetime

    def log_line(self) -> str:
        where = f" at step {self.step_key}" if self.step_key else ""
        of = f" (partition {self.partition_key})" if self.partition_key else ""
        payload = {
            "severity": "ERROR",
            "event": LOG_EVENT,
            "message": f"run {self.run_id} of {self.job_name}{of} failed{where}: {self.reason}",
            **asdict(self),
            "failed_at": self.failed_at.isoformat(),
        }
        return json.dumps(payload, default=str, sort_keys=True)


def _innermost(error: SerializableErrorInfo | None) -> SerializableErrorInfo | None:
    while error is not None and error.cls_name in WRAPPERS and error.cause is not None:
        error = error.cause
    return error


def plain_reason(error: SerializableErrorInfo | None, fallback: str) -> tuple[str, str | None]:
    """The user's exception message without its traceback or class prefix, and the class name."""
    inner = _innermost(error)
    if inner is None:
        return fallback.strip()[:MAX_REASON_CHARS] or "failed (no reason recorded)", None
    message = inner.message.strip()
    for prefix in (f"{inner.cls_name}: ", f"{inner.cls_name}:"):
        head, _, tail = message.partition(prefix)
        if tail and (not head or head.endswith(".")):  # "module.Class: text" or "Class: text"
            message = tail.strip()
            break
    return (message or fallback or inner.cls_name or "failed")[:MAX_REASON_CHARS], inner.cls_name


def describe_failure(context: dg.RunFailureSensorContext) -> RunFailure:
    run = context.dagster_run
    steps = context.get_step_failure_events()
    if steps:
        first = steps[0]
        error = getattr(first.event_specific_data, "error", None)
        # Every refusal is a dg.Failure with its plain sentence (no blocking checks: has_valid_stops is not).
        reason, error_type = plain_reason(error, first.message or "")
        step_key = first.step_key
    else:  # the run failed outside any step: max runtime exceeded, run worker lost, launch failure...
        data = context.failure_event.event_specific_data
        reason, error_type = plain_reason(getattr(data, "error", None), context.failure_event.message or "")
        failure_reason = getattr(data, "failure_reason", None)
        if error_type is None and failure_reason is not None:
            error_type = str(getattr(failure_reason, "value", failure_reason))
        step_key = None
    record = context.instance.get_run_record_by_id(run.run_id)
    ended = record.end_time if record is not None and record.end_time else None
    failed_at = dt.datetime.fromtimestamp(ended, dt.UTC) if ended else dt.datetime.now(dt.UTC)
    return RunFailure(
        run_id=run.run_id,
        job_name=run.job_name,
        partition_key=run.tags.get("dagster/partition"),
        step_key=step_key,
        reason=reason,
        error_type=error_type,
        failed_at=failed_at,
    )


def record_failure(app_db: AppDatabase, failure: RunFailure) -> None:
    """Insert, or overwrite the row of the same run (a tick retried after the database was briefly away)."""
    with app_db.session() as session:
        row = session.scalar(select(FailedRun).where(FailedRun.run_id == failure.run_id))
        if row is None:
            row = FailedRun(run_id=failure.run_id)
            session.add(row)
        for field, value in asdict(failure).items():
            if field != "run_id":
                setattr(row, field, value)


@dg.run_failure_sensor(
    name="record_failed_runs",
    description="Records every failed run (partition, step, plain reason) in the app table failed_runs and logs "
    "one JSON line per failure.",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
def record_failed_runs(context: dg.RunFailureSensorContext, app_db: AppDatabase) -> None:
    failure = describe_failure(context)
    record_failure(app_db, failure)  # first: a database error fails the tick, and the next tick retries this run
    # The Runs list shows tags, not step errors: the plain reason, short, where a dispatcher looks first.
    context.instance.add_run_tags(failure.run_id, {REASON_TAG: failure.reason[:REASON_TAG_CHARS]})
    line = failure.log_line()
    print(line, file=sys.stderr, flush=True)  # the pod's log: one JSON object per line
    context.log.info(line)  # the sensor's tick log in the UI
