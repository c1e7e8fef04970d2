"""Picture markup for the web UI's pages, through :mod:`picstore.delivery.html` (the one place that writes
``<picture>``), with the variant the page prefers when the store's presets have it."""

from __future__ import annotations

from markupsafe import Markup

from picstore.delivery.html import picture
from picstore.models import Image, ImageUrls

#: Without any preferred preset, a page shows the widest rendition of the picture's shape up to this.
FALLBACK_WIDTH = 800


def variant_for(image: Image, preferred: tuple[str, ...]) -> str:
    """The first of ``preferred`` that the image has; else (other presets configured) the widest
    variant of the picture's own shape up to ``FALLBACK_WIDTH`` pixels; else its original."""
    found = next((name for name in preferred if image.variant(name) is not None), None)
    if found is not None:
        return found
    aspect = image.width / image.height
    fitting = [
        v
        for v in image.variants
        if v.width <= FALLBACK_WIDTH and abs(v.width / v.height - aspect) / aspect <= 0.02
    ]
    return max(fitting, key=lambda v: v.width).name if fitting else "original"


def picture_of(
    image: Image,
    urls: ImageUrls,
    preferred: tuple[str, ...] = ("card", "large"),
    **kwargs: object,
) -> Markup:
    """A ``<picture>`` of the first preferred variant the image has (its original otherwise)."""
    return picture(image, urls, variant_for(image, preferred), **kwargs)  # type: ignore[arg-type]


def largest_url(image: Image, urls: ImageUrls, preferred: tuple[str, ...] = ("large", "card")) -> str:
    """The URL a lightbox shows: the first preferred variant (as JPEG when it has one), else the original."""
    name = variant_for(image, preferred)
    return urls.url(name, "jpeg") or urls.url(name) or urls.original
