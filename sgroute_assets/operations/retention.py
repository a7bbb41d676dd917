"""Nightly retention: the exports and stored asset values of partitions past SGROUTE_RETENTION_DAYS go.

A stop file's partition keeps, in the bucket (or the local folders), its published exports and one pickle per
route asset. Nobody opens a three-month-old driver pack, but storage is paid for by the month, so the
schedule deletes both for partitions whose file arrived and was last processed more than the configured
number of days ago. What stays: the app tables (stop files, stops, plans, failed runs - the history reports
and the travel-time model read), Dagster's run and materialisation history, and quarantined files (they wait
for a person). A partition with a run queued or in flight is left alone. A re-run of a removed partition
works as long as its stop file is still in the inbox: it rebuilds everything.
"""

import datetime as dt
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES, RunsFilter
from sqlalchemy import func, select

from sgroute_assets.route_planning.export_index import refresh_export_index
from sgroute_assets.route_planning.jobs import ROUTE_PLANNING_ASSETS
from sgroute_resources.app_database import AppDatabase
from sgroute_resources.app_tables import StopFile
from sgroute_resources.stop_file_store import StopFileStore

RETENTION_DAYS_ENV = "SGROUTE_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 90.0
LOG_EVENT = "sgroute.retention"


def retention_days(configured: float | None = None) -> float:
    """The run config's value, else SGROUTE_RETENTION_DAYS, else 90; anything below one day is refused."""
    if configured is None:
        raw = os.environ.get(RETENTION_DAYS_ENV, "").strip()
        try:
            configured = float(raw) if raw else DEFAULT_RETENTION_DAYS
        except ValueError:
            raise ValueError(f"{RETENTION_DAYS_ENV}={raw!r} is not a number of days") from None
    if configured < 1:
        raise ValueError(f"retention of {configured:g} days would delete the exports of runs still in use; use >= 1")
    return configured


@dataclass
class RetentionReport:
    max_age_days: float
    cutoff: dt.datetime
    dry_run: bool
    removed: dict[str, list[str]] = field(default_factory=dict)  # partition -> what was (or would be) deleted
    skipped_in_flight: list[str] = field(default_factory=list)
    kept_unsupported: list[str] = field(default_factory=list)

    def log_line(self) -> str:
        return json.dumps(
            {
                "severity": "INFO",
                "event": LOG_EVENT,
                "message": (
                    f"retention ({self.max_age_days:g} days{', dry run' if self.dry_run else ''}): "
                    f"{sum(map(len, self.removed.values()))} objects of {len(self.removed)} partitions "
                    f"{'would be ' if self.dry_run else ''}removed"
                ),
                "max_age_days": self.max_age_days,
                "cutoff": self.cutoff.isoformat(),
                "dry_run": self.dry_run,
                "removed": self.removed,
                "skipped_in_flight": self.skipped_in_flight,
                "kept_unsupported": self.kept_unsupported,
            },
            sort_keys=True,
        )


def expired_partitions(app_db: AppDatabase, cutoff: dt.datetime) -> list[str]:
    """Partitions whose file arrived, and was last processed, before ``cutoff`` (from the app table)."""
    last_touched = func.coalesce(StopFile.processed_at, StopFile.received_at)
    with app_db.session() as session:
        rows = session.execute(select(StopFile.partition_key, StopFile.received_at, last_touched)).all()
    out = []
    for key, received, touched in rows:
        stamps = [_aware(s) for s in (received, touched) if s is not None]
        if stamps and max(stamps) < cutoff:
            out.append(key)
    return sorted(out)


def _aware(stamp: dt.datetime) -> dt.datetime:
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)  # SQLite hands back naive UTC


def stored_values(io_manager: Any, partition_key: str, asset_names: tuple[str, ...]) -> list[tuple[str, Any]] | None:
    """(path, how to delete it) of each route asset's stored value for the partition; None if not a path store.

    Both IO managers in use (the atomic filesystem one, dagster-gcp's pickle one) are UPathIOManagers that keep a
    partition's value at ``<base>/<asset key>/<partition key>``; the same layout they write, read back here.
    """
    inner = getattr(io_manager, "_internal_io_manager", io_manager)  # GCSPickleIOManager wraps its UPath one
    if not isinstance(inner, dg.UPathIOManager):
        return None
    out = []
    for name in asset_names:
        path = inner._with_extension(inner._base_path / name / partition_key)
        if inner.path_exists(path):
            uri = f"gs://{inner.bucket}/{path.as_posix()}" if hasattr(inner, "bucket") else str(path)
            out.append((uri, lambda path=path: inner.unlink(path)))
    return out


def remove_expired(
    *,
    app_db: AppDatabase,
    store: StopFileStore,
    io_manager: Any,
    max_age_days: float,
    in_flight: set[str] = frozenset(),
    now: dt.datetime | None = None,
    dry_run: bool = False,
    asset_names: tuple[str, ...] | None = None,
) -> RetentionReport:
    if asset_names is None:
        asset_names = ROUTE_PLANNING_ASSETS
    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=max_age_days)
    report = RetentionReport(max_age_days=max_age_days, cutoff=cutoff, dry_run=dry_run)
    for key in expired_partitions(app_db, cutoff):
        if key in in_flight:
            report.skipped_in_flight.append(key)
            continue
        objects = store.export_objects(key)
        values = stored_values(io_manager, key, asset_names)
        if values is None:
            report.kept_unsupported.append(key)
            values = []
        objects += values
        if not objects:
            continue  # removed by an earlier night
        for _uri, delete in objects if not dry_run else []:
            delete()
        report.removed[key] = [uri for uri, _ in objects]
    return report


def in_flight_partitions(instance: dg.DagsterInstance) -> set[str]:
    runs = instance.get_runs(filters=RunsFilter(statuses=list(IN_PROGRESS_RUN_STATUSES)))
    return {r.tags["dagster/partition"] for r in runs if "dagster/partition" in r.tags}


class RetentionConfig(dg.Config):
    max_age_days: float | None = None  # unset: SGROUTE_RETENTION_DAYS, else 90
    dry_run: bool = False  # list what would go, delete nothing


# Resources by key (not as arguments): the io_manager is needed as the built IO manager, which only the
# resource-key form hands to an op.
@dg.op(required_resource_keys={"io_manager", "app_db", "stop_file_store"})
def remove_expired_partition_data(context: dg.OpExecutionContext, config: RetentionConfig) -> None:
    report = remove_expired(
        app_db=context.resources.app_db,
        store=context.resources.stop_file_store,
        io_manager=context.resources.io_manager,
        max_age_days=retention_days(config.max_age_days),
        in_flight=in_flight_partitions(context.instance),
        dry_run=config.dry_run,
    )
    line = report.log_line()
    print(line, file=sys.stderr, flush=True)
    context.log.info(line)
    if report.removed and not config.dry_run:
        refresh_export_index(context.resources.stop_file_store)  # the index lists only plans that still exist


@dg.job(
    description="Deletes the exports and stored asset values of partitions older than SGROUTE_RETENTION_DAYS "
    "(default 90); app tables and run history stay.",
    tags={"sgroute/operation": "retention"},
)
def retention_job() -> None:
    remove_expired_partition_data()


retention_schedule = dg.ScheduleDefinition(
    name="retention_schedule",
    job=retention_job,
    cron_schedule="30 3 * * *",  # 03:30 Singapore time: after the night, before the morning's files
    execution_timezone="Asia/Singapore",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
