"""The web UI: listings, the pictures' order and captions, sign-in links, sessions and upload tokens.

Revision ID: 0006
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "listings",
        sa.Column("tenant_id", sa.String(32), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("custom_order", sa.Boolean(), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_listings"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_listings_tenant_id_tenants"),
    )
    op.create_table(
        "listing_pictures",
        sa.Column("image_id", sa.String(32), nullable=False),
        sa.Column("tenant_id", sa.String(32), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("caption", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("image_id", name="pk_listing_pictures"),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name="fk_listing_pictures_image_id_images", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_listing_pictures_tenant_id_tenants"),
    )
    op.create_index("ix_listing_pictures_tenant_id_position", "listing_pictures", ["tenant_id", "position"])
    op.create_table(
        "access_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("tenant_id", sa.String(32), nullable=True),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("expires_us", sa.BigInteger(), nullable=False),
        sa.Column("used_us", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name="pk_access_tokens"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_access_tokens_tenant_id_tenants"),
    )
    op.create_index("ix_access_tokens_expires_us", "access_tokens", ["expires_us"])


def downgrade() -> None:
    op.drop_table("access_tokens")
    op.drop_table("listing_pictures")
    op.drop_table("listings")
