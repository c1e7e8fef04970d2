"""The catalog: tenants, images, variants and where each blob lives, in SQLite or PostgreSQL."""

from picstore.catalog.engine import create_catalog_engine, upgrade
from picstore.catalog.repository import Catalog

__all__ = ["Catalog", "create_catalog_engine", "upgrade"]
