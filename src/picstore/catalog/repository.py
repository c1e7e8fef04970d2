"""The catalog, composed: one small repository per table family, all on one shared transaction helper.

Each repository owns its tables and returns models only; none inherits from another. Where one write
spans two families (an image and its blob rows) the repository composes the other's statement helpers
inside its own transaction (see :mod:`picstore.catalog.images`).
"""

from __future__ import annotations

from sqlalchemy import Engine

from picstore.catalog.access import AccessTokens
from picstore.catalog.blobs import BlobRows
from picstore.catalog.images import Images
from picstore.catalog.legacy import LegacyPaths
from picstore.catalog.listings import ListingRows
from picstore.catalog.renders import Renders
from picstore.catalog.targets import WriteTargets
from picstore.catalog.tenants import Tenants
from picstore.catalog.transactions import Transactions
from picstore.catalog.upload_records import UploadRecords

__all__ = ["Catalog"]


class Catalog:
    """Tenants, images (with variants), blob rows, direct-upload records, transform renditions, listings,
    web UI access tokens, the write target and imported files' old paths in one SQL database.

    >>> catalog = Catalog(engine)                                      # doctest: +SKIP
    >>> catalog.images.page(tenant.id, 50, None)                       # doctest: +SKIP
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.tx = Transactions(engine)
        self.tenants = Tenants(self.tx)
        self.images = Images(self.tx)
        self.blobs = BlobRows(self.tx)
        self.uploads = UploadRecords(self.tx)
        self.renders = Renders(self.tx)
        self.listings = ListingRows(self.tx)
        self.access = AccessTokens(self.tx)
        self.targets = WriteTargets(self.tx)
        self.legacy = LegacyPaths(self.tx)

    def ping(self) -> None:
        """Raise CatalogUnavailable unless the database answers."""
        self.tx.ping()
