"""The write target (which blob store takes new writes) and the old paths of imported files.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "write_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store", sa.String(1024), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_write_target"),
    )
    op.create_table(
        "legacy_paths",
        sa.Column("path", sa.String(2048), nullable=False),
        sa.Column("tenant_id", sa.String(32), nullable=True),
        sa.Column("image_id", sa.String(32), nullable=True),
        sa.Column("code", sa.String(64), nullable=True),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("path", name="pk_legacy_paths"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_legacy_paths_tenant_id_tenants"),
    )


def downgrade() -> None:
    op.drop_table("legacy_paths")
    op.drop_table("write_target")
