"""Transforms: render claims and background render jobs.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "render_claims",
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("expires_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_render_claims"),
    )
    op.create_table(
        "render_jobs",
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("image_id", sa.String(32), nullable=False),
        sa.Column("spec", sa.String(200), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("due_us", sa.BigInteger(), nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_render_jobs"),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name="fk_render_jobs_image_id_images", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_render_jobs_due_us", "render_jobs", ["due_us"])


def downgrade() -> None:
    op.drop_table("render_jobs")
    op.drop_table("render_claims")
