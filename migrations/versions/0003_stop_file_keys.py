"""stop file name -> partition key mapping

Revision ID: 0003_stop_file_keys
Revises: 0002_drift_details
Create Date: 2026-11-24

Existing partitions keep their keys: every stop_files row whose name and key are not shared with another row
becomes a mapping (a key two names already collided on goes to the name that wrote it last).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_stop_file_keys"
down_revision: str | None = "0002_drift_details"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "stop_file_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=1024), nullable=False),
        sa.Column("partition_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stop_file_keys")),
        sa.UniqueConstraint("file_name", name=op.f("uq_stop_file_keys_file_name")),
        sa.UniqueConstraint("partition_key", name=op.f("uq_stop_file_keys_partition_key")),
    )
    stop_files = sa.table(
        "stop_files",
        sa.column("id", sa.Integer()),
        sa.column("partition_key", sa.String()),
        sa.column("file_name", sa.String()),
        sa.column("received_at", sa.DateTime(timezone=True)),
    )
    rows = op.get_bind().execute(
        sa.select(stop_files.c.partition_key, stop_files.c.file_name, stop_files.c.received_at).order_by(
            stop_files.c.id
        )
    )
    rows = rows.fetchall()
    names: set[str] = set()
    mapping = []
    for key, name, received_at in reversed(rows):  # last written first
        if name in names or not name:
            continue
        names.add(name)
        mapping.append({"file_name": name, "partition_key": key, "created_at": received_at})
    if mapping:
        op.bulk_insert(table, mapping)


def downgrade() -> None:
    op.drop_table("stop_file_keys")
