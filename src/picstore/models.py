"""Frozen value objects that cross module boundaries. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: The content type picstore sends for each stored format. Nothing else is ever served.
CONTENT_TYPES: dict[str, str] = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "avif": "image/avif",
}

#: File extension used in blob keys for each stored format.
EXTENSIONS: dict[str, str] = {"jpeg": "jpg", "png": "png", "webp": "webp", "gif": "gif", "avif": "avif"}


def content_type_for(fmt: str) -> str:
    """The content type of a stored format; ``application/octet-stream`` for anything unknown."""
    return CONTENT_TYPES.get(fmt, "application/octet-stream")


#: Content type by key extension: the reverse of :data:`EXTENSIONS` (plus the ``jpeg`` spelling).
_TYPE_BY_EXTENSION: dict[str, str] = {ext: CONTENT_TYPES[fmt] for fmt, ext in EXTENSIONS.items()} | {
    "jpeg": CONTENT_TYPES["jpeg"]
}


def content_type_for_key(key: str) -> str | None:
    """The content type a blob key's extension names (``img/../x.jpg`` -> ``image/jpeg``); None if none."""
    _, dot, ext = key.rpartition(".")
    return _TYPE_BY_EXTENSION.get(ext.lower()) if dot else None


#: What a direct upload may declare: the source formats ingest accepts, and nothing else (no SVG, no
#: parameters). The bytes decide the format all the same; this is what a presigned POST policy pins.
UPLOAD_CONTENT_TYPES: frozenset[str] = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/avif",
        "image/heic",
        "image/heif",
        "image/tiff",
    }
)


def is_image_content_type(content_type: str) -> bool:
    """True for a content type a direct upload may declare (one of :data:`UPLOAD_CONTENT_TYPES`)."""
    return content_type in UPLOAD_CONTENT_TYPES


@dataclass(frozen=True)
class Tenant:
    """A customer of the application: owns images, authenticates with an API key."""

    id: str
    slug: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class Variant:
    """One stored rendition of an image: a named preset in one format."""

    name: str
    format: str
    width: int
    height: int
    bytes: int
    sha256: str
    key: str


@dataclass(frozen=True)
class Image:
    """A stored image (its sanitized master) and the variants made from it."""

    id: str
    tenant: str
    format: str
    width: int
    height: int
    bytes: int
    sha256: str
    created_at: datetime
    key: str
    frames: int = 1
    filename: str | None = None
    alt: str | None = None
    variants: tuple[Variant, ...] = field(default=())

    def variant(self, name: str, fmt: str | None = None) -> Variant | None:
        """The variant called ``name`` in ``fmt`` (the first format recorded when ``fmt`` is None)."""
        for v in self.variants:
            if v.name == name and (fmt is None or v.format == fmt):
                return v
        return None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the image's own fields (URLs are added by the store)."""
        return {
            "id": self.id,
            "tenant": self.tenant,
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "bytes": self.bytes,
            "sha256": self.sha256,
            "frames": self.frames,
            "filename": self.filename,
            "alt": self.alt,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class ImageUrls:
    """The URLs of one image's master and of each of its variants, as ``ImageStore.urls`` found them.

    Built from one catalog lookup for a whole page of images, so templates and listings ask for URLs
    without a query per picture.
    """

    image: Image
    original: str
    #: ``(variant name, format) -> URL`` for every variant the image has.
    variants: dict[tuple[str, str], str] = field(default_factory=dict)

    def url(self, variant: str | None = None, fmt: str | None = None) -> str | None:
        """The URL of the master (``variant`` None or ``"original"``) or of a variant; None if absent.

        With ``fmt`` None a variant's first recorded format is used, as :meth:`Image.variant` does.
        """
        if variant is None or variant == "original":
            return self.original if fmt in (None, self.image.format) else None
        found = self.image.variant(variant, fmt)
        return None if found is None else self.variants.get((found.name, found.format))


@dataclass(frozen=True)
class Page:
    """One page of a listing and the cursor of the next page (None at the end)."""

    items: tuple[Image, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class BlobInfo:
    """What a blob store knows of one stored object."""

    key: str
    size: int
    content_type: str | None = None
    etag: str | None = None
    last_modified: datetime | None = None


@dataclass(frozen=True)
class BlobLocation:
    """Where the catalog says a blob lives, and what its bytes must be."""

    key: str
    store: str
    size: int
    sha256: str
    content_type: str = "application/octet-stream"
