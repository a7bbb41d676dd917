"""app tables

Revision ID: 0001_app_tables
Revises:
Create Date: 2026-11-23 19:20:23.959112
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_app_tables"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "drift_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("n_observations", sa.Integer(), nullable=False),
        sa.Column("mape", sa.Float(), nullable=True),
        sa.Column("median_ratio", sa.Float(), nullable=True),
        sa.Column("psi", sa.JSON(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("retrain_triggered", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drift_reports")),
    )
    with op.batch_alter_table("drift_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drift_reports_model_version"), ["model_version"], unique=False)

    op.create_table(
        "geocode_cache",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("query_key", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("postal_code", sa.String(length=6), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_geocode_cache")),
        sa.UniqueConstraint("query_key", name=op.f("uq_geocode_cache_query_key")),
    )
    op.create_table(
        "observed_travel_times",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("origin_lat", sa.Float(), nullable=False),
        sa.Column("origin_lon", sa.Float(), nullable=False),
        sa.Column("dest_lat", sa.Float(), nullable=False),
        sa.Column("dest_lon", sa.Float(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_ref", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observed_travel_times")),
        sa.UniqueConstraint("source", "source_ref", name="uq_observed_travel_times_source_ref"),
    )
    with op.batch_alter_table("observed_travel_times", schema=None) as batch_op:
        batch_op.create_index("ix_observed_travel_times_observed_at", ["observed_at"], unique=False)

    op.create_table(
        "od_cache",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("origin_lat_e5", sa.Integer(), nullable=False),
        sa.Column("origin_lon_e5", sa.Integer(), nullable=False),
        sa.Column("dest_lat_e5", sa.Integer(), nullable=False),
        sa.Column("dest_lon_e5", sa.Integer(), nullable=False),
        sa.Column("hour_bucket", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_od_cache")),
        sa.UniqueConstraint(
            "origin_lat_e5", "origin_lon_e5", "dest_lat_e5", "dest_lon_e5", "hour_bucket", name="uq_od_cache_od_hour"
        ),
    )
    op.create_table(
        "stop_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partition_key", sa.String(length=200), nullable=False),
        sa.Column("file_name", sa.String(length=512), nullable=False),
        sa.Column("source_uri", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("generation", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("valid_count", sa.Integer(), nullable=True),
        sa.Column("invalid_count", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stop_files")),
        sa.UniqueConstraint("partition_key", name=op.f("uq_stop_files_partition_key")),
    )
    op.create_table(
        "travel_time_model_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("n_train", sa.Integer(), nullable=False),
        sa.Column("cv_mape", sa.Float(), nullable=True),
        sa.Column("artifact_uri", sa.Text(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_travel_time_model_versions")),
        sa.UniqueConstraint("version", name=op.f("uq_travel_time_model_versions_version")),
    )
    op.create_table(
        "route_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stop_file_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("fleet_config", sa.JSON(), nullable=False),
        sa.Column("solver", sa.JSON(), nullable=False),
        sa.Column("vehicles_used", sa.Integer(), nullable=False),
        sa.Column("stops_served", sa.Integer(), nullable=False),
        sa.Column("stops_dropped", sa.Integer(), nullable=False),
        sa.Column("total_distance_m", sa.Float(), nullable=False),
        sa.Column("total_duration_s", sa.Integer(), nullable=False),
        sa.Column("solve_time_s", sa.Float(), nullable=False),
        sa.Column("matrix_source", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["stop_file_id"], ["stop_files.id"], name=op.f("fk_route_plans_stop_file_id_stop_files"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_route_plans")),
        sa.UniqueConstraint("stop_file_id", name=op.f("uq_route_plans_stop_file_id")),
    )
    op.create_table(
        "stops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stop_file_id", sa.Integer(), nullable=False),
        sa.Column("stop_ref", sa.String(length=100), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("postal_code", sa.String(length=6), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("demand", sa.Integer(), nullable=False),
        sa.Column("service_time_min", sa.Integer(), nullable=False),
        sa.Column("tw_start_min", sa.Integer(), nullable=True),
        sa.Column("tw_end_min", sa.Integer(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("contact_name", sa.String(length=255), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("geocode_status", sa.String(length=32), nullable=True),
        sa.Column("geocode_source", sa.String(length=32), nullable=True),
        sa.Column("geocode_confidence", sa.Float(), nullable=True),
        sa.Column("geocode_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["stop_file_id"], ["stop_files.id"], name=op.f("fk_stops_stop_file_id_stop_files"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stops")),
        sa.UniqueConstraint("stop_file_id", "stop_ref", name="uq_stops_stop_file_id_stop_ref"),
    )
    with op.batch_alter_table("stops", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stops_stop_file_id"), ["stop_file_id"], unique=False)

    op.create_table(
        "validation_issues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stop_file_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=True),
        sa.Column("column_name", sa.String(length=100), nullable=True),
        sa.Column("stop_ref", sa.String(length=100), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["stop_file_id"],
            ["stop_files.id"],
            name=op.f("fk_validation_issues_stop_file_id_stop_files"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_validation_issues")),
    )
    with op.batch_alter_table("validation_issues", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_validation_issues_stop_file_id"), ["stop_file_id"], unique=False)

    op.create_table(
        "dropped_stops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("stop_ref", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["route_plans.id"], name=op.f("fk_dropped_stops_plan_id_route_plans"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dropped_stops")),
        sa.UniqueConstraint("plan_id", "stop_ref", name="uq_dropped_stops_plan_id_stop_ref"),
    )
    with op.batch_alter_table("dropped_stops", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dropped_stops_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "routes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("vehicle", sa.Integer(), nullable=False),
        sa.Column("start_s", sa.Integer(), nullable=False),
        sa.Column("end_s", sa.Integer(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("load", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["route_plans.id"], name=op.f("fk_routes_plan_id_route_plans"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routes")),
        sa.UniqueConstraint("plan_id", "vehicle", name="uq_routes_plan_id_vehicle"),
    )
    with op.batch_alter_table("routes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_routes_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "route_stops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("route_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("stop_ref", sa.String(length=100), nullable=False),
        sa.Column("arrival_s", sa.Integer(), nullable=False),
        sa.Column("eta_s", sa.Integer(), nullable=False),
        sa.Column("departure_s", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["route_plans.id"], name=op.f("fk_route_stops_plan_id_route_plans"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["route_id"], ["routes.id"], name=op.f("fk_route_stops_route_id_routes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_route_stops")),
        sa.UniqueConstraint("plan_id", "stop_ref", name="uq_route_stops_plan_id_stop_ref"),
        sa.UniqueConstraint("route_id", "sequence", name="uq_route_stops_route_id_sequence"),
    )
    with op.batch_alter_table("route_stops", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_route_stops_route_id"), ["route_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("route_stops", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_route_stops_route_id"))

    op.drop_table("route_stops")
    with op.batch_alter_table("routes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routes_plan_id"))

    op.drop_table("routes")
    with op.batch_alter_table("dropped_stops", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dropped_stops_plan_id"))

    op.drop_table("dropped_stops")
    with op.batch_alter_table("validation_issues", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_validation_issues_stop_file_id"))

    op.drop_table("validation_issues")
    with op.batch_alter_table("stops", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stops_stop_file_id"))

    op.drop_table("stops")
    op.drop_table("route_plans")
    op.drop_table("travel_time_model_versions")
    op.drop_table("stop_files")
    op.drop_table("od_cache")
    with op.batch_alter_table("observed_travel_times", schema=None) as batch_op:
        batch_op.drop_index("ix_observed_travel_times_observed_at")

    op.drop_table("observed_travel_times")
    op.drop_table("geocode_cache")
    with op.batch_alter_table("drift_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drift_reports_model_version"))

    op.drop_table("drift_reports")
