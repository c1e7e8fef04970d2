"""Pictures for templates, in any framework: an image with its URLs, and the helpers that print it.

:func:`pictures` turns a page of images into :class:`Picture` objects with one catalog query (through
``ImageStore.urls``); after that, ``url``/``srcset``/``picture`` answer from memory. The markup itself is
:mod:`picstore.delivery.html`'s: nothing here writes HTML of its own.

Also here: reading framework configuration (``PICSTORE_STORAGE`` in Flask's ``app.config``, ``STORAGE``
in Django's ``settings.PICSTORE``) into :class:`~picstore.settings.Settings`, making sure a tenant
exists, and storing an upload as an image or a :class:`Refusal` with picstore's code and message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from markupsafe import Markup

from picstore.delivery import html
from picstore.errors import Conflict, ImageRejected, NotFound
from picstore.models import Image, ImageUrls
from picstore.settings import Settings, load_settings
from picstore.store import ImageStore

__all__ = [
    "Picture",
    "Refusal",
    "ensure_tenant",
    "picture",
    "pictures",
    "save_upload",
    "settings_from",
    "srcset",
]


@dataclass(frozen=True)
class Picture:
    """One stored image and its URLs: what a template prints. Makes no query of its own."""

    image: Image
    urls: ImageUrls

    @property
    def id(self) -> str:
        return self.image.id

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height

    @property
    def alt(self) -> str:
        """The image's alt text ('' when it has none)."""
        return self.image.alt or ""

    def url(self, variant: str | None = None, format: str | None = None) -> str:
        """The URL of the original (``variant`` None) or of a variant; NotFound if the image has none."""
        found = self.urls.url(variant, format)
        if found is None:
            raise NotFound(f"image {self.image.id} has no rendition {variant or 'original'}/{format or '*'}")
        return found

    def srcset(self, format: str = html.FALLBACK_FORMAT, like: str | None = None) -> str:
        """A ``srcset`` of the renditions in ``format`` shaped like the variant ``like``."""
        return html.srcset(self.image, self.urls, format, like)

    def picture(
        self,
        variant: str = "card",
        *,
        sizes: str | None = None,
        alt: str | None = None,
        loading: str = "lazy",
        attrs: Mapping[str, str] | None = None,
    ) -> Markup:
        """A ``<picture>`` element (see :func:`picstore.delivery.html.picture`)."""
        return html.picture(
            self.image, self.urls, variant, sizes=sizes, alt=alt, loading=loading, attrs=attrs
        )

    def __html__(self) -> str:
        return str(self.picture())


def pictures(store: ImageStore, images: Iterable[Image]) -> list[Picture]:
    """The images with their URLs, in order, from one catalog query for all of them."""
    images = list(images)
    found = store.urls(images)
    return [Picture(image, found[image.id]) for image in images]


def picture(
    pic: Picture,
    variant: str = "card",
    *,
    sizes: str | None = None,
    alt: str | None = None,
    loading: str = "lazy",
    **attrs: str,
) -> Markup:
    """``<picture>`` markup for a template engine: ``picture(pic, "card", sizes="...", class_="hero")``.

    Extra keyword arguments become ``<img>`` attributes (a trailing ``_`` is dropped: ``class_``).
    """
    extra = {name.rstrip("_"): value for name, value in attrs.items()}
    return pic.picture(variant, sizes=sizes, alt=alt, loading=loading, attrs=extra)


def srcset(pic: Picture, format: str = html.FALLBACK_FORMAT, like: str | None = None) -> str:
    """The ``srcset`` value of ``pic``'s renditions in ``format``."""
    return pic.srcset(format, like)


@dataclass(frozen=True)
class Refusal:
    """An upload picstore would not store: its stable ``code`` and a message to show the person."""

    code: str
    message: str

    def __bool__(self) -> bool:
        return False


def save_upload(
    store: ImageStore,
    data: bytes | BinaryIO,
    tenant: str,
    *,
    filename: str | None = None,
    alt: str | None = None,
) -> Image | Refusal:
    """Store an upload for ``tenant`` (created on first use); a refused upload is a :class:`Refusal`."""
    ensure_tenant(store, tenant)
    try:
        return store.put(data, tenant, filename, alt=alt)
    except ImageRejected as exc:
        return Refusal(exc.code, exc.message)


def ensure_tenant(store: ImageStore, slug: str) -> None:
    """Create the tenant ``slug`` unless it exists. Its API key is not kept: the application holds the
    store itself and needs none."""
    try:
        store.tenant(slug)
    except NotFound:
        with contextlib.suppress(Conflict):  # another process created it meanwhile
            store.create_tenant(slug)


def settings_from(config: Mapping[str, Any], prefix: str = "", own: Iterable[str] = ()) -> Settings:
    """Settings from a framework's configuration: keys ``{prefix}STORAGE``, ``{prefix}DATABASE`` ...,
    the same names as the ``PICSTORE_*`` environment variables. Keys without the prefix, and the
    integration's ``own`` keys (such as ``MOUNT``), are not settings; anything left unset comes from the
    environment as usual. An unknown key is a ConfigError naming it."""
    skip = set(own)
    chosen = {
        name.lower(): value
        for key, value in config.items()
        if key.startswith(prefix) and (name := key[len(prefix) :]) and name not in skip
    }
    return load_settings(**chosen)
