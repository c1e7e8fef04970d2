"""Picture markup for the web UI's pages, through :mod:`picstore.delivery.html` (the one place that writes
``<picture>``), with the variant the page prefers when the store's presets have it."""

from __future__ import annotations

from markupsafe import Markup

from picstore.delivery.html import picture
from picstore.models import Image, ImageUrls


def variant_for(image: Image, preferred: tuple[str, ...]) -> str:
    """The first of ``preferred`` that the image has, else its original."""
    return next((name for name in preferred if image.variant(name) is not None), "original")


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
