"""A tenant's listing: its pictures in the chosen order with their URLs, captions, settings and usage.

What the dashboard and the public listing page read and change, over an :class:`ImageStore`.
Invariants: every call names its tenant and touches only that tenant's pictures; a page of any size costs
a fixed number of catalog queries (pictures, their variants, one URL lookup, a count).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, replace

from picstore.catalog.listings import Listing, ListingRows, Picture, Usage
from picstore.errors import InvalidRequest, NotFound
from picstore.models import ImageUrls, Tenant
from picstore.store import ImageStore, TenantRef

__all__ = ["Listing", "ListingPage", "Listings", "Picture", "Usage"]

#: Longest display name, description, alt text and caption (characters).
MAX_NAME = 200
MAX_DESCRIPTION = 2000
MAX_ALT = 500
MAX_CAPTION = 1000


@dataclass(frozen=True)
class ListingPage:
    """One page of a tenant's pictures, in listing order, with everything a template needs."""

    tenant: Tenant
    listing: Listing
    pictures: list[tuple[Picture, ImageUrls]]
    page: int
    pages: int
    total: int


def _text(value: str, limit: int, what: str) -> str:
    value = value.strip()
    if len(value) > limit:
        raise InvalidRequest(f"the {what} is {len(value)} characters long; keep it to {limit}")
    if "\x00" in value:
        raise InvalidRequest(f"the {what} contains a NUL character")
    return value


class Listings:
    """Read and change tenants' listings through one :class:`ImageStore`."""

    def __init__(self, store: ImageStore) -> None:
        self.store = store
        self.catalog: ListingRows = store.catalog.listings

    def page(
        self, tenant: TenantRef, page: int = 1, per_page: int = 24, *, variants: Collection[str] | None = None
    ) -> ListingPage:
        """Page ``page`` (from 1) of the tenant's pictures, ``per_page`` at a time.

        ``variants`` keeps only those variants on the page's images (None: all), so a page that shows
        fewer sizes looks up fewer URLs.
        """
        owner = self.store.tenant(tenant)
        if not 1 <= per_page <= 1000:
            raise InvalidRequest("per_page must be between 1 and 1000")
        listing = self.catalog.listing(owner.id)
        total = self.store.catalog.images.count(owner.id)
        pages = max(1, math.ceil(total / per_page))
        if not 1 <= page <= pages:
            raise InvalidRequest(f"page must be between 1 and {pages}")
        found = self.catalog.pictures(
            owner.id, custom_order=listing.custom_order, limit=per_page, offset=(page - 1) * per_page
        )
        if variants is not None:
            keep = set(variants)
            found = [
                replace(
                    p, image=replace(p.image, variants=tuple(v for v in p.image.variants if v.name in keep))
                )
                for p in found
            ]
        urls = self.store.urls(p.image for p in found)
        return ListingPage(
            tenant=owner,
            listing=listing,
            pictures=[(p, urls[p.image.id]) for p in found],
            page=page,
            pages=pages,
            total=total,
        )

    def fingerprint(self, tenant: Tenant) -> tuple[int, int, int, str]:
        """A value that changes whenever the tenant's listing changes through picstore (uploads, deletes,
        order, text, name): what a cache of the rendered page is keyed on (one cheap query)."""
        return self.catalog.fingerprint(tenant.id)

    def usage(self, tenant: TenantRef) -> Usage:
        """How many pictures and bytes (masters and variants) the tenant stores."""
        owner = self.store.tenant(tenant)
        return self.catalog.usage(owner.id).get(owner.id, Usage(0, 0))

    def usage_by_tenant(self) -> list[tuple[Tenant, Usage]]:
        """Every tenant with its usage, by slug."""
        found = self.catalog.usage()
        return [(t, found.get(t.id, Usage(0, 0))) for t in self.store.tenants()]

    def describe(self, tenant: TenantRef, *, name: str, description: str) -> None:
        """Set the listing's display name and description."""
        owner = self.store.tenant(tenant)
        name = _text(name, MAX_NAME, "display name") or owner.slug
        self.catalog.set_listing(
            owner.id, name=name, description=_text(description, MAX_DESCRIPTION, "description")
        )

    def set_text(self, tenant: TenantRef, image_id: str, *, alt: str, caption: str) -> None:
        """Set a picture's alt text and caption."""
        owner = self.store.tenant(tenant)
        self.catalog.set_text(
            owner.id,
            image_id,
            alt=_text(alt, MAX_ALT, "alt text"),
            caption=_text(caption, MAX_CAPTION, "caption"),
        )

    def move(self, tenant: TenantRef, image_id: str, before: str | None) -> None:
        """Place a picture just before another (at the end when ``before`` is None)."""
        if before == image_id:
            return
        self.catalog.move(self.store.tenant(tenant).id, image_id, before)

    def place_after(self, tenant: TenantRef, image_id: str, after: str) -> None:
        """Place a picture just after another."""
        owner = self.store.tenant(tenant)
        order = [i for i in self._order(owner) if i != image_id]
        if after not in order:
            raise NotFound(f"no picture {after!r}")
        following = order.index(after) + 1
        self.catalog.move(owner.id, image_id, order[following] if following < len(order) else None)

    def _order(self, owner: Tenant) -> list[str]:
        return self.catalog.order(owner.id, custom_order=self.catalog.listing(owner.id).custom_order)

    def shift(self, tenant: TenantRef, image_id: str, by: int) -> None:
        """Move a picture ``by`` places earlier (negative) or later (positive): the keyboard's reorder."""
        owner = self.store.tenant(tenant)
        order = self._order(owner)
        if image_id not in order:
            self.catalog.move(owner.id, image_id, None)  # raises NotFound
            return
        rest = [i for i in order if i != image_id]
        target = max(0, min(len(rest), order.index(image_id) + by))
        self.catalog.move(owner.id, image_id, rest[target] if target < len(rest) else None)

    def set_custom_order(self, tenant: TenantRef, custom: bool) -> None:
        """Show the pictures in the chosen order (True) or newest first (False)."""
        self.catalog.set_custom_order(self.store.tenant(tenant).id, custom)
