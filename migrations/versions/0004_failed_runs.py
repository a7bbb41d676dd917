"""failed runs recorded by the run-failure sensor

Revision ID: 0004_failed_runs
Revises: 0003_stop_file_keys
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_failed_runs"
down_revision: str | None = "0003_stop_file_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "failed_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("job_name", sa.String(length=255), nullable=False),
        sa.Column("partition_key", sa.String(length=200), nullable=True),
        sa.Column("step_key", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("error_type", sa.String(length=255), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_failed_runs")),
        sa.UniqueConstraint("run_id", name=op.f("uq_failed_runs_run_id")),
    )
    with op.batch_alter_table("failed_runs", schema=None) as batch_op:
        batch_op.create_index("ix_failed_runs_failed_at", ["failed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_failed_runs_partition_key"), ["partition_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("failed_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_failed_runs_partition_key"))
        batch_op.drop_index("ix_failed_runs_failed_at")
    op.drop_table("failed_runs")
