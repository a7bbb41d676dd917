"""The app's tables (SQLAlchemy 2 models). Alembic migrations in ``migrations/`` create them; nothing else does.

Natural keys carry unique constraints so that re-runs replace rather than duplicate: a partition owns its
stop file row, and everything hanging off it is deleted and re-inserted in one transaction. Cache keys are
unique so concurrent runs cannot store the same answer twice.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict: JSON, list: JSON}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class StopFile(Base):
    """One row per partition: where its file came from and how far it got."""

    __tablename__ = "stop_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partition_key: Mapped[str] = mapped_column(String(200), unique=True)
    file_name: Mapped[str] = mapped_column(Text)
    source_uri: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    generation: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), default="received")
    valid_count: Mapped[int | None] = mapped_column(Integer)
    invalid_count: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    processed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    stops: Mapped[list[StopRecord]] = relationship(back_populates="stop_file", cascade="all, delete-orphan")
    issues: Mapped[list[ValidationIssue]] = relationship(cascade="all, delete-orphan")


class StopFileKey(Base):
    """Which partition key each stop file name was given, once and for good.

    Keys are cleaned names, and cleaning is lossy (``week 1.csv`` and ``week_1.csv``); the second name to arrive
    gets a hashed key. Stored so a re-upload of a name keeps its key, and so a run finds the file behind a key
    without guessing from names. Never deleted: a quarantined name that is fixed and dropped again plans into
    the same partition.
    """

    __tablename__ = "stop_file_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_name: Mapped[str] = mapped_column(Text, unique=True)
    partition_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StopRecord(Base):
    __tablename__ = "stops"
    __table_args__ = (UniqueConstraint("stop_file_id", "stop_ref", name="uq_stops_stop_file_id_stop_ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stop_file_id: Mapped[int] = mapped_column(ForeignKey("stop_files.id", ondelete="CASCADE"), index=True)
    stop_ref: Mapped[str] = mapped_column(Text)
    row_number: Mapped[int] = mapped_column(Integer)
    address: Mapped[str | None] = mapped_column(Text)
    postal_code: Mapped[str | None] = mapped_column(String(6))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    demand: Mapped[int] = mapped_column(Integer, default=0)
    service_time_min: Mapped[int] = mapped_column(Integer, default=0)
    tw_start_min: Mapped[int | None] = mapped_column(Integer)
    tw_end_min: Mapped[int | None] = mapped_column(Integer)
    phone: Mapped[str | None] = mapped_column(Text)
    contact_name: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    geocode_status: Mapped[str | None] = mapped_column(String(32))
    geocode_source: Mapped[str | None] = mapped_column(String(32))
    geocode_confidence: Mapped[float | None] = mapped_column(Float)
    geocode_reason: Mapped[str | None] = mapped_column(Text)

    stop_file: Mapped[StopFile] = relationship(back_populates="stops")


class ValidationIssue(Base):
    __tablename__ = "validation_issues"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stop_file_id: Mapped[int] = mapped_column(ForeignKey("stop_files.id", ondelete="CASCADE"), index=True)
    row_number: Mapped[int | None] = mapped_column(Integer)
    column_name: Mapped[str | None] = mapped_column(Text)
    stop_ref: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)


class GeocodeCache(Base):
    """OneMap search answers keyed by the normalised query, so a re-run makes no calls."""

    __tablename__ = "geocode_cache"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    query_key: Mapped[str] = mapped_column(String(300), unique=True)
    status: Mapped[str] = mapped_column(String(32))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(Text)
    postal_code: Mapped[str | None] = mapped_column(String(6))
    confidence: Mapped[float | None] = mapped_column(Float)
    candidates: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OdCache(Base):
    """Road travel times between rounded coordinates (1e-5 degrees, about 1 m) per departure-hour bucket."""

    __tablename__ = "od_cache"
    __table_args__ = (
        UniqueConstraint(
            "origin_lat_e5", "origin_lon_e5", "dest_lat_e5", "dest_lon_e5", "hour_bucket", name="uq_od_cache_od_hour"
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    origin_lat_e5: Mapped[int] = mapped_column(Integer)
    origin_lon_e5: Mapped[int] = mapped_column(Integer)
    dest_lat_e5: Mapped[int] = mapped_column(Integer)
    dest_lon_e5: Mapped[int] = mapped_column(Integer)
    hour_bucket: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[float] = mapped_column(Float)
    distance_m: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # OneMap's route_geometry for the leg (Google encoded polyline, precision 5), so maps can follow the road
    # the time was measured on; None for legs cached before it was kept (migration 0005).
    geometry: Mapped[str | None] = mapped_column(Text, nullable=True)


class RoutePlanRecord(Base):
    __tablename__ = "route_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stop_file_id: Mapped[int] = mapped_column(ForeignKey("stop_files.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(32))
    fleet_config: Mapped[dict] = mapped_column(JSON)
    solver: Mapped[dict] = mapped_column(JSON)
    vehicles_used: Mapped[int] = mapped_column(Integer)
    stops_served: Mapped[int] = mapped_column(Integer)
    stops_dropped: Mapped[int] = mapped_column(Integer)
    total_distance_m: Mapped[float] = mapped_column(Float)
    total_duration_s: Mapped[int] = mapped_column(Integer)
    solve_time_s: Mapped[float] = mapped_column(Float)
    matrix_source: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    routes: Mapped[list[RouteRecord]] = relationship(cascade="all, delete-orphan", order_by="RouteRecord.vehicle")
    dropped: Mapped[list[DroppedStopRecord]] = relationship(cascade="all, delete-orphan")


class RouteRecord(Base):
    __tablename__ = "routes"
    __table_args__ = (UniqueConstraint("plan_id", "vehicle", name="uq_routes_plan_id_vehicle"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("route_plans.id", ondelete="CASCADE"), index=True)
    vehicle: Mapped[int] = mapped_column(Integer)
    start_s: Mapped[int] = mapped_column(Integer)
    end_s: Mapped[int] = mapped_column(Integer)
    distance_m: Mapped[float] = mapped_column(Float)
    load: Mapped[int] = mapped_column(Integer)

    stops: Mapped[list[RouteStopRecord]] = relationship(
        cascade="all, delete-orphan", order_by="RouteStopRecord.sequence"
    )


class RouteStopRecord(Base):
    __tablename__ = "route_stops"
    __table_args__ = (
        UniqueConstraint("route_id", "sequence", name="uq_route_stops_route_id_sequence"),
        UniqueConstraint("plan_id", "stop_ref", name="uq_route_stops_plan_id_stop_ref"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("routes.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("route_plans.id", ondelete="CASCADE"))
    sequence: Mapped[int] = mapped_column(Integer)
    stop_ref: Mapped[str] = mapped_column(Text)
    arrival_s: Mapped[int] = mapped_column(Integer)
    eta_s: Mapped[int] = mapped_column(Integer)
    departure_s: Mapped[int] = mapped_column(Integer)


class DroppedStopRecord(Base):
    __tablename__ = "dropped_stops"
    __table_args__ = (UniqueConstraint("plan_id", "stop_ref", name="uq_dropped_stops_plan_id_stop_ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("route_plans.id", ondelete="CASCADE"), index=True)
    stop_ref: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)


class ObservedTravelTime(Base):
    """Real travel times: OneMap legs the matrix fetched and uploaded trip logs."""

    __tablename__ = "observed_travel_times"
    __table_args__ = (
        UniqueConstraint("source", "source_ref", name="uq_observed_travel_times_source_ref"),
        Index("ix_observed_travel_times_observed_at", "observed_at"),
        # Training and drift read "what arrived since version X was trained", newest first.
        Index("ix_observed_travel_times_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    origin_lat: Mapped[float] = mapped_column(Float)
    origin_lon: Mapped[float] = mapped_column(Float)
    dest_lat: Mapped[float] = mapped_column(Float)
    dest_lon: Mapped[float] = mapped_column(Float)
    duration_s: Mapped[float] = mapped_column(Float)
    distance_m: Mapped[float | None] = mapped_column(Float)
    observed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(String(32))
    source_ref: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TravelTimeModelVersion(Base):
    __tablename__ = "travel_time_model_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    trained_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    n_train: Mapped[int] = mapped_column(Integer)
    cv_mape: Mapped[float | None] = mapped_column(Float)
    artifact_uri: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=False)


class DriftReport(Base):
    __tablename__ = "drift_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_version: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    n_observations: Mapped[int] = mapped_column(Integer)
    mape: Mapped[float | None] = mapped_column(Float)
    median_ratio: Mapped[float | None] = mapped_column(Float)
    psi: Mapped[dict] = mapped_column(JSON, default=dict)
    severity: Mapped[str] = mapped_column(String(16))
    details: Mapped[dict] = mapped_column(JSON, default=dict)  # reasons, thresholds, median APE, baseline MAPE
    retrain_triggered: Mapped[bool] = mapped_column(Boolean, default=False)


class FailedRun(Base):
    """One row per failed Dagster run, written by the run-failure sensor (``sgroute_assets.operations``).

    Kept for good (retention removes a partition's files, never this history): how often a file, a step or a
    reason failed stays answerable from the app database, after the run itself has been purged from Dagster.
    """

    __tablename__ = "failed_runs"
    __table_args__ = (Index("ix_failed_runs_failed_at", "failed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64), unique=True)
    job_name: Mapped[str] = mapped_column(String(255))
    partition_key: Mapped[str | None] = mapped_column(String(200), index=True)
    step_key: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
    error_type: Mapped[str | None] = mapped_column(String(255))
    failed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PlanRevisionRecord(Base):
    """Every plan a partition has had in its day, numbered (issue 18): the morning plan is revision 1, each
    re-plan (progress, urgent stops, a fleet change) one more. Kept for good beside the current plan's rows:
    who carried which stop, where and when in each revision (``snapshot``, domain/routing/revisions.py), what
    a re-plan kept and moved (``summary``) and the stops that changed since the revision before (``changes``).
    Keyed by partition, not by the stop file row, so replacing the current plan never touches the history.
    """

    __tablename__ = "plan_revisions"
    __table_args__ = (UniqueConstraint("partition_key", "revision", name="uq_plan_revisions_partition_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partition_key: Mapped[str] = mapped_column(String(200), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    plan_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    mode: Mapped[str | None] = mapped_column(String(32), nullable=True)
    as_of_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fingerprint: Mapped[str] = mapped_column(String(64), default="")
    snapshot: Mapped[dict] = mapped_column(JSON)
    summary: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    changes: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
