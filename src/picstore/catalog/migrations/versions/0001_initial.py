"""Initial catalog: tenants, blobs, images, variants.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("api_key_hash", sa.String(64), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tenants"),
        sa.UniqueConstraint("slug", name="uq_tenants_slug"),
        sa.UniqueConstraint("api_key_hash", name="uq_tenants_api_key_hash"),
    )
    op.create_table(
        "blobs",
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("store", sa.String(1024), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("orphaned_us", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_blobs"),
    )
    op.create_index("ix_blobs_orphaned_us", "blobs", ["orphaned_us"])
    op.create_index("ix_blobs_store", "blobs", ["store"])
    op.create_table(
        "images",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("tenant_id", sa.String(32), nullable=False),
        sa.Column("blob_key", sa.String(512), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("filename", sa.Text(), nullable=True),
        sa.Column("alt", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_images"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_images_tenant_id_tenants"),
        sa.ForeignKeyConstraint(["blob_key"], ["blobs.key"], name="fk_images_blob_key_blobs"),
        sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_images_tenant_id_idempotency_key"),
    )
    op.create_index("ix_images_tenant_id_created_us_id", "images", ["tenant_id", "created_us", "id"])
    op.create_index("ix_images_blob_key", "images", ["blob_key"])
    op.create_table(
        "variants",
        sa.Column("image_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("blob_key", sa.String(512), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("image_id", "name", "format", name="pk_variants"),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name="fk_variants_image_id_images", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["blob_key"], ["blobs.key"], name="fk_variants_blob_key_blobs"),
    )
    op.create_index("ix_variants_blob_key", "variants", ["blob_key"])


def downgrade() -> None:
    op.drop_table("variants")
    op.drop_table("images")
    op.drop_table("blobs")
    op.drop_table("tenants")
