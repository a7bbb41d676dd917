"""text columns without a length limit

Revision ID: 0006_unbounded_text
Revises: 0005_od_cache_geometry
Create Date: 2026-12-02

On PostgreSQL a 21-character phone ("9123 4567 (after 6pm)"), a contact name over 255 characters, an invalid
stop_ref over 100 characters or a file name over 512 characters failed the whole file's run at
validated_stops (SQLite never enforced the lengths). What planners type is stored whole: these columns become
TEXT. The downgrade restores the limits and fails if a longer value is stored, rather than cut it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_unbounded_text"
down_revision: str | None = "0005_od_cache_geometry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> column -> the length it had
COLUMNS = {
    "stop_files": {"file_name": 512},
    "stop_file_keys": {"file_name": 1024},
    "stops": {"stop_ref": 100, "phone": 20, "contact_name": 255},
    "validation_issues": {"column_name": 100, "stop_ref": 100},
    "route_stops": {"stop_ref": 100},
    "dropped_stops": {"stop_ref": 100},
}


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column, length in columns.items():
                batch.alter_column(column, type_=sa.Text(), existing_type=sa.String(length))


def downgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column, length in columns.items():
                batch.alter_column(column, type_=sa.String(length), existing_type=sa.Text())
