"""road geometry of each cached OneMap leg

Revision ID: 0005_od_cache_geometry
Revises: 0004_failed_runs
Create Date: 2026-12-01

OneMap's drive route answer carries the road polyline with the time; keeping it beside the cached leg lets the
maps of a verified plan follow the roads without asking OneMap again. Legs cached before stay without one
(NULL): the plan's maps draw those as straight segments, marked.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_od_cache_geometry"
down_revision: str | None = "0004_failed_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("od_cache") as batch:
        batch.add_column(sa.Column("geometry", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("od_cache") as batch:
        batch.drop_column("geometry")
