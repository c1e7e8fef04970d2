"""``{% load picstore %}``: ``{% picture obj.photo "card" sizes="..." %}``, ``{% srcset obj.photo "webp" %}``.

Both take a :class:`~picstore.contrib.django.fields.StoredPicture` (a ``PictureField``'s value) or a
:class:`~picstore.contrib.pictures.Picture`, and print what :mod:`picstore.delivery.html` makes. No
picture (None) prints nothing, so optional photos need no ``{% if %}``.
"""

from __future__ import annotations

from typing import Any

from django import template
from markupsafe import Markup

register = template.Library()


@register.simple_tag
def picture(
    value: Any,
    variant: str = "card",
    sizes: str | None = None,
    alt: str | None = None,
    loading: str = "lazy",
    **attrs: str,
) -> Markup | str:
    """``<picture>`` with WebP (and AVIF) sources and a JPEG ``<img>``; extra keywords are ``<img>``
    attributes (``class="hero"``)."""
    if not value:
        return ""
    rendered: Markup = value.picture(variant, sizes=sizes, alt=alt, loading=loading, attrs=attrs)
    return rendered


@register.simple_tag
def srcset(value: Any, format: str = "jpeg", like: str | None = None) -> str:
    """The ``srcset`` of the picture's renditions in ``format``."""
    return str(value.srcset(format, like)) if value else ""
