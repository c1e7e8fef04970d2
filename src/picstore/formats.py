"""Image formats: the one table of what picstore accepts, stores and serves, and what each is called.

Invariants: every format picstore decodes is a row of :data:`FORMATS`; a row with a key extension is a
*stored* format (masters and variants are encoded only in those, and only their content types are ever
served); the content types a direct upload may declare are exactly the rows' content types. Imports
nothing of picstore, so every layer may use it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageFormat:
    """One image format picstore knows."""

    #: picstore's name for it, as in ``Image.format`` and the settings (``"jpeg"``).
    name: str
    #: What a person calls it in a message (``"JPEG"``).
    label: str
    #: What it covers as an accepted source format (``"PNG/APNG"``).
    family: str
    #: The content types it goes by; the first is the one picstore serves.
    content_types: tuple[str, ...]
    #: The extension of blob keys in this format; None when picstore never stores it (only decodes it).
    extension: str | None = None


#: Every accepted source format, in the order messages list them.
FORMATS: tuple[ImageFormat, ...] = (
    ImageFormat("jpeg", "JPEG", "JPEG", ("image/jpeg",), "jpg"),
    ImageFormat("png", "PNG", "PNG/APNG", ("image/png",), "png"),
    ImageFormat("gif", "GIF", "GIF", ("image/gif",), "gif"),
    ImageFormat("webp", "WebP", "WebP", ("image/webp",), "webp"),
    ImageFormat("avif", "AVIF", "AVIF", ("image/avif",), "avif"),
    ImageFormat("heic", "HEIC", "HEIC/HEIF", ("image/heic", "image/heif")),
    ImageFormat("tiff", "TIFF", "TIFF", ("image/tiff",)),
)
_BY_NAME = {f.name: f for f in FORMATS}

#: Source formats the pipeline takes, with the name a person knows them by.
ACCEPTED: dict[str, str] = {f.name: f.family for f in FORMATS}
#: Formats picstore stores (and renders variants in).
STORED_FORMATS: tuple[str, ...] = tuple(f.name for f in FORMATS if f.extension)
#: The content type picstore sends for each stored format. Nothing else is ever served.
CONTENT_TYPES: dict[str, str] = {f.name: f.content_types[0] for f in FORMATS if f.extension}
#: File extension used in blob keys for each stored format.
EXTENSIONS: dict[str, str] = {f.name: f.extension for f in FORMATS if f.extension}
#: What a direct upload may declare: the source formats ingest accepts, and nothing else (no SVG, no
#: parameters). The bytes decide the format all the same; this is what a presigned POST policy pins.
UPLOAD_CONTENT_TYPES: frozenset[str] = frozenset(t for f in FORMATS for t in f.content_types)

#: Content type by key extension: the reverse of :data:`EXTENSIONS` (plus the ``jpeg`` spelling).
_TYPE_BY_EXTENSION: dict[str, str] = {ext: CONTENT_TYPES[fmt] for fmt, ext in EXTENSIONS.items()} | {
    "jpeg": CONTENT_TYPES["jpeg"]
}


def label(fmt: str) -> str:
    """What a person calls ``fmt`` (``"webp"`` -> ``"WebP"``); unknown names in capitals."""
    known = _BY_NAME.get(fmt)
    return known.label if known else fmt.upper()


def content_type_for(fmt: str) -> str:
    """The content type of a stored format; ``application/octet-stream`` for anything unknown."""
    return CONTENT_TYPES.get(fmt, "application/octet-stream")


def content_type_for_key(key: str) -> str | None:
    """The content type a blob key's extension names (``img/../x.jpg`` -> ``image/jpeg``); None if none."""
    _, dot, ext = key.rpartition(".")
    return _TYPE_BY_EXTENSION.get(ext.lower()) if dot else None


def is_image_content_type(content_type: str) -> bool:
    """True for a content type a direct upload may declare (one of :data:`UPLOAD_CONTENT_TYPES`)."""
    return content_type in UPLOAD_CONTENT_TYPES
