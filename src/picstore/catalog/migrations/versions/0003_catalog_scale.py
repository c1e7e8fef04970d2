"""Catalog at scale: upload reservations on blob rows, a partial orphan index, no unused store index.

Revision ID: 0003
Revises: 0002

- ``blobs.reservations`` / ``blobs.reserved_until_us``: uploads in flight hold their blob rows, so gc
  cannot take them whatever its grace period (see catalog/reservations.py).
- ``ix_blobs_orphaned_us`` becomes partial (``WHERE orphaned_us IS NOT NULL``): gc's scan reads only
  orphans, and the index no longer has an entry for every blob.
- ``ix_blobs_store`` is dropped: no query filters blobs by store (about 48 MB per million images).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ORPHANS = sa.text("orphaned_us IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("blobs") as batch:
        batch.add_column(sa.Column("reservations", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("reserved_until_us", sa.BigInteger(), nullable=True))
    op.drop_index("ix_blobs_store", table_name="blobs")
    op.drop_index("ix_blobs_orphaned_us", table_name="blobs")
    op.create_index(
        "ix_blobs_orphaned_us", "blobs", ["orphaned_us"], sqlite_where=_ORPHANS, postgresql_where=_ORPHANS
    )


def downgrade() -> None:
    op.drop_index("ix_blobs_orphaned_us", table_name="blobs")
    op.create_index("ix_blobs_orphaned_us", "blobs", ["orphaned_us"])
    op.create_index("ix_blobs_store", "blobs", ["store"])
    with op.batch_alter_table("blobs") as batch:
        batch.drop_column("reserved_until_us")
        batch.drop_column("reservations")
