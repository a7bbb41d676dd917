"""A partition's rows in the app tables, written idempotently.

The stops, their geocoding and the plan are written together, in the plan's one transaction
(`replace_plan`), and carry the plan id its exports carry: the tables never hold one run's stops beside
another run's routes. Earlier steps record only what the newest received file is (`record_validation`:
the file row and its validation issues), and nothing at all once a plan requested later is stored. Each
writer replaces what it owns in the caller's single transaction: a second run leaves one set of rows, and a
run that fails part-way rolls back to the previous good set.

Two runs of one partition at once (a re-upload while a run is in flight, a manual re-run) must not interleave
those replacements: each writer first takes the partition's lock for the rest of its transaction, so the
second waits for the first to commit and then replaces its rows, instead of both inserting the partition's
``stop_files`` row and one failing with IntegrityError. On PostgreSQL that is a transaction-scoped advisory
lock keyed by the partition (other partitions never wait); SQLite has one writer at a time, so the lock is
its write lock taken up front rather than at the first INSERT, after a read that the other writer's commit
would have made stale. The wait is bounded by the statement timeout (PostgreSQL) or the busy timeout (SQLite).
"""

import datetime as dt
from dataclasses import asdict

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from sgroute_assets.domain.routing import Fleet, RoutePlan
from sgroute_assets.domain.stops import GeocodedStops, ValidationReport
from sgroute_resources.app_tables import (
    DroppedStopRecord,
    RoutePlanRecord,
    RouteRecord,
    RouteStopRecord,
    StopFile,
    StopRecord,
    ValidationIssue,
)

# First key of the two-key advisory lock: this module's locks never meet another application's.
PARTITION_LOCK_NAMESPACE = 0x5347  # "SG"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def lock_partition(session: Session, partition_key: str) -> None:
    """Hold ``partition_key``'s write lock until the session's transaction ends (re-entrant within it)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:namespace, hashtext(:key))"),
            {"namespace": PARTITION_LOCK_NAMESPACE, "key": partition_key},
        )
    elif dialect == "sqlite":
        # A write that changes nothing still opens the write transaction and takes the database's lock.
        session.execute(text("UPDATE stop_files SET partition_key = partition_key WHERE 0"))


def upsert_stop_file(
    session: Session,
    partition_key: str,
    *,
    file_name: str,
    source_uri: str | None = None,
    content_hash: str | None = None,
    generation: str | None = None,
    status: str | None = None,
) -> StopFile:
    lock_partition(session, partition_key)
    row = session.scalar(select(StopFile).where(StopFile.partition_key == partition_key))
    if row is None:
        row = StopFile(
            partition_key=partition_key, file_name=file_name, status=status or "received", received_at=_now()
        )
        session.add(row)
    row.file_name = file_name
    if source_uri is not None:
        row.source_uri = source_uri
    if content_hash is not None:
        if row.content_hash not in (None, content_hash):
            row.received_at = _now()  # a new version of the file arrived under the same name
        row.content_hash = content_hash
    if generation is not None:
        row.generation = generation
    if status is not None:
        row.status = status
    session.flush()
    return row


def newer_plan(session: Session, stop_file: StopFile | None, requested_at: float | None) -> str | None:
    """The id of the partition's stored plan when it was requested after ``requested_at``, else None.

    Runs are ordered by when they were requested (the run's creation), not by when they finish: two runs of
    one file that overlap (`sgroute plan` beside the daemon, a re-upload) must not leave the older one's rows
    in place because it finished last.
    """
    if stop_file is None or requested_at is None:
        return None
    stored = session.scalar(select(RoutePlanRecord).where(RoutePlanRecord.stop_file_id == stop_file.id))
    stored_at = (stored.solver or {}).get("requested_at") if stored is not None else None
    if stored_at is not None and stored_at > requested_at:
        return str((stored.solver or {}).get("plan_id") or "a newer plan")
    return None


def record_validation(
    session: Session, partition_key: str, report: ValidationReport, requested_at: float | None
) -> StopFile | None:
    """The file row and its validation issues for the newest received version, before any plan exists.

    Stop rows are left to the plan's transaction, so they always belong to the stored plan. Returns None
    (nothing written) when a plan requested later than this run is already stored.
    """
    lock_partition(session, partition_key)
    existing = session.scalar(select(StopFile).where(StopFile.partition_key == partition_key))
    if newer_plan(session, existing, requested_at) is not None:
        return None
    stop_file = _file_row(session, partition_key, report)
    _replace_issues(session, stop_file, report)
    session.flush()
    return stop_file


def replace_validation(session: Session, partition_key: str, report: ValidationReport) -> StopFile:
    """The file row, its issues and its valid stops, replaced as one (within the caller's transaction)."""
    stop_file = _file_row(session, partition_key, report)
    _replace_issues(session, stop_file, report)
    session.execute(delete(StopRecord).where(StopRecord.stop_file_id == stop_file.id))
    session.add_all(
        StopRecord(
            stop_file_id=stop_file.id,
            stop_ref=s.stop_ref,
            row_number=s.row,
            address=s.address,
            postal_code=s.postal_code,
            lat=s.lat,
            lon=s.lon,
            demand=s.demand,
            service_time_min=s.service_time_min,
            tw_start_min=s.tw_start_min,
            tw_end_min=s.tw_end_min,
            phone=s.phone,
            contact_name=s.contact_name,
            extra=dict(s.extra),
        )
        for s in report.valid_stops
    )
    session.flush()
    return stop_file


def _file_row(session: Session, partition_key: str, report: ValidationReport) -> StopFile:
    stop_file = upsert_stop_file(
        session,
        partition_key,
        file_name=report.file,
        source_uri=report.source_uri,
        content_hash=report.content_hash,
        generation=report.generation,
        status="validated" if report.valid_count else "invalid",
    )
    stop_file.valid_count = report.valid_count
    stop_file.invalid_count = report.invalid_count
    stop_file.processed_at = _now()
    return stop_file


def _replace_issues(session: Session, stop_file: StopFile, report: ValidationReport) -> None:
    session.execute(delete(ValidationIssue).where(ValidationIssue.stop_file_id == stop_file.id))
    refs = {r.row: r.stop_ref for r in report.rows}
    session.add_all(
        ValidationIssue(
            stop_file_id=stop_file.id,
            row_number=i.row,
            column_name=i.column,
            stop_ref=refs.get(i.row) if i.row is not None else None,
            message=i.message,
        )
        for i in report.issues
    )


def _record_geocoding(session: Session, stop_file: StopFile, geocoded: GeocodedStops) -> None:
    rows = {r.stop_ref: r for r in session.scalars(select(StopRecord).where(StopRecord.stop_file_id == stop_file.id))}
    for result in geocoded.results:
        row = rows.get(result.stop.stop_ref)
        if row is None:
            raise LookupError(f"stop {result.stop.stop_ref} of {stop_file.partition_key} is not in the validation")
        row.lat, row.lon = result.stop.lat, result.stop.lon
        row.address, row.postal_code = result.stop.address, result.stop.postal_code
        row.geocode_status = result.status
        row.geocode_source = result.source
        row.geocode_confidence = result.confidence
        row.geocode_reason = result.reason
    session.flush()


def replace_plan(
    session: Session, partition_key: str, plan: RoutePlan, report: ValidationReport, geocoded: GeocodedStops
) -> str | None:
    """The partition's stops (as validated and geocoded by this run) and plan rows, replaced by this run's,
    under the partition's lock, in the caller's one transaction, unless a plan requested later is already
    stored: then nothing is written and that plan's id is returned.
    """
    lock_partition(session, partition_key)
    existing = session.scalar(select(StopFile).where(StopFile.partition_key == partition_key))
    newer = newer_plan(session, existing, plan.requested_at)
    if newer is not None:
        return newer
    stop_file = replace_validation(session, partition_key, report)
    _record_geocoding(session, stop_file, geocoded)
    session.execute(delete(RoutePlanRecord).where(RoutePlanRecord.stop_file_id == stop_file.id))
    session.flush()
    record = RoutePlanRecord(
        stop_file_id=stop_file.id,
        status="partial" if plan.dropped else "complete",
        fleet_config=_fleet_dict(plan.fleet),
        solver={
            "status": plan.solver_status,
            "objective": plan.objective,
            "time_limit_s": plan.time_limit_s,
            "plan_id": plan.plan_id,
            "requested_at": plan.requested_at,
        },
        vehicles_used=plan.vehicles_used,
        stops_served=plan.stops_served,
        stops_dropped=len(plan.dropped),
        total_distance_m=plan.total_distance_m,
        total_duration_s=plan.total_duration_s,
        solve_time_s=plan.solve_time_s,
        matrix_source=plan.matrix_source,
    )
    session.add(record)
    session.flush()
    for route in plan.routes:
        route_row = RouteRecord(
            plan_id=record.id,
            vehicle=route.vehicle,
            start_s=route.start_s,
            end_s=route.end_s,
            distance_m=route.distance_m,
            load=route.load,
        )
        session.add(route_row)
        session.flush()
        session.add_all(
            RouteStopRecord(
                route_id=route_row.id,
                plan_id=record.id,
                sequence=v.sequence,
                stop_ref=v.stop.stop_ref,
                arrival_s=v.arrival_s,
                eta_s=v.service_start_s,
                departure_s=v.departure_s,
            )
            for v in route.visits
        )
    session.add_all(
        DroppedStopRecord(plan_id=record.id, stop_ref=d.stop.stop_ref, reason=d.reason, message=d.message)
        for d in plan.dropped
    )
    stop_file.status = "planned"
    session.flush()
    return None


def _fleet_dict(fleet: Fleet) -> dict:
    return asdict(fleet)
