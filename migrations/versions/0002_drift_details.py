"""drift report details and observation arrival index

Revision ID: 0002_drift_details
Revises: 0001_app_tables
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_drift_details"
down_revision: str | None = "0001_app_tables"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("drift_reports", schema=None) as batch_op:
        # Existing reports get an empty object, so the column can be NOT NULL like the model says.
        batch_op.add_column(sa.Column("details", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
    with op.batch_alter_table("drift_reports", schema=None) as batch_op:
        batch_op.alter_column("details", server_default=None)
    with op.batch_alter_table("observed_travel_times", schema=None) as batch_op:
        batch_op.create_index("ix_observed_travel_times_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("observed_travel_times", schema=None) as batch_op:
        batch_op.drop_index("ix_observed_travel_times_created_at")
    with op.batch_alter_table("drift_reports", schema=None) as batch_op:
        batch_op.drop_column("details")
