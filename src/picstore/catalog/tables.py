"""The catalog schema, as SQLAlchemy Core tables. Alembic migrations create exactly this.

Times are integer microseconds since the epoch (UTC): portable across SQLite and PostgreSQL, exact for
cursor pagination, and immune to driver timezone handling.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

tenants = Table(
    "tenants",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    # Only a SHA-256 of the key is kept: a leaked catalog does not leak working keys.
    Column("api_key_hash", String(64), nullable=False, unique=True),
    Column("created_us", BigInteger, nullable=False),
)

# One row per stored object. `store` is the URL of the blob store that holds it now: migration flips it
# only after the copy is verified, and URLs are built from it, so a half-done migration still serves.
blobs = Table(
    "blobs",
    metadata,
    Column("key", String(512), primary_key=True),
    Column("store", String(1024), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    # Set when no image uses the blob (its images deleted, or its upload not committed yet); gc deletes
    # it once the grace period has passed and no upload holds it (see catalog/reservations.py).
    Column("orphaned_us", BigInteger, nullable=True),
    # Uploads in flight holding the row, and the end of their lease (NULL when none holds it).
    Column("reservations", Integer, nullable=False, server_default="0"),
    Column("reserved_until_us", BigInteger, nullable=True),
    # gc's scan, oldest orphan first. Partial: a few percent of rows are orphans, so the index stays small.
    Index(
        None,
        "orphaned_us",
        sqlite_where=text("orphaned_us IS NOT NULL"),
        postgresql_where=text("orphaned_us IS NOT NULL"),
    ),
)

images = Table(
    "images",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("tenant_id", String(32), ForeignKey("tenants.id"), nullable=False),
    Column("blob_key", String(512), ForeignKey("blobs.key"), nullable=False),
    Column("format", String(16), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("frames", Integer, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("filename", Text, nullable=True),
    Column("alt", Text, nullable=True),
    Column("idempotency_key", String(200), nullable=True),
    Column("created_us", BigInteger, nullable=False),
    # Listing a tenant's images newest first walks this index.
    Index(None, "tenant_id", "created_us", "id"),
    Index(None, "blob_key"),
    UniqueConstraint("tenant_id", "idempotency_key"),
)

variants = Table(
    "variants",
    metadata,
    Column("image_id", String(32), ForeignKey("images.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("format", String(16), primary_key=True),
    Column("blob_key", String(512), ForeignKey("blobs.key"), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Index(None, "blob_key"),
)

# Direct uploads (POST /v1/uploads): an incoming object waits here, outside every public location, until
# `complete` runs the full ingest on it. Rows outlive their expiry by a grace period so that a retried
# `complete` finds the image it made; then the sweep removes them and any incoming object left behind.
uploads = Table(
    "uploads",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("tenant_id", String(32), ForeignKey("tenants.id"), nullable=False),
    # The blob store (URL) and key of the incoming object: never a location anything serves.
    Column("store", String(1024), nullable=False),
    Column("key", String(512), nullable=False),
    Column("filename", Text, nullable=True),
    Column("content_type", String(100), nullable=False),
    Column("max_bytes", BigInteger, nullable=False),
    # Uploads received by picstore itself carry a form token; only its SHA-256 is kept.
    Column("token_hash", String(64), nullable=True),
    # Set once `complete` has published the image (not a foreign key: the image may be deleted later).
    Column("image_id", String(32), nullable=True),
    Column("created_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=False),
    Index(None, "expires_us"),
)

# Transforms (``/t/`` URLs; their renditions are ``variants`` rows named ``t:<geometry>,<encoder params>``).
# A claim says "this node is rendering this blob key now": one render per key across every node. A claim
# whose node died expires at ``expires_us`` and may then be taken over.
render_claims = Table(
    "render_claims",
    metadata,
    Column("key", String(512), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("expires_us", BigInteger, nullable=False),
)

# Background renders (slow AVIF): any node leases the oldest due job, renders it and deletes the row. A
# lease that runs out (its node died) makes the job due again, so jobs survive restarts.
render_jobs = Table(
    "render_jobs",
    metadata,
    Column("key", String(512), primary_key=True),
    Column("image_id", String(32), ForeignKey("images.id", ondelete="CASCADE"), nullable=False),
    # The canonical transform spec with its concrete format (no expiry): what to render.
    Column("spec", String(200), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("due_us", BigInteger, nullable=False),
    Column("lease_owner", String(64), nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=True),
    Index(None, "due_us"),
)

# --- the web UI (migration 0006) --------------------------------------------------------------------------

# A tenant's public listing page: its description and whether the customer chose an order (else newest
# first). The display name is the tenant's own `name`.
listings = Table(
    "listings",
    metadata,
    Column("tenant_id", String(32), ForeignKey("tenants.id"), primary_key=True),
    Column("description", Text, nullable=True),
    Column("custom_order", Boolean, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

# What a picture shows on the listing beyond the image row: its place in the chosen order and a caption.
# A picture without a row (just uploaded) sorts first, newest first, before the ordered ones.
listing_pictures = Table(
    "listing_pictures",
    metadata,
    Column("image_id", String(32), ForeignKey("images.id", ondelete="CASCADE"), primary_key=True),
    Column("tenant_id", String(32), ForeignKey("tenants.id"), nullable=False),
    Column("position", BigInteger, nullable=True),
    Column("caption", Text, nullable=True),
    Index(None, "tenant_id", "position"),
)

# Secrets the web UI hands out, by kind: one-time sign-in links, browser sessions, short-lived upload
# tokens. Only a SHA-256 of each is kept. `tenant_id` is None for the admin's sessions.
access_tokens = Table(
    "access_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("tenant_id", String(32), ForeignKey("tenants.id"), nullable=True),
    Column("created_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=False),
    # Set when a one-time link is redeemed: the update that sets it is the one that succeeds.
    Column("used_us", BigInteger, nullable=True),
    Index(None, "expires_us"),
)

# The blob store that takes new writes, for every node at once: one row (id 1). Settings only seed it for
# a new catalog; `picstore storage use` and `picstore migrate --to` change it, and each node re-reads it
# within seconds (ImageStore caches it briefly), so a switch needs no restart and a node started with old
# settings does not switch back.
write_target = Table(
    "write_target",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("store", String(1024), nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

# Files brought in by `picstore import`: the old URL path of each (percent-encoded, canonical, so any
# byte sequence a filesystem allows fits) and the image it became, or the code it was refused with.
# A path is recorded once: a second or resumed import skips it. Not a foreign key to images: a deleted
# image's old path answers 404 like any unknown path.
legacy_paths = Table(
    "legacy_paths",
    metadata,
    Column("path", String(2048), primary_key=True),
    Column("tenant_id", String(32), ForeignKey("tenants.id"), nullable=True),
    Column("image_id", String(32), nullable=True),
    Column("code", String(64), nullable=True),
    Column("created_us", BigInteger, nullable=False),
)
