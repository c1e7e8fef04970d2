"""ImageStore: the one class an application uses. It joins ingest, blob stores, the catalog and URLs.

Write order makes every crash harmless: the blobs are first reserved in the catalog (rows the upload
holds, which ``gc`` never takes, see :mod:`picstore.catalog.reservations`), then written
(content-addressed, create-only, so a retry or a race rewrites nothing), then one catalog transaction
records the image and its variants and marks the rows used. A crash before that transaction leaves
reservations that run out and become orphans, which ``gc`` removes after its grace period; a crash after
it has lost nothing.
"""

from __future__ import annotations

import builtins
import functools
import hashlib
import secrets
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from datetime import UTC, datetime
from typing import Any, BinaryIO, Unpack

from picstore.access import LINK_TTL, UPLOAD_TTL, Access, Ttl
from picstore.admission import IngestGate
from picstore.blobs.base import BlobStore
from picstore.blobs.registry import open_blob_store
from picstore.catalog import Catalog, create_catalog_engine, upgrade
from picstore.catalog.blobs import GC_BATCH
from picstore.catalog.clock import now_us
from picstore.delivery.urls import UrlBuilder
from picstore.errors import InvalidRequest, NotFound
from picstore.formats import content_type_for
from picstore.ingest import IngestOptions, ingest
from picstore.ingest.budget import estimate
from picstore.keys import clean_filename, hash_api_key, is_slug, master_key, new_id, variant_key
from picstore.models import BlobLocation, Image, ImageUrls, Page, Tenant, Variant
from picstore.settings import Settings, load_settings
from picstore.transformer import Transformer, TransformOptions
from picstore.upload_data import Data, read_capped
from picstore.write_target import WriteTarget, check_store
from picstore.writes import reserved, write_blob

TenantRef = str | Tenant
#: ASGI and WSGI applications (what :meth:`ImageStore.asgi_app`/``wsgi_app`` return), without a framework.
ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[..., Awaitable[Any]], Callable[..., Any]], Awaitable[None]
]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ImageStore:
    """Store, describe, serve and delete a tenant's images.

    >>> store = ImageStore(storage="memory://", database="sqlite://")
    >>> tenant, api_key = store.create_tenant("acme")
    >>> image = store.put(open("photo.jpg", "rb"), "acme")            # doctest: +SKIP
    >>> store.url(image.id, "card", "webp")                           # doctest: +SKIP
    """

    def __init__(
        self,
        storage: str | BlobStore | None = None,
        database: str | None = None,
        *,
        settings: Settings | None = None,
        migrate: bool = True,
    ) -> None:
        self.settings = settings if settings is not None else load_settings()
        if isinstance(storage, str) or storage is None:
            default = open_blob_store(storage or self.settings.storage_url, self.settings)
        else:
            default = storage
        self._stores: dict[str, BlobStore] = {default.url: default}
        self.engine = create_catalog_engine(database or self.settings.database_url)
        if migrate:
            upgrade(self.engine)
        self.catalog = Catalog(self.engine)
        # The catalog says where new blobs go; the settings' store only seeds a new catalog.
        self._target = WriteTarget(self.catalog.targets, self.store_for, self.settings.target_ttl)
        self._target.start(default.url)
        self.url_builder = UrlBuilder(self.settings.base_url)
        self.ingest_options = IngestOptions.from_settings(self.settings)
        #: Bounds uploads processed at once, fairly between tenants, with a fast lane for small ones.
        self.ingest_gate = IngestGate(
            self.settings.ingest_slots, per_tenant=self.settings.ingest_slots_per_tenant
        )
        #: Signed transform URLs (``/t/``): signing, checks, renders (see :mod:`picstore.transformer`).
        self.transforms = Transformer(self)
        #: Called with the keys of blobs a delete left unused (the HTTP service drops them from its cache).
        self.orphan_listeners: builtins.list[Callable[[builtins.list[str]], None]] = []

    @property
    def blobs(self) -> BlobStore:
        """The blob store that takes new writes now: the catalog's write target, re-read every few
        seconds (``target_ttl``), so every node follows ``picstore storage use`` without a restart."""
        return self._target.store()

    def use_storage(self, url: str) -> str | None:
        """Send new writes to the store at ``url``, for every node within ``target_ttl`` seconds; returns
        the previous target. The store is checked first: a missing bucket or refused credentials raise
        :class:`~picstore.errors.StorageMisconfigured` and nothing changes."""
        return self._target.switch(url)

    @classmethod
    def from_settings(cls, settings: Settings) -> ImageStore:
        """An ImageStore configured entirely by ``settings``."""
        return cls(settings=settings)

    def close(self) -> None:
        """Release the database pool and blob store clients."""
        for store in self._stores.values():
            store.close()
        self.engine.dispose()

    def __enter__(self) -> ImageStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- tenants -----------------------------------------------------------------------------------

    def create_tenant(self, slug: str, name: str | None = None) -> tuple[Tenant, str]:
        """Create a tenant; returns it and its API key, which is shown only this once."""
        if not is_slug(slug):
            raise InvalidRequest(
                f"invalid tenant slug {slug!r}: use 1-64 lowercase letters, digits, '-' or '_', "
                "starting with a letter or digit"
            )
        api_key = "psk_" + secrets.token_urlsafe(32)
        tenant = self.catalog.tenants.create(new_id(10), slug, name or slug, hash_api_key(api_key))
        return tenant, api_key

    def tenant(self, tenant: TenantRef) -> Tenant:
        """The tenant with this slug (or the tenant itself)."""
        return tenant if isinstance(tenant, Tenant) else self.catalog.tenants.get(tenant)

    def tenants(self) -> list[Tenant]:
        """Every tenant, by slug."""
        return self.catalog.tenants.all()

    def authenticate(self, api_key: str) -> Tenant | None:
        """The tenant this API key belongs to, or None."""
        return self.catalog.tenants.by_key_hash(hash_api_key(api_key)) if api_key else None

    @functools.cached_property
    def access(self) -> Access:
        """Sign-in links, web UI sessions and upload tokens (:mod:`picstore.access`)."""
        return Access(self)

    def signin_link(self, tenant: TenantRef, ttl: Ttl = LINK_TTL) -> str:
        """A URL that signs ``tenant``'s customer in to the web UI once, within ``ttl`` (seconds,
        a timedelta or ``"15m"``). For a host application that has already authenticated its customer."""
        return self.access.signin_link(tenant, ttl)

    def upload_token(self, tenant: TenantRef, ttl: Ttl = UPLOAD_TTL) -> str:
        """A short-lived token that lets a browser upload pictures for ``tenant`` and do nothing else:
        what a host page hands to the embeddable upload widget instead of the API key."""
        return self.access.upload_token(tenant, ttl)

    # --- images ------------------------------------------------------------------------------------

    def put(
        self,
        data: Data,
        tenant: TenantRef,
        filename: str | None = None,
        *,
        alt: str | None = None,
        idempotency_key: str | None = None,
    ) -> Image:
        """Check, clean and store an upload for ``tenant``; returns the stored Image.

        ``data`` is bytes, a binary file object or a path. Refusals raise an
        :class:`~picstore.errors.ImageRejected` subclass with a stable ``code``; nothing is stored then.
        """
        owner = self.tenant(tenant)
        raw = read_capped(data, self.settings.max_bytes)
        with self.ingest_gate.admit(owner.slug, estimate(raw, self.ingest_options)):
            result = ingest(raw, self.ingest_options)
        master = result.master
        renditions = [master, *result.variants]
        digests = [hashlib.sha256(r.data).hexdigest() for r in renditions]
        sha = digests[0]
        keys = [master_key(sha, master.format)]
        keys += [variant_key(sha, r.spec or "", r.format) for r in result.variants]
        target = self.blobs  # once: a switch mid-upload must not split one image across two stores
        planned = [
            BlobLocation(key, target.url, len(r.data), digest, content_type_for(r.format))
            for key, r, digest in zip(keys, renditions, digests, strict=True)
        ]
        # Held before any byte is written: gc cannot take them while this upload runs (see writes.py).
        with reserved(self.catalog.blobs, planned) as reservation:
            locations = [
                write_blob(target, self.catalog.blobs, loc, r.data, keyed_by_bytes=r.variant is None)
                for loc, r in zip(planned, renditions, strict=True)
            ]
            variants = tuple(
                Variant(r.variant or "", r.format, r.width, r.height, loc.size, loc.sha256, loc.key)
                for loc, r in zip(locations[1:], result.variants, strict=True)
            )
            image = Image(
                id=new_id(),
                tenant=owner.slug,
                format=master.format,
                width=master.width,
                height=master.height,
                bytes=len(master.data),
                sha256=sha,
                created_at=datetime.now(UTC),
                key=keys[0],
                frames=master.frames,
                filename=clean_filename(filename),
                alt=alt,
                variants=variants,
            )
            return self.catalog.images.add(image, owner.id, reservation, idempotency_key)

    def get(self, image_id: str, tenant: TenantRef | None = None) -> Image:
        """The image with this id. With ``tenant``, another tenant's image is NotFound."""
        image = self.catalog.images.get(image_id)
        if tenant is not None and image.tenant != (tenant.slug if isinstance(tenant, Tenant) else tenant):
            raise NotFound(f"no image {image_id!r}")
        return image

    def get_many(self, image_ids: Iterable[str]) -> dict[str, Image]:
        """The images with these ids, by id, from one catalog transaction; unknown ids are absent.
        For a page of rows holding image ids (Django's ``PictureField``) instead of :meth:`get` per row."""
        wanted = builtins.list(dict.fromkeys(image_ids))
        return {image.id: image for image in self.catalog.images.many(wanted)} if wanted else {}

    def list(self, tenant: TenantRef, limit: int = 50, cursor: str | None = None) -> Page:
        """A page of the tenant's images, newest first, and the cursor of the next page."""
        if not 1 <= limit <= 1000:
            raise InvalidRequest("limit must be between 1 and 1000")
        return self.catalog.images.page(self.tenant(tenant).id, limit, cursor)

    def delete(self, image_id: str, tenant: TenantRef | None = None) -> None:
        """Delete an image. Blobs no other image uses stop being served at once and are removed by
        :meth:`gc` after a grace period."""
        self.get(image_id, tenant)
        orphans = self.catalog.images.delete(image_id)
        for listener in self.orphan_listeners:
            listener(orphans)

    def gc(self, grace_seconds: float = 3600, *, batch: int = GC_BATCH) -> builtins.list[str]:
        """Remove blobs that no image has used for ``grace_seconds``; returns their keys.

        Works in transactions of up to ``batch`` blobs (rows and bytes together), so statements and time
        grow with the number of batches and no transaction stays open for the whole run. Blobs an upload
        in flight holds are never taken, whatever the grace period (see
        :mod:`picstore.catalog.reservations`); the grace period only keeps a deleted image's bytes a
        while longer (for caches, and for clients that still hold its URLs).
        """
        if batch < 1:
            raise InvalidRequest("the gc batch must be at least 1 blob")
        cutoff = now_us() - int(grace_seconds * 1_000_000)
        removed: builtins.list[str] = []
        while True:
            gone = self.catalog.blobs.collect_orphans(cutoff, self._remove_blobs, batch)
            removed += [loc.key for loc in gone]
            if len(gone) < batch:
                return removed

    def _remove_blobs(self, locations: Sequence[BlobLocation]) -> None:
        for loc in locations:
            self.store_for(loc.store_url).delete(loc.key)

    # --- bytes and URLs ----------------------------------------------------------------------------

    def key_for(self, image_id: str, variant: str | None = None, format: str | None = None) -> str:
        """The blob key of an image's master, or of one of its variants."""
        return self._key(self.catalog.images.get(image_id), variant, format)

    @staticmethod
    def _key(image: Image, variant: str | None, fmt: str | None) -> str:
        if variant is None or variant == "original":
            if fmt is not None and fmt != image.format:
                raise NotFound(f"the original of {image.id} is {image.format}, not {fmt}")
            return image.key
        found = image.variant(variant, fmt)
        if found is None:
            have = sorted({f"{v.name}/{v.format}" for v in image.variants}) or ["none"]
            raise NotFound(
                f"image {image.id} has no variant {variant}/{fmt or '*'}; it has {', '.join(have)}"
            )
        return found.key

    def store_for(self, store_url: str) -> BlobStore:
        """The blob store at ``store_url`` (opened once and kept)."""
        if store_url not in self._stores:
            self._stores[store_url] = open_blob_store(store_url, self.settings)
        return self._stores[store_url]

    def locate(self, key: str, *, live: bool = False) -> tuple[BlobLocation, BlobStore]:
        """Where a catalogued blob lives and the store that holds it; NotFound for unknown keys.

        ``live`` (what serving uses) also makes a blob no image uses any more NotFound.
        """
        loc = self.catalog.blobs.get(key, live=live)
        return loc, self.store_for(loc.store_url)

    def open(self, image_id: str, variant: str | None = None, format: str | None = None) -> BinaryIO:
        """A readable binary stream of the master or of a variant."""
        loc, store = self.locate(self.key_for(image_id, variant, format))
        return store.open(loc.key)

    def read(self, image_id: str, variant: str | None = None, format: str | None = None) -> bytes:
        """The bytes of the master or of a variant."""
        with self.open(image_id, variant, format) as fh:
            return fh.read()

    def url(self, image_id: str, variant: str | None = None, format: str | None = None) -> str:
        """A URL that serves the master or a variant, from wherever its blob lives now."""
        return self.blob_url(self.key_for(image_id, variant, format))

    def blob_url(self, key: str) -> str:
        """The URL of a catalogued blob: the store's own (S3, CDN) or picstore's ``/b/`` route."""
        return self._url_of(self.catalog.blobs.get(key))

    def _url_of(self, loc: BlobLocation) -> str:
        return self.store_for(loc.store_url).public_url(loc.key) or self.url_builder.blob(loc.key)

    def urls(self, images: Iterable[Image]) -> dict[str, ImageUrls]:
        """The URLs of many images (master and every variant), by image id, from one catalog query.

        What listings, templates and the web UI use for a page of pictures instead of :meth:`url` per
        picture.
        """
        images = builtins.list(images)
        keys = [k for image in images for k in (image.key, *(v.key for v in image.variants))]
        return self._urls_from(images, self.catalog.blobs.by_key(keys) if keys else {})

    def image_urls(self, image_ids: Iterable[str]) -> dict[str, ImageUrls]:
        """The images with these ids and all their URLs, by id, from one catalog statement; unknown ids
        are absent. For a page of rows that hold image ids: :meth:`get_many` and :meth:`urls` in one."""
        wanted = builtins.list(dict.fromkeys(image_ids))
        return self._urls_from(*self.catalog.images.located(wanted)) if wanted else {}

    def _urls_from(self, images: Iterable[Image], locations: dict[str, BlobLocation]) -> dict[str, ImageUrls]:
        return {
            image.id: ImageUrls(
                image=image,
                original=self._url_of(locations[image.key]),
                variants={(v.name, v.format): self._url_of(locations[v.key]) for v in image.variants},
            )
            for image in images
        }

    def transform_url(self, image_id: str, **options: Unpack[TransformOptions]) -> str:
        """A signed URL that renders any size of an image on its first request (docs/transforms.md).

        ``transform_url(id, width=400, height=300, fit="cover", gravity="smart", format="auto")``; the
        options are :class:`~picstore.transformer.TransformOptions`. Makes no query: the image is looked
        up when the URL is first requested.
        """
        return self.transforms.url(image_id, self.transforms.spec(**options))

    def describe(self, image: Image, urls: ImageUrls | None = None) -> dict[str, Any]:
        """The JSON form of an image, with URLs: what ``put --json`` and the API print.

        Pass ``urls`` (from :meth:`urls`) when describing a page, so no query is made per image.
        """
        found = urls if urls is not None else self.urls([image])[image.id]
        out = image.to_dict()
        out["url"] = found.original
        described: dict[str, dict[str, Any]] = {}
        for v in image.variants:
            described.setdefault(v.name, {})[v.format] = {
                "url": found.variants[(v.name, v.format)],
                "width": v.width,
                "height": v.height,
                "bytes": v.bytes,
            }
        out["variants"] = described
        return out

    # --- inside another application ----------------------------------------------------------------

    def asgi_app(self, prefix: str | None = None) -> ASGIApp:
        """The HTTP service over this store as an ASGI app to mount (no second process):
        ``app.mount("/pictures", store.asgi_app("/pictures"))``; this store's URLs then follow ``prefix``.
        """
        # Imported here so `import picstore` never loads FastAPI (tests/test_boundaries.py LAZY_DOORS).
        from picstore.web.mount import asgi_app

        return asgi_app(self, prefix)

    def wsgi_app(self, prefix: str | None = None) -> WSGIApp:
        """The same app as WSGI (through a2wsgi), for Flask, Django or any WSGI server."""
        from picstore.web.mount import wsgi_app

        return wsgi_app(self, prefix)

    def health(self) -> dict[str, str]:
        """Check the catalog and the blob store; raises when either is unreachable."""
        self.catalog.ping()
        check_store(self.blobs)
        return {"catalog": "ok", "storage": "ok"}
